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
from collections.abc import Iterable, Sequence
from pathlib import PurePosixPath, PureWindowsPath
from urllib.parse import urlparse

from kb.normalise import fold

LEVEL_LABELS = {"national": "全国", "province": "省级", "city": "市级", "county": "县级", "town": "乡镇"}

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
def level_label(level: str | None) -> str:
    return LEVEL_LABELS.get(level or "", level or "")


def source_name(source: str) -> str:
    """A file name for a path (POSIX or Windows), the source itself for anything else."""
    if is_url(source):
        return source
    base = source.split("#", 1)[0]  # a JSONL row: file.jsonl#12
    name = PureWindowsPath(base).name if "\\" in base else PurePosixPath(base).name
    return name + source[len(base):] if name else source


def is_url(source: str) -> bool:
    try:
        parsed = urlparse(source)
    except ValueError:
        return False
    return parsed.scheme in ("http", "https") and bool(parsed.netloc)


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
    b = f"BM25 第 {hit.bm25_rank} 名" if hit.bm25_rank else "BM25 —"
    d = f"语义 第 {hit.dense_rank} 名" if hit.dense_rank else "语义 —"
    return f"{b} · {d}"


def passage_html(hit, terms: Sequence[str], ranks: bool = True) -> str:
    """One result: badges, title, section breadcrumb, highlighted text, source, ranks."""
    m, c = hit.doc.meta, hit.chunk
    foot = [f"来源：{source_html(hit.doc.source)}", f"第 {c.start}–{c.end} 字"]
    if ranks:
        foot.append(esc(rank_label(hit)))
    return (
        '<div class="kb-card kb-passage">'
        f'<div class="kb-head"><span class="kb-rank">{hit.rank}.</span>{badges(m)}'
        f'<span class="kb-title">{esc(m.title)}</span></div>'
        f'<div class="kb-crumb">{breadcrumb(c.section)}</div>'
        f'<div class="kb-text">{highlight(c.text, terms)}</div>'
        f'<div class="kb-foot">{" · ".join(foot)}</div>'
        "</div>"
    )


def context_html(chunks, current_id: int, terms: Sequence[str]) -> str:
    """The passages of one section, the current one marked."""
    parts = []
    for c in chunks:
        cls = "kb-current" if c.chunk_id == current_id else "kb-context"
        parts.append(f'<div class="kb-text {cls}">{highlight(c.text, terms)}</div>')
    return '<div class="kb-card">' + "".join(parts) + "</div>"


def citation_html(c, terms: Sequence[str]) -> str:
    where = " › ".join(esc(s) for s in c.section)
    return (
        f'<div class="kb-quote">「{highlight(c.quote, terms)}」</div>'
        f'<div class="kb-src">《{esc(c.title)}》{(" " + where) if where else ""} · '
        f'{source_html(c.source)} · 第 {c.start}–{c.end} 字</div>'
    )


def answer_line_html(answer, terms: Sequence[str]) -> str:
    return f'<div class="kb-card kb-answer">{highlight(answer.answer, terms)}</div>'


def _table_html(kind: str, headers: Sequence[str], rows: Sequence[str]) -> str:
    head = "".join(f"<th>{h}</th>" for h in headers)
    return f'<table class="kb-table kb-{kind}"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def regions_table_html(entries, terms: Sequence[str]) -> str:
    rows = [
        "<tr>"
        f"<td><b>{esc(e.region)}</b></td><td>{esc(e.province or '—')}</td>"
        f"<td>{esc(level_label(e.level) or '—')}</td><td>{esc(e.year or '年份不详')}</td>"
        f"<td>{e.mentions}</td><td>{''.join(citation_html(c, terms) for c in e.citations[:2]) or '—'}</td>"
        "</tr>"
        for e in entries
    ]
    return _table_html("regions", ["地区", "省份", "层级", "年份", "提及", "原文引用"], rows)


def figures_table_html(figures, terms: Sequence[str]) -> str:
    rows = [
        "<tr>"
        f"<td><b>{esc(f.region)}</b></td><td>{esc(f.year or '年份不详')}</td>"
        f"<td>{esc(f.indicator)}</td><td><b>{esc(f.value)}</b></td>"
        f"<td>{citation_html(f.citation, list(terms) + [fold(f.value).lower()])}</td>"
        "</tr>"
        for f in figures
    ]
    return _table_html("figures", ["地区", "年份", "指标", "数值", "原文引用"], rows)


def compare_column_html(entry, terms: Sequence[str]) -> str:
    head = (
        f'<div class="kb-head">{badge(entry.region, "region")}'
        f'{badge(entry.province, "level")}{badge(f"{entry.year}年" if entry.year else None, "year")}</div>'
    )
    if not entry.citations:
        return f'<div class="kb-card kb-compare">{head}<div class="kb-src">未找到相关原文。</div></div>'
    body = "".join(f'<div style="margin-bottom:.6rem">{citation_html(c, terms)}</div>' for c in entry.citations)
    return f'<div class="kb-card kb-compare">{head}{body}</div>'


def section_text_html(title: str, text: str) -> str:
    return (
        f'<div class="kb-card"><div class="kb-crumb">{esc(title)}</div>'
        f'<div class="kb-text">{esc(text)}</div></div>'
    )
