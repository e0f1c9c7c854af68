"""Figures stated in passages: a number with its unit right after an indicator (出庭应诉率为97%),
or a cell of a table flattened to text (信息公开年报, 统计公报: a row label followed by its numbers).

Shared by answers (figure questions), ranking (a figure question's passages that state a value come
first) and the region page. The value is read from the original text at the folded text's position,
so Traditional 敗訴率為8.1% gives 8.1% with a span into the document.

Tables: a line that is a label followed by numbers separated by spaces is a row
(`一、本年新收政府信息公开申请数量 211 14 0 0 3 1 229`); a line of column names without numbers
above it is its header (`信息内容 本年制发件数 本年废止件数 现行有效件数`) when the counts agree, so a
cell is named by its row and column (行政规范性文件 · 现行有效件数 = 45). A row whose header was
flattened beyond reading gives its last number as the 总计 when the table names a 总计/合计 column.
"""

from __future__ import annotations

import re
from functools import lru_cache

from kb import rules
from kb.models import Chunk
from kb.query.question import Practice

NUMBER = (r"(\d+(?:\.\d+)?\s*(?:%|％|‰|个百分点|件|宗|例|次|个|人次|万人次|人|名|家|万元|亿元|元|项|场|条|天|"
          r"小时|户|份|起|批|所|座|篇|期|万人|万件|万|亿))")
AMOUNT = re.compile(NUMBER)
_AFTER = re.compile(r"[^。；;，,\d]{0,8}?" + NUMBER)


QUALIFIER_MAX = 8  # characters of qualifier an indicator may carry before it (行政首长|出庭应诉率)
_NOT_QUALIFIER = frozenset("的了为是在已将和与及对等共计约达年月日")


def qualifier_start(folded: str, start: int) -> int:
    """Where the qualifier in front of an indicator begins: whole words read backwards (longest
    dictionary word first) while they are not verbs or function characters, at most eight characters
    — 主要负责人出庭应诉率 keeps 主要负责人, 全年共受理行政复议案件 keeps nothing before 行政."""
    from kb.index.tokenize import dictionary, is_verb

    words = dictionary()
    pos = start
    while pos > 0 and start - pos < QUALIFIER_MAX:
        for size in (4, 3, 2, 1):
            word = folded[max(pos - size, 0) : pos]
            if len(word) == size and (size == 1 or word in words):
                break
        if not all("\u4e00" <= ch <= "\u9fff" for ch in word) or is_verb(word) or word in _NOT_QUALIFIER:
            break
        if start - (pos - len(word)) > QUALIFIER_MAX:
            break
        pos -= len(word)
    return pos


_CELL = r"-?\d+(?:\.\d+)?%?"
_ROW = re.compile(rf"^(?P<label>[^\d\n]*[\u4e00-\u9fff][^\d\n]*?)[ \t\u3000]*(?P<cells>{_CELL}(?:[ \t\u3000]+{_CELL})*)[ \t\u3000]*$",
                  re.M)
_HEADER = re.compile(r"^[ \t\u3000]*[\u4e00-\u9fff（）()：:、/]{2,}(?:[ \t\u3000]+[\u4e00-\u9fff（）()：:、/]{2,})+[ \t\u3000]*$", re.M)
_TOTAL = re.compile(r"总计|合计")
_LABEL_NUMBERING = re.compile(r"^[\s（(]*[一二三四五六七八九十0-9]+[、.．)）]\s*")


def has_table_row(text: str) -> bool:
    """Does the text hold a line that is a label followed by numbers, or numbers only (a flattened
    table's row)?"""
    return _ROW.search(text) is not None or _NUMBERS_ONLY.search(text) is not None


_NUMBERS_ONLY = re.compile(rf"^[ \t\u3000]*(?P<cells>{_CELL}(?:[ \t\u3000]+{_CELL})+)[ \t\u3000]*$", re.M)


@lru_cache(maxsize=1)
def _templates() -> tuple[tuple[str, tuple[str, ...]], ...]:
    """(squashed title, column names) of the tables kb/data/tables.txt knows."""
    from kb.index.phrases import squash

    return tuple((squash(title), rules.words("tables.txt", title)) for title in rules.sections("tables.txt") if title)


def _template_before(context: str, at: int) -> tuple[str, tuple[str, ...]] | None:
    """The known table whose title is printed last before position `at` (squash-insensitive)."""
    from kb.index.phrases import phrase_pattern

    best = None
    for title, columns in _templates():
        found = [m.start() for m in phrase_pattern(title).finditer(context, 0, at)]
        if found and (best is None or found[-1] > best[0]):
            best = (found[-1], title, columns)
    return (best[1], best[2]) if best else None


