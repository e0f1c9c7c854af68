"""Answers, result lists, the practice atlas and region profiles as tables people paste into a report.

Every export goes through one `Table` (Chinese headers, one row per quote with title, section,
level, year, the source's *name* and the character span), then through one of three writers:
CSV (UTF-8 with BOM, so Excel shows Chinese), XLSX (openpyxl) and Markdown. Each writer passes its
cells through `safe_cell`: a text cell starting with = + - @ tab or CR would run as a formula in
Excel or LibreOffice (`=HYPERLINK(…)` in a scraped report is enough), so it gets a leading `'`.
"""

from __future__ import annotations

import csv
import datetime as _dt
import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath, PureWindowsPath
from urllib.parse import urlparse

from kb.answer.answers import Answer, Citation
from kb.answer.atlas import Atlas
from kb.models import LEVEL_LABELS, Document, Hit

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_BOM = "\ufeff"


@dataclass(frozen=True)
class Table:
    """One sheet: a name (XLSX sheet, Markdown heading), Chinese headers and rows of plain values."""

    name: str
    headers: tuple[str, ...]
    rows: list[list[object]] = field(default_factory=list)


# ---- cells ---------------------------------------------------------------------------------------
def safe_cell(value: object) -> object:
    """Text that a spreadsheet would read as a formula, made inert with a leading apostrophe.

    Numbers stay numbers (a negative count is not an attack); None becomes an empty cell.
    """
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def level_label(level: str | None) -> str:
    return LEVEL_LABELS.get(level or "", level or "")


def is_url(source: str) -> bool:
    try:
        parsed = urlparse(source)
    except ValueError:
        return False
    return parsed.scheme in ("http", "https") and bool(parsed.netloc)


def source_name(source: str) -> str:
    """What to show for a source: a URL as it is, a file's name without the server's folders
    (POSIX or Windows path; a JSONL row keeps its `#line`)."""
    if is_url(source):
        return source
    base = source.split("#", 1)[0]
    name = PureWindowsPath(base).name if "\\" in base else PurePosixPath(base).name
    return name + source[len(base):] if name else source


def export_filename(subject: str, what: str, ext: str, day: _dt.date | None = None) -> str:
    """`哪些地区推行综合查一次_回答_2026-12-01.csv`: the question and the date, safe on any OS."""
    stem = re.sub(r'[\\/:*?"<>|\x00-\x1f“”「」\s]+', "_", subject).strip("._ ")[:40] or "kb"
    return f"{stem}_{what}_{(day or _dt.date.today()).isoformat()}.{ext}"


# ---- tables --------------------------------------------------------------------------------------
CITATION_HEADERS = ("标题", "章节", "原文引用", "来源", "起始位置", "结束位置")


def _citation_cells(c: Citation) -> list[object]:
    return [c.title, " > ".join(c.section), c.quote, source_name(c.source), c.start, c.end]


def answer_table(a: Answer, documents: Mapping[str, Document] | None = None) -> Table:
    """A which-regions or compare answer: a row per quote; a figure answer: a row per value;
    anything else: the passages. `documents` (doc_id → Document) supplies level and province
    where the answer does not carry them."""
    def meta(doc_id: str):
        doc = (documents or {}).get(doc_id)
        return doc.meta if doc else None

    if a.figures:
        rows = []
        for f in a.figures:
            m = meta(f.citation.doc_id)
            rows.append([f.region, m.province if m else None, level_label(m.level) if m else None, f.year,
                         f.indicator, f.value, *_citation_cells(f.citation)])
        return Table("数值", ("地区", "省份", "层级", "年份", "指标", "数值", *CITATION_HEADERS), rows)
    if a.regions:
        rows = [[e.region, e.province, level_label(e.level), c.year or e.year, *_citation_cells(c)]
                for e in a.regions for c in e.citations]
        return Table("地区", ("地区", "省份", "层级", "年份", *CITATION_HEADERS), rows)
    return hits_table(a.hits)


def hits_table(hits: Sequence[Hit]) -> Table:
    rows = []
    for h in hits:
        m = h.doc.meta
        rows.append([h.rank, m.region, m.province, level_label(m.level), m.year, m.doc_type, m.title,
                     " > ".join(h.chunk.section), h.chunk.text, source_name(h.doc.source), h.chunk.start, h.chunk.end])
    return Table("段落", ("排名", "地区", "省份", "层级", "年份", "文档类型", "标题", "章节", "原文", "来源",
                        "起始位置", "结束位置"), rows)


