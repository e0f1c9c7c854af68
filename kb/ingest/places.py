"""Place names: the administrative-division gazetteer, finding names in text, and the region names
of a corpus that queries are matched against. The one module that knows places.

The gazetteer is the division list shipped inside `jionlp` (`jionlp/dictionary/china_location.txt`:
province → city → county → town, with short names), read once, lazily (~0.3 s); jionlp itself is
never imported (its import is slow and noisy), only its data file is read.

Names are matched at word boundaries: 部分乡镇 does not contain the town 分乡镇, 合作市场 not 合作市,
沿海城市 not 海城市. A match is refused when a common word of jieba's dictionary (read as data, like
the gazetteer) straddles its start or its end — except words that continue a name as an office or a
part of it (深圳市委, 深圳市区, 安阳县城).
"""

from __future__ import annotations

import importlib.util
import os
import re
import threading
import zipfile
from dataclasses import dataclass
from functools import lru_cache

from kb import rules
from kb.ingest.normalise import fold
from kb.models import Document, PlaceFields

__all__ = [
    "LEVEL_ORDER", "Mention", "RegionGazetteer", "Unit", "gazetteer", "inside_a_word", "needs_corroboration",
    "place_of", "place_of_host", "scan", "short_name",
]

LEVEL_ORDER = {"national": 0, "province": 1, "city": 2, "county": 3, "town": 4}


@dataclass(frozen=True)
class Unit:
    """One administrative unit of the gazetteer, with its ancestors' full names."""

    name: str
    level: str  # province / city / county / town
    province: str
    city: str | None
    county: str | None

    @property
    def ancestors(self) -> tuple[str, ...]:
        return tuple(n for n in (self.province, self.city, self.county) if n and n != self.name)

    def within(self, other: Unit) -> bool:
        """Is this unit `other` or inside it?"""
        return other.name == self.name or other.name in self.ancestors


def place_from_units(units: list[Unit], support: set[str]) -> PlaceFields:
    """One name may denote several units (阳城镇 ×5, 龙华区 ×2): narrow them by the other place
    names the document states (`support`), then keep only what every remaining candidate agrees on."""
    scored = [(sum(1 for a in u.ancestors if a in support), u) for u in units]
    best = max(s for s, _ in scored)
    cands = [u for s, u in scored if s == best]
    u0 = cands[0]

    def agreed(attr: str) -> str | None:
        vals = {getattr(u, attr) for u in cands}
        return vals.pop() if len(vals) == 1 else None

    return PlaceFields(region=u0.name, level=u0.level, province=agreed("province"), city=agreed("city"),
                       county=agreed("county") if u0.level in ("county", "town") else None,
                       town=u0.name if u0.level == "town" else None)


# ---------------------------------------------------------------------------------------------
# the gazetteer


def _data_dir(package: str) -> str:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"kb needs the {package} package (its data files)")
    return list(spec.submodule_search_locations)[0]


def _gazetteer_lines(stem: str) -> list[str]:
    """jionlp ships its dictionaries zipped and unzips them on first import; read whichever is there."""
    if os.path.exists(stem + ".txt"):
        with open(stem + ".txt", encoding="utf-8") as f:
            return f.readlines()
    with zipfile.ZipFile(stem + ".zip") as z:
        return z.read("china_location.txt").decode("utf-8").splitlines(keepends=True)


class Gazetteer:
    def __init__(self, path: str):
        by_name: dict[str, list[Unit]] = {}
        by_alias: dict[str, list[Unit]] = {}
        province = city = county = None

        def add(d: dict[str, list[Unit]], key: str, unit: Unit) -> None:
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
                unit = Unit(name, "province", province, None, None)
            elif depth == 1:
                county = None
                if name == province or "直辖" in name:  # municipalities, 省直辖行政区划
                    city = name if name == province else None
                    continue
                city = name
                unit = Unit(name, "city", province, city, None)
            elif depth == 2:
                if "直辖" in name:  # 市直辖行政区划 (东莞, 中山 …): towns hang off the city
                    county = None
                    continue
                county = name
                unit = Unit(name, "county", province, city, county)
            else:
                unit = Unit(name, "town", province, city, county)
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
        self.unique_alias = {a: us[0] for a, us in by_alias.items() if len(us) == 1 and a not in by_name}
        self._short: dict[str, dict[str, Unit]] = {}

    def units(self, name: str) -> list[Unit]:
        """Units with this full name, else with this short name."""
        return list(self.by_name.get(name, ())) or list(self.by_alias.get(name, ()))

    def short_names(self, suffix: str) -> dict[str, Unit]:
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


_gaz: Gazetteer | None = None
_gaz_lock = threading.Lock()


def gazetteer() -> Gazetteer:
    global _gaz
    if _gaz is None:
        with _gaz_lock:
            if _gaz is None:
                _gaz = Gazetteer(os.path.join(_data_dir("jionlp"), "dictionary", "china_location"))
    return _gaz


