"""Derive document metadata (title, type, year, date, issuer, place) from a cleaned report.

Public surface: `derive(clean, raw) -> Metadata`. Everything else is private.

Precedence: `raw.hints` (container fields) > header fields and title > body text.
Values are Simplified Chinese (Traditional input is folded with OpenCC t2s), except `title`,
which keeps its original script.

Places come from the administrative-division gazetteer shipped inside the `jionlp` package
(`jionlp/dictionary/china_location.txt`: province → city → county → town, with short names).
It is read once, lazily, on the first call that needs it (~0.3 s); jionlp itself is never
imported (its import is slow and noisy), only its data file is read.
"""

from __future__ import annotations

import importlib.util
import os
import re
import zipfile
import threading
from collections import Counter
from dataclasses import dataclass

from kb.models import CleanText, Metadata, RawDocument, doc_type_name

__all__ = ["derive"]

_TITLE_MAX = 80
_LEVEL_ORDER = {"national": 0, "province": 1, "city": 2, "county": 3, "town": 4}

# ---------------------------------------------------------------------------------------------
# Folding (Traditional → Simplified). One converter, created on first use.

_cc = None
_cc_lock = threading.Lock()


def _fold(text: str | None) -> str:
    global _cc
    if not text:
        return ""
    if _cc is None:
        with _cc_lock:
            if _cc is None:
                import opencc

                _cc = opencc.OpenCC("t2s")
    return _cc.convert(text)


# ---------------------------------------------------------------------------------------------
# Gazetteer

@dataclass(frozen=True)
class _Unit:
    name: str
    level: str  # province / city / county / town
    province: str
    city: str | None
    county: str | None

    @property
    def ancestors(self) -> tuple[str, ...]:
        return tuple(n for n in (self.province, self.city, self.county) if n and n != self.name)


def _gazetteer_lines(stem: str) -> list[str]:
    """jionlp ships its dictionaries zipped and unzips them on first import; read whichever is there."""
    if os.path.exists(stem + ".txt"):
        with open(stem + ".txt", encoding="utf-8") as f:
            return f.readlines()
    with zipfile.ZipFile(stem + ".zip") as z:
        return z.read("china_location.txt").decode("utf-8").splitlines(keepends=True)


class _Gazetteer:
    def __init__(self, path: str):
        by_name: dict[str, list[_Unit]] = {}
        by_alias: dict[str, list[_Unit]] = {}
        province = city = county = None

        def add(d: dict[str, list[_Unit]], key: str, unit: _Unit) -> None:
            lst = d.setdefault(key, [])
            if unit not in lst:
                lst.append(unit)

        for line in _gazetteer_lines(path):
            if line.startswith("\t\t\t\t"):  # villages / communities: not needed
                continue
            depth = len(line) - len(line.lstrip("\t"))
            parts = line.strip().split("\t")
            name = parts[0]
            aliases = parts[2].split("/") if len(parts) >= 3 else []
            if depth == 0:
                province, city, county = name, None, None
                unit = _Unit(name, "province", province, None, None)
            elif depth == 1:
                county = None
                if name == province or "直辖" in name:  # municipalities, 省直辖行政区划
                    city = name if name == province else None
                    continue
                city = name
                unit = _Unit(name, "city", province, city, None)
            elif depth == 2:
                if "直辖" in name:  # 市直辖行政区划 (东莞, 中山 …): towns hang off the city
                    county = None
                    continue
                county = name
                unit = _Unit(name, "county", province, city, county)
            else:
                unit = _Unit(name, "town", province, city, county)
                add(by_name, name, unit)
                continue
            add(by_name, name, unit)
            for a in aliases:
                a = a.strip()
                if len(a) >= 2 and a != name and "直辖" not in a:
                    add(by_alias, a, unit)
        self.by_name = by_name
        self.by_alias = by_alias
        # Last two characters of every full name → the name lengths ending so, longest first.
        lengths: dict[str, set[int]] = {}
        for nm in by_name:
            lengths.setdefault(nm[-2:], set()).add(len(nm))
        self.name_lengths = {k: tuple(sorted(v, reverse=True)) for k, v in lengths.items()}
        self.max_alias = max(len(a) for a in by_alias)
        # Short names that are unambiguous: one unit, and not also some unit's full name.
        self.unique_alias = {
            a: us[0] for a, us in by_alias.items() if len(us) == 1 and a not in by_name
        }
        self._short: dict[str, dict[str, _Unit]] = {}

    def short_names(self, suffix: str) -> dict[str, _Unit]:
        """Short names X (unambiguous as short names) whose X + suffix is exactly one unit's full
        name: 海盐 → 海盐县 for 县."""
        table = self._short.get(suffix)
        if table is None:
            table = {
                a: u for a, u in self.unique_alias.items()
                if u.name == a + suffix and len(self.by_name.get(u.name, ())) == 1
            }
            self._short[suffix] = table
        return table


