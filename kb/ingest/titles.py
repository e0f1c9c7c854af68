"""A document's title from its first lines or its file name (ingest/metadata.py weighs them with
the titles a container states).

- **Heading**: the first line that looks like a title (关于…的通知, …年度报告, …统计公报), after the
  lines a page or a 公文 prints above it — page numbers, the 版头 (X人民政府文件), a congress
  session's file header, 文号, 签发人, a 规章's 令 — and before any prose or salutation. A title
  wrapped over two or three lines is joined until it ends as titles end (…国民经济和社会发展 / 统计公报);
  a bracketed line under it belongs to it (（上海市普陀区司法局）, （试行））; an issuer printed above
  it is kept in front (洪泽区人民政府 / 2023年政府信息公开工作年度报告; a 关于… under its 版头).
- **File name**: without what crawlers and copies add — ids, ASCII tags (site_12345_…_page),
  trailing years and (1) — the year tag kept in the title.

Words and patterns are data: `kb/data/titles.txt` (title words and endings, header lines, file
tags) and `kb/data/organisations.txt` (issuer lines).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from kb import rules
from kb.ingest.dates import as_year
from kb.ingest.normalise import fold, looks_like_title
from kb.ingest.statements import org_suffixes

__all__ = ["file_title", "heading", "is_kind_only", "is_title", "tidy_title", "untitled"]

TITLE_MAX = 80
_SCAN_LINES = 14  # a title is looked for on this many first lines
_MAX_UNKNOWN = 2  # lines that are neither header nor title allowed above it
_SPACE_IN_CJK = re.compile(r"(?<=[\u4e00-\u9fff\d（）()])[ \t\u3000]+(?=[\u4e00-\u9fff（）()])|(?<=[\u4e00-\u9fff（）()])[ \t\u3000]+(?=\d)")
_PAGE_NUMBER_LINE = re.compile(r"^[-—–\s]*(?:第\s*)?\d+\s*(?:页)?[-—–\s]*$")
_DATE_LINE = re.compile(r"[（(]?\s*(?:19|20)\d{2}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}\s*日?\s*[)）]?")
_FULL_DATE = re.compile(r"(?:19|20)\d{2}\s*年\s*\d{1,2}\s*月")  # a dateline or a 规章's history, not a title
_BRACKETED = re.compile(r"[（(][^（()）]{2,40}[)）]")
_PROSE = re.compile(r"[。；;！!？?]|[:：，,、]$")
_HAN = re.compile(r"[\u4e00-\u9fff]")
_ID = re.compile(r"[0-9a-fA-F-]{6,}|\d+|[A-Za-z0-9.\-]+")  # crawl ids, hashes, ASCII tags
_LEAD_YEAR = re.compile(r"^((?:19|20)\d{2})\s*年?\s*[_\-—\s]+")
_HAS_YEAR = re.compile(r"(?:19|20)\d{2}|[〇零○一二三四五六七八九]{4}年")


@dataclass(frozen=True)
class _Rules:
    not_a_title: re.Pattern[str]
    salutation: re.Pattern[str]
    org_line: re.Pattern[str]  # a line that is an organisation's name and nothing else
    org_file: re.Pattern[str]  # X人民政府文件: the 版头 names the issuer
    header_line: re.Pattern[str]
    title_end: re.Pattern[str]
    file_tag: re.Pattern[str]
    year_first: tuple[str, ...]
    continues: tuple[str, ...]
    not_in_title: frozenset[str]  # bracketed lines that are no part of a title (（书面）)
    owner: re.Pattern[str]  # 预算主管部门：X under a title


@lru_cache(maxsize=1)
def _rules() -> _Rules:
    t = "titles.txt"
    org = org_suffixes()
    return _Rules(
        not_a_title=re.compile(
            r"^(?:" + rules.alternation(t, "not a title") + r"|\d+$)"
            r"|^[-—–\s]*(?:第\s*)?\d+\s*(?:页)?(?:\s*/\s*(?:共\s*)?\d+\s*页?)?[-—–\s]*$"
            r"|[:：。；;，,]$"),
        salutation=re.compile(r"^(?:" + rules.alternation(t, "salutations") + r"|现将.{0,30}如下)[^。]{0,12}[:：!！]?$"),
        org_line=re.compile(r"^[\u4e00-\u9fff（）()、]{2,40}(?:" + org + r")$"),
        org_file=re.compile(r"^([\u4e00-\u9fff（）()、]{2,40}(?:" + org + r"))文件"),
        header_line=re.compile("|".join(f"(?:{x})" for x in rules.lines(t, "header lines"))),
        title_end=re.compile(r"(?:" + rules.alternation(t, "title ends") + r")(?:[（(][^（()）]{1,20}[)）])?$"),
        file_tag=re.compile(r"[\s_\-—.]*(?:(?:19|20)\d{2}\s*年?(?:度)?|[(（]\d{1,2}[)）]|"
                            + rules.alternation(t, "file tags") + r"|v\d+)$", re.IGNORECASE),
        year_first=rules.words(t, "year first"),
        continues=rules.longest_first(t, "continues"),
        not_in_title=rules.word_set(t, "not part of a title"),
        owner=re.compile(r"^(?:" + rules.alternation(t, "owner labels") + r")\s*[:：]\s*([^\s:：]{2,40})$"),
    )


def tidy_title(title: str) -> str:
    """One line, no letter-spacing (2023 年政府信息公开 → 2023年政府信息公开), at most 80 characters."""
    title = " ".join(title.split())
    return _SPACE_IN_CJK.sub("", title)[:TITLE_MAX].strip()


def is_title(line: str | None) -> bool:
    """Could this line be a title at all: four Chinese characters, not a salutation, a page number
    or an opener of prose (现将…, 根据…)."""
    if not line:
        return False
    folded = fold(line.strip())
    return bool(folded) and not _rules().not_a_title.search(folded) and len(_HAN.findall(folded)) >= 4


def _header(f: str) -> bool:
    return bool(_PAGE_NUMBER_LINE.match(f) or _DATE_LINE.fullmatch(f) or _rules().header_line.fullmatch(f))


def _stops(f: str) -> bool:
    """Prose, a salutation or an addressee line (各区人民政府，市政府各委、办、局：): the title is above."""
    return len(f) > TITLE_MAX or bool(_PROSE.search(f) or _rules().salutation.match(f))


def _title_at(lines: list[str], i: int) -> tuple[str, int] | None:
    """The title starting at line i, joined over wrapped lines (until it ends as titles end) and a
    bracketed line under it; (title, index of its last line) or None."""
    r = _rules()
    found = None
    joined = ""
    for k in range(i, min(i + 3, len(lines))):
        part = tidy_title(lines[k])
        f = fold(part)
        if k > i:
            if len(lines[k]) > 40 or _stops(f) or _header(f) or r.org_line.match(f):
                break
            before = fold(joined)
            if r.title_end.search(before) and not (f.startswith(r.continues) or before.endswith(r.continues)):
                break
        joined = tidy_title(joined + part) if joined else part
        fj = fold(joined)
        if looks_like_title(fj) and is_title(joined) and (k == i or r.title_end.search(fj)):
            found = (joined, k)
    if found is None:
        return None
    title, k = found
    if k + 1 < len(lines):
        under = tidy_title(lines[k + 1])
        f = fold(under)
        if _BRACKETED.fullmatch(f) and not _FULL_DATE.search(f) and f[1:-1].strip() not in r.not_in_title:
            title, k = tidy_title(title + under), k + 1
        elif m := r.owner.match(f):
            title, k = tidy_title(f"{title}（{under[m.start(1):m.end(1)]}）"), k + 1
    return _without_markers(title), k


def _without_markers(title: str) -> str:
    """关于…的报告（书面） → 关于…的报告: a bracketed marker of how it was delivered goes."""
    m = re.search(r"[（(]([^（()）]{1,10})[)）]$", title)
    return title[: m.start()].rstrip() if m and fold(m.group(1)).strip() in _rules().not_in_title else title


def heading(text: str) -> str | None:
    """The title a document prints on its first lines (see the module docstring), or None."""
    r = _rules()
    lines = [" ".join(ln.split()) for ln in text.split("\n")[: _SCAN_LINES * 2] if ln.strip()][:_SCAN_LINES]
    issuer, issuer_above, unknown = None, False, 0
    for i, line in enumerate(lines):
        if len(line) > TITLE_MAX:
            return None  # prose: the title, if any, was above
        f = fold(tidy_title(line))
        if _header(f):
            m = r.org_file.match(f)
            if m:
                issuer, issuer_above = m.group(1), False
            continue
        if _stops(f):
            return None
        if r.org_line.match(f):
            issuer, issuer_above = tidy_title(line), True
            continue
        found = _title_at(lines, i)
        if found is not None:
            title = found[0]
            ft = fold(title)
            if issuer and not ft.startswith(fold(issuer)) and (issuer_above or ft.startswith("关于")):
                title = tidy_title(issuer + title)
            return title
        unknown += 1
        issuer_above = False
        if unknown > _MAX_UNKNOWN:
            return None
    return None


def _without_crawl_parts(stem: str) -> tuple[str, int | None]:
    """A file name without what a crawler or a copy adds (site_12345_标题_page → 标题; a hash), and
    the year a part of it tags on (2026_上海市_政府工作报告 → 2026)."""
    parts = [p for p in re.split(r"[_\s]+", stem) if p]
    year = None
    kept = []
    for p in parts:
        if _ID.fullmatch(p):
            if re.fullmatch(r"(?:19|20)\d{2}", p):
                year = year or int(p)
            continue
        kept.append(p)
    return "".join(kept), year


def is_kind_only(title: str) -> bool:
    """Is a title only the kind of report (政府工作报告), saying neither whose nor which year?"""
    return fold(title).strip() in _rules().year_first


def _place_and_kind(name: str) -> bool:
    """Is the name a place and the kind of report only (广东省政府工作报告), named year first?"""
    from kb.ingest.places import scan

    first = next(iter(scan(fold(name), prose=False)), None)
    return first is not None and first.start == 0 and fold(name)[first.end :] in _rules().year_first


def file_title(stem: str | None) -> tuple[str | None, int | None]:
    """A title from a file name (2024年光明区政府工作报告_2024 → 2024年光明区政府工作报告) and the
    year its tags carry; None for names that are no title (hzq2023_working, a hash)."""
    if not stem:
        return None, None
    r = _rules()
    name, year = stem.strip(), None
    while (m := r.file_tag.search(name)) and m.start() > 0:
        year = year or as_year(m.group(0))
        name = name[: m.start()]
    m = _LEAD_YEAR.match(name)
    if m:
        year = year or int(m.group(1))
        name = name[m.end() :]
    name, tagged = _without_crawl_parts(name)
    year = year or tagged
    name = name.strip(" -—.")
    if len(_HAN.findall(name)) < 4:
        return None, year
    if year and not _HAS_YEAR.search(name):
        name = f"{year}年{name}" if _place_and_kind(name) else f"{name}（{year}年）"
    return tidy_title(name), year


def first_sentence(text: str) -> str:
    for line in text.splitlines():
        line = line.strip().strip("|").strip()
        folded = fold(line)
        if len(line) > 4 and not _rules().salutation.match(folded) and not _PAGE_NUMBER_LINE.match(folded):
            head = re.split(r"[。；;!?！？]", line, maxsplit=1)[0]
            return head[:40] + ("…" if len(head) > 40 else "")
    return "（原文无标题）"


def untitled(text: str, region: str | None, year: int | None, issued: int | None, doc_type: str) -> str:
    """A report scraped without its title: named by what was derived, never by a salutation."""
    if region and doc_type == "法治政府建设年度报告" and year:
        return f"{region}{year}年法治政府建设情况报告（原文无标题）"
    if region and doc_type == "政府工作报告" and (issued or year):
        return f"{region}{issued or (year or 0) + 1}年政府工作报告（原文无标题）"
    if region and doc_type != "其他" and year:
        return f"{region}{year}年{doc_type.split('/')[0]}（原文无标题）"
    return first_sentence(text)
