"""Figures stated in passages: a number with its unit right after an indicator (出庭应诉率为97%).

Shared by answers (figure questions), ranking (a figure question's passages that state a value come
first) and the region page. The value is read from the original text at the folded text's position,
so Traditional 敗訴率為8.1% gives 8.1% with a span into the document.
"""

from __future__ import annotations

import re

from .models import Chunk
from .question import Practice

NUMBER = (r"(\d+(?:\.\d+)?\s*(?:%|％|‰|个百分点|件|宗|例|次|个|人次|万人次|人|名|家|万元|亿元|元|项|场|条|天|"
          r"小时|户|份|起|批|所|座|篇|期|万人|万件|万|亿))")
AMOUNT = re.compile(NUMBER)
_AFTER = re.compile(r"[^。；;，,\d]{0,8}?" + NUMBER)


def figures_in(chunk: Chunk, practice: Practice) -> list[tuple[str, str, int, int]]:
    """(indicator as written, value, position, length) for each number stated right after a place
    where the passage states the indicator (any variant), with a qualifier of up to six characters
    before it (行政首长出庭应诉率 for 出庭应诉率)."""
    out = []
    for m in practice.find_all(chunk.folded):
        after = _AFTER.match(chunk.folded, m.end)
        if not after:
            continue
        start = m.start
        while start > 0 and m.start - start < 6 and "\u4e00" <= chunk.folded[start - 1] <= "\u9fff":
            start -= 1
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
    pattern = re.compile(r"([\u4e00-\u9fff]{0,6}" + re.escape(indicator) + r")[^。；;，,\d]{0,6}?" + NUMBER)
    for m in pattern.finditer(chunk.folded):
        value_start, value_end = m.span(2)
        value = chunk.text[value_start:value_end]
        name = chunk.text[m.start(1) : m.end(1)]
        out.append((name, value, m.start(1), value_end - m.start(1)))
    return out