def warm() -> None:
    """Read the gazetteer and the word list now (they load lazily, ~1 s together)."""
    gazetteer()
    _common_words()


# ---------------------------------------------------------------------------------------------
# word boundaries

# jieba dictionary words at least this frequent count as words a place name may not cut through
# (部分 27619, 沿海 3527, 市场 26927; the rare compounds of the dictionary, 市南 35, do not).
_COMMON_WORD_FREQ = 200
# A word that starts at a name's last character and continues it as an office or a part of the
# place (深圳市委, 市政府, 市长, 市区, 县城, 区内 …) does not cut the name.
# (the [continuations] of kb/data/places.txt)


@lru_cache(maxsize=1)
def _continuations() -> frozenset[str]:
    return rules.word_set("places.txt", "continuations")


@lru_cache(maxsize=1)
def _common_words() -> frozenset[str]:
    from kb.index.tokenize import dictionary

    return frozenset(w for w, (freq, _) in dictionary().items() if 2 <= len(w) <= 4 and freq >= _COMMON_WORD_FREQ)


def inside_a_word(text: str, start: int, end: int) -> bool:
    """Is text[start:end] the start of a longer common word (新华 in 新华社, 长治 in 长治久安)? A word
    that goes on with a unit's kind or an office (长治市, 新华区委) does not count."""
    words = _common_words()
    if end < len(text) and (text[end] in _continuations() or text[end] in "市州盟旗"):
        return False
    return any(text[start : start + length] in words for length in range(end - start + 1, 5) if start + length <= len(text))


def needs_corroboration(alias: str) -> bool:
    """A short name that several units share (和平, 朝阳, 长安, 城关) or that is an ordinary word
    (光明, 大同, 新华: frequent in jieba's dictionary and not tagged a place) says little alone."""
    from kb.index.tokenize import dictionary

    if len(gazetteer().by_alias.get(alias, ())) > 1:
        return True
    entry = dictionary().get(alias)
    return entry is not None and entry[0] >= _COMMON_WORD_FREQ and entry[1] != "ns"


def cut_by_a_word(text: str, start: int, end: int) -> bool:
    """Does text[start:end] read better as other words: a common word straddling its start or end,
    the rest of the name a word too (部分|乡镇 for 分乡镇, 合作|市场 for 合作市, 沿海|城市 for 海城市)?
    A straddling word whose rest is no word (以南|京市) does not cut 南京市."""
    words = _common_words()

    def rest_is_word(rest: str) -> bool:
        return len(rest) <= 1 or rest in words

    for length in (2, 3, 4):
        for p in range(max(0, start - length + 1), start):  # words crossing the start
            w = text[p : p + length]
            if len(w) == length and p + length < end and w in words and rest_is_word(text[p + length : end]):
                return True
        for p in range(max(start + 1, end - length + 1), end):  # words crossing the end
            w = text[p : p + length]
            if len(w) == length and w in words and rest_is_word(text[start:p]):
                if p == end - 1 and w[1] in _continuations():
                    continue
                return True
    return False


# ---------------------------------------------------------------------------------------------
# finding names in text

@lru_cache(maxsize=1)
def _generic_names() -> frozenset[str]:
    """Full names that are also ordinary words in report prose (主城区, 郊区, 新区 …): never matched
    in running text ([generic names] of kb/data/places.txt)."""
    return rules.word_set("places.txt", "generic names")


@lru_cache(maxsize=1)
def town_suffixes() -> tuple[str, ...]:
    return rules.longest_first("places.txt", "town suffixes")


_HAN = re.compile(r"[\u4e00-\u9fff]")


@dataclass(frozen=True)
class Mention:
    start: int
    end: int
    name: str
    units: tuple[Unit, ...]
    alias: bool


def scan(text: str, aliases: bool = False, prose: bool = True) -> list[Mention]:
    """Longest, leftmost-first non-overlapping gazetteer names in `text`, at word boundaries.

    Full names always; short names (浙江, 绍兴, 上虞 …) only when `aliases` (titles, headers,
    signatures). In `prose` (body text) names that read as ordinary words are skipped: generic ones
    (城区, 开发区), towns shorter than three characters (示范镇 ⊃ 范镇) and two-character names glued
    to a preceding word (形成县级 ⊃ 成县) unless that word is a place (安阳市滑县).
    """
    g = gazetteer()
    found: list[Mention] = []
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
            if s != text:
                if s in _generic_names():
                    continue
                units = [u for u in units if u.level != "town" or (len(s) >= 3 and s.endswith(town_suffixes()))]
                if not units or cut_by_a_word(text, start, i + 1):
                    continue
            if prose and length == 2 and start > 0 and _HAN.match(text[start - 1]) and text[start - 1] not in "省市州盟":
                continue
            found.append(Mention(start, i + 1, s, tuple(units), False))
            break
    if aliases:
        for i in range(n):
            for length in range(min(g.max_alias, n - i), 1, -1):
                s = text[i : i + length]
                if s in g.by_alias and (s == text or not (cut_by_a_word(text, i, i + length)
                                                          or inside_a_word(text, i, i + length))):
                    found.append(Mention(i, i + length, s, tuple(g.by_alias[s]), True))
                    break
    # Keep the longest first, then drop overlaps.
    found.sort(key=lambda m: (-(m.end - m.start), m.start))
    taken: list[Mention] = []
    used = bytearray(n)
    for m in found:
        if any(used[m.start : m.end]):
            continue
        used[m.start : m.end] = b"\x01" * (m.end - m.start)
        taken.append(m)
    taken.sort(key=lambda m: m.start)
    return taken


