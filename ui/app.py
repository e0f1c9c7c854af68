"""kb — the Streamlit page over the knowledge base of rule-of-law reports (法治政府建设年度报告).

    streamlit run ui/app.py            # index: $KB_INDEX, else index/ (the CLI's rule)

Three pages, chosen in the sidebar:

- 检索问答: one search box for queries and questions. A which-regions question gets an answer card
  (one-line answer, regions with quotes, a chart by province and year), a figure question a table
  of values, a comparison side-by-side columns; then the passages, each with highlighted terms,
  badges, section breadcrumb, source, ranks, its section's context and similar practices elsewhere.
  Answers and result lists download as CSV and Markdown citations.
- 文档: every report with metadata and passage counts, counts by year and province, a reader.
- 导入: upload reports; per-file outcome; the index refreshes without restarting.

All logic lives in the `kb` library; `render.py` turns its objects into escaped HTML.
"""

from __future__ import annotations

import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
for p in (str(HERE.parent), str(HERE)):
    if p not in sys.path:
        sys.path.insert(0, p)

import altair as alt  # noqa: E402
import pandas as pd  # noqa: E402
import streamlit as st  # noqa: E402

import render as r  # noqa: E402
from kb.export import answer_csv, answer_markdown, hits_csv, hits_markdown  # noqa: E402
from kb import uploads  # noqa: E402
from kb.knowledgebase import KnowledgeBase, default_index_path  # noqa: E402
from kb.limits import Limits, QueryTooLong, check_query  # noqa: E402
from kb.models import Filters  # noqa: E402
from kb.store import DB_NAME  # noqa: E402

MAX_UPLOAD_MB = 20  # per file; also server.maxUploadSize in .streamlit/config.toml
UPLOAD_TYPES = ["txt", "md", "html", "htm", "pdf", "docx", "jsonl"]
ALL = "全部"
MODES = {"hybrid": "混合（BM25 + 语义）", "bm25": "BM25 关键词", "dense": "语义"}
OUTCOMES = {"added": "新增", "updated": "更新", "unchanged": "未变", "failed": "失败"}
EXAMPLES = ["哪些地区推行综合查一次", "行政复议纠错率是多少", "对比海盐和密云的行政复议", "府院联动"]


# ---- the index, loaded once per process ----------------------------------------------------------
@dataclass
class Loaded:
    kb: KnowledgeBase
    warming: threading.Thread


def index_path() -> Path:
    return default_index_path().resolve()


def database_id(path: Path) -> int | None:
    """Identifies the index's database file: changes only when the index is rebuilt from scratch.

    New ingests need no new handle: a `KnowledgeBase` follows the committed manifest on every query.
    """
    try:
        return (path / DB_NAME).stat().st_ino
    except OSError:
        return None


@st.cache_resource(max_entries=2, show_spinner="正在打开索引…")
def open_index(path: str, database: int) -> Loaded:
    kb = KnowledgeBase.open(path)
    warming = threading.Thread(target=kb.warm, kwargs={"numba": True}, name="kb-warm", daemon=True)
    warming.start()  # indexes, embedder, numba BM25: the first query need not pay for them
    return Loaded(kb, warming)


@st.cache_data(max_entries=4, show_spinner=False)
def documents_table(path: str, database: int, segment: str) -> pd.DataFrame:
    """The documents of one committed index state (the segment names it)."""
    kb = open_index(path, database).kb
    return pd.DataFrame([d.to_dict() for d in kb.documents()])


def current_index() -> tuple[Path, str | None, Loaded | None]:
    """(path, current segment, loaded handle); the segment keys what is cached per index state."""
    path = index_path()
    database = database_id(path)
    if database is None:
        return path, None, None
    try:
        loaded = open_index(str(path), database)
        return path, loaded.kb.status()["segment"], loaded
    except Exception as e:  # an unusable index: say why, keep the ingest page usable
        st.error(r.md_escape(f"索引无法打开：{e}"))
        return path, None, None


def no_index_message(path: Path) -> None:
    st.warning(r.md_escape(f"在 {path} 没有找到索引。") + " 先用命令行建立索引（或在 **导入** 页上传报告）：")
    st.code(f"python -m kb.cli ingest data/samples --index {path}\n# 或者指定别的目录：KB_INDEX=/path/to/index streamlit run ui/app.py",
            language="bash")