_gaz: _Gazetteer | None = None
_gaz_lock = threading.Lock()


def _gazetteer() -> _Gazetteer:
    global _gaz
    if _gaz is None:
        with _gaz_lock:
            if _gaz is None:
                spec = importlib.util.find_spec("jionlp")
                if spec is None or not spec.submodule_search_locations:
                    raise RuntimeError("kb.metadata needs the jionlp package (its place gazetteer)")
                base = list(spec.submodule_search_locations)[0]
                _gaz = _Gazetteer(os.path.join(base, "dictionary", "china_location"))
    return _gaz


# Full names that are also ordinary words in report prose (主城区, 郊区, 新区 …): never matched in
# running text.
_GENERIC_NAMES = frozenset(
    "城区 郊区 矿区 东区 西区 南区 北区 中区 新区 市中区 市辖区 林区 全市 全县 全区 全镇 全乡 本市".split()
)


@dataclass(frozen=True)
class _Mention:
    start: int
    end: int
    name: str
    units: tuple[_Unit, ...]
    alias: bool


_TOWN_SUFFIXES = ("镇", "乡", "街道", "苏木")
_HAN = re.compile(r"[\u4e00-\u9fff]")


def _scan(text: str, aliases: bool = False, prose: bool = True) -> list[_Mention]:
    """Longest, leftmost-first non-overlapping gazetteer names in `text`.

    Full names always; short names (浙江, 绍兴, 上虞 …) only when `aliases` (title/header/hints).
    In `prose` (body text) names that read as ordinary words are skipped: generic ones (城区, 街道,
    开发区), towns shorter than three characters (示范镇 ⊃ 范镇) and two-character names glued to
    a preceding word (形成县级 ⊃ 成县) unless that word is a place (安阳市滑县).
    """
    g = _gazetteer()
    found: list[_Mention] = []
    n = len(text)
    ends = g.name_lengths
    for i in range(1, n):
        lengths = ends.get(text[i - 1 : i + 1])
        if lengths is None:
            continue
        for length in lengths:
            start = i + 1 - length
            if start < 0:
                continue
            s = text[start : i + 1]
            if s not in g.by_name:
                continue
            units = g.by_name[s]
            if s in _GENERIC_NAMES and s != text:
                continue
            if s != text:
                units = [u for u in units if u.level != "town" or (len(s) >= 3 and s.endswith(_TOWN_SUFFIXES))]
                if not units:
                    continue
            if prose:
                if length == 2 and start > 0 and _HAN.match(text[start - 1]) and text[start - 1] not in "省市州盟":
                    continue
            found.append(_Mention(start, i + 1, s, tuple(units), False))
            break
    if aliases:
        for i in range(n):
            for length in range(min(g.max_alias, n - i), 1, -1):
                s = text[i : i + length]
                if s in g.by_alias:
                    found.append(_Mention(i, i + length, s, tuple(g.by_alias[s]), True))
                    break
    # Keep the longest first, then drop overlaps.
    found.sort(key=lambda m: (-(m.end - m.start), m.start))
    taken: list[_Mention] = []
    used = bytearray(n)
    for m in found:
        if any(used[m.start : m.end]):
            continue
        used[m.start : m.end] = b"\x01" * (m.end - m.start)
        taken.append(m)
    taken.sort(key=lambda m: m.start)
    return taken


def _confirmed(m: _Mention, text: str, full_names: set[str]) -> bool:
    """A short name in a title or header counts only when it is a province (浙江), is followed by
    its unit's kind (恩施州), or the document also names, in full, the same unit, a parent or a
    child of it (上虞 + 绍兴市 / 上虞区)."""
    after = text[m.end : m.end + 1]
    for u in m.units:
        if u.level == "province" or u.name in full_names:
            return True
        if any(a in full_names for a in (u.city, u.county) if a and a != u.name and a != u.province):
            return True
        if after and after in "市州县区旗盟" and u.name.endswith(after):
            return True
    return any(
        any(u.name in (unit.province, unit.city, unit.county) for u in m.units)
        for n in full_names
        for unit in _gazetteer().by_name.get(n, ())
    )


