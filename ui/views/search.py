"""检索问答: one box for queries and questions; the answer card, then the passages — one library call."""

from __future__ import annotations

import altair as alt
import loaded as L
import pandas as pd
import render as r
import streamlit as st
import urlstate as u
from loaded import Current

from kb.answer.export import answer_markdown, answer_table, hits_markdown, hits_table
from kb.limits import QueryTooLong, check_query
from views.downloads import downloads

EXAMPLES = ["哪些地区推行综合查一次", "各地败诉率是多少", "对比海盐和密云的行政复议", "府院联动"]


def _submit() -> None:
    text = (st.session_state.get("w_q_input") or "").strip()
    u.go(q=text, passage=None, span=None)
    st.session_state.similar_for = None


def _example(text: str) -> None:
    u.go(q=text, passage=None, span=None)
    st.session_state.similar_for = None


def page(cur: Current, filters) -> None:
    st.title("法治政府建设报告 · 检索与问答")
    with st.form("search", border=False):
        st.session_state.w_q_input = st.session_state.get("q") or ""
        st.text_input("检索词或问题", placeholder="例如：" + EXAMPLES[0], key="w_q_input")
        st.form_submit_button("检索", type="primary", on_click=_submit)
    with st.container(horizontal=True, key="examples"):
        st.caption("试试：", width="content")
        for i, text in enumerate(EXAMPLES):
            st.button(text, key=f"example-{i}", type="tertiary", on_click=_example, args=(text,))

    query = st.session_state.get("q")
    if not query or not query.strip():
        st.caption("可以输入关键词，也可以提问；点击引文或段落可打开原报告并定位。")
        return
    try:
        check_query(query)
    except QueryTooLong as e:
        st.warning(f"检索词太长：{e.chars:,} 字，上限 {e.limit:,} 字。请只保留关键的词语或问题。")
        return
    ss = st.session_state
    result = L.query(cur.state, query, ss.get("k") or 10, ss.get("mode") or "hybrid", filters, cur.ready())
    answer, parsed = result.answer, result.parsed
    terms = r.highlight_terms([answer.term, *parsed.phrases, *parsed.tokens])

    inferred = [f"{parsed.inferred.year_from}年" if parsed.inferred.year_from else None,
                parsed.inferred.region, parsed.inferred.province]
    note = f"用时 {result.took_ms:.0f} ms · {u.MODES[result.mode]}"
    if any(inferred):
        note += " · 查询中识别到：" + "、".join(x for x in inferred if x)
    st.caption(r.md_escape(note))

    if answer.intent in ("regions", "figure", "compare"):
        answer_card(result, terms)
    elif getattr(answer, "notice", None):  # nothing holds the query's words: say so above the passages
        st.warning(answer.notice)
    passages(cur, result, terms)


def answer_card(result, terms: list[str]) -> None:
    answer, link = result.answer, u.href
    with st.container(border=True, key="answer-card"):
        st.subheader("回答")
        st.html(r.answer_line_html(answer, r.highlight_terms([answer.term])))
        if getattr(answer, "notice", None):  # what is shown is weak: nothing states the query's words
            st.warning(answer.notice)
        if answer.intent == "regions" and answer.regions:
            table, chart = st.columns([3, 1])
            table.html(r.regions_table_html(answer.regions, terms, link))
            with chart:
                regions_chart(answer.regions)
        elif answer.intent == "figure" and answer.figures:
            st.html(r.figures_table_html(answer.figures, terms, link))
        elif answer.intent == "compare" and answer.regions:
            for col, entry in zip(st.columns(len(answer.regions)), answer.regions):
                col.html(r.compare_column_html(entry, terms, link))
        semantic = getattr(answer, "related", None)
        if semantic:  # closest semantic matches that do not name the practice: shown apart, marked
            with st.expander(f"语义相近、但未出现“{answer.term}”的段落（{len(semantic)}）"):
                st.caption("这些地区的原文没有直接提到该做法，只是语义相近，请核对后再引用。")
                for item in semantic:
                    if hasattr(item, "citations"):
                        st.html(r.regions_table_html([item], terms, link))
                    elif hasattr(item, "chunk"):
                        st.html(r.passage_html(item, terms, link))
        downloads("answer", result.query, "回答", [answer_table(answer, result.documents)], answer_markdown(answer))


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
    )
    st.altair_chart(chart, width="stretch")


def passages(cur: Current, result, terms: list[str]) -> None:
    hits = result.hits
    if not hits:
        st.info(r.md_escape(f"没有找到与“{result.query}”相关的段落。") + " 可以换个说法、去掉引号，或放宽左侧的筛选条件。")
        drawn(result)
        return
    st.subheader(f"原文段落（{len(hits)}）")
    downloads("results", result.query, "段落", [hits_table(hits)], hits_markdown(hits))
    came_from = st.session_state.get("passage")
    for hit in hits:
        passage(cur, hit, terms, hit.chunk.chunk_id == came_from)
    if came_from is not None and any(h.chunk.chunk_id == came_from for h in hits):
        st.html(f"<script>document.getElementById('kb-passage-{int(came_from)}')?.scrollIntoView({{block:'center'}})</script>",
                unsafe_allow_javascript=True)
    drawn(result)


def drawn(result) -> None:
    """Last on the page: the marker saying this query's results are drawn (the browser tests wait on it)."""
    run = st.session_state["results_drawn"] = st.session_state.get("results_drawn", 0) + 1
    st.html(r.results_marker(result.query, result.hits, run))


def passage(cur: Current, hit, terms: list[str], current: bool) -> None:
    cid = hit.chunk.chunk_id
    with st.container(border=True, key=f"passage-{cid}"):
        st.html(r.passage_html(hit, terms, u.href, current=current))
        with st.expander("本节上下文"):
            same = [c for c in cur.kb.chunks_of(hit.doc.doc_id) if c.section == hit.chunk.section]
            st.html(r.context_html(same, cid, terms))
        if st.session_state.get("similar_for") == cid:
            similar(cur, cid, terms)
        else:
            st.button("其他地区的类似做法", key=f"similar-{cid}", icon=":material/travel_explore:",
                      on_click=lambda: st.session_state.update(similar_for=cid))


def similar(cur: Current, chunk_id: int, terms: list[str]) -> None:
    found = cur.kb.similar(chunk_id, k=5)
    st.markdown("**其他地区的类似做法**")
    if not found:
        st.caption("其他地区没有相近的段落。")
    for h in found:
        st.html(r.passage_html(h, terms, u.href, ranks=False))
    st.button("收起", key=f"similar-close-{chunk_id}", on_click=lambda: st.session_state.update(similar_for=None))
