"""Small, pure render helpers for the Streamlit page: HTML built from escaped text only.

Every piece of document text (passages, titles, section headings, sources, quotes) goes through
`esc`, so a report containing `<script>` or markup shows those characters and runs nothing. The
only tags in the output are the ones written here (<mark>, <span>, <div>, <table>, <a>).
Highlighting finds the query terms in `fold(text)` (Traditional→Simplified, same length), so the
same positions mark the passage in its original script.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from kb.answer.export import is_url, level_label, source_name
from kb.ingest.normalise import fold

__all__ = ["is_url", "level_label", "source_name"]  # re-exported for the page
Link = Callable[..., str]  # urlstate.href: a relative link to the view with some keys changed

CSS = """
<style>
.kb-card{font-size:0.95rem;line-height:1.65}
.kb-head{display:flex;flex-wrap:wrap;gap:.35rem;align-items:center;margin-bottom:.25rem}
.kb-rank{font-weight:700;color:#555;margin-right:.15rem}
.kb-badge{display:inline-block;padding:0 .5rem;border-radius:.75rem;font-size:.8rem;line-height:1.5rem;white-space:nowrap}
.kb-region{background:#e3f2fd;color:#0d47a1}
.kb-year{background:#e8f5e9;color:#1b5e20}
.kb-type{background:#f3e5f5;color:#4a148c}
.kb-level{background:#fff3e0;color:#e65100}
.kb-title{font-weight:600;margin-left:.25rem}
.kb-crumb{color:#666;font-size:.85rem;margin-bottom:.35rem}
.kb-text{white-space:pre-wrap;word-break:break-word}
.kb-text mark,.kb-quote mark,.kb-answer mark{background:#fff176;padding:0 1px;border-radius:2px}
.kb-foot{color:#666;font-size:.8rem;margin-top:.35rem}
.kb-foot a{color:#1565c0}
.kb-answer{font-size:1.05rem;font-weight:600;margin:.1rem 0 .5rem 0}
.kb-table{border-collapse:collapse;width:100%;font-size:.88rem}
.kb-table th{background:#f5f5f5;text-align:left;white-space:nowrap}
.kb-table th,.kb-table td{border:1px solid #e0e0e0;padding:.3rem .45rem;vertical-align:top}
.kb-quote{white-space:pre-wrap}
.kb-src{color:#666;font-size:.8rem}
.kb-current{border-left:3px solid #fbc02d;padding-left:.5rem}
.kb-context{color:#444;padding-left:.5rem;border-left:3px solid #eee;margin-bottom:.5rem}
.kb-weak{background:#fafafa;color:#666}
.kb-came-from{outline:3px solid #fbc02d;outline-offset:4px;border-radius:4px}
.kb-details{color:#777;font-size:.78rem;margin-top:.2rem}
.kb-details summary{cursor:pointer}
.kb-open{font-weight:600;text-decoration:none}
.kb-quote-link{color:inherit;text-decoration:none;border-bottom:1px dashed #90a4ae}
.kb-quote-link:hover{background:#e3f2fd}
.kb-region-link{color:#0d47a1;text-decoration:none}
.kb-scroll{overflow-x:auto;-webkit-overflow-scrolling:touch;max-width:100%}
.kb-scroll .kb-table{min-width:36rem}
.kb-nowrap{white-space:nowrap}
.kb-wide{min-width:16rem}
.kb-report details{margin:.15rem 0 .15rem .6rem;padding-left:.5rem;border-left:2px solid #eceff1}
.kb-report summary{cursor:pointer;font-weight:600;padding:.15rem 0}
.kb-report details.kb-here>summary{color:#0d47a1}
.kb-count{color:#999;font-weight:400;font-size:.75rem;margin-left:.5rem}
mark.kb-target{background:#ffe082;outline:2px solid #f9a825;border-radius:2px}
.kb-cell{text-align:center}
.kb-has{background:#e8f5e9}
.kb-cell-link{display:block;font-weight:700;text-decoration:none;color:#1b5e20}
.kb-outcome-failed td{background:#ffebee}
.kb-outcome-warning td{background:#fff8e1}
.kb-badge.kb-weak{background:#eceff1;color:#455a64}
[data-testid="stAppDeployButton"],[data-testid="stMainMenu"] .st-emotion-cache-deploy{display:none}
</style>
"""


# ---- text → safe HTML --------------------------------------------------------------------------
def esc(text: object) -> str:
    """Text as HTML characters: <, >, &, quotes escaped; nothing in it can become markup."""
    return html.escape("" if text is None else str(text), quote=True)


def md_escape(text: object) -> str:
    """Text for a Streamlit *markdown* label (expander, button, selectbox label): every ASCII
    punctuation character backslash-escaped, so `*`, `[`, `<`, `$`, `:` stay literal."""
    return re.sub(r"([!-/:-@\[-`{-~])", r"\\\1", "" if text is None else str(text))


def _search_form(text: str) -> str:
    folded = fold(text)
    if len(folded) != len(text):  # fold promises same length; never mis-place a mark if not
        return text
    lowered = folded.lower()
    return lowered if len(lowered) == len(folded) else folded


def highlight_terms(query_terms: Iterable[str | None]) -> list[str]:
    """Folded, lower-cased, de-duplicated terms worth marking (single characters are noise)."""
    out: list[str] = []
    for t in query_terms:
        if not t:
            continue
        t = fold(t).lower().strip()
        if len(t) >= 2 and t not in out:
            out.append(t)
    return sorted(out, key=len, reverse=True)


def spans(text: str, terms: Sequence[str]) -> list[tuple[int, int]]:
    """Merged [start, end) spans of every occurrence of `terms` in the folded form of `text`."""
    if not text or not terms:
        return []
    form = _search_form(text)
    found: list[tuple[int, int]] = []
    for term in terms:
        start = form.find(term)
        while start >= 0:
            found.append((start, start + len(term)))
            start = form.find(term, start + 1)
    found.sort()
    merged: list[tuple[int, int]] = []
    for s, e in found:
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], e))
        else:
            merged.append((s, e))
    return merged


def highlight(text: str, terms: Sequence[str]) -> str:
    """Escaped `text` (original script) with the terms wrapped in <mark>."""
    out: list[str] = []
    pos = 0
    for s, e in spans(text, terms):
        out.append(esc(text[pos:s]))
        out.append(f"<mark>{esc(text[s:e])}</mark>")
        pos = e
    out.append(esc(text[pos:]))
    return "".join(out)


# ---- pieces ------------------------------------------------------------------------------------
def source_html(source: str) -> str:
    """A link for a web source, the file name (full path on hover) for a file."""
    if is_url(source):
        return f'<a href="{esc(source)}" target="_blank" rel="noopener noreferrer">{esc(source)}</a>'
    return f'<span title="{esc(source)}">{esc(source_name(source))}</span>'


def badge(text: object, kind: str) -> str:
    return f'<span class="kb-badge kb-{kind}">{esc(text)}</span>' if text not in (None, "") else ""


def breadcrumb(section: Sequence[str]) -> str:
    return " › ".join(esc(s) for s in section) if section else "（正文）"


def badges(meta) -> str:
    return "".join([
        badge(meta.region or "地区不详", "region"),
        badge(f"{meta.year}年" if meta.year else "年份不详", "year"),
        badge(meta.doc_type, "type"),
        badge(level_label(meta.level), "level"),
    ])


def rank_label(hit) -> str:
    b = f"BM25 第 {hit.bm25_rank} 名" if hit.bm25_rank else "BM25 未命中"
    d = f"语义 第 {hit.dense_rank} 名" if hit.dense_rank else "语义 未命中"
    return f"融合得分 {hit.score:.4f} · {b} · {d}"


def a(href: str, text_html: str, cls: str = "") -> str:
    """A link inside the page (same tab: the view it opens lives in the URL)."""
    return f'<a href="{esc(href)}" target="_self" class="{cls}">{text_html}</a>'


def report_link(link: Link, doc_id: str, chunk_id: int | None, start: int | None = None, end: int | None = None,
                label: str = "在报告中查看") -> str:
    span = (start, end) if start is not None and end is not None else None
    return a(link(page="docs", doc=doc_id, passage=chunk_id, span=span), esc(label) + " ›", "kb-open")


def region_link(link: Link, region: str | None) -> str:
    if not region:
        return esc("地区不详")
    return a(link(page="region", place=region), f"<b>{esc(region)}</b>", "kb-region-link")


def is_weak(hit) -> bool:
    """A hit that only the dense leg found and that names no query term (the lead's flag, when present)."""
    return bool(getattr(hit, "weak", False))


def passage_html(hit, terms: Sequence[str], link: Link | None = None, ranks: bool = True, current: bool = False) -> str:
    """One result: badges, title, section breadcrumb, highlighted text, source, a link into the
    report; ranks and score folded away under 检索细节 (they mean little to most readers)."""
    m, c = hit.doc.meta, hit.chunk
    foot = [f"来源：{source_html(hit.doc.source)}", f"第 {c.start}–{c.end} 字"]
    if link is not None:
        foot.append(report_link(link, hit.doc.doc_id, c.chunk_id, c.start, c.end))
    weak = badge("仅语义相近，未出现检索词", "weak") if is_weak(hit) else ""
    details = (f'<details class="kb-details"><summary>检索细节</summary>{esc(rank_label(hit))}</details>'
               if ranks else "")
    cls = "kb-card kb-passage" + (" kb-came-from" if current else "") + (" kb-weak" if weak else "")
    anchor = f' id="kb-passage-{c.chunk_id}"'
    return (
        f'<div class="{cls}"{anchor}>'
        f'<div class="kb-head"><span class="kb-rank">{hit.rank}.</span>{badges(m)}{weak}'
        f'<span class="kb-title">{esc(m.title)}</span></div>'
        f'<div class="kb-crumb">{breadcrumb(c.section)}</div>'
        f'<div class="kb-text">{highlight(c.text, terms)}</div>'
        f'<div class="kb-foot">{" · ".join(foot)}</div>{details}'
        "</div>"
    )


def results_marker(query: str, hits, run: int) -> str:
    """An invisible element drawn after the last passage of a query's results: `data-query` (the
    query), `data-count` and `data-chunks` (the passages' chunk ids, in order), `data-run` (counts
    the session's result pages, so a redraw of the same query is told apart). A browser — the
    tests — waits for it instead of for time: once it is on the page (and not stale), that query's
    results are drawn in full."""
    chunks = ",".join(str(h.chunk.chunk_id) for h in hits)
    return (f'<div class="kb-results-done" data-query="{esc(query)}" data-count="{len(hits)}" '
            f'data-chunks="{chunks}" data-run="{int(run)}" hidden></div>')


def context_html(chunks, current_id: int, terms: Sequence[str]) -> str:
    """The passages of one section, the current one marked."""
    parts = []
    for c in chunks:
        cls = "kb-current" if c.chunk_id == current_id else "kb-context"
        parts.append(f'<div class="kb-text {cls}">{highlight(c.text, terms)}</div>')
    return '<div class="kb-card">' + "".join(parts) + "</div>"


def citation_html(c, terms: Sequence[str], link: Link | None = None) -> str:
    where = " › ".join(esc(s) for s in c.section)
    quote = f"「{highlight(c.quote, terms)}」"
    if link is not None:
        quote = a(link(page="docs", doc=c.doc_id, passage=c.chunk_id, span=(c.start, c.end)), quote, "kb-quote-link")
    return (
        f'<div class="kb-quote">{quote}</div>'
        f'<div class="kb-src">《{esc(c.title)}》{(" " + where) if where else ""} · '
        f'{source_html(c.source)} · 第 {c.start}–{c.end} 字</div>'
    )


def answer_line_html(answer, terms: Sequence[str]) -> str:
    return f'<div class="kb-card kb-answer">{highlight(answer.answer, terms)}</div>'


def table_html(kind: str, headers: Sequence[str], rows: Sequence[str]) -> str:
    """A table that scrolls sideways inside its own box on a narrow screen instead of squeezing names."""
    head = "".join(f"<th>{h}</th>" for h in headers)
    return (f'<div class="kb-scroll"><table class="kb-table kb-{kind}"><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table></div>')


def regions_table_html(entries, terms: Sequence[str], link: Link | None = None) -> str:
    def name(e) -> str:
        return region_link(link, e.region) if link else f"<b>{esc(e.region)}</b>"

    def variant(e) -> str:  # the words the region's passages use for the practice, and how they matched
        words, how = getattr(e, "matched", None), getattr(e, "match", None)
        if not words and not how:
            return ""
        text = f"原文用语“{words}”" if words else ""
        return f'<div class="kb-src kb-variant">{esc("；".join(x for x in (text, how) if x))}</div>'

    rows = [
        "<tr>"
        f'<td class="kb-nowrap">{name(e)}{variant(e)}</td><td class="kb-nowrap">{esc(e.province or "—")}</td>'
        f'<td class="kb-nowrap">{esc(level_label(e.level) or "—")}</td><td class="kb-nowrap">{esc(e.year or "年份不详")}</td>'
        f"<td>{e.mentions}</td><td class=\"kb-wide\">{''.join(citation_html(c, terms, link) for c in e.citations[:2]) or '—'}</td>"
        "</tr>"
        for e in entries
    ]
    return table_html("regions", ["地区", "省份", "层级", "年份", "提及", "原文引用"], rows)


def figures_table_html(figures, terms: Sequence[str], link: Link | None = None) -> str:
    rows = [
        "<tr>"
        f'<td class="kb-nowrap">{region_link(link, f.region) if link else esc(f.region)}</td>'
        f'<td class="kb-nowrap">{esc(f.year or "年份不详")}</td>'
        f'<td class="kb-nowrap">{esc(f.indicator)}</td><td class="kb-nowrap"><b>{esc(f.value)}</b></td>'
        f'<td class="kb-wide">{citation_html(f.citation, list(terms) + [fold(f.value).lower()], link)}</td>'
        "</tr>"
        for f in figures
    ]
    return table_html("figures", ["地区", "年份", "指标", "数值", "原文引用"], rows)


def compare_column_html(entry, terms: Sequence[str], link: Link | None = None) -> str:
    head = (
        f'<div class="kb-head">{badge(entry.region, "region")}'
        f'{badge(entry.province, "level")}{badge(f"{entry.year}年" if entry.year else None, "year")}</div>'
    )
    if not entry.citations:
        return f'<div class="kb-card kb-compare">{head}<div class="kb-src">未找到相关原文。</div></div>'
    body = "".join(f'<div style="margin-bottom:.6rem">{citation_html(c, terms, link)}</div>' for c in entry.citations)
    return f'<div class="kb-card kb-compare">{head}{body}</div>'


# ---- the report view: a section tree with the passage one came for -------------------------------
@dataclass
class SectionNode:
    path: tuple[str, ...]
    start: int | None = None  # span of the node's own passages (not its children's)
    end: int | None = None
    passages: int = 0
    children: list[SectionNode] = field(default_factory=list)

    @property
    def title(self) -> str:
        return self.path[-1] if self.path else "（正文）"

    def total(self) -> int:
        return self.passages + sum(c.total() for c in self.children)


def section_tree(chunks) -> SectionNode:
    """Chunks (in document order) → a tree of sections; a parent holds its children."""
    root = SectionNode(())
    nodes: dict[tuple[str, ...], SectionNode] = {(): root}
    for c in chunks:
        for depth in range(1, len(c.section) + 1):
            path = tuple(c.section[:depth])
            if path not in nodes:
                nodes[path] = SectionNode(path)
                nodes[path[:-1]].children.append(nodes[path])
        node = nodes[tuple(c.section)]
        node.start = c.start if node.start is None else min(node.start, c.start)
        node.end = c.end if node.end is None else max(node.end, c.end)
        node.passages += 1
    return root


def _marked(text: str, offset: int, target: tuple[int, int] | None, terms: Sequence[str]) -> str:
    """`text` (document text from `offset`) with the target span as <mark id=kb-target>."""
    if target is None:
        return highlight(text, terms)
    s, e = max(target[0] - offset, 0), min(target[1] - offset, len(text))
    if s >= e:
        return highlight(text, terms)
    return (highlight(text[:s], terms) + '<mark class="kb-target" id="kb-target">' + highlight(text[s:e], terms)
            + "</mark>" + highlight(text[e:], terms))


def report_tree_html(doc_text: str, root: SectionNode, target: tuple[int, int] | None,
                     terms: Sequence[str] = ()) -> str:
    """The report as nested <details>: sections on the path to the target are open, others
    closed; each opens onto its own text and its subsections."""

    def contains(node: SectionNode) -> bool:
        if target is None:
            return False
        if node.start is not None and node.start < target[1] and target[0] < node.end:
            return True
        return any(contains(c) for c in node.children)

    def own_text(node: SectionNode) -> str:
        if node.start is None:
            return ""
        start, text = node.start, doc_text[node.start:node.end]
        if node.path and text.startswith(node.path[-1]):  # the heading is the summary already
            cut = len(node.path[-1])
            while cut < len(text) and text[cut] in "\r\n ":
                cut += 1
            start, text = start + cut, text[cut:]
        return f'<div class="kb-text">{_marked(text, start, target, terms)}</div>' if text.strip() else ""

    def render(node: SectionNode, depth: int) -> str:
        inner = own_text(node) + "".join(render(c, depth + 1) for c in node.children)
        if not node.path:
            return inner
        opened = " open" if contains(node) or (target is None and depth == 1) else ""
        here = " kb-here" if contains(node) else ""
        count = node.total()
        return (f'<details class="kb-section{here}"{opened}><summary>{esc(node.title)}'
                f'<span class="kb-count">{count} 段</span></summary>{inner}</details>')

    return f'<div class="kb-card kb-report">{render(root, 0)}</div>'


def atlas_table_html(atlas, link: Link) -> str:
    """Regions × practices; a cell is the number of passages and opens onto their quotes."""
    headers = ["地区", "省份", "层级", "年份"] + [esc(p) for p in atlas.practices]
    rows = []
    for r in atlas.regions:
        cells = []
        for p in atlas.practices:
            n = atlas.count(r.region, p)
            cells.append(f'<td class="kb-cell kb-has">{a(link(page="atlas", cell=(r.region, p)), str(n), "kb-cell-link")}</td>'
                         if n else '<td class="kb-cell">·</td>')
        years = "、".join(str(y) for y in r.years) or "—"
        rows.append(f'<tr><td class="kb-nowrap">{region_link(link, r.region)}</td><td class="kb-nowrap">{esc(r.province or "—")}</td>'
                    f'<td class="kb-nowrap">{esc(level_label(r.level) or "—")}</td><td class="kb-nowrap">{esc(years)}</td>'
                    f'{"".join(cells)}</tr>')
    return table_html("atlas", headers, rows)