@dataclass
class _Place:
    region: str | None = None
    province: str | None = None
    city: str | None = None
    county: str | None = None
    town: str | None = None
    level: str | None = None


def _place_from_units(units: list[_Unit], support: set[str]) -> _Place:
    """One name may denote several units (阳城镇 ×5, 鼓楼区 ×4): narrow them by the other place
    names the document states, then keep only what every remaining candidate agrees on."""
    scored = [(sum(1 for a in u.ancestors if a in support), u) for u in units]
    best = max(s for s, _ in scored)
    cands = [u for s, u in scored if s == best]
    u0 = cands[0]

    def agreed(attr: str) -> str | None:
        vals = {getattr(u, attr) for u in cands}
        return vals.pop() if len(vals) == 1 else None

    place = _Place(region=u0.name, level=u0.level)
    place.province = agreed("province")
    place.city = agreed("city")
    if u0.level in ("county", "town"):
        place.county = agreed("county")
    if u0.level == "town":
        place.town = u0.name
    return place


def _support_names(mentions: list[_Mention]) -> set[str]:
    """Full names of province/city/county units stated in the mentions (used to disambiguate)."""
    out: set[str] = set()
    for m in mentions:
        for u in m.units:
            if u.level != "town" and (not m.alias or len(m.units) == 1):
                out.add(u.name)
    return out


def _deepest(mentions: list[_Mention], support: set[str]) -> list[_Unit] | None:
    """Pick the deepest unit among mentions that is consistent with the other stated names."""
    best: tuple[int, int, int] | None = None
    best_units: list[_Unit] | None = None
    for idx, m in enumerate(mentions):
        # A mention is credible when it is a full name, or one of its units fits another mention.
        for u in m.units:
            fit = sum(1 for a in u.ancestors if a in support)
            key = (fit, not m.alias, _LEVEL_ORDER[u.level], -idx)
            if best is None or key > best:
                best = key
                best_units = [v for v in m.units if v.level == u.level]
    return best_units


# Self-reference markers in report prose: 我县 / 本区 / 全镇 … → which unit suffix the author is.
_SELF_RE = re.compile(r"(我|本|全)(省|自治区|市|州|盟|县|区|旗|镇|乡|街道)")
_SUFFIX_OF_ISSUER = re.compile(r"^(省|市|州|县|区|旗|镇|乡|街道)")


def _suffix_matches(unit: _Unit, suffix: str) -> bool:
    if suffix == "省":
        return unit.level == "province"
    if suffix in ("镇", "乡", "街道"):
        return unit.level == "town" and unit.name.endswith(suffix)
    if suffix == "市":
        return unit.level in ("city", "county") and unit.name.endswith("市")
    if suffix == "自治区":
        return unit.level == "province"
    return unit.level in ("city", "county") and unit.name.endswith(suffix)


def _self_suffix(body: str, issuer: str | None) -> str | None:
    votes: Counter[str] = Counter()
    for m in _SELF_RE.finditer(body):
        votes[m.group(2)] += 3 if m.group(1) in "我本" else 1
    if issuer:
        m = _SUFFIX_OF_ISSUER.match(issuer)
        if m:
            votes[m.group(1)] += 5
    if not votes:
        return None
    return votes.most_common(1)[0][0]