# ---- sidebar ---------------------------------------------------------------------------------
def sidebar_status(loaded: Loaded | None) -> None:
    with st.sidebar:
        st.divider()
        st.caption("索引状态")
        if loaded is None:
            st.caption("没有索引")
            return
        s = loaded.kb.status()
        c1, c2 = st.columns(2)
        c1.metric("文档", s["documents"])
        c2.metric("段落", s["chunks"])
        st.caption(r.md_escape(f"已嵌入 {s['embedded']} 段 · 嵌入模型 {s['embedder']}（{s['dim']} 维，{s['dense_index']}）"))
        st.caption(r.md_escape(f"索引目录 {s['index']}"))
        if loaded.warming.is_alive():
            st.caption(":material/hourglass_top: 正在后台预热（载入模型、编译 BM25），首次查询可能稍慢")


def sidebar_filters(docs: pd.DataFrame) -> tuple[str, int, Filters]:
    """Search mode, k and the metadata filters; options come from the documents' metadata."""
    with st.sidebar:
        st.subheader("检索设置")
        mode = st.radio("检索方式", list(MODES), format_func=MODES.get, key="mode")
        k = st.slider("返回段落数", 1, 50, 10, key="k")
        st.subheader("筛选")
        years = sorted({int(y) for y in docs.get("year", pd.Series(dtype=float)).dropna()})
        year_from = year_to = None
        if len(years) > 1:
            lo, hi = st.slider("年份", years[0], years[-1], (years[0], years[-1]), key="years")
            if (lo, hi) != (years[0], years[-1]):
                year_from, year_to = lo, hi
        province = _choice("省份", docs, "province", key="province")
        scope = docs if province is None else docs[docs["province"] == province]
        region = _choice("地区", scope, "region", key="region")
        level = _choice("层级", docs, "level", key="level", fmt=r.level_label)
        doc_type = _choice("文档类型", docs, "doc_type", key="doc_type")
    return mode, k, Filters(year_from=year_from, year_to=year_to, province=province, region=region,
                            level=level, doc_type=doc_type)


def _choice(label: str, docs: pd.DataFrame, column: str, key: str, fmt=None) -> str | None:
    values = sorted({v for v in docs.get(column, pd.Series(dtype=object)).dropna() if v})
    picked = st.selectbox(label, [ALL, *values], key=key, format_func=lambda v: v if v == ALL or fmt is None else fmt(v))
    return None if picked == ALL else picked


# ---- page: search and answers -----------------------------------------------------------------
def search_page(path: Path, segment: str | None, loaded: Loaded | None) -> None:
    st.title("法治政府建设报告 · 检索与问答")
    if loaded is None:
        no_index_message(path)
        return
    kb = loaded.kb
    mode, k, filters = sidebar_filters(documents_table(str(path), database_id(path), segment))

    with st.form("search", border=False):
        text = st.text_input("检索词或问题", placeholder="例如：" + "、".join(EXAMPLES), key="query_input")
        if st.form_submit_button("检索", type="primary"):
            st.session_state.query = text.strip()
            st.session_state.similar_for = None
    query = st.session_state.get("query")
    if not query:
        st.caption("可以输入关键词，也可以提问：" + "；".join(r.md_escape(e) for e in EXAMPLES))
        return
    try:
        check_query(query)
    except QueryTooLong as e:
        st.warning(f"检索词太长：{e.chars:,} 字，上限 {e.limit:,} 字。请只保留关键的词语或问题。", icon=":material/warning:")
        return

    t0 = time.perf_counter()
    answer = kb.ask(query, filters=filters, k=k)
    hits = kb.search(query, k=k, mode=mode, filters=filters)
    took = (time.perf_counter() - t0) * 1000
    parsed = kb.parse(query, filters)
    terms = r.highlight_terms([answer.term, *parsed.phrases, *parsed.tokens])

    inferred = [f"{parsed.inferred.year_from}年" if parsed.inferred.year_from else None,
                parsed.inferred.region, parsed.inferred.province]
    note = f"用时 {took:.0f} ms · {MODES[mode]}"
    if any(inferred):
        note += " · 查询中识别到：" + "、".join(x for x in inferred if x)
    st.caption(r.md_escape(note))

    if answer.intent in ("regions", "figure", "compare"):
        answer_card(answer, terms)
    passages(kb, hits, terms, query)


def answer_card(answer, terms: list[str]) -> None:
    with st.container(border=True, key="answer-card"):
        st.subheader("回答")
        st.html(r.answer_line_html(answer, r.highlight_terms([answer.term])))
        if answer.intent == "regions" and answer.regions:
            table, chart = st.columns([3, 1])
            table.html(r.regions_table_html(answer.regions, terms))
            with chart:
                regions_chart(answer.regions)
        elif answer.intent == "figure" and answer.figures:
            st.html(r.figures_table_html(answer.figures, terms))
        elif answer.intent == "compare" and answer.regions:
            for col, entry in zip(st.columns(len(answer.regions)), answer.regions):
                col.html(r.compare_column_html(entry, terms))
        downloads("answer", "回答", answer_csv(answer), answer_markdown(answer))


