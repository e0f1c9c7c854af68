"""Chinese numerals, dates and years: the one date parser kb has.

Reports write dates as 2022-03-15, 2022/3/15, 2022年3月15日, 20220315 or 二〇二二年三月十五日, and
years as 2021年, 2021年度, 二〇二一年; NPC sessions (第十四届全国人民代表大会第二次会议) fix a year too.
Loaders (container dates) and metadata (text dates) both read them here.
"""

from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache

from kb import rules

CN_DIGITS = {"〇": 0, "零": 0, "○": 0, "Ｏ": 0, "O": 0, "0": 0, "一": 1, "二": 2, "三": 3, "四": 4,
             "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_CN_YEAR_DIGITS = "〇零○Ｏ一二三四五六七八九"
FIRST_YEAR, LAST_YEAR = 1949, 2100


def cn_number(s: str) -> int | None:
    """一 → 1, 十四 → 14, 二十 → 20, 三十一 → 31; digits pass through."""
    if not s:
        return None
    if s.isdigit():
        return int(s)
    if "十" in s:
        head, _, tail = s.partition("十")
        tens = CN_DIGITS.get(head) if head else 1
        ones = CN_DIGITS.get(tail) if tail else 0
        if tens is None or ones is None:
            return None
        return tens * 10 + ones
    if len(s) == 1 and s in CN_DIGITS:
        return CN_DIGITS[s]
    return None


def year_value(s: str) -> int | None:
    """'2021' or '二〇二一' → 2021 (None outside 1949–2100 or not a year)."""
    s = s.strip()
    if not s.isdigit():
        try:
            s = "".join(str(CN_DIGITS[c]) for c in s)
        except KeyError:
            return None
    if not s:
        return None
    y = int(s)
    return y if FIRST_YEAR <= y <= LAST_YEAR else None


def as_year(value: object) -> int | None:
    """A year from a container field: 2021, '2021', '2021年', '2021-03-01' (None otherwise)."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 1900 <= value <= LAST_YEAR else None
    if isinstance(value, float) and value.is_integer():
        return as_year(int(value))
    m = re.search(r"(?<!\d)(?:19|20)\d{2}(?!\d)", str(value))
    return int(m.group(0)) if m else None


# ---------------------------------------------------------------------------------------------
# dates

_DATE_RE = re.compile(r"((?:19|20)\d{2})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})(?!\d)")
_COMPACT_RE = re.compile(r"(?<!\d)((?:19|20)\d{2})(\d{2})(\d{2})(?!\d)")
_CN_DATE_RE = re.compile(
    rf"([{_CN_YEAR_DIGITS}]{{4}})\s*年\s*([一二三四五六七八九十]{{1,2}})\s*月\s*([一二三四五六七八九十]{{1,3}})\s*日"
)


def _valid(y: int, m: int, d: int) -> str | None:
    if not FIRST_YEAR <= y <= LAST_YEAR:
        return None
    try:
        return dt.date(y, m, d).isoformat()
    except ValueError:
        return None


def dates(text: str) -> list[tuple[int, str]]:
    """Every date in `text` as (position, ISO date), in order of position."""
    out = []
    for m in _DATE_RE.finditer(text):
        iso = _valid(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        if iso:
            out.append((m.start(), iso))
    for m in _CN_DATE_RE.finditer(text):
        y = year_value(m.group(1))
        mo, d = cn_number(m.group(2)), cn_number(m.group(3))
        iso = _valid(y or 0, mo or 0, d or 0)
        if iso:
            out.append((m.start(), iso))
    out.sort()
    return out


def iso_date(value: object) -> str | None:
    """'2022-03-15 09:30', '2022年3月15日', '2022/3/15', '20220315', '二〇二二年三月十五日', a datetime
    → '2022-03-15' (None if not a date)."""
    if isinstance(value, (dt.date, dt.datetime)):
        return value.strftime("%Y-%m-%d")
    if not isinstance(value, str) or not value.strip():
        return None
    found = dates(value)
    if found:
        return found[0][1]
    m = _COMPACT_RE.search(value.strip())
    return _valid(int(m[1]), int(m[2]), int(m[3])) if m else None


# ---------------------------------------------------------------------------------------------
# years in titles and text

YEAR_RE = re.compile(r"((?:19|20)\d{2})\s*年(度)?")
CN_YEAR_RE = re.compile(rf"([{_CN_YEAR_DIGITS}]{{4}})\s*年(度)?")


def title_year(title: str) -> int | None:
    """The year a title names: 2021年度 before a bare 2021年, then the first."""
    found = []
    for rx in (YEAR_RE, CN_YEAR_RE):
        for m in rx.finditer(title):
            y = year_value(m.group(1))
            if y is not None:
                found.append((0 if m.group(2) else 1, m.start(), y))
    return min(found)[2] if found else None


# NPC (全国人民代表大会) terms: first-session year. Sessions are yearly, except the 2nd NPC
# (3rd session 1962, 4th 1963) and the 3rd/4th NPCs, which had one session each.
@lru_cache(maxsize=1)
def _npc_terms() -> tuple[dict[int, int], dict[tuple[int, int], int]]:
    """({term: first-session year}, {(term, session): year} for irregular sessions), kb/data/dates.txt."""
    first = {int(t): int(y) for t, y in (line.split() for line in rules.lines("dates.txt", "npc terms"))}
    irregular = {(int(t), int(n)): int(y) for t, n, y in (line.split() for line in rules.lines("dates.txt", "npc irregular"))}
    return first, irregular
NPC_RE = re.compile(
    r"第([一二三四五六七八九十]{1,3})届全国人民代表大会(?:常务委员会)?第([一二三四五六七八九十]{1,3})次(?:全体)?会议"
)
# CPPCC national committee: from the 6th term (1983) its plenary sessions match the NPC's years.
_CPPCC_RE = re.compile(
    r"(?:中国人民政治协商会议|全国政协)第([一二三四五六七八九十]{1,3})届全国委员会第([一二三四五六七八九十]{1,3})次会议"
)


def npc_year(text: str) -> int | None:
    """The year of the national NPC (or CPPCC) session a text names, if it names one."""
    m = NPC_RE.search(text)
    cppcc = False
    if not m:
        m = _CPPCC_RE.search(text)
        cppcc = True
    if not m:
        return None
    term, session = cn_number(m.group(1)), cn_number(m.group(2))
    if term is None or session is None or session < 1:
        return None
    if cppcc and term < 6:
        return None
    if "常务委员会" in m.group(0):
        return None  # standing-committee sessions are many per year
    first, irregular = _npc_terms()
    if (term, session) in irregular:
        return irregular[(term, session)]
    if term in first:
        return first[term] + session - 1
    last = max(first)
    if term > last:  # terms are five years
        return first[last] + 5 * (term - last) + session - 1
    return None


# ---------------------------------------------------------------------------------------------
# the date a document carries in its own text

_NUMBER_LINE = re.compile(r"^\s*\S{1,24}[〔\[(（]\s*((?:19|20)\d{2})\s*[〕\])）]\s*\d{1,5}\s*号\s*$", re.MULTILINE)
_DATE_ALONE = re.compile(rf"^[\s（(]*((?:19|20)\d{{2}}|[{_CN_YEAR_DIGITS}]{{4}})\s*年\s*[\d一二三四五六七八九十]{{1,2}}\s*月"
                         rf"\s*[\d一二三四五六七八九十]{{1,3}}\s*日[\s）)]*$", re.MULTILINE)


@lru_cache(maxsize=1)
def _adopted() -> re.Pattern[str]:
    return re.compile(r"[^。\n]{0,50}?(?:" + rules.alternation("dates.txt", "adopted") + ")")


def _date_end(text: str, pos: int) -> int:
    m = _DATE_RE.match(text, pos) or _CN_DATE_RE.match(text, pos)
    return m.end() if m else pos


def text_year(text: str, head: int = 800, whole: int = 6000) -> int | None:
    """The year a document dates itself by in its text (Simplified): its number on a line of its
    own (达市府办发〔2022〕25号), else the latest date in its head that something was adopted,
    amended or issued on (1996年…通过 … 根据2023年…修正 → 2023), else the first date standing
    alone on a line (a 公文's 成文日期, before its attachments)."""
    m = _NUMBER_LINE.search(text[:head])
    if m:
        return int(m.group(1))
    adopted = [int(iso[:4]) for pos, iso in dates(text[:head]) if _adopted().match(text, _date_end(text, pos))]
    if adopted:
        return max(adopted)
    m = _DATE_ALONE.search(text[:whole])
    return year_value(m.group(1)) if m else None