def _body_place(body: str, mentions: list[_Mention], suffix: str | None, support: set[str]) -> _Place | None:
    """The author's own unit from running text: the most named place of the kind the text speaks
    as (我县 → a 县, 我镇 → a 镇 …); without such a marker, the most named place."""
    g = _gazetteer()
    counts: Counter[str] = Counter(m.name for m in mentions)
    first: dict[str, int] = {}
    for m in mentions:
        first.setdefault(m.name, m.start)
    units_of = {m.name: m.units for m in mentions}

    if suffix:
        fitting = [n for n in counts if any(_suffix_matches(u, suffix) for u in units_of[n])]
        if fitting:
            name = max(fitting, key=lambda n: (counts[n], -first[n]))
            units = [u for u in units_of[name] if _suffix_matches(u, suffix)]
            return _place_from_units(units, support)
        if suffix in ("县", "区", "市", "旗"):
            # Bare short name in prose (海盐法治政府建设 …) + 我县: accept it when short name + suffix
            # is the full name of exactly one unit in the gazetteer.
            table = g.short_names(suffix)
            prefixes = {a[:2] for a in table}
            hits: Counter[str] = Counter()
            lens = range(min(g.max_alias, 6), 1, -1)
            for i in range(len(body) - 1):
                if body[i : i + 2] not in prefixes:
                    continue
                for length in lens:
                    s = body[i : i + length]
                    if s in table:
                        hits[s] += 1
                        break
            if hits:
                alias = max(hits, key=lambda a: (hits[a], len(a)))
                return _place_from_units([table[alias]], support)
        # The author's own unit is not named: say nothing rather than guess another place.
        return None
    if not counts:
        return None
    name = max(counts, key=lambda n: (counts[n], max(_LEVEL_ORDER[u.level] for u in units_of[n]), -first[n]))
    units = list(units_of[name])
    deepest = max(_LEVEL_ORDER[u.level] for u in units)
    return _place_from_units([u for u in units if _LEVEL_ORDER[u.level] == deepest], support)


_NATIONAL_RE = re.compile(r"国务院|全国人民代表大会|全国人大|中华人民共和国|中央人民政府|全国政协|全国委员会")
_NATIONAL_REGIONS = frozenset({"全国", "中央", "国家", "中国", "national", "中华人民共和国"})


def _resolve_place(region_hint: str, strong: list[str], issuer: str | None, body: str,
                   national_text: str) -> _Place:
    body_mentions = _scan(body)
    full_names = {m.name for m in body_mentions}
    strong_mentions: list[_Mention] = _scan(region_hint, aliases=True, prose=False) if region_hint else []
    pending: list[tuple[_Mention, str]] = []  # short names, kept only when confirmed
    for text in strong:
        for m in _scan(text, aliases=True, prose=False):
            if m.alias:
                pending.append((m, text))
            else:
                strong_mentions.append(m)
    full_names |= {m.name for m in strong_mentions if not m.alias}
    strong_mentions += [m for m, text in pending if _confirmed(m, text, full_names)]

    body_support = _support_names(body_mentions)
    if strong_mentions:
        strong_support = _support_names(strong_mentions)
        units = _deepest(strong_mentions, strong_support)
        place = _place_from_units(units, strong_support | body_support)
        # A header naming a parent (来源: 绍兴市人民政府) while the text speaks as a unit under it.
        suffix = _self_suffix(body, None)
        if suffix:
            sub = _body_place(body, body_mentions, suffix, strong_support | body_support)
            if (sub and sub.level and _LEVEL_ORDER[sub.level] > _LEVEL_ORDER[place.level or "national"]
                    and place.region in (sub.province, sub.city, sub.county)):
                return sub
        return place
    if _NATIONAL_RE.search(national_text) or _NPC_RE.search(body[:300]):
        return _Place(region="全国", level="national")
    return _body_place(body, body_mentions, _self_suffix(body, issuer), body_support) or _Place()


# ---------------------------------------------------------------------------------------------
# Dates and years

