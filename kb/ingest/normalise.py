"""Text normalisation: the search form of text (`fold`) and scrape-noise removal (`clean`).

`fold` is what indexing and queries see, so 營商環境 and 营商环境, ２０２０ and 2020 meet. It keeps
length and position (fold(t)[i] stands for t[i]) so spans found in folded text map straight back
onto the original for highlighting and citations.

`clean` removes portal chrome (table pipes, breadcrumbs, share/font-size bars, QR and exit prompts,
header field rows) from scraped pages while leaving body text verbatim and in its original script.
All patterns are written in Simplified Chinese and matched against `fold`ed text, so they also
match Traditional pages (掃一掃, 已歸檔, 公開日期 …) and full-width punctuation.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache

from kb import rules
from kb.models import CleanText

# ---------------------------------------------------------------------------------------------
# fold

_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}
_WIDTH[0x3000] = 0x20


@lru_cache(maxsize=1)
def _t2s():
    """The OpenCC converter, built on first use: importing kb must stay cheap."""
    import opencc

    return opencc.OpenCC("t2s")


def _to_simplified(text: str) -> str:
    """t2s that never changes length: a phrase rule that would is undone char by char."""
    convert = _t2s().convert
    out = convert(text)
    if len(out) == len(text):
        return out
    lines = text.split("\n")
    fixed = []
    for line in lines:
        conv = convert(line)
        if len(conv) != len(line):
            conv = "".join(c2 if len(c2 := convert(ch)) == 1 else ch for ch in line)
        fixed.append(conv)
    return "\n".join(fixed)


def fold(text: str) -> str:
    """Search form: Traditional→Simplified and full-width ASCII→half-width, same length as `text`.

    Chinese punctuation (,。、“”) is left alone; only U+FF01–FF5E and the ideographic space fold.
    """
    if not text:
        return text
    return _to_simplified(text).translate(_WIDTH)


# ---------------------------------------------------------------------------------------------
# noise patterns and header labels: data (kb/data/page_chrome.txt, kb/data/header_fields.txt),
# Simplified and half-width: they run on folded text


@dataclass(frozen=True)
class _Rules:
    inline: re.Pattern[str]  # prompts that can sit inline
    location: re.Pattern[str]  # breadcrumb openers
    home: frozenset[str]
    chrome: frozenset[str]  # a share/font-size/print bar is nothing but these words
    weak_chrome: frozenset[str]
    line: re.Pattern[str]  # whole lines of chrome
    copyright: re.Pattern[str]
    footer: re.Pattern[str]  # too generic to drop anywhere but at the end of a page
    trailer: re.Pattern[str]  # opens what a portal appends after the article
    label: re.Pattern[str]  # a header field's label and its colon
    placeholders: frozenset[str]
    title_words: tuple[str, ...]  # a heading names a document when it holds one of these
    title_ends: tuple[str, ...]  # … or ends with one of these


def _regex(name: str, section: str) -> str:
    return "|".join(f"(?:{line})" for line in rules.lines(name, section))


@lru_cache(maxsize=1)
def _rules() -> _Rules:
    chrome, header = "page_chrome.txt", "header_fields.txt"
    # Labels may be letter-spaced (来  源:); longest first so 发布日期 wins over 日期.
    labels = rules.longest_first(header, "labels")
    return _Rules(
        inline=re.compile(_regex(chrome, "inline")),
        location=re.compile(r"^(?:" + rules.alternation(chrome, "location") + r")\s*:?"),
        home=rules.word_set(chrome, "home"),
        chrome=frozenset(w.lower() for w in rules.words(chrome, "chrome")),
        weak_chrome=frozenset(w.lower() for w in rules.words(chrome, "weak chrome")),
        line=re.compile(_regex(chrome, "line")),
        copyright=re.compile(r"[^。;;!!??]{0,60}(?:" + rules.alternation(chrome, "copyright")
                             + r")[^。;;!!??]{0,80}", re.IGNORECASE),
        footer=re.compile(_regex(chrome, "footer")),
        trailer=re.compile(r"(?:" + rules.alternation(chrome, "trailer") + r")\s*(?:[::]|>>)?.{0,20}"),
        label=re.compile(r"(?<![^\s|])(" + "|".join(r"[ \u3000]*".join(map(re.escape, label)) for label in labels)
                         + r")[ \u3000]*:", re.IGNORECASE),
        placeholders=frozenset(w.lower() for w in rules.words(header, "placeholders")),
        title_words=rules.longest_first("titles.txt", "title words"),
        title_ends=rules.longest_first("titles.txt", "title ends"),
    )


def label_pattern() -> re.Pattern[str]:
    """A header field's label and its colon (标题: , 发 布 机 构：), from kb/data/header_fields.txt."""
    return _rules().label


