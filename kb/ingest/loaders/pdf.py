"""Page furniture out of fixed-layout text (PDF, OFD, text exports with form feeds).

A page's text layer reads like print: a page number (`- 1 -`, 第1页 共5页), a running header or
footer repeated on every page, lines broken wherever the line was full (中华人民共和 / 国政府信息公开条例),
table cells one per line, and justified spacing (邮 编 ： 223100). What comes out is the text a
person reads: furniture dropped, wrapped lines rejoined into paragraphs, vertical cell text put
back together. This happens when the document is loaded, so the stored text *is* the rejoined
text: chunk spans and citation quotes index into it, and a sentence that crossed a page break is
one quotable span.
"""

from __future__ import annotations

import re
from collections import Counter

_PAGE_NUMBER = re.compile(
    r"^[\s\-—–－·•]*(?:第\s*)?[\d一二三四五六七八九十]{1,4}\s*(?:页)?(?:\s*[/／,，]?\s*共\s*\d{1,4}\s*页)?[\s\-—–－·•]*$"
    r"|^\s*\d{1,4}\s*[/／]\s*\d{1,4}\s*$|^\s*(?:page|p\.)\s*\d{1,4}(?:\s*of\s*\d{1,4})?\s*$",
    re.IGNORECASE,
)
_DIGITS = re.compile(r"\d+")
# A line that starts something new: never glued to the line above.
_STARTS_BLOCK = re.compile(
    r"^(?:[一二三四五六七八九十百]+[、.．]|[(（][一二三四五六七八九十\d]+[)）]|\d+[、.．](?!\d)|第[一二三四五六七八九十百\d]+[章节条部分项]"
    r"|[①②③④⑤⑥⑦⑧⑨⑩]|附件|附表|注[:：])"
)
_ENDS_SENTENCE = re.compile(r"(?:[。！？!?；;：:]|[。！？!?][”」』])$")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_FULLWIDTH_PUNCT = "，。、；：？！“”‘’（）《》【】…—"
# Justified CJK text comes out letter-spaced: 邮 编 ： 223100 ， 电 话.
_SPACE_NEAR_PUNCT = re.compile(rf"[ \t\u3000]+(?=[{_FULLWIDTH_PUNCT}])|(?<=[{_FULLWIDTH_PUNCT}])[ \t\u3000]+")
_LETTER_SPACED = re.compile(
    rf"(?<![\u3400-\u9fff])(?:[\u3400-\u9fff{_FULLWIDTH_PUNCT}][ \u3000]){{2,}}[\u3400-\u9fff{_FULLWIDTH_PUNCT}](?![\u3400-\u9fff])"
)
_SPACE_YEAR = re.compile(r"(?<=\d)[ \t\u3000]+(?=[年月日号件条个次家项%％])|(?<=[年月])[ \t\u3000]+(?=\d)")


def _width(line: str) -> float:
    """Printed width in CJK cells: a Chinese character is one, a digit or Latin letter half."""
    return sum(1.0 if ord(c) > 0x2E7F else 0.5 for c in line if not c.isspace())


def _tidy_spacing(line: str) -> str:
    line = _LETTER_SPACED.sub(lambda m: re.sub(r"[ \u3000]", "", m.group(0)), line)  # 邮 编 ：, not 审结 总计
    line = _SPACE_NEAR_PUNCT.sub("", line)
    line = _SPACE_YEAR.sub("", line)
    return line.rstrip()


def _furniture(pages: list[list[str]]) -> set[str]:
    """Lines (digits masked) that open or close most pages: running headers and footers."""
    if len(pages) < 2:
        return set()
    seen: Counter[str] = Counter()
    for lines in pages:
        edge = [ln for ln in lines if ln.strip()]
        keys = {_DIGITS.sub("#", ln.strip()) for ln in edge[:2] + edge[-2:]}
        seen.update(k for k in keys if k)
    need = max(2, int(0.6 * len(pages) + 0.999))
    return {k for k, n in seen.items() if n >= need and len(k) <= 60}


def _strip_page(lines: list[str], furniture: set[str]) -> list[str]:
    out = list(lines)
    for _ in range(2):  # a page number and a header can both sit at an edge
        while out and not out[0].strip():
            out.pop(0)
        while out and not out[-1].strip():
            out.pop()
        for idx in (0, -1):
            if out and (_PAGE_NUMBER.match(out[idx]) or _DIGITS.sub("#", out[idx].strip()) in furniture):
                out.pop(idx)
    return out


def _full_width(lines: list[str]) -> float:
    widths = sorted(w for ln in lines if (w := _width(ln)) >= 8)
    if len(widths) < 3:
        return 0.0
    return widths[int(0.9 * (len(widths) - 1))]


def _vertical_runs(lines: list[str]) -> list[str]:
    """Cell text printed one character a line (三 / 、 / 本 / 年 / 度 …) back on one line."""
    out: list[str] = []
    run: list[str] = []

    def flush() -> None:
        if len(run) >= 3:
            out.append("".join(run))
        else:
            out.extend(run)
        run.clear()

    for ln in lines:
        s = ln.strip()
        if s and len(s) <= 1 and not s.isdigit():
            run.append(s)
        else:
            flush()
            out.append(ln)
    flush()
    return out


def rejoin(pages: list[str]) -> str:
    """Pages of a text layer → one text without page furniture, wrapped lines joined.

    A line is joined to the next when it is about as wide as the page's full lines and does not
    end a sentence, and the next line does not start a heading or list item (一、 (二) 3. 第四条).
    """
    split = [p.replace("\r\n", "\n").replace("\r", "\n").split("\n") for p in pages]
    furniture = _furniture(split)
    lines: list[str] = []
    for page in split:
        lines.extend(_tidy_spacing(ln) for ln in _strip_page(page, furniture))
    lines = _vertical_runs(lines)
    full = _full_width(lines)
    out: list[str] = []
    joinable = False
    for ln in lines:
        s = ln.strip()
        if not s:
            out.append("")
            joinable = False
            continue
        if joinable and out and not _STARTS_BLOCK.match(s):
            prev = out[-1]
            sep = " " if prev[-1:].isascii() and prev[-1:].isalnum() and s[:1].isascii() and s[:1].isalnum() else ""
            out[-1] = prev + sep + s
        else:
            out.append(s)
        joinable = bool(full) and _width(s) >= 0.85 * full and not _ENDS_SENTENCE.search(s)
    text = "\n".join(out)
    return re.sub(r"\n{3,}", "\n\n", text).strip()