_CN_DIGITS = {"〇": 0, "零": 0, "○": 0, "Ｏ": 0, "O": 0, "0": 0, "一": 1, "二": 2, "三": 3, "四": 4,
              "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}


def _cn_number(s: str) -> int | None:
    """一 → 1, 十四 → 14, 二十 → 20, 三十一 → 31; digits pass through."""
    if not s:
        return None
    if s.isdigit():
        return int(s)
    if "十" in s:
        head, _, tail = s.partition("十")
        tens = _CN_DIGITS.get(head, None) if head else 1
        ones = _CN_DIGITS.get(tail, None) if tail else 0
        if tens is None or ones is None:
            return None
        return tens * 10 + ones
    if len(s) == 1 and s in _CN_DIGITS:
        return _CN_DIGITS[s]
    return None


_DATE_RE = re.compile(r"((?:19|20)\d{2})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})(?!\d)")
_CN_DATE_RE = re.compile(
    r"([〇零○Ｏ一二三四五六七八九]{4})年([一二三四五六七八九十]{1,2})月([一二三四五六七八九十]{1,3})日"
)


def _valid(y: int, m: int, d: int) -> str | None:
    if 1949 <= y <= 2100 and 1 <= m <= 12 and 1 <= d <= 31:
        return f"{y:04d}-{m:02d}-{d:02d}"
    return None


def _dates(text: str) -> list[tuple[int, str]]:
    out = []
    for m in _DATE_RE.finditer(text):
        iso = _valid(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        if iso:
            out.append((m.start(), iso))
    for m in _CN_DATE_RE.finditer(text):
        y = int("".join(str(_CN_DIGITS[c]) for c in m.group(1)))
        mo, d = _cn_number(m.group(2)), _cn_number(m.group(3))
        iso = _valid(y, mo or 0, d or 0)
        if iso:
            out.append((m.start(), iso))
    out.sort()
    return out


def _iso_date(value: object) -> str | None:
    if value is None:
        return None
    ds = _dates(_fold(str(value)))
    return ds[0][1] if ds else None


# NPC (全国人民代表大会) terms: first-session year. Sessions are yearly, except the 2nd NPC
# (3rd session 1962, 4th 1963) and the 3rd/4th NPCs, which had one session each.
_NPC_FIRST = {1: 1954, 2: 1959, 3: 1964, 4: 1975, 5: 1978, 6: 1983, 7: 1988, 8: 1993, 9: 1998,
              10: 2003, 11: 2008, 12: 2013, 13: 2018, 14: 2023}
_NPC_IRREGULAR = {(2, 3): 1962, (2, 4): 1963}
_NPC_RE = re.compile(
    r"第([一二三四五六七八九十]{1,3})届全国人民代表大会(?:常务委员会)?第([一二三四五六七八九十]{1,3})次(?:全体)?会议"
)
# CPPCC national committee: from the 6th term (1983) its plenary sessions match the NPC's years.
_CPPCC_RE = re.compile(
    r"(?:中国人民政治协商会议|全国政协)第([一二三四五六七八九十]{1,3})届全国委员会第([一二三四五六七八九十]{1,3})次会议"
)


def _npc_year(text: str) -> int | None:
    m = _NPC_RE.search(text)
    cppcc = False
    if not m:
        m = _CPPCC_RE.search(text)
        cppcc = True
    if not m:
        return None
    term, session = _cn_number(m.group(1)), _cn_number(m.group(2))
    if term is None or session is None or session < 1:
        return None
    if cppcc and term < 6:
        return None
    if "常务委员会" in m.group(0):
        return None  # standing-committee sessions are many per year
    if (term, session) in _NPC_IRREGULAR:
        return _NPC_IRREGULAR[(term, session)]
    if term in _NPC_FIRST:
        return _NPC_FIRST[term] + session - 1
    if term > 14:
        return 2023 + 5 * (term - 14) + session - 1
    return None


_YEAR_RE = re.compile(r"((?:19|20)\d{2})\s*年(度)?")
_CN_YEAR_RE = re.compile(r"([〇零○Ｏ一二三四五六七八九]{4})年(度)?")
_REPORT_YEAR_RE = re.compile(r"现将\s*((?:19|20)\d{2}|[〇零○Ｏ一二三四五六七八九]{4})\s*年")


def _year_value(s: str) -> int | None:
    """'2021' or '二〇二一' → 2021."""
    if not s.isdigit():
        try:
            s = "".join(str(_CN_DIGITS[c]) for c in s)
        except KeyError:
            return None
    y = int(s)
    return y if 1949 <= y <= 2100 else None


def _title_year(title: str) -> int | None:
    found = []
    for m in _YEAR_RE.finditer(title):
        found.append((0 if m.group(2) else 1, m.start(), int(m.group(1))))
    for m in _CN_YEAR_RE.finditer(title):
        y = int("".join(str(_CN_DIGITS[c]) for c in m.group(1)))
        found.append((0 if m.group(2) else 1, m.start(), y))
    found = [f for f in found if 1949 <= f[2] <= 2100]
    return min(found)[2] if found else None


def _as_year(value: object) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 1900 <= value <= 2100 else None
    m = re.search(r"(19|20)\d{2}", str(value))
    return int(m.group(0)) if m else None


# ---------------------------------------------------------------------------------------------
# Document type

_REPLY_RE = re.compile(r"(提案|建议|议案).*(答复|复函|回复|办理)|(答复|复函|回复).*(提案|建议|议案)")
_ANNUAL_RE = re.compile(r"(法治政府|依法行政|法治建设).*(报告|情况|总结)")


def _doc_type(title: str, body_head: str) -> str:
    if _REPLY_RE.search(title):
        return "提案答复"
    if "决议" in title:
        return "决议"
    if "政府工作报告" in title:
        return "政府工作报告"
    if _ANNUAL_RE.search(title):
        return "年度报告"
    if _REPLY_RE.search(body_head[:200]) and re.search(r"(提案|建议)已收悉|您提出的", body_head):
        return "提案答复"
    if re.search(r"(法治政府|依法行政)[^。]{0,20}(报告如下|情况报告)", body_head):
        return "年度报告"
    return "其他"


# ---------------------------------------------------------------------------------------------
# Header fields and issuer

_ISSUER_KEYS = ("发布机构", "发布单位", "发文机关", "发文单位", "发布部门", "发布机关", "信息来源",
                "来源单位", "来源", "文章来源", "所属机构", "主办单位")
_DATE_KEYS = ("成文日期", "公开日期", "发布日期", "发文日期", "印发日期", "日期", "发布时间", "时间")
_EMPTY = frozenset({"", "无", "暂无", "-", "—", "--", "/", "null", "none", "n/a", "空"})
_ORG_TAIL = r"(?:人民政府办公室|人民政府办公厅|人民政府|政府办公室|司法局|司法厅|委员会|办公室|办公厅|街道办事处|管理委员会|政府|局|委)"
_SIGN_RE = re.compile(r"([\u4e00-\u9fff（）()]{2,30}?" + _ORG_TAIL + r")[\s|]*$")
_TITLE_ORG_RE = re.compile(r"^([\u4e00-\u9fff]{2,30}?" + _ORG_TAIL + r")(?=(?:19|20)\d{2}|关于|二〇)")
_BODY_ORG_RE = re.compile(r"^\s*(?:(?:19|20)\d{2}年(?:度)?[,，、]\s*)?([\u4e00-\u9fff]{2,20}?人民政府)")


def _fields(clean: CleanText) -> dict[str, str]:
    out: dict[str, str] = {}
    for k, v in (clean.fields or {}).items():
        key = re.sub(r"[\s:：|]", "", _fold(str(k)))
        val = _fold(str(v)).strip().strip("|").strip()
        if key and val.lower() not in _EMPTY:
            out.setdefault(key, val)
    return out


def _pick(fields: dict[str, str], keys: tuple[str, ...]) -> str | None:
    for k in keys:
        if k in fields:
            return fields[k]
    return None


def _signature(body: str) -> tuple[str | None, str | None]:
    """(organisation, ISO date) of the closing signature, if the text ends with one."""
    tail = body[-300:]
    ds = _dates(tail)
    if not ds:
        return None, None
    pos, iso = ds[-1]
    after = tail[pos:]
    if len(re.sub(r"[\s|\d年月日〇零○一二三四五六七八九十-]", "", after)) > 40:
        return None, None  # the last date is inside prose, not a signature
    org = None
    m = _SIGN_RE.search(tail[:pos].rstrip())
    if m:
        org = m.group(1)
        # Keep only the last clause (signatures follow a sentence end or whitespace).
        org = re.split(r"[。；;，,：:！!？?\s]", org)[-1] or None
    return org, iso


def _issuer(hints: dict, fields: dict[str, str], title: str, body: str, sign_org: str | None) -> str | None:
    hinted = hints.get("issuer") or hints.get("publisher")
    if hinted and _fold(str(hinted)).strip() not in _EMPTY:
        return _fold(str(hinted)).strip()
    head = _pick(fields, _ISSUER_KEYS)
    if head:
        if sign_org and sign_org != head and sign_org.endswith(head):
            return sign_org  # 县司法局 + signed 海盐县司法局
        return head
    if sign_org:
        return sign_org
    m = _TITLE_ORG_RE.search(title)
    if m:
        return m.group(1)
    m = _BODY_ORG_RE.search(body[:80])
    if m:
        return m.group(1)
    return None


# ---------------------------------------------------------------------------------------------

def _first_line(text: str) -> str | None:
    for line in text.splitlines():
        line = line.strip().strip("|").strip()
        if line:
            return line[:_TITLE_MAX]
    return None


def _hint(hints: dict, *keys: str) -> object | None:
    for k in keys:
        v = hints.get(k)
        if v is not None and str(v).strip() not in ("", "null", "None"):
            return v
    return None


def _untitled(first_line: str, region: str | None, year: int | None, doc_type: str) -> str:
    """A report scraped without its title line: name it by what was derived, not by its first sentence."""
    if region and year and doc_type == "年度报告":
        return f"{region}{year}年法治政府建设情况报告（原文无标题）"
    head = re.split(r"[。；;!?！？]", first_line, maxsplit=1)[0]
    return head[:40] + ("…" if len(head) > 40 else "")


def derive(clean: CleanText, raw: RawDocument) -> Metadata:
    """Metadata for one document: hints > header fields and title > body text."""
    hints = dict(raw.hints or {})

    # Title (original script).
    title_hint = _hint(hints, "title")
    stated_title = str(title_hint).strip() if title_hint else (raw.title or clean.title or "").strip()
    title = stated_title[:_TITLE_MAX] if stated_title else (_first_line(clean.text) or "")
    ftitle = _fold(title)

    body = _fold(clean.text)
    fields = _fields(clean)
    sign_org, sign_date = _signature(body)

    doc_type = _doc_type(ftitle, body[:600])
    issuer = _issuer(hints, fields, ftitle if stated_title else "", body, sign_org)

    # Published.
    published = (
        _iso_date(_hint(hints, "published", "publish_date", "date", "pubdate"))
        or _iso_date(_pick(fields, _DATE_KEYS))
        or sign_date
    )

    # Year covered.
    year = _as_year(_hint(hints, "year"))
    if year is None and stated_title:
        year = _title_year(ftitle) or _npc_year(ftitle)
    if year is None and doc_type == "提案答复" and published:
        year = int(published[:4])
    if year is None:
        year = _npc_year(body[:600])
    if year is None:
        m = _REPORT_YEAR_RE.search(body[:3000])
        if m:
            year = _year_value(m.group(1))
    if year is None:
        m = _YEAR_RE.search(body[:150])
        if m:
            year = int(m.group(1))
    if year is None and published:
        year = int(published[:4])
        if doc_type == "年度报告" and int(published[5:7]) <= 6:
            year -= 1  # annual reports come out in the first half of the following year

    # Place.
    region_hint = _hint(hints, "region")
    fregion = _fold(str(region_hint)).strip() if region_hint else ""
    header_issuer = _pick(fields, _ISSUER_KEYS) or ""
    if fregion in _NATIONAL_REGIONS:
        place = _Place(region="全国", level="national")
    else:
        strong = [s for s in (ftitle if stated_title else "", header_issuer) if s]
        national_text = " ".join((ftitle if stated_title else "", header_issuer, hints.get("issuer") and issuer or ""))
        place = _resolve_place(fregion, strong, issuer, body, national_text)
        if fregion and place.region is None:
            place.region = fregion
    for key in ("province", "city", "county", "town", "level"):
        v = _hint(hints, key)
        if v:
            setattr(place, key, _fold(str(v)).strip())

    if not stated_title:
        title = _untitled(title, place.region, year, doc_type)
    return Metadata(
        title=title,
        doc_type=doc_type_name(doc_type),
        year=year,
        published=published,
        issuer=issuer,
        region=place.region,
        province=place.province,
        city=place.city,
        county=place.county,
        town=place.town,
        level=place.level,
    )


def place_of(name: str, province: str | None = None) -> dict[str, str | None]:
    """The hierarchy of a region named by a user (光明区 → city 深圳市, province 广东省, level county):
    what every gazetteer unit of that name (within `province`, if given) agrees on; {} if unknown."""
    g = _gazetteer()
    name = _fold(name).strip()
    units = list(g.by_name.get(name, ())) or list(g.by_alias.get(name, ()))
    if province:
        prov = _fold(province).strip()
        units = [u for u in units if u.province == prov or u.province.startswith(prov)]
    if not units:
        return {}
    place = _place_from_units(units, set())
    if len({u.level for u in units}) > 1:
        return {}
    return {k: getattr(place, k) for k in ("region", "province", "city", "county", "town", "level")}