def is_placeholder(value: str) -> bool:
    """无, 暂无, --, null …: a field printed without a value."""
    return value.strip().lower() in _rules().placeholders


_CRUMB_SPLIT = re.compile(r"\s*(?:>>|»|›|>|>|→)\s*")
_CHROME_SPLIT = re.compile(r"[\s::【】\[\]()()|/·•,,、<>《》]+")
_SHORT_LINE = 10  # characters: the pieces of a share/font-size bar spread one per line
_CRUMB_MAX = 150  # characters of a breadcrumb trail at most
_CHROME_SPAN = _CRUMB_MAX + 10  # characters of a run of short lines that can decide it is chrome

# ---------------------------------------------------------------------------------------------
# title and body shape

# headings as folded text shows them (full-width brackets and dots are already ASCII)
_ENUMERATOR = re.compile(
    r"^(?:[一二三四五六七八九十百]+[、.]|\([一二三四五六七八九十\d]+\)|\d+[、.]|第[一二三四五六七八九十\d]+[章节条部分])"
)
_DATE_ONLY = re.compile(r"\d{4}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}\s*日?(?:\s*\d{1,2}:\d{2}(?::\d{2})?)?")
_SENTENCE_END = re.compile(r"[。;;!!??]")
_CJK = re.compile(r"[\u3400-\u9fff]")
_RULE_CELL = re.compile(r":?-{2,}:?")
_SPACES = re.compile(r"[ \u3000]{2,}")
_BLANKS = re.compile(r"\n{3,}")
_MAX_HEADER_EXTRAS = 6


def _crumb_start(s: str) -> bool:
    """Does the text start as a breadcrumb trail does (当前位置…, '>> a')? Decides a long run alone."""
    return bool(_rules().location.match(s)) or s.startswith((">>", "»", "›"))


def _is_crumb(s: str) -> bool:
    """Breadcrumb trails: 当前位置…, '>> a >> b', '首页 > a > b'."""
    if _crumb_start(s):
        return True
    if len(s) > _CRUMB_MAX or _SENTENCE_END.search(s):
        return False
    parts = [p for p in _CRUMB_SPLIT.split(s) if p]
    if len(parts) < 2 or any(len(p) > 30 for p in parts):
        return False
    return parts[0] in _rules().home or bool(re.search(r">>|»|›", s))


def _is_chrome_bar(s: str) -> bool:
    """A share/font-size/print bar: only chrome words, at least one of them unambiguous."""
    if len(s) > 80:
        return False
    r = _rules()
    words = [w.lower() for w in _CHROME_SPLIT.split(s) if w]
    if not words or any(w not in r.chrome and w not in r.weak_chrome for w in words):
        return False
    return any(w not in r.weak_chrome for w in words)


def _is_noise(s: str) -> bool:
    """True if a folded, stripped line or cell is page chrome wherever it appears."""
    if not s or len(s) > 200:
        return False
    return _is_crumb(s) or _is_chrome_bar(s) or bool(_rules().line.fullmatch(s) or _rules().copyright.fullmatch(s))


def _is_footer_noise(s: str) -> bool:
    return _is_noise(s) or bool(_rules().footer.fullmatch(s))


def looks_like_title(s: str) -> bool:
    """A short heading line naming the document (关于…的报告, …年度法治政府建设工作情况); `s` folded."""
    if not 5 <= len(s) <= 80 or s[-1] in "。,,;;::!!??、":
        return False
    if _ENUMERATOR.match(s) or _DATE_ONLY.fullmatch(s) or _rules().label.match(s):
        return False
    r = _rules()
    return len(_CJK.findall(s)) >= 4 and (any(w in s for w in r.title_words) or s.endswith(r.title_ends))


def _looks_like_body(s: str) -> bool:
    """Prose or a section heading: where the page header has certainly ended."""
    return len(s) > 60 or bool(_SENTENCE_END.search(s)) or s[-1] in ",,::" or bool(_ENUMERATOR.match(s))


# ---------------------------------------------------------------------------------------------
# cells


@dataclass
class _Cell:
    text: str  # original script, whitespace tidied
    folded: str

    @classmethod
    def of(cls, text: str) -> _Cell:
        text = _SPACES.sub(" ", text.strip())
        return cls(text, fold(text))


def _cells(line: str) -> list[_Cell]:
    """A line as table cells: portal exports wrap header rows and even body text in pipes."""
    if "|" not in line:
        return [_Cell.of(line)] if line.strip() else []
    parts = (p.strip() for p in line.split("|"))
    return [_Cell.of(p) for p in parts if p and not _RULE_CELL.fullmatch(p)]


