"""Figures stated in passages: a number with its unit right after an indicator (出庭应诉率为97%).

Shared by answers (figure questions), ranking (a figure question's passages that state a value come
first) and the region page. The value is read from the original text at the folded text's position,
so Traditional 敗訴率為8.1% gives 8.1% with a span into the document.
"""

from __future__ import annotations

import re

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
