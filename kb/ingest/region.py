"""A document's own region: the place the report is *about*, not the places it mentions.

Evidence, strongest first (weights: `PlaceSettings`, stored with the index):

- container columns (a spreadsheet's 地区/省份 column, a JSONL `region`);
- statements of who speaks (ingest/statements.py): 我代表光明区人民政府…, 在深圳市罗湖区第八届人民代表大会
  第四次会议上, 本报告由淮安市洪泽区人民政府办公室…编制, the signature at the end, a byline;
- the title (or, without one, the file name), a header's issuer field (发布机构: …), the web host a
  page was published on (www.sz.gov.cn);
- how the text speaks of itself: 我区 / 本区 / 全区 (a 区), 我县, 全省 …;
- last, the places the body names most often, of the kind it speaks as.

Names in strong evidence are scored with the names they agree with (深圳市 + 罗湖区 → 罗湖区 inside
深圳市): the deepest consistent unit wins, an ambiguous name (龙华区: 深圳 or 海口) is settled by
the other names the document states, and a place outside the province the other evidence agrees
on loses. Special zones and functional areas (ingest/zones.py: 深汕特别合作区, 大鹏新区, 北京经济技术
开发区) are places with their parent, so 坪山 inside 坪山新区 is not 坪山区.

Short names are weak: one counts only whole (not 新华 in 新华社, 长治 in 长治久安), and one that is an
ordinary word or shared by several places (和平, 长安, 朝阳, 光明) only when something else backs it —
its kind right after it (和平区), an organisation (和平县人民政府), another piece of evidence naming it
or a place around or inside it, or the text speaking as that kind of unit. From the body, names
count whole (with their suffix); a bare short name only when it is distinctive. The result carries a
confidence (0–1) and the evidence, stored with the document and shown by `kb docs`.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from functools import cache, lru_cache

from kb import rules
from kb.ingest.places import (
    LEVEL_ORDER,
    Mention,
    Unit,
    gazetteer,
    inside_a_word,
    needs_corroboration,
    place_from_units,
    scan,
)
from kb.ingest.statements import Evidence, kind_fits, org_suffixes, self_kind, self_statements, votes_text
from kb.ingest.zones import Zone, find_zones, zone_unit
from kb.models import PlaceFields
from kb.settings import PlaceSettings

__all__ = ["Evidence", "RegionResult", "resolve_region", "self_statements"]


@dataclass
class RegionResult:
    place: PlaceFields
    confidence: float | None = None
    evidence: list[str] = field(default_factory=list)

    @property
    def summary(self) -> str | None:
        return "; ".join(self.evidence) or None


@dataclass(frozen=True)
class _Rules:
    national: re.Pattern[str]
    national_regions: frozenset[str]
    list_gap: re.Pattern[str]
    org_after: re.Pattern[str]  # a short name followed by an organisation is a place (和平县人民政府)
    co_issuer: re.Pattern[str]  # an organisation's name, then 、/和/与: another issuer follows


@lru_cache(maxsize=1)
def _rules() -> _Rules:
    return _Rules(
        national=re.compile(rules.alternation("places.txt", "national")),
        national_regions=rules.word_set("places.txt", "national regions"),
        list_gap=re.compile(r"\s*(?:" + rules.alternation("places.txt", "list gaps") + r")\s*"),
        org_after=re.compile(r"(?:" + org_suffixes() + "|" + rules.alternation("organisations.txt", "party and congress")
                             + ")"),
        co_issuer=re.compile(r"(?:" + org_suffixes(short=True) + r")\s*(?:" + rules.alternation("places.txt", "list gaps")
                             + r")\s*$"),
    )


_NPC_BODY_RE = re.compile(r"第[一二三四五六七八九十]{1,3}届全国人民代表大会")
_MASK = "\u3000"  # what a zone's name is blanked with before its parts are read as places


def _support_names(mentions: list[Mention]) -> set[str]:
    """Full names of province/city/county units stated in the mentions (used to disambiguate)."""
    out: set[str] = set()
    for m in mentions:
        for u in m.units:
            if u.level != "town" and (not m.alias or len(m.units) == 1):
                out.add(u.name)
    return out


def _related(u: Unit, v: Unit) -> bool:
    return u.within(v) or v.within(u)


@dataclass
class _Candidate:
    units: list[Unit]  # the units one name may denote
    weight: float
    kinds: list[str]
    name: str
    order: int
    source: int = -1  # which piece of evidence named it
    zone: bool = False  # a special zone or functional area (ingest/zones.py)
    start: int = 0  # where in its evidence text


@dataclass
class _Read:
    """One piece of evidence as places: its text with zones blanked, the names and zones in it."""

    evidence: Evidence
    text: str
    mentions: list[Mention]
    zones: list[Zone]


def _read(e: Evidence) -> _Read:
    zones = find_zones(e.text)
    text = e.text
    for z in zones:  # a zone's own name is no place name (坪山 in 坪山新区); its parent is (深圳市大鹏新区)
        keep = z.parent_span or (z.start, z.start)
        text = text[: z.start] + _MASK * (keep[0] - z.start) + text[keep[0] : keep[1]] + _MASK * (z.end - keep[1]) + text[z.end :]
    return _Read(e, text, scan(text, aliases=True, prose=False), zones)


def _confirmed(m: Mention, r: _Read, full: set[str], others: list[Unit], kind: str | None, votes: Counter[str],
               w: PlaceSettings) -> bool:
    """Does a short name in strong evidence count? Its unit's kind right after it (恩施州) or an
    organisation (和平县人民政府 reads whole; 新华区委 …) always; a distinctive name (海盐, 上虞) when it
    is a province or the document names, in full, the same unit, a parent or a child; a name that
    is an ordinary word or shared by several places (和平, 朝阳, 光明) only when another piece of
    evidence names it or a place around or inside it, the body states it in full, or the text
    speaks as that kind of unit (我区 votes) and only one unit of that kind bears the name."""
    after = r.text[m.end : m.end + 1]
    if any(after and after in "市州县区旗盟" and u.name.endswith(after) for u in m.units):
        return True
    if _rules().org_after.match(r.text, m.end):
        return True
    if needs_corroboration(m.name):
        if any(u.name in full for u in m.units):
            return True
        if any(_related(u, v) for u in m.units for v in others):
            return True
        # the text speaking as that kind of unit settles a name only one unit of that kind bears
        return bool(kind) and votes[kind] >= w.refine_votes and sum(kind_fits(u, kind) for u in m.units) == 1
    for u in m.units:
        if u.level == "province" or u.name in full:
            return True
        if any(a in full for a in (u.city, u.county) if a and a != u.name and a != u.province):
            return True
    g = gazetteer()
    return any(any(u.name in (unit.province, unit.city, unit.county) for u in m.units)
               for n in full for unit in g.by_name.get(n, ()))


def _strong_candidates(evidence: list[Evidence], body_names: set[str], kind: str | None, votes: Counter[str],
                       w: PlaceSettings) -> tuple[list[_Candidate], list[tuple[Zone, Evidence]]]:
    """Candidates from strong evidence, and the zones it names whose parent it does not say."""
    reads = [_read(e) for e in evidence]
    full = set(body_names) | {m.name for r in reads for m in r.mentions if not m.alias}
    out: list[_Candidate] = []
    unplaced: list[tuple[Zone, Evidence]] = []
    for i, r in enumerate(reads):
        # what the other pieces of evidence name (whole names, distinctive short names, zones)
        others = [u for j, o in enumerate(reads) if j != i for m in o.mentions
                  if not m.alias or not needs_corroboration(m.name) for u in m.units]
        others += [u for j, o in enumerate(reads) if j != i for z in o.zones for u in z.units]
        for m in r.mentions:
            if m.alias and not _confirmed(m, r, full, others, kind, votes, w):
                continue
            out.append(_Candidate(list(m.units), r.evidence.weight, [r.evidence.kind], m.name, len(out), i,
                                  start=m.start))
        for z in r.zones:
            if z.units:
                out.append(_Candidate(list(z.units), r.evidence.weight, [r.evidence.kind], z.name, len(out), i, True,
                                      z.start))
            elif r.evidence.kind in ("title", "file name", "speaker", "column 地区", "issuer field", "signature"):
                unplaced.append((z, r.evidence))
    return _without_co_issuers(out, reads), unplaced


def _without_co_issuers(cands: list[_Candidate], reads: list[_Read]) -> list[_Candidate]:
    """北京市科学技术委员会、中关村科技园区管理委员会关于…: bodies issuing a document together speak
    for the place around both, so a co-issuer named after 、/和/与 inside a place an earlier issuer
    of the same text names does not make the document its own."""
    rx = _rules().co_issuer
    out = []
    for c in cands:
        text = reads[c.source].text if c.source >= 0 else ""
        joint = c.start > 0 and rx.search(text[: c.start])
        if joint and any(o.source == c.source and o.start < c.start and o is not c
                         and any(u.within(v) and u != v for u in c.units for v in o.units) for o in cands):
            continue
        out.append(c)
    return out


def _province_weights(cands: list[_Candidate]) -> Counter[str]:
    weights: Counter[str] = Counter()
    for c in cands:
        provinces = {u.province for u in c.units}
        for p in provinces:
            weights[p] += c.weight / len(provinces)
    return weights


def _best(cands: list[_Candidate], support: set[str]) -> tuple[PlaceFields, float, list[_Candidate]]:
    """The deepest unit the strong evidence agrees on: each candidate scores its own weight plus
    the weight of every other candidate naming a unit it lies in (深圳市 backs 罗湖区). A unit in a
    province that less evidence points to than another loses to the units of that province."""
    provinces = _province_weights(cands)
    top = max(provinces.values())
    best_key, best = None, None
    for c in cands:
        for u in c.units:
            backing = [o for o in cands if o is not c and any(u.within(v) for v in o.units)]
            score = c.weight + sum(o.weight for o in backing)
            key = (provinces[u.province] >= top, score, LEVEL_ORDER[u.level], -c.order)
            if best_key is None or key > best_key:
                best_key, best = key, (c, u, backing)
    assert best is not None and best_key is not None
    c, u, backing = best
    units = [v for v in c.units if v.level == u.level and provinces[v.province] >= top] or [u]
    place = place_from_units(units, support | {v.name for o in backing for v in o.units})
    return place, best_key[1], [c, *backing]


def _list_weights(body: str, spans: list[tuple[int, int]]) -> list[float]:
    """How much each place name counts: 1, or 1/n inside an enumeration of n names (与宁波、温州、
    湖州等地合作) — a list of peers speaks of others, not of the author. `spans` in text order."""
    gap = _rules().list_gap
    weights = [1.0] * len(spans)
    group: list[int] = []
    for i, (start, _) in enumerate(spans):
        if group and gap.fullmatch(body[spans[group[-1]][1] : start]):
            group.append(i)
            continue
        for j in group:
            weights[j] = 1 / len(group)
        group = [i]
    for j in group:
        weights[j] = 1 / len(group)
    return weights


def _bare_short_names(body: str, table: dict[str, Unit], lengths: range) -> list[tuple[int, int, Unit]]:
    """Distinctive short names (海盐 for 海盐县, 深圳) standing whole in the body: not an ordinary word
    or a name several places share, not part of a longer word (长治 in 长治久安)."""
    prefixes = {a[:2] for a in table}
    found = []
    for i in range(len(body) - 1):
        if body[i : i + 2] not in prefixes:
            continue
        for length in lengths:
            u = table.get(body[i : i + length])
            if u is not None:
                if not inside_a_word(body, i, i + length):
                    found.append((i, i + length, u))
                break
    return found


def _body_mentions_of_kind(body: str, mentions: list[Mention], zones: list[Zone], kind: str, within: Unit | None,
                           support: set[str]) -> PlaceFields | None:
    """The unit the body names most often among those of the kind the text speaks as (and inside
    `within`, if given); without one, the zone it names most; without one, a bare short name
    (海盐 for 海盐县) when it is distinctive. Names in an enumeration count for less (`_list_weights`)."""
    g = gazetteer()
    counts: Counter[str] = Counter()
    units_of: dict[str, list[Unit]] = {}
    first: dict[str, int] = {}
    found: list[tuple[int, int, str, list[Unit]]] = []
    # administrative names first; zones (前海合作区) when the body names no division of that kind
    for named in ([(m.start, m.end, m.name, m.units) for m in mentions], [(z.start, z.end, z.name, z.units) for z in zones]):
        for start, end, name, units in named:
            fits = [u for u in units if kind_fits(u, kind) and (within is None or (u.within(within) and u != within))]
            if fits:
                found.append((start, end, name, fits))
        if found:
            break
    if not found:  # bare short names: 海盐 for 海盐县, 广东 for 广东省 (distinctive ones only)
        table = _short_names_of_kind(kind)
        for i, j, u in _bare_short_names(body, table, range(min(g.max_alias, 6), 1, -1)):
            if within is None or (u.within(within) and u != within):
                found.append((i, j, u.name, [u]))
    if not found:
        return None
    found.sort(key=lambda f: f[0])
    for (start, _, name, units), weight in zip(found, _list_weights(body, [(f[0], f[1]) for f in found])):
        counts[name] += weight
        units_of[name] = units
        first.setdefault(name, start)
    name = max(counts, key=lambda n: (counts[n], -first[n]))
    return place_from_units(units_of[name], support)


@cache
def _short_names_of_kind(kind: str) -> dict[str, Unit]:
    """Distinctive short names (one unit, not also a full name, not an ordinary word) of units
    answering to 我{kind}."""
    g = gazetteer()
    return {a: u for a, u in g.unique_alias.items()
            if kind_fits(u, kind) and len(g.by_name.get(u.name, ())) == 1 and not needs_corroboration(a)}


@lru_cache(maxsize=1)
def _city_short_names() -> dict[str, Unit]:
    return {a: u for a, u in gazetteer().short_names("市").items() if not needs_corroboration(a)}


def _most_named_city(body: str, mentions: list[Mention]) -> Unit | None:
    """The city a body names most (full names, or distinctive short names: 深圳)."""
    found: list[tuple[int, int, Unit]] = []
    for m in mentions:
        cities = [u for u in m.units if u.level == "city" or (u.level == "province" and u.name.endswith("市"))]
        if len(cities) == 1:
            found.append((m.start, m.end, cities[0]))
    found += _bare_short_names(body, _city_short_names(), range(4, 1, -1))
    found.sort(key=lambda f: f[0])
    counts: Counter[Unit] = Counter()
    for (_, _, unit), weight in zip(found, _list_weights(body, [(f[0], f[1]) for f in found])):
        counts[unit] += weight
    return counts.most_common(1)[0][0] if counts else None


def resolve_region(evidence: list[Evidence], body: str, hints: dict[str, str], national_text: str,
                   w: PlaceSettings = PlaceSettings()) -> RegionResult:
    """The document's own region from strong `evidence` (columns, speakers, title, issuer …) and its
    `body`; `hints` are container columns (region, province, city, county) that win field by field."""
    r = _rules()
    region_hint = hints.get("region", "")
    if region_hint in r.national_regions:
        return RegionResult(PlaceFields(region="全国", level="national"), w.confidence_column, [f"column 地区 {region_hint}"])

    evidence = list(evidence)
    for key, label in (("region", "地区"), ("county", "区县"), ("city", "城市"), ("province", "省份")):
        if hints.get(key):
            evidence.insert(0, Evidence(f"column {label}", hints[key], w.column))
    body_mentions = scan(body)
    body_names = _support_names(body_mentions)
    kind, votes = self_kind(body, w=w)
    cands, unplaced = _strong_candidates(evidence, body_names, kind, votes, w)
    if unplaced and not any(u.level in ("county", "town") for c in cands for u in c.units):
        zone, e = unplaced[0]
        placed = _place_zone(zone, e, cands, body, body_mentions, w)
        if not isinstance(placed, _Candidate):
            return placed or RegionResult(PlaceFields(region=zone.name, level="county"), w.confidence_zone,
                                          [f"zone {zone.name} (not in the gazetteer)"])
        cands.append(placed)
    if cands:
        return _from_strong(cands, body, body_mentions, body_names, kind, votes, w)
    if (m := r.national.search(national_text)) or (m := _NPC_BODY_RE.search(body[:300])):
        return RegionResult(PlaceFields(region="全国", level="national"), w.confidence_one_source, [f"national: {m.group(0)}"])
    return _from_body(body, body_mentions, body_names, kind, votes, w)


def _place_zone(zone: Zone, e: Evidence, cands: list[_Candidate], body: str, body_mentions: list[Mention],
                w: PlaceSettings) -> _Candidate | RegionResult | None:
    """A zone whose parent its own text does not say (大鹏新区): under the city the other evidence
    names, else the city the body names most."""
    stated = [u for c in cands for u in c.units if len(c.units) == 1 and u.level in ("city", "province")]
    cities = [u for u in stated if u.level == "city"] or stated
    how = "named with it"
    if not cities:
        city = _most_named_city(body, body_mentions)
        cities, how = ([city] if city else []), "the city the body names most"
    if not cities:
        return None
    unit = zone_unit(zone.name, cities[0])
    place = PlaceFields(region=zone.name, level="county", province=unit.province, city=unit.city, county=zone.name)
    if how == "named with it":
        return _Candidate([unit], e.weight, [e.kind], zone.name, len(cands), zone=True)
    return RegionResult(place, w.confidence_zone,
                        [f"zone {zone.name} (not in the gazetteer)", f"city {cities[0].name}: {how}"])


def _from_strong(cands: list[_Candidate], body: str, body_mentions: list[Mention], body_names: set[str],
                 kind: str | None, votes: Counter[str], w: PlaceSettings) -> RegionResult:
    """The unit strong evidence agrees on; its confidence says how many sources back it and whether
    the text speaks as that kind of unit."""
    place, score, used = _best(cands, body_names)
    result = RegionResult(place, evidence=_describe(used))
    own = next((u for c in used for u in c.units if u.name == place.region
                and place.province in (None, u.province) and place.city in (None, u.city)), None)
    conflicts = [c for c in cands if not any(own and (own.within(u) or u.within(own)) for u in c.units)]
    confidence = w.confidence_two_sources if score >= 2 * w.title else w.confidence_one_source
    if any(k.startswith("column") for c in used for k in c.kinds):
        confidence = max(confidence, w.confidence_column)
    if conflicts:
        confidence -= w.conflict_penalty
        result.evidence.append("also named: " + "、".join(dict.fromkeys(c.name for c in conflicts)))
    if own is not None and kind:
        if kind_fits(own, kind):
            confidence += w.self_reference_bonus
            result.evidence.append(votes_text(votes, kind))
        elif LEVEL_ORDER[own.level] < LEVEL_ORDER["county"] and votes[kind] >= w.refine_votes:
            # A parent named (来源: 绍兴市人民政府; a province column) while the text speaks as a unit
            # inside it (我区 … 上虞区): the unit it names most, of that kind, inside it.
            sub = _body_mentions_of_kind(body, body_mentions, find_zones(body), kind, own, body_names)
            if sub is not None:
                return RegionResult(sub, w.confidence_body_kind,
                                    result.evidence + [votes_text(votes, kind), f"body names {sub.region} most"])
    result.confidence = round(min(confidence, 0.99), 2)
    return result


def _from_body(body: str, body_mentions: list[Mention], body_names: set[str], kind: str | None,
               votes: Counter[str], w: PlaceSettings) -> RegionResult:
    """No strong evidence: the place of the kind the text speaks as that it names most (zones
    included); without a self-reference, the place it names most (low confidence)."""
    if kind:
        place = _body_mentions_of_kind(body, body_mentions, find_zones(body), kind, None, body_names)
        if place is not None:
            return RegionResult(place, w.confidence_body_kind,
                                [votes_text(votes, kind), f"body names {place.region} most"])
        return RegionResult(PlaceFields(), None, [votes_text(votes, kind) + ", but no such place named"])
    if not body_mentions:
        return RegionResult(PlaceFields())
    counts: Counter[str] = Counter()
    for m, weight in zip(body_mentions, _list_weights(body, [(m.start, m.end) for m in body_mentions])):
        counts[m.name] += weight
    units_of = {m.name: m.units for m in body_mentions}
    first: dict[str, int] = {}
    for m in body_mentions:
        first.setdefault(m.name, m.start)
    name = max(counts, key=lambda n: (counts[n], max(LEVEL_ORDER[u.level] for u in units_of[n]), -first[n]))
    deepest = max(LEVEL_ORDER[u.level] for u in units_of[name])
    place = place_from_units([u for u in units_of[name] if LEVEL_ORDER[u.level] == deepest], body_names)
    return RegionResult(place, w.confidence_body_only, [f"body names {name} most ({counts[name]:g}×)"])


def _describe(used: list[_Candidate]) -> list[str]:
    out: list[str] = []
    for c in used:
        for kind in c.kinds:
            text = f"{kind} {c.name}"
            if text not in out:
                out.append(text)
        if c.zone:
            parents = "、".join(dict.fromkeys(u.city or u.province for u in c.units))
            text = f"zone {c.name} in {parents}"
            if text not in out:
                out.append(text)
    return out