def _field_pairs(cell: _Cell) -> list[tuple[str, str]] | None:
    """label→value pairs if the cell starts with a known header label, else None."""
    matches = list(_rules().label.finditer(cell.folded))
    if not matches or cell.folded[: matches[0].start()].strip():
        return None
    pairs = []
    for m, nxt in zip(matches, [*matches[1:], None], strict=True):
        label = re.sub(r"\s+", "", cell.text[m.start(1) : m.end(1)])
        value = cell.text[m.end() : nxt.start() if nxt else len(cell.text)].strip(" \t|")
        pairs.append((label, value))
    return pairs


def _store(fields: dict[str, str], label: str, value: str) -> None:
    value = value.strip()
    if value and not is_placeholder(fold(value)):
        fields.setdefault(label, value)


def _take_fields(cells: list[_Cell], i: int, pairs: list[tuple[str, str]], fields: dict[str, str]) -> int:
    """Store the field cell at i (and its value cell, for `label: | value` rows); returns next i."""
    for label, value in pairs[:-1]:
        _store(fields, label, value)
    label, value = pairs[-1]
    i += 1
    if not value and i < len(cells) and _field_pairs(cells[i]) is None and not _is_noise(cells[i].folded):
        value = cells[i].text
        i += 1
    _store(fields, label, value)
    return i


# ---------------------------------------------------------------------------------------------
# clean


@dataclass
class _Header:
    lines: list[str] = field(default_factory=list)
    title: str | None = None
    extras: int = 0


def _cut_inline(line: str, folded: str) -> str | None:
    """The line without inline prompts (matched on its folded form); None if nothing else was on it."""
    pieces, last = [], 0
    for m in _rules().inline.finditer(folded):
        pieces.append(line[last : m.start()])
        last = m.end()
    if not pieces:
        return line
    pieces.append(line[last:])
    kept = "".join(pieces)
    return kept if kept.strip() else None


def _prepare(raw: str) -> list[str]:
    """Lines with uniform newlines, no BOM/zero-width/nbsp, and inline prompts cut out."""
    text = raw.replace("\r\n", "\n").replace("\r", "\n").replace("\xa0", " ")
    text = re.sub(r"[\ufeff\u200b\u200c\u200d\u2060]", "", text)
    pairs = zip(text.split("\n"), fold(text).split("\n"), strict=True)  # fold keeps length, so lines align
    return [kept for line, folded in pairs if (kept := _cut_inline(line, folded)) is not None]


def _drop_chrome_runs(lines: list[str]) -> list[str]:
    """Share/font-size bars and breadcrumbs scraped one piece a line (下载 / 打印 / 【字号： / 加大 / 】,
    您的位置: / 首页 / > / 要闻): a run of short lines that reads as chrome once joined is dropped.

    Linear in the text: a run joined is at most `_CHROME_SPAN` characters (a bar is at most 80, a
    breadcrumb trail 150), and a longer run is chrome only by how it starts, so only its first lines
    are looked at; each line is folded once. Joining the rest of the run from every line on was
    quadratic: 20k characters of headings (every line short) took 55 s here (issue 19)."""
    n = len(lines)
    stripped = [line.strip() for line in lines]
    short = [0 < len(x) <= _SHORT_LINE for x in stripped]
    run_end = list(range(n + 1))  # for a short line: where its run of short lines ends
    for k in range(n - 1, -1, -1):
        if short[k]:
            run_end[k] = run_end[k + 1]
    offset = [0]  # characters of the stripped lines before each, one space between
    for x in stripped:
        offset.append(offset[-1] + len(x) + 1)
    folded: list[str | None] = [None] * n

    def fold_line(k: int) -> str:
        if folded[k] is None:
            folded[k] = fold(stripped[k])  # fold maps characters; the spaces between lines join nothing
        return folded[k]  # type: ignore[return-value]

    out: list[str] = []
    i = 0
    while i < n:
        end = run_end[i]
        if end - i >= 2:
            if offset[end] - offset[i] - 1 > _CHROME_SPAN:  # too long for a bar or a trail: its start decides
                k, head = i, []
                while k < end and sum(map(len, head)) < 20:
                    head.append(fold_line(k))
                    k += 1
                chrome = _crumb_start(" ".join(head))
            else:
                joined = " ".join(fold_line(k) for k in range(i, end))
                chrome = _is_chrome_bar(joined) or _is_crumb(joined)
            # or a breadcrumb's tail: 您的位置: / 首页 / > / 要闻 / 要闻, then the title
            if chrome or _rules().location.match(fold_line(i)):
                i = end
                continue
        out.append(lines[i])
        i += 1
    return out


def _join_split_fields(lines: list[str]) -> list[str]:
    """`来源:` on one line and its value on the next (四川日报) → one field line."""
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        folded = fold(line.strip())
        label = _rules().label
        if (i + 1 < len(lines) and label.fullmatch(folded) and lines[i + 1].strip()
                and len(lines[i + 1].strip()) <= 40 and not label.match(fold(lines[i + 1].strip()))
                and not _is_noise(fold(lines[i + 1].strip()))):
            out.append(f"{line.strip()} {lines[i + 1].strip()}")
            i += 2
            continue
        out.append(line)
        i += 1
    return out


