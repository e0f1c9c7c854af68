"""文档: every report with its derived metadata (fix what is wrong, delete what does not belong), and
the report view — the section tree opened at the passage a quote came from, its span marked."""

from __future__ import annotations

import loaded as L
import pandas as pd
import render as r
import streamlit as st
import urlstate as u
from loaded import Current
from messages import error_zh

from kb.models import CORRECTABLE, DOC_TYPES, LEVELS

COLUMNS = {"title": "标题", "region": "地区", "city": "市", "province": "省份", "level": "层级", "doc_type": "类型",
           "year": "年份", "issued_year": "发布年份", "chunks": "段落数", "source": "来源", "doc_id": "ID"}
EDITABLE = CORRECTABLE  # what `kb docs set` corrects, in the same order
LABELS = {"title": "标题", "region": "地区", "province": "省份", "city": "市", "county": "区县", "town": "乡镇街道",
          "level": "层级", "year": "所述年份", "issued_year": "发布年份", "doc_type": "文档类型"}


def page(cur: Current, docs: pd.DataFrame, filters) -> None:
    if st.session_state.get("doc"):
        report(cur, st.session_state.doc)
        return
    st.title("文档")
    if msg := st.session_state.pop("deleted_message", None):
        st.success(msg)
    if docs.empty:
        st.info("索引里还没有文档。到“导入”页上传报告。")
        return
    if filters.is_empty():
        shown = docs
    else:
        accepted = {d.doc_id for d in cur.kb.documents() if filters.accepts(d)}
        shown = docs[docs["doc_id"].isin(accepted)]
    st.caption(f"共 {len(docs)} 份报告" + (f"，筛选后 {len(shown)} 份" if len(shown) != len(docs) else "")
               + "。点选一行打开报告，可在报告页修改元数据或删除。")
    table = documents_table(shown)
    with st.container(key="docs-table-box"):
        st.dataframe(table, hide_index=True, width="stretch", key="docs-table", on_select=_open_selected, placeholder="—",
                     selection_mode="single-row", column_order=[c for c in table.columns if c != "ID"],
                     column_config={"年份": st.column_config.NumberColumn(format="%d"),
                                    "发布年份": st.column_config.NumberColumn(format="%d"),
                                    "标题": st.column_config.TextColumn(width="large")})
    st.session_state._docs_shown = list(table["ID"])

    by_year, by_province = st.columns(2)
    with by_year:
        st.caption("按年份")
        st.bar_chart(shown["year"].dropna().astype(int).astype(str).value_counts().sort_index(), height=220)
    with by_province:
        st.caption("按省份")
        st.bar_chart(shown["province"].fillna("省份不详").value_counts(), height=220, horizontal=True)


def documents_table(docs: pd.DataFrame) -> pd.DataFrame:
    """Derived metadata in Chinese: no None, the source's name (not the server's path)."""
    frame = docs.reindex(columns=list(COLUMNS)).rename(columns=COLUMNS)
    frame["层级"] = frame["层级"].map(lambda v: r.level_label(v) if isinstance(v, str) and v else "—")
    frame["来源"] = frame["来源"].map(lambda v: r.source_name(v) if isinstance(v, str) else "—")
    for col in ("标题", "地区", "市", "省份", "类型"):
        frame[col] = frame[col].map(lambda v: v if isinstance(v, str) and v else "—")
    return frame


def _open_selected() -> None:
    rows = st.session_state["docs-table"].selection.rows
    ids = st.session_state.get("_docs_shown") or []
    if rows and rows[0] < len(ids):
        u.go(doc=ids[rows[0]], passage=None, span=None)


# ---- the report view -------------------------------------------------------------------------------
def report(cur: Current, doc_id: str) -> None:
    ss = st.session_state
    doc = cur.kb.document(doc_id)
    with st.container(horizontal=True, key="report-nav"):
        back = ss.get("back") or ("search" if ss.get("q") else None)
        if back == "search":
            st.button("返回检索结果", key="back-to-results", icon=":material/arrow_back:", type="primary",
                      on_click=u.go, kwargs={"page": "search", "doc": None, "back": None})
        elif back:
            st.button(f"返回{u.PAGES[back]}", key="back-to-page", icon=":material/arrow_back:", type="primary",
                      on_click=u.go, kwargs={"page": back, "doc": None, "passage": None, "span": None, "back": None})
        st.button("全部文档", key="back-to-docs", icon=":material/list:",
                  on_click=u.go, kwargs={"doc": None, "passage": None, "span": None, "back": None})
        if doc is not None and doc.meta.region:
            st.button(f"{doc.meta.region} 地区页", key="to-region", icon=":material/location_on:",
                      on_click=u.go, kwargs={"page": "region", "place": doc.meta.region, "doc": None})
    if doc is None:
        st.warning("这份报告已不在索引中（可能已被删除或替换）。")
        return
    m = doc.meta
    st.html(f'<div class="kb-card kb-report-head"><div class="kb-head">{r.badges(m)}'
            f'<span class="kb-title">{r.esc(m.title)}</span></div>'
            f'<div class="kb-foot">来源：{r.source_html(doc.source)} · {doc.chunks} 个段落 · ID {r.esc(doc.doc_id)}</div></div>')
    editor(cur, doc)

    chunks = cur.kb.chunks_of(doc_id)
    target = _target(chunks, ss.get("passage"), ss.get("span"))
    if target is not None:
        st.caption(f"已定位到第 {target[0]}–{target[1]} 字（黄色标记）；展开或收起各节查看上下文。")
    parsed = cur.kb.parse(ss["q"]) if ss.get("q") else None  # the query's own words, marked in the report too
    terms = r.highlight_terms([*parsed.phrases, *parsed.tokens]) if parsed else []
    st.html(r.report_tree_html(doc.text, r.section_tree(chunks), target, terms))
    if target is not None:
        st.html("<script>setTimeout(() => document.getElementById('kb-target')?.scrollIntoView({block:'center'}), 50)</script>",
                unsafe_allow_javascript=True)