def table_cells(text: str, before: str = "") -> list[tuple[str, str, int, int]]:
    """(row label · column, value, position, length) of every cell of the flattened tables in `text`.
    `before`: the document text just before it, where a header cut off by the passage's start is."""
    out = []
    context = before[-3000:]
    whole = context + text
    headers = [(m.start() - len(context), m.group().split()) for m in _HEADER.finditer(whole)]
    rows = [(m, m.group("label").strip()) for m in _ROW.finditer(text)]
    rows += [(m, "") for m in _NUMBERS_ONLY.finditer(text)]
    for m, label in rows:
        if len(label) > 60 or label.endswith(("。", "；", "：", ":")):
            continue
        cells = [(c.group(), m.start("cells") + c.start()) for c in re.finditer(_CELL, m.group("cells"))]
        name = _LABEL_NUMBERING.sub("", label)
        template = _template_before(whole, len(context) + m.start())
        if template and len(template[1]) == len(cells):
            title, columns = template
            row = f"{title}{name}"  # the table's title says what its rows count (…申请情况)
            out += [(f"{row}·{col}", value, at, len(value)) for col, (value, at) in zip(columns, cells)]
            continue
        if not label:
            continue
        above = [cols for at, cols in headers if at < m.start()]
        columns = above[-1][1:] if above and len(above[-1]) - 1 == len(cells) else None
        if columns:
            out += [(f"{name}·{col}", value, at, len(value)) for col, (value, at) in zip(columns, cells)]
        elif len(cells) == 1:
            out.append((name, cells[0][0], cells[0][1], len(cells[0][0])))
        elif _TOTAL.search(whole[max(0, len(context) + m.start() - 400) : len(context) + m.start()]):
            value, at = cells[-1]
            out.append((f"{name}（总计）", value, at, len(value)))
    return out


def table_figures(chunk: Chunk, practice: Practice, before: str = "") -> list[tuple[str, str, int, int]]:
    """The table cells of a passage whose names state the indicator: where the row label alone states
    it, the row's 总计 (or its only cell); else each cell whose row and column together state it."""
    from kb.ingest.normalise import fold

    rows: dict[int, list[tuple[str, str, int, int]]] = {}
    for cell in table_cells(chunk.text, before):
        rows.setdefault(chunk.text.rfind("\n", 0, cell[2]) + 1, []).append(cell)
    out = []
    for cells in rows.values():
        label = cells[0][0].split("·")[0].replace("（总计）", "")
        if len(cells) > 1 and practice.find(fold(label)) is not None:
            total = [c for c in cells if _TOTAL.search(c[0].split("·")[-1])]
            out += total[-1:] if total else []
            continue
        stated = [(st, c) for c in cells if (st := practice.find(fold(c[0].replace("·", "")))) is not None]
        if stated:  # the cell whose name states it most closely (行政复议结果纠正, not 复议后起诉结果纠正)
            best = max((round(st.rank, 6), -(st.end - st.start)) for st, _ in stated)
            out += [c for st, c in stated if (round(st.rank, 6), -(st.end - st.start)) == best]
    return out


def figures_in(chunk: Chunk, practice: Practice) -> list[tuple[str, str, int, int]]:
    """(indicator as written, value, position, length) for each number stated right after a place
    where the passage states the indicator (any variant), with its qualifier before it
    (行政首长出庭应诉率 for 出庭应诉率; see `qualifier_start`)."""
    out = []
    for m in practice.find_all(chunk.folded):
        after = _AFTER.match(chunk.folded, m.end)
        if not after:
            continue
        start = qualifier_start(chunk.folded, m.start)
        value_start, value_end = after.span(1)
        out.append((chunk.text[start:m.end], chunk.text[value_start:value_end], start, value_end - start))
    return out


def extract_figures(chunk: Chunk, indicator: str) -> list[tuple[str, str, int, int]]:
    """(indicator as written, value, position, length) for numbers stated right after the indicator.

    出庭应诉率为97% → ('出庭应诉率', '97%'). The indicator is matched on the folded text (so
    Traditional 敗訴率 counts), the value is read from the original text at the same position.
    """
    if not indicator:
        return []
    out = []
    # Allow a qualifier before the indicator (行政首长出庭应诉率 for 出庭应诉率).
    pattern = re.compile(r"(" + re.escape(indicator) + r")[^。；;，,\d]{0,6}?" + NUMBER)
    for m in pattern.finditer(chunk.folded):
        value_start, value_end = m.span(2)
        value = chunk.text[value_start:value_end]
        start = qualifier_start(chunk.folded, m.start(1))
        out.append((chunk.text[start : m.end(1)], value, start, value_end - start))
    return out
