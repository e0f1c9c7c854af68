"""Section-aware chunking of rule-of-law reports.

Reports number their headings 一、 → （一） → 1. / 1、 → （1）, but scrapes often flatten a whole
report onto one line, so headings must also be found inline. A numbering marker counts as a
heading only when it (a) stands at a boundary — text/line start, after sentence punctuation or a
colon, or right after the previous heading — and (b) continues the numbering of its level
(一 then 二, restarting under a new parent). That keeps cross-references such as 第一、二批,
依据第（一）项, 1.5万, 2021.3 or 第1、2项 out of the heading tree. 一是/二是 are points, not headings.

Chunks never cross a section, are cut at sentence ends, respect `max_chars`, and are trimmed
of whitespace and table pipes so `text[start:end]` is exactly the chunk text.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from kb.models import ChunkSpan, Section

__all__ = ["sections", "chunk", "cn_number", "HEADING_CAP"]

HEADING_CAP = 60  # a heading longer than this is really a body sentence: cut it
_CN = "一二三四五六七八九十"
_CN_VAL = {c: i + 1 for i, c in enumerate(_CN)}
_DIGIT = "0-9０-９"
_WS = " \t\r\n\u3000\xa0|"  # pipes from scraped tables behave like whitespace
_SENT_END = "。！？；!?;"
_BOUNDARY = _SENT_END + ":："
_CLOSERS = "”’」』》）)\"'"

# Styles, by rank: 1 一、  2 （一）  3 1. / 1、 / 1．  4 （1）
_MARKER = re.compile(
    rf"(?P<s1>(?<![{_CN}])[{_CN}]{{1,3}}[、．.](?![{_CN}]))"
    rf"|(?P<s2>[（(][{_CN}]{{1,3}}[）)])"
    rf"|(?P<s3>(?<![{_DIGIT}.．])[{_DIGIT}]{{1,2}}[、．.](?![{_DIGIT}]))"
    rf"|(?P<s4>[（(][{_DIGIT}]{{1,2}}[）)])"
)
_UNIT_END = re.compile(rf"[{_SENT_END}]+[{_CLOSERS}]*|\n+|\|+")
_COMMA = re.compile(r"[，,]")


@dataclass(frozen=True)
class _Heading:
    rank: int  # 1..4, the style of the marker
    number: int
    start: int  # offset of the marker
    end: int  # offset just past the heading text
    text: str


def cn_number(s: str) -> int | None:
    """Value of a Chinese numeral 一..九十九; None for non-numerals such as 十四五 (a plan name)."""
    if not s or any(c not in _CN_VAL for c in s):
        return None
    if "十" not in s:
        return _CN_VAL[s] if len(s) == 1 else None
    head, _, tail = s.partition("十")
    if "十" in tail or len(head) > 1 or len(tail) > 1:
        return None
    tens = _CN_VAL[head] if head else 1
    return tens * 10 + (_CN_VAL[tail] if tail else 0)


def _parse_marker(m: re.Match[str]) -> tuple[int, int] | None:
    """(rank, number) of a marker match, or None when its numeral is not a number."""
    rank = int(m.lastgroup[1])  # type: ignore[index]
    body = m.group().strip("（()）、．.")
    num = cn_number(body) if rank in (1, 2) else int(body)
    return None if not num else (rank, num)


def _boundary(text: str, pos: int, prev_end: int) -> str | None:
    """'strong' when a heading may start at pos, 'weak' after a bare space, None mid-sentence.

    Strong: text/line start, after 。；！？: or a sentence-ending closing quote/bracket (whitespace
    allowed in between), or right after the previous heading's text. Weak: whitespace after any
    other character — accepted only for a marker continuing an open numbering (see caller).
    """
    q = pos - 1
    while q >= 0 and text[q] in _WS:
        if text[q] == "\n":
            return "strong"
        q -= 1
    if q < 0 or q + 1 == prev_end:
        return "strong"
    gap = q + 1 < pos
    c = text[q]
    if c in _BOUNDARY:
        return "strong"
    if c in _CLOSERS and ((q > 0 and text[q - 1] in _SENT_END) or gap):
        return "strong"
    return "weak" if gap else None


def _heading_end(text: str, body_start: int, line_start: bool) -> int:
    """Where a heading's text stops: sentence end, line break, or the space before its body.

    A heading alone on its line is the whole (short, punctuation-free) line. An over-long
    "heading" is a numbered body paragraph: its heading is the lead clause up to the first comma.
    """
    n = len(text)
    i = body_start
    stop = min(n, body_start + 400)
    while i < stop and text[i] not in _SENT_END and text[i] not in "\n|":
        if text[i] in " \t\u3000\xa0" and not line_start:
            break
        i += 1
    end = i
    if line_start:  # inner spaces are kept only in a short line that is a heading as a whole
        whole_line = i >= n or text[i] in "\n|"
        end = _rstrip(text, body_start, end)
        spaced = any(c in " \t\u3000\xa0" for c in text[body_start:end])
        if end - body_start > HEADING_CAP or (spaced and not whole_line):
            j = body_start
            while j < end and text[j] not in " \t\u3000\xa0":
                j += 1
            end = j if j - body_start <= HEADING_CAP else end
    if end - body_start > HEADING_CAP:
        comma = _COMMA.search(text, body_start, body_start + HEADING_CAP)
        end = comma.start() if comma and comma.start() > body_start else body_start + HEADING_CAP
    return end


def _rstrip(text: str, start: int, end: int) -> int:
    while end > start and text[end - 1] in _WS:
        end -= 1
    return end


def _lstrip(text: str, start: int, end: int) -> int:
    while start < end and text[start] in _WS:
        start += 1
    return start


def find_headings(text: str) -> list[tuple[_Heading, tuple[str, ...]]]:
    """Accepted headings in order, each with its full path (the open headings above it, then it)."""
    return list(iter_headings(text))


def iter_headings(text: str) -> Iterator[tuple[_Heading, tuple[str, ...]]]:
    """`find_headings` one at a time, as the text is scanned: chunking can stop at the passage
    limit without finding the headings of the rest (300,000 in 3M characters of headings)."""
    stack: list[_Heading] = []
    prev_end = -1
    for m in _MARKER.finditer(text):
        parsed = _parse_marker(m)
        if parsed is None:
            continue
        rank, num = parsed
        kind = _boundary(text, m.start(), prev_end)
        if kind is None:
            continue
        above = [h for h in stack if h.rank < rank]
        same = next((h for h in stack if h.rank == rank), None)
        continues = same is not None and num == same.number + 1
        opens = same is None and num == 1
        if not (continues or (opens and kind == "strong")):
            continue
        line_start = _at_line_start(text, m.start())
        body = _lstrip(text, m.end(), len(text))
        body = body if body == m.end() or text[m.end() : body].find("\n") < 0 else m.end()
        end = max(_heading_end(text, body, line_start), m.end())
        h = _Heading(rank, num, m.start(), end, text[m.start() : end].strip(_WS))
        stack = above + [h]
        yield h, tuple(x.text for x in stack)
        prev_end = end


def _at_line_start(text: str, pos: int) -> bool:
    q = pos - 1
    while q >= 0 and text[q] in _WS and text[q] != "\n":
        q -= 1
    return q < 0 or text[q] == "\n"


def sections(text: str) -> list[Section]:
    """Heading-delimited sections tiling `text`; text before the first heading has path ()."""
    return list(iter_sections(text))


def iter_sections(text: str) -> Iterator[Section]:
    """`sections` one at a time, each as soon as the next heading is found."""
    if not text:
        return
    heads = iter_headings(text)
    current = next(heads, None)
    if current is None or current[0].start > 0:
        yield Section((), 0, current[0].start if current else len(text))
    while current is not None:
        following = next(heads, None)
        yield Section(current[1], current[0].start, following[0].start if following else len(text))
        current = following


def _units(text: str, start: int, end: int, max_chars: int) -> list[tuple[int, int]]:
    """Trimmed sentence spans of text[start:end]; sentences over max_chars split at commas, then hard."""
    out: list[tuple[int, int]] = []
    pos = start
    for m in _UNIT_END.finditer(text, start, end):
        _add_unit(text, pos, m.end(), max_chars, out)
        pos = m.end()
    _add_unit(text, pos, end, max_chars, out)
    return out


def _add_unit(text: str, a: int, b: int, max_chars: int, out: list[tuple[int, int]]) -> None:
    a, b = _lstrip(text, a, b), _rstrip(text, a, b)
    if a >= b:
        return
    if b - a <= max_chars:
        out.append((a, b))
        return
    cuts = [m.end() for m in _COMMA.finditer(text, a, b)] + [b]
    pieces: list[tuple[int, int]] = []
    p = a
    for c in cuts:
        if c > p:
            pieces.append((p, c))
            p = c
    for pa, pb in _pack(pieces, max_chars, max_chars):
        while pb - pa > max_chars:  # one comma-free run longer than max: hard split
            out.append((pa, pa + max_chars))
            pa = _lstrip(text, pa + max_chars, pb)
        if pa < pb:
            out.append((pa, pb))


def _pack(units: list[tuple[int, int]], target: float, max_chars: int) -> list[tuple[int, int]]:
    """Greedy: grow a chunk unit by unit until it reaches target or the next unit would break max."""
    out: list[tuple[int, int]] = []
    i = 0
    while i < len(units):
        a, b = units[i]
        i += 1
        while i < len(units) and b - a < target and units[i][1] - a <= max_chars:
            b = units[i][1]
            i += 1
        out.append((a, b))
    return out


def _merge_small(spans: list[tuple[int, int]], min_chars: int, max_chars: int) -> list[tuple[int, int]]:
    """Fold chunks shorter than min_chars into a neighbour (previous first) when the result fits."""
    out = list(spans)
    i = 0
    while i < len(out):
        a, b = out[i]
        if b - a >= min_chars or len(out) == 1:
            i += 1
            continue
        if i > 0 and b - out[i - 1][0] <= max_chars:
            out[i - 1] = (out[i - 1][0], b)
            del out[i]
        elif i + 1 < len(out) and out[i + 1][1] - a <= max_chars:
            out[i] = (a, out[i + 1][1])
            del out[i + 1]
        else:
            i += 1
    return out


def chunk(text: str, max_chars: int = 500, min_chars: int = 80,
          check: Callable[[int], None] | None = None) -> list[ChunkSpan]:
    """Chunks of at most max_chars, cut at sentence ends, each inside one section.

    A long section is cut into ceil(len/max) near-equal parts so no tiny tail is left; fragments
    under min_chars merge with a neighbour of the same section (a heading-only section stays alone).
    `check(n)` sees the count of chunks so far after each section and may raise (the passage limit,
    limits.py): a text of 3M characters of headings is refused at its 10,001st passage, not after
    it was cut into 300,000. Linear in the text: scripts/bench_chunking.py.
    """
    if max_chars < 1:
        raise ValueError("max_chars must be positive")
    out: list[ChunkSpan] = []
    for sec in iter_sections(text):
        if check is not None:
            check(len(out))
        units = _units(text, sec.start, sec.end, max_chars)
        if not units:
            continue
        total = units[-1][1] - units[0][0]
        target = total / math.ceil(total / max_chars)
        spans = _merge_small(_pack(units, target, max_chars), min_chars, max_chars)
        out.extend(ChunkSpan(sec.path, a, b) for a, b in spans)
    if check is not None:
        check(len(out))
    return out