def atlas_tables(atlas: Atlas, quotes: Mapping[tuple[str, str], Sequence[Citation]] | None = None) -> list[Table]:
    """The matrix (a row per region, a column per practice: passages naming it) and, for the cells
    given in `quotes`, a row per quote."""
    matrix = Table("图谱", ("地区", "省份", "层级", "年份", *atlas.practices),
                   [[r.region, r.province, level_label(r.level), "、".join(map(str, r.years)),
                     *[atlas.count(r.region, p) for p in atlas.practices]] for r in atlas.regions])
    rows = [[region, practice, c.year, *_citation_cells(c)]
            for (region, practice), cited in (quotes or {}).items() for c in cited]
    return [matrix, Table("原文", ("地区", "做法", "年份", *CITATION_HEADERS), rows)]


# ---- writers -------------------------------------------------------------------------------------
def csv_text(table: Table, bom: bool = True) -> str:
    """CSV with a BOM (Excel then reads UTF-8) and formula-safe cells."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow([safe_cell(h) for h in table.headers])
    writer.writerows([safe_cell(v) for v in row] for row in table.rows)
    return (_BOM if bom else "") + buf.getvalue()


def xlsx_bytes(tables: Sequence[Table]) -> bytes:
    """One sheet per table; text cells are written as text (never formulas), headers bold."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    wb = Workbook()
    wb.remove(wb.active)
    used: set[str] = set()
    for table in tables:
        name = re.sub(r"[\\/*?:\[\]]", "_", table.name)[:31] or "表"
        while name in used:
            name = name[:28] + f"_{len(used)}"
        used.add(name)
        ws = wb.create_sheet(name)
        ws.append([safe_cell(h) for h in table.headers])
        for row in table.rows:
            ws.append([safe_cell(v) for v in row])
        for cell in ws[1]:
            cell.font = Font(bold=True)
        for col, header in enumerate(table.headers, 1):
            longest = max([len(str(header))] + [len(str(r[col - 1] or "")) for r in table.rows[:200]])
            ws.column_dimensions[ws.cell(1, col).column_letter].width = min(60, max(8, longest * 1.6))
            if longest > 40:
                for row in ws.iter_rows(min_row=2, min_col=col, max_col=col):
                    row[0].alignment = Alignment(wrap_text=True, vertical="top")
        ws.freeze_panes = "A2"
        for row in ws.iter_rows(min_row=2):  # a string never becomes a formula, even one openpyxl would guess
            for cell in row:
                if isinstance(cell.value, str):
                    cell.data_type = "s"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _md_cell(value: object) -> str:
    text = "" if value is None else str(safe_cell(value))
    return text.replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def markdown_table(table: Table) -> str:
    lines = ["| " + " | ".join(_md_cell(h) for h in table.headers) + " |",
             "|" + "---|" * len(table.headers)]
    lines += ["| " + " | ".join(_md_cell(v) for v in row) + " |" for row in table.rows]
    return "\n".join(lines) + "\n"


def _cite_md(c: Citation, level: str | None = None) -> str:
    where = " > ".join(c.section)
    year = f"{c.year}年" if c.year else "年份不详"
    tail = f"，{level_label(level)}" if level else ""
    return (f"> {c.quote}\n\n— 《{c.title}》（{year}{tail}）{('，' + where) if where else ''}。"
            f"来源：{source_name(c.source)}，第 {c.start}–{c.end} 字")


def answer_markdown(a: Answer) -> str:
    lines = [f"## {a.question}", "", a.answer, ""]
    for e in a.regions:
        lines.append(f"### {e.region}（{e.province or '省份不详'}，{level_label(e.level) or '层级不详'}，{e.year or '年份不详'}）")
        lines += [_cite_md(c, e.level) + "\n" for c in e.citations]
    if a.figures:
        lines.append(markdown_table(answer_table(a)))
    if not a.regions and not a.figures:
        lines += [hits_markdown(a.hits)]
    return "\n".join(lines).rstrip() + "\n"


def hits_markdown(hits: Sequence[Hit]) -> str:
    out = []
    for h in hits:
        m = h.doc.meta
        where = " > ".join(h.chunk.section)
        out.append(f"{h.rank}. **{m.region or '—'}**（{m.year or '年份不详'}，{level_label(m.level) or '层级不详'}）"
                   f"《{m.title}》{(' ' + where) if where else ''}\n\n"
                   f"   > {h.chunk.text}\n\n   来源：{source_name(h.doc.source)}，第 {h.chunk.start}–{h.chunk.end} 字\n")
    return "\n".join(out)


# ---- the CLI's one-call forms ----------------------------------------------------------------------
def answer_csv(a: Answer, documents: Mapping[str, Document] | None = None, bom: bool = True) -> str:
    return csv_text(answer_table(a, documents), bom)


def hits_csv(hits: Sequence[Hit], bom: bool = True) -> str:
    return csv_text(hits_table(hits), bom)
