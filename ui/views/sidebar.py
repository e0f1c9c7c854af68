"""The sidebar: search settings and the metadata filters (every page: they follow you), index status."""

from __future__ import annotations

import pandas as pd
import render as r
import streamlit as st
import urlstate as u
from loaded import Current

from kb.models import Filters

ALL = "全部"


def settings(page: str) -> None:
    """Mode and number of passages (the search page's own settings)."""
    if page != "search":
        return
    with st.sidebar:
        st.subheader("检索设置")
        u.bound("mode", st.radio, st.session_state.get("mode") or "hybrid", label="检索方式",
                options=list(u.MODES), format_func=u.MODES.get)
        u.bound("k", st.slider, st.session_state.get("k") or 10, label="返回段落数", min_value=1, max_value=50)


def filters(docs: pd.DataFrame) -> Filters:
    """Year range, province, region, level, type; options from the documents' metadata."""
    ss = st.session_state
    with st.sidebar:
        st.subheader("筛选")
        years = sorted({int(y) for y in docs.get("year", pd.Series(dtype=float)).dropna()})
        if len(years) > 1:
            lo, hi = years[0], years[-1]
            wanted = ss.get("years") or (lo, hi)
            shown = (min(max(wanted[0], lo), hi), max(min(wanted[1], hi), lo))
            u.bound("years", st.slider, shown, lambda v: None if tuple(v) == (lo, hi) else tuple(v),
                    label="年份", min_value=lo, max_value=hi)
        _choice("province", "省份", docs)
        scope = docs if not ss.get("province") else docs[docs["province"] == ss.province]
        _choice("region", "地区", scope)
        _choice("level", "层级", docs, fmt=r.level_label)
        _choice("type", "文档类型", docs, column="doc_type")
        if any(ss.get(k) for k in u.FILTER_KEYS):
            st.button("清除筛选", key="clear-filters", icon=":material/filter_alt_off:",
                      on_click=lambda: u.go(**{k: None for k in u.FILTER_KEYS}))
    return current_filters()


def current_filters() -> Filters:
    ss = st.session_state
    years = ss.get("years")
    return Filters(year_from=years[0] if years else None, year_to=years[1] if years else None,
                   province=ss.get("province"), region=ss.get("region"), level=ss.get("level"),
                   doc_type=ss.get("type"))


def _choice(key: str, label: str, docs: pd.DataFrame, column: str | None = None, fmt=None) -> None:
    values = sorted({v for v in docs.get(column or key, pd.Series(dtype=object)).dropna() if v})
    current = st.session_state.get(key)
    if current and current not in values:
        values.append(current)  # a filter from a link stays visible (and can be cleared)
    u.bound(key, st.selectbox, current or ALL, lambda v: None if v == ALL else v, label=label,
            options=[ALL, *values], format_func=lambda v: v if v == ALL or fmt is None else fmt(v))


def status(cur: Current) -> None:
    with st.sidebar:
        st.divider()
        st.caption("索引状态")
        if cur.loaded is None:
            st.caption("没有索引")
            return
        s = cur.kb.status()
        c1, c2 = st.columns(2)
        c1.metric("文档", s["documents"])
        c2.metric("段落", s["chunks"])
        st.caption(r.md_escape(f"已嵌入 {s['embedded']} 段 · 嵌入模型 {s['embedder']}（{s['dim']} 维，{s['dense_index']}）"))
        st.caption(r.md_escape(f"索引目录 {s['index']}"))
        if cur.loaded.warming.is_alive():
            st.caption(":material/hourglass_top: 正在后台预热（载入模型、编译 BM25），首次查询可能稍慢")
