"""导入: upload reports; each file's outcome in Chinese, a summary whose colour says how it went, and
the new documents' derived metadata at once — a wrong region is visible (and fixable) right away."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import render as r
import streamlit as st
import urlstate as u
from messages import error_zh, reason_zh

from kb.ingest import uploads
from views.documents import clear_caches, documents_table

MAX_UPLOAD_MB = 20  # per file; also server.maxUploadSize in .streamlit/config.toml
UPLOAD_TYPES = ["txt", "md", "html", "htm", "pdf", "docx", "jsonl"]
OUTCOMES = {"added": "新增", "updated": "更新", "unchanged": "未变", "failed": "失败", "warning": "提示"}
OUTCOME_CLASS = {"失败": "failed", "提示": "warning", "新增": "ok", "更新": "ok", "未变": "ok"}


@dataclass
class UploadResult:
    rows: list[tuple[str, str, str]] = field(default_factory=list)  # (file, outcome, reason in Chinese)
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    documents: list[dict] = field(default_factory=list)  # metadata of the added/updated documents
    total_docs: int | None = None
    total_chunks: int | None = None
    error: str | None = None

    def summary(self) -> tuple[str, str]:
        """(kind, text): success when all went in, warning when some failed, error when none did."""
        counts = f"新增 {self.added} · 更新 {self.updated} · 未变 {self.unchanged} · 失败 {self.failed}"
        if self.total_docs is not None:
            counts += f" — 索引现有 {self.total_docs} 份文档、{self.total_chunks} 个段落"
        if self.error:
            return "error", f"导入没有完成：{self.error}"
        went_in = self.added + self.updated + self.unchanged
        if self.failed and not went_in:
            return "error", f"所有文件都没有导入。{counts}"
        if self.failed:
            return "warning", f"{self.failed} 个文件没有导入，其余已导入。{counts}"
        if not (self.added or self.updated):
            return "info", f"没有新内容。{counts}"
        return "success", f"导入完成。{counts}"


def page(path: Path) -> None:
    st.title("导入报告")
    st.markdown(
        f"支持 {'、'.join('.' + t for t in UPLOAD_TYPES)}；**每个文件不超过 {MAX_UPLOAD_MB} MB**。"
        "同一文件再次上传会显示“未变”；同名但内容不同的文件作为另一份文档导入。"
    )
    # Streamlit's uploader speaks English ("Upload", "20MB per file • …"): the same words in Chinese.
    st.html(f"""<style>
    [data-testid="stFileUploaderDropzone"] button [data-testid="stMarkdownContainer"] p{{font-size:0}}
    [data-testid="stFileUploaderDropzone"] button [data-testid="stMarkdownContainer"] p::after{{content:"选择文件";font-size:.9rem}}
    [data-testid="stFileUploaderDropzoneInstructions"] span{{font-size:0}}
    [data-testid="stFileUploaderDropzoneInstructions"] span::after{{content:"或把文件拖到这里 · 每个不超过 {MAX_UPLOAD_MB} MB";font-size:.8rem}}
    </style>""")
    with st.form("ingest", clear_on_submit=True):
        files = st.file_uploader("选择文件", type=UPLOAD_TYPES, accept_multiple_files=True,
                                 max_upload_size=MAX_UPLOAD_MB, key="uploads")
        go = st.form_submit_button("导入", type="primary")
    if go and files:
        st.session_state.ingest_result = ingest_uploads(path, files)
    elif go:
        st.warning("请先选择文件。")
    result: UploadResult | None = st.session_state.get("ingest_result")
    if result is None:
        return
    kind, text = result.summary()
    getattr(st, kind)(text)
    rows = [f'<tr class="kb-outcome-{OUTCOME_CLASS.get(outcome, "other")}"><td class="kb-nowrap">{r.esc(name)}</td>'
            f'<td class="kb-nowrap">{r.esc(outcome)}</td><td>{r.esc(reason) or "—"}</td></tr>'
            for name, outcome, reason in result.rows]
    st.html(r.table_html("outcomes", ["文件", "结果", "说明"], rows))
    if result.documents:
        st.subheader("新导入文档的元数据")
        st.caption("请核对地区、年份和类型；有误时点“修改”到报告页更正。")
        frame = documents_table(pd.DataFrame(result.documents))
        links = [r.a(u.href(page="docs", doc=d, passage=None, span=None), "修改 ›", "kb-open") for d in frame["ID"]]
        headers = ["标题", "地区", "市", "省份", "层级", "类型", "年份", "段落数", "来源"]
        rows = ["<tr>" + "".join(f'<td class="kb-nowrap">{r.esc(_cell(row[h]))}</td>' for h in headers)
                + f"<td>{link}</td></tr>" for (_, row), link in zip(frame.iterrows(), links)]
        st.html(r.table_html("new-docs", [*headers, ""], rows))


def _short(text: str) -> str:
    """Server paths inside a reason (与 /tmp/…/a.txt 内容相同) shown as file names."""
    return re.sub(r"(?:/[^/\s，；（）]+)+/([^/\s，；（）]+)", r"\1", text)


def _cell(value) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return "—"
    return str(int(value)) if isinstance(value, float) else str(value)


def ingest_uploads(path: Path, files) -> UploadResult:
    """kb.ingest.uploads saves each upload privately (its own folder, a safe name, by content) and ingests
    it under the upload limits; this page turns the outcome into Chinese."""
    result = UploadResult()
    bar = st.progress(0.0, text="准备导入…")

    def on_file(p: Path, i: int, n: int) -> None:
        bar.progress(0.5 * i / max(n, 1), text=f"读取 {p.name}（{i + 1}/{n}）")

    def on_embed(done: int, total: int) -> None:
        bar.progress(0.5 + 0.5 * done / max(total, 1), text=f"嵌入段落 {done}/{total}")

    try:
        done = uploads.ingest_uploads(path, [uploads.Upload(f.name, f.getvalue()) for f in files],
                                      on_file=on_file, on_embed=on_embed,
                                      on_wait=lambda holder: bar.progress(0.0, text="另一个导入正在写入索引，等待其完成…"))
    except Exception as e:
        result.error = error_zh(e)
        return result
    report, status, by_source = done.report, done.status, done.documents
    bar.progress(1.0, text="完成")
    result.added, result.updated, result.unchanged = report.added, report.updated, report.unchanged
    result.failed = len(report.failed)
    result.total_docs, result.total_chunks = status["documents"], status["chunks"]
    for source, outcome, note in report.outcomes:
        result.rows.append((r.source_name(source), OUTCOMES.get(outcome, outcome), _short(reason_zh(note)) if note else ""))
        doc = by_source.get(source)
        if doc is not None and outcome in ("added", "updated"):
            result.documents.append(doc.to_dict())
    for line in report.warnings:  # went in with a caveat (replaced bytes, duplicate, truncated PDF)
        source, _, reason = line.partition(": ")
        result.rows.append((r.source_name(source), OUTCOMES["warning"], _short(reason_zh(reason))))
    st.session_state.similar_for = None
    clear_caches()
    return result