def _cut_trailer(lines: list[str]) -> list[str]:
    """Drop what a portal appends after the article (the [trailer] words of kb/data/page_chrome.txt)."""
    if len(lines) < 10:
        return lines
    for i in range(int(len(lines) * 0.8), len(lines)):
        if _rules().trailer.fullmatch(fold(lines[i].strip())):
            return lines[:i]
    return lines


def _before_title(lines: list[str], title: str | None, fields: dict[str, str]) -> list[str]:
    """A container that states the title (a spreadsheet column, a page's <title>): what a scrape
    has above the first line that *is* the title is the portal's header — its fields are kept,
    its lines dropped."""
    if not title:
        return lines
    want = re.sub(r"\s+", "", fold(title))
    for t, line in enumerate(lines[:20]):
        if re.sub(r"\s+", "", fold(line.strip().strip("|"))) == want:
            if t:
                for above in lines[:t]:
                    for cell in _cells(above):
                        for label, value in _field_pairs(cell) or []:
                            _store(fields, label, value)
            return lines[t:]
    return lines


def _read_header(lines: list[str], fields: dict[str, str]) -> tuple[_Header, int, list[str]]:
    """Walk the top of the page: chrome, field rows and the title, until body text starts.

    Returns the header, the index of the first body line, and the kept remainder of that line
    (cells after the header ended on the same line).
    """
    head = _Header()
    for n, line in enumerate(lines):
        cells = _cells(line)
        i = 0
        while i < len(cells):
            cell = cells[i]
            if _is_footer_noise(cell.folded):
                i += 1
            elif (pairs := _field_pairs(cell)) is not None:
                i = _take_fields(cells, i, pairs, fields)
            elif not head.lines and looks_like_title(cell.folded):  # only the first kept line: never reorder
                head.title = cell.text
                head.lines.append(cell.text)
                i += 1
            elif len(cells) == 1 and not _looks_like_body(cell.folded) and head.extras < _MAX_HEADER_EXTRAS:
                head.extras += 1
                head.lines.append(cell.text)
                i += 1
            else:
                return head, n, [c.text for c in cells[i:] if not _is_noise(c.folded)]
    return head, len(lines), []


def _read_footer(lines: list[str], stop: int, fields: dict[str, str]) -> int:
    """Walk up from the end over chrome and field rows; returns the end index of the body."""
    end = len(lines)
    while end > stop:
        cells = _cells(lines[end - 1])
        found: dict[str, str] = {}
        i = 0
        while i < len(cells):
            if _is_footer_noise(cells[i].folded):
                i += 1
            elif (pairs := _field_pairs(cells[i])) is not None:
                i = _take_fields(cells, i, pairs, found)
            else:
                return end
        for label, value in found.items():
            fields.setdefault(label, value)
        end -= 1
    return end


def _body_line(line: str) -> str | None:
    """A body line with table pipes turned into tab-separated cells; None if it is chrome."""
    cells = _cells(line)
    if not cells:
        return None if "|" in line else ""  # a row of bare pipes is chrome, not a paragraph break
    if len(cells) > 1 and _is_noise(" ".join(c.folded for c in cells)):
        return None
    kept = [c.text for c in cells if not _is_noise(c.folded)]
    return "\t".join(kept) if kept else None


def _lines_out(head: _Header, first: list[str], body: Iterator[str | None]) -> list[str]:
    out = list(head.lines)
    if first:
        out.append("\t".join(first))
    out.extend(line for line in body if line is not None)
    # a title repeated right below itself (page heading + article heading) is said once
    if head.title is not None:
        while len(out) > 1 and out[1].strip() == head.title:
            del out[1]
        while len(out) > 2 and not out[1].strip() and out[2].strip() == head.title:
            del out[1:3]
    return out


def clean(raw: str, title: str | None = None) -> CleanText:
    """Scrape → noise-free text in its original script, with the page title and header fields.

    Body sentences are never re-flowed or rewritten: only chrome lines/cells are dropped, pipes
    become tab-separated cells, indentation is trimmed and blank-line runs are collapsed. `title`,
    when the container states one, marks where the article starts (see `_before_title`).
    """
    fields: dict[str, str] = {}
    lines = _cut_trailer(_join_split_fields(_drop_chrome_runs(_prepare(raw))))
    lines = _before_title(lines, title, fields)
    head, start, first = _read_header(lines, fields)
    end = _read_footer(lines, start + 1, fields) if start < len(lines) else len(lines)
    body = (_body_line(line) for line in lines[start + 1 : end])
    text = "\n".join(_lines_out(head, first, body))
    text = _BLANKS.sub("\n\n", text).strip()
    return CleanText(text=text, title=head.title, fields=fields)