def _target(chunks, passage: int | None, span: tuple[int, int] | None) -> tuple[int, int] | None:
    """The span to mark: the quote's own span when given (inside its passage), else the passage's."""
    chunk = next((c for c in chunks if c.chunk_id == passage), None)
    if span is not None and (chunk is None or (chunk.start <= span[0] and span[1] <= chunk.end)):
        return span
    return (chunk.start, chunk.end) if chunk else None


# ---- fixing metadata -----------------------------------------------------------------------------
def editor(cur: Current, doc) -> None:
    m = doc.meta
    with st.expander("修改元数据 / 删除文档", icon=":material/edit:", expanded=bool(st.session_state.get("edit_open"))):
        if m.region_evidence:
            confidence = f"，可信度 {m.region_confidence:.0%}" if m.region_confidence is not None else ""
            st.caption(r.md_escape(f"地区“{m.region or '不详'}”的依据：{m.region_evidence}{confidence}"))
        with st.form(f"meta-{doc.doc_id}", border=False):
            values: dict[str, object] = {}
            cols = st.columns(2)
            for i, field in enumerate(EDITABLE):
                current = getattr(m, field, None)
                col = cols[i % 2]
                if field == "level":
                    options = ["", *LEVELS]
                    values[field] = col.selectbox(LABELS[field], options, index=options.index(current or ""),
                                                  format_func=lambda v: r.level_label(v) or "（不详）", key=f"edit-{field}")
                elif field == "doc_type":
                    options = list(dict.fromkeys([*DOC_TYPES, current or "其他"]))
                    values[field] = col.selectbox(LABELS[field], options, index=options.index(current or "其他"),
                                                  key=f"edit-{field}")
                else:
                    values[field] = col.text_input(LABELS[field], value="" if current is None else str(current),
                                                   key=f"edit-{field}")
            saved = st.form_submit_button("保存修改", type="primary", icon=":material/save:")
        if saved:
            save(cur, doc, values)
        if msg := st.session_state.pop("meta_message", None):
            (st.success if msg[0] == "ok" else st.error)(msg[1])
        # The dialog is opened from the script body, as st.dialog documents (not from an on_click callback).
        if st.button("删除这份文档…", key="delete-doc", icon=":material/delete:"):
            confirm_delete(cur, doc.doc_id, m.title, doc.chunks)


def save(cur: Current, doc, values: dict[str, object]) -> None:
    changes: dict[str, object] = {}
    for field, raw in values.items():
        text = str(raw).strip()
        before = getattr(doc.meta, field, None)
        if field in ("year", "issued_year"):
            if text and not (text.isdigit() and 1900 <= int(text) <= 2100):
                st.session_state.meta_message = ("error", f"{LABELS[field]}应为四位年份（如 2023），或留空。")
                st.rerun()
            value: object = int(text) if text else None
        else:
            value = text or None
            if field == "title" and value is None:
                st.session_state.meta_message = ("error", "标题不能为空。")
                st.rerun()
        if value != before:
            changes[field] = value
    if not changes:
        st.session_state.meta_message = ("ok", "没有改动。")
        st.rerun()
    writer = None
    try:
        from kb.knowledgebase import KnowledgeBase

        writer = KnowledgeBase.open(cur.path)  # a handle of its own writes; the shared one follows the commit
        writer.update_metadata(doc.doc_id, **changes)
    except Exception as e:
        st.session_state.meta_message = ("error", "保存失败：" + error_zh(e))
    else:
        st.session_state.meta_message = ("ok", "已保存：" + "、".join(f"{LABELS[k]} → {v if v is not None else '（空）'}"
                                                                  for k, v in changes.items()))
        clear_caches()
    finally:
        if writer is not None:
            writer.close()
    st.session_state.edit_open = True
    st.rerun()


@st.dialog("删除文档")
def confirm_delete(cur: Current, doc_id: str, title: str, chunks: int) -> None:
    st.markdown(r.md_escape(f"确定从索引中删除《{title}》及其 {chunks} 个段落吗？") + "  \n删除后检索不到它；原文件不受影响，可以重新导入。")
    c1, c2 = st.columns(2)
    if c1.button("确定删除", type="primary", key="delete-confirm", icon=":material/delete:"):
        writer = None
        try:
            from kb.knowledgebase import KnowledgeBase

            writer = KnowledgeBase.open(cur.path)
            writer.remove_document(doc_id)
        except Exception as e:
            st.error("删除失败：" + error_zh(e))
            return
        finally:
            if writer is not None:
                writer.close()
        clear_caches()
        st.session_state.deleted_message = f"已删除《{title}》。"
        u.go(doc=None, passage=None, span=None)
        st.rerun()
    if c2.button("取消", key="delete-cancel"):
        st.rerun()


def clear_caches() -> None:
    """Edits change what every cached view shows; the state key may not change for a metadata edit."""
    L.documents_frame.clear()
    L.query.clear()
    L.atlas.clear()
    L.region_profile.clear()