def regions_chart(entries) -> None:
    df = pd.DataFrame([{"province": e.province or "省份不详", "year": str(e.year or "年份不详"), "region": e.region}
                       for e in entries])
    chart = (
        alt.Chart(df, title="地区数：按省份和年份")
        .mark_bar()
        .encode(
            y=alt.Y("province:N", title=None, sort="-x"),
            x=alt.X("count():Q", title="地区数", axis=alt.Axis(tickMinStep=1, format="d")),
            color=alt.Color("year:N", title="年份", legend=alt.Legend(orient="top")),
            tooltip=[alt.Tooltip("region:N", title="地区"), alt.Tooltip("province:N", title="省份"),
                     alt.Tooltip("year:N", title="年份")],
        )
    )  # no fixed height: one band per province keeps labels apart in a narrow column
    st.altair_chart(chart, width="stretch")


def downloads(key: str, what: str, csv_text: str, md_text: str) -> None:
    c1, c2, _ = st.columns([1, 1, 3])
    c1.download_button(f"下载{what} CSV", "\ufeff" + csv_text, file_name=f"kb-{key}.csv", mime="text/csv",
                       key=f"dl-{key}-csv", on_click="ignore", icon=":material/download:")
    c2.download_button(f"下载{what} Markdown", md_text, file_name=f"kb-{key}.md", mime="text/markdown",
                       key=f"dl-{key}-md", on_click="ignore", icon=":material/download:")


def passages(kb: KnowledgeBase, hits, terms: list[str], query: str) -> None:
    if not hits:
        st.info(r.md_escape(f"没有找到与“{query}”相关的段落。") + " 可以换个说法、去掉引号，或放宽左侧的筛选条件。")
        return
    st.subheader(f"原文段落（{len(hits)}）")
    downloads("results", "结果", hits_csv(hits), hits_markdown(hits))
    for hit in hits:
        passage(kb, hit, terms)


def passage(kb: KnowledgeBase, hit, terms: list[str]) -> None:
    cid = hit.chunk.chunk_id
    with st.container(border=True, key=f"passage-{cid}"):
        st.html(r.passage_html(hit, terms))
        with st.expander("本节上下文"):
            same = [c for c in kb.chunks_of(hit.doc.doc_id) if c.section == hit.chunk.section]
            st.html(r.context_html(same, cid, terms))
        if st.session_state.get("similar_for") == cid:
            similar(kb, cid, terms)
        else:
            st.button("其他地区的类似做法", key=f"similar-{cid}", icon=":material/travel_explore:",
                      on_click=lambda: st.session_state.update(similar_for=cid))


def similar(kb: KnowledgeBase, chunk_id: int, terms: list[str]) -> None:
    found = kb.similar(chunk_id, k=5)
    st.markdown("**其他地区的类似做法**")
    if not found:
        st.caption("其他地区没有相近的段落。")
    for h in found:
        st.html(r.passage_html(h, terms, ranks=False))
    st.button("收起", key=f"similar-close-{chunk_id}", on_click=lambda: st.session_state.update(similar_for=None))


# ---- page: documents --------------------------------------------------------------------------
DOC_COLUMNS = {"title": "标题", "region": "地区", "province": "省份", "level": "层级", "year": "年份",
               "doc_type": "类型", "published": "发布日期", "issuer": "发布机构", "chunks": "段落数",
               "source": "来源", "doc_id": "ID"}


def documents_page(path: Path, segment: str | None, loaded: Loaded | None) -> None:
    st.title("文档")
    if loaded is None:
        no_index_message(path)
        return
    docs = documents_table(str(path), database_id(path), segment)
    if docs.empty:
        st.info("索引里还没有文档。到“导入”页上传报告。")
        return
    table = docs[list(DOC_COLUMNS)].rename(columns=DOC_COLUMNS)
    table["层级"] = table["层级"].map(r.level_label)
    st.dataframe(table, hide_index=True, width="stretch",
                 column_config={"年份": st.column_config.NumberColumn(format="%d")})

    by_year, by_province = st.columns(2)
    with by_year:
        st.caption("按年份")
        st.bar_chart(docs["year"].dropna().astype(int).astype(str).value_counts().sort_index(), height=220)
    with by_province:
        st.caption("按省份")
        st.bar_chart(docs["province"].fillna("省份不详").value_counts(), height=220, horizontal=True)

    st.subheader("阅读报告")
    labels = {row.doc_id: f"{row.title}（{row.region or '地区不详'}，{int(row.year) if pd.notna(row.year) else '年份不详'}）"
              for row in docs.itertuples()}
    doc_id = st.selectbox("打开报告", list(labels), format_func=labels.get, key="open_doc")
    read_report(loaded.kb, doc_id)


