"""地区: one region's reports by year, the practices they name, and its figures over the years."""

from __future__ import annotations

import altair as alt
import loaded as L
import pandas as pd
import render as r
import streamlit as st
import urlstate as u
from loaded import Current


def page(cur: Current) -> None:
    st.title("地区")
    names = cur.kb.regions()
    if not names:
        st.info("索引里还没有地方报告。")
        return
    ss = st.session_state
    wanted = ss.get("place") if ss.get("place") in names else names[0]
    place = u.bound("place", st.selectbox, wanted, label="选择地区", options=names)
    profile = L.region_profile(cur.state, place, cur.kb)
    if profile is None:
        st.warning("这个地区已不在索引中。")
        return
    where = " · ".join(x for x in (profile.province, profile.city if profile.city != place else None,
                                   r.level_label(profile.level)) if x)
    st.html(f'<div class="kb-card"><div class="kb-head">{r.badge(place, "region")}{r.badge(where, "level")}'
            f'{r.badge("、".join(map(str, profile.years)) + "年" if profile.years else "年份不详", "year")}</div></div>')

    st.subheader(f"报告（{len(profile.documents)}）")
    rows = [f'<tr><td class="kb-nowrap">{r.esc(d.meta.year or "年份不详")}</td>'
            f'<td>{r.a(u.href(page="docs", doc=d.doc_id, passage=None, span=None), r.esc(d.meta.title))}</td>'
            f'<td class="kb-nowrap">{r.esc(d.meta.doc_type)}</td><td class="kb-nowrap">{d.chunks}</td>'
            f'<td>{r.source_html(d.source)}</td></tr>' for d in profile.documents]
    st.html(r.table_html("region-docs", ["年份", "标题", "类型", "段落数", "来源"], rows))

    st.subheader(f"提到的做法（{len(profile.practices)}）")
    if profile.practices:
        rows = [f'<tr><td class="kb-nowrap">{r.a(u.href(page="atlas", practices=(p.practice,), cell=(place, p.practice)), r.esc(p.practice))}</td>'
                f'<td>{p.passages}</td><td class="kb-nowrap">{r.esc("、".join(map(str, p.years)) or "—")}</td>'
                f'<td class="kb-wide">{r.citation_html(p.citation, r.highlight_terms([p.practice]), u.href)}</td></tr>'
                for p in profile.practices[:30]]
        st.html(r.table_html("region-practices", ["做法", "段落", "年份", "原文（第一处）"], rows))

    st.subheader("历年数据")
    if not profile.figures:
        st.caption("报告中没有找到可读出的指标数值。")
        return
    series = profile.series()
    multi = {name: points for name, points in series.items() if len(points) >= 2}
    if multi:  # rates and counts on separate axes: 97% and 183 件 do not share a scale
        rates = {n: pts for n, pts in multi.items() if all(raw.strip().endswith(("%", "％")) for _, _, raw in pts)}
        counts = {n: pts for n, pts in multi.items() if n not in rates}
        with st.container(key="region-chart"):
            for title, group in (("比率（%）", rates), ("数量", counts)):
                if group:
                    st.altair_chart(trend_chart(title, group), width="stretch")
    else:
        st.caption("只有一年的数据，无法画趋势图。")
    terms = []
    rows = [f'<tr><td class="kb-nowrap">{r.esc(canonical(f.indicator))}</td><td class="kb-nowrap">{r.esc(f.year or "年份不详")}</td>'
            f'<td class="kb-nowrap"><b>{r.esc(f.value)}</b></td>'
            f'<td class="kb-wide">{r.citation_html(f.citation, terms + [r.fold(f.value).lower()], u.href)}</td></tr>'
            for f in profile.figures]
    st.html(r.table_html("region-figures", ["指标", "年份", "数值", "原文"], rows))


def trend_chart(title: str, series: dict[str, list[tuple[int, float, str]]]) -> alt.Chart:
    rows = [{"指标": name, "年份": str(year), "数值": value, "原文数值": raw}
            for name, points in series.items() for year, value, raw in points]
    return (alt.Chart(pd.DataFrame(rows), title=f"历年指标：{title}")
            .mark_line(point=True)
            .encode(x=alt.X("年份:O"), y=alt.Y("数值:Q", title=title), color=alt.Color("指标:N", legend=alt.Legend(orient="bottom")),
                    tooltip=["指标", "年份", "原文数值"]))


def canonical(indicator: str) -> str:
    from kb.answer.profile import canonical_indicator

    return canonical_indicator(indicator)
