"""Answers and result lists as Markdown citations or CSV tables, ready to paste into a report."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from .answer import Answer, Citation
from .models import Hit


def _cite_md(c: Citation) -> str:
    where = " > ".join(c.section)
    year = f"{c.year}年" if c.year else "年份不详"
    return f"> {c.quote}\n\n— 《{c.title}》（{year}）{('，' + where) if where else ''}。来源：{c.source}，第 {c.start}–{c.end} 字"


def answer_markdown(a: Answer) -> str:
    lines = [f"## {a.question}", "", a.answer, ""]
    for e in a.regions:
        lines.append(f"### {e.region}（{e.province or '省份不详'}，{e.year or '年份不详'}）")
        lines += [_cite_md(c) + "\n" for c in e.citations]
    if a.figures:
        lines += ["| 地区 | 年份 | 指标 | 数值 | 出处 |", "|---|---|---|---|---|"]
        for f in a.figures:
            lines.append(f"| {f.region} | {f.year or ''} | {f.indicator} | {f.value} | {f.citation.title}（{f.citation.start}–{f.citation.end}） |")
        lines.append("")
    if not a.regions and not a.figures:
        lines += [hits_markdown(a.hits)]
    return "\n".join(lines).rstrip() + "\n"


def hits_markdown(hits: Sequence[Hit]) -> str:
    out = []
    for h in hits:
        m = h.doc.meta
        where = " > ".join(h.chunk.section)
        out.append(f"{h.rank}. **{m.region or '—'}**（{m.year or '年份不详'}）《{m.title}》{(' ' + where) if where else ''}\n\n"
                   f"   > {h.chunk.text}\n\n   来源：{h.doc.source}，第 {h.chunk.start}–{h.chunk.end} 字\n")
    return "\n".join(out)


def _csv(rows: list[list[object]]) -> str:
    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    return buf.getvalue()


def answer_csv(a: Answer) -> str:
    if a.figures:
        rows = [["region", "year", "indicator", "value", "quote", "source", "start", "end"]]
        rows += [[f.region, f.year, f.indicator, f.value, f.citation.quote, f.citation.source, f.citation.start, f.citation.end]
                 for f in a.figures]
        return _csv(rows)
    if a.regions:
        rows = [["region", "province", "year", "quote", "source", "start", "end"]]
        rows += [[e.region, e.province, e.year, c.quote, c.source, c.start, c.end] for e in a.regions for c in e.citations]
        return _csv(rows)
    return hits_csv(a.hits)


def hits_csv(hits: Sequence[Hit]) -> str:
    rows = [["rank", "region", "province", "year", "doc_type", "title", "section", "quote", "source", "start", "end"]]
    for h in hits:
        m = h.doc.meta
        rows.append([h.rank, m.region, m.province, m.year, m.doc_type, m.title, " > ".join(h.chunk.section),
                     h.chunk.text, h.doc.source, h.chunk.start, h.chunk.end])
    return _csv(rows)