def read_report(kb: KnowledgeBase, doc_id: str) -> None:
    doc = kb.document(doc_id)
    if doc is None:
        st.warning("这份报告已不在索引中。")
        return
    m = doc.meta
    st.html(f'<div class="kb-card"><div class="kb-head">{r.badges(m)}<span class="kb-title">{r.esc(m.title)}</span></div>'
            f'<div class="kb-foot">来源：{r.source_html(doc.source)}</div></div>')
    sections: dict[tuple[str, ...], list] = {}
    for c in kb.chunks_of(doc_id):
        sections.setdefault(c.section, []).append(c)
    names = {s: " › ".join(s) if s else "（正文）" for s in sections}
    picked = st.selectbox("章节", [None, *sections], key=f"section-{doc_id}",
                          format_func=lambda s: "全文" if s is None else names[s])
    for section, chunks in sections.items():
        if picked is not None and section != picked:
            continue
        start, end = min(c.start for c in chunks), max(c.end for c in chunks)
        st.html(r.section_text_html(names[section], doc.text[start:end]))


# ---- page: ingest -----------------------------------------------------------------------------
def ingest_page(path: Path) -> None:
    st.title("导入报告")
    st.markdown(
        f"支持 {'、'.join('.' + t for t in UPLOAD_TYPES)}；**每个文件不超过 {MAX_UPLOAD_MB} MB**，"
        f"每次导入最多嵌入 {Limits.upload().budget_passages:,} 个新段落（更大的批量请用命令行 `kb ingest`）。"
        "同一文件再次上传会显示“未变”；同名但内容不同的文件作为另一份文档导入。"
    )
    st.caption(r.md_escape(f"写入索引：{path}"))
    with st.form("ingest", clear_on_submit=True):
        files = st.file_uploader("选择文件", type=UPLOAD_TYPES, accept_multiple_files=True,
                                 max_upload_size=MAX_UPLOAD_MB, key="uploads")
        go = st.form_submit_button("导入", type="primary")
    if go and files:
        st.session_state.ingest_result = ingest_uploads(path, files)
    elif go:
        st.warning("请先选择文件。")
    result = st.session_state.get("ingest_result")
    if result:
        summary, rows = result
        st.success(summary)
        st.dataframe(pd.DataFrame(rows, columns=["文件", "结果", "说明"]), hide_index=True, width="stretch")


def ingest_uploads(path: Path, files) -> tuple[str, list[tuple[str, str, str]]]:
    """Ingest the uploads (kb.uploads: a private folder each, upload limits) and report per file."""
    bar = st.progress(0.0, text="准备导入…")

    def on_file(p: Path, i: int, n: int) -> None:
        bar.progress(0.5 * i / max(n, 1), text=f"读取 {p.name}（{i + 1}/{n}）")

    def on_embed(done: int, total: int) -> None:
        bar.progress(0.5 + 0.5 * done / max(total, 1), text=f"嵌入段落 {done}/{total}")

    def on_wait(holder: str) -> None:
        bar.progress(0.0, text=f"另一个导入正在写入索引（{holder}），等待其完成…")

    result = uploads.ingest_uploads(path, [uploads.Upload(f.name, f.getvalue()) for f in files],
                                    on_file=on_file, on_embed=on_embed, on_wait=on_wait)
    report, status = result.report, result.status
    bar.progress(1.0, text="完成")
    rows = [(r.source_name(source), OUTCOMES.get(outcome, outcome), note) for source, outcome, note in report.outcomes]
    for line in report.warnings:  # went in with a caveat (replaced bytes, duplicate, truncated PDF)
        source, _, reason = line.partition(": ")
        rows.append((r.source_name(source), "提示", reason))
    # Nothing to clear: the cached handle follows the committed manifest, and the document table is
    # cached per segment.
    st.session_state.similar_for = None
    summary = (f"新增 {report.added} · 更新 {report.updated} · 未变 {report.unchanged} · 失败 {len(report.failed)}"
               f" — 索引现有 {status['documents']} 份文档、{status['chunks']} 个段落")
    return summary, rows


# ---- the page ---------------------------------------------------------------------------------
def main() -> None:
    st.set_page_config(page_title="法治政府报告知识库", page_icon="⚖️", layout="wide")
    st.html(r.CSS)
    page = st.sidebar.radio("页面", ["检索问答", "文档", "导入"], key="page", horizontal=True)
    path, segment, loaded = current_index()
    if page == "检索问答":
        search_page(path, segment, loaded)
    elif page == "文档":
        documents_page(path, segment, loaded)
    else:
        ingest_page(path)
    sidebar_status(loaded)


main()