def place_of(name: str, province: str | None = None) -> dict[str, str | None]:
    """The hierarchy of a region a user names (光明区 → city 深圳市, province 广东省, level county):
    what every gazetteer unit of that name (within `province`, if given) agrees on; {} if unknown
    or if the name is of different kinds in different places."""
    units = gazetteer().units(fold(name).strip())
    if province:
        prov = fold(province).strip()
        units = [u for u in units if u.province.startswith(prov)]
    if not units or len({u.level for u in units}) > 1:
        return {}
    return place_from_units(units, set()).as_dict()


# ---------------------------------------------------------------------------------------------
# the region names of a corpus (what a query naming a region is matched against)

@lru_cache(maxsize=1)
def _admin_suffix() -> re.Pattern[str]:
    return re.compile(r"(?:" + rules.alternation("places.txt", "admin suffixes") + r")$")


def short_name(name: str) -> str:
    """密云区 → 密云, 浙江省 → 浙江: the form people write in questions."""
    stem = _admin_suffix().sub("", name)
    return stem if len(stem) >= 2 else name


class RegionGazetteer:
    """Region names that occur in this corpus, for recognising a region named in a query."""

    def __init__(self, docs: list[Document]) -> None:
        self.provinces: dict[str, str] = {}
        self.regions: dict[str, str] = {}
        for d in docs:
            m = d.meta
            if m.province:
                for form in {m.province, short_name(m.province)}:
                    self.provinces[form] = m.province
            for name in (m.region, m.city, m.county, m.town):
                if name and name not in ("全国", "中国"):
                    for form in {name, short_name(name)}:
                        self.regions.setdefault(form, name)

        # Longest names first, sorted once: a query is checked against every name.
        self._region_forms = sorted(self.regions, key=len, reverse=True)
        self._province_forms = sorted(self.provinces, key=len, reverse=True)

    @staticmethod
    def _at_boundary(folded: str, start: int, form: str) -> bool:
        return folded == form or not cut_by_a_word(folded, start, start + len(form))

    def _first(self, folded: str, forms: list[str]) -> str | None:
        for form in forms:
            start = folded.find(form)
            while start >= 0:
                if self._at_boundary(folded, start, form):
                    return form
                start = folded.find(form, start + 1)
        return None

    def find(self, folded: str) -> tuple[str | None, str | None]:
        """(province, region) named in a query, longest match first."""
        form = self._first(folded, self._region_forms)
        region = self.regions[form] if form else None
        form = self._first(folded, self._province_forms)
        province = self.provinces[form] if form else None
        if region and province and short_name(province) in region:
            province = None
        return province, region

    def names_in(self, folded: str) -> list[str]:
        """Every region named in a text (canonical names, in order of appearance, no overlaps)."""
        taken: list[tuple[int, int, str]] = []
        for form in self._region_forms:
            start = folded.find(form)
            while start >= 0:
                end = start + len(form)
                if all(end <= s or start >= e for s, e, _ in taken) and self._at_boundary(folded, start, form):
                    taken.append((start, end, self.regions[form]))
                start = folded.find(form, end)
        names: list[str] = []
        for _, _, name in sorted(taken):
            if name not in names:
                names.append(name)
        return names


# ---------------------------------------------------------------------------------------------
# web hosts


@lru_cache(maxsize=1)
def _hosts() -> tuple[tuple[str, str], ...]:
    rows = (line.split() for line in rules.lines("hosts.txt"))
    return tuple(sorted(((r[0].lower(), r[1]) for r in rows if len(r) >= 2), key=lambda r: -len(r[0])))


def place_of_host(url: str | None) -> str | None:
    """The place a government web host publishes for (www.sz.gov.cn → 深圳市), from kb/data/hosts.txt."""
    if not url:
        return None
    m = re.match(r"^\s*(?:[a-z][a-z0-9+.-]*://)?([^/\s:?#]+)", url.strip().lower())
    host = m.group(1) if m else ""
    for suffix, place in _hosts():
        if host == suffix or host.endswith("." + suffix):
            return place
    return None
