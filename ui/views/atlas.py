"""实践图谱: regions × practices — who reports what, at a glance; each cell opens onto its quotes."""

from __future__ import annotations

import loaded as L
import render as r
import streamlit as st
import urlstate as u
from loaded import Current

from kb.answer.export import atlas_tables, markdown_table
from views.downloads import downloads


def page(cur: Current, filters) -> None:
    st.title("实践图谱")
    st.caption("各地区报告中点名提到的做法：数字是提到该做法的段落数，点击查看原文。"
               "未指定做法时，列出被最多地区提到、又不是所有地区都有的做法。")
    ss = st.session_state
    chosen = tuple(ss.get("practices") or ())
    atlas = L.atlas(cur.state, chosen, filters, cur.kb)
    options = sorted(set(cur.kb.practices()) | set(atlas.practices))
    u.bound("practices", st.multiselect, list(chosen or atlas.practices),
            lambda v: () if tuple(v) == atlas.practices and not chosen else tuple(v),
            label="做法（可从词表中选，也可直接输入新的词后回车）", options=options, accept_new_options=True,
            max_selections=30, placeholder="选择或输入做法")
    if not atlas.regions:
        st.info("没有地区的报告提到这些做法。换几个做法，或放宽左侧筛选。")
        return
    st.html(r.atlas_table_html(atlas, u.href))
    quotes = {}
    cell = ss.get("cell")
    if cell and cell[1] in atlas.practices:
        region, practice = cell
        quotes[cell] = cur.kb.atlas_quotes(region, practice, filters)
        with st.container(border=True, key="atlas-cell"):
            st.subheader(f"{region} · {practice}（{len(quotes[cell])} 处）")
            st.button("收起", key="close-cell", on_click=u.go, kwargs={"cell": None})
            terms = r.highlight_terms([practice])
            for c in quotes[cell]:
                st.html(f'<div class="kb-card kb-cell-quote">{r.citation_html(c, terms, u.href)}</div>')
    tables = atlas_tables(atlas, quotes)
    downloads("atlas", "实践图谱_" + "、".join(atlas.practices[:3]), "图谱", tables, markdown_table(tables[0]))
