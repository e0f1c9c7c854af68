"""A document's own region: the place the report is *about*, not the places it mentions.

Evidence, strongest first (weights: `PlaceSettings`, stored with the index):

- container columns (a spreadsheet's 地区/省份 column, a JSONL `region`);
- statements of who speaks: 我代表光明区人民政府…, 在深圳市罗湖区第八届人民代表大会第四次会议上,
  本报告由淮安市洪泽区人民政府办公室…编制, the signature at the end (深圳市光明区人民政府 / 2022年1月5日),
  a byline (上海市市长 龚正);
- the title (or, without one, the file name) and a header's issuer field (发布机构: …);
- how the text speaks of itself: 我区 / 本区 / 全区 (a 区), 我县, 全省 …;
- last, the places the body names most often, of the kind it speaks as.

Names in strong evidence are scored with the names they agree with (深圳市 + 罗湖区 → 罗湖区 inside
深圳市): the deepest consistent unit wins, an ambiguous name (龙华区: 深圳 or 海口) is settled by
the other names the document states. Functional zones the gazetteer lacks (大鹏新区, 某某高新区)
keep their own name under the city they belong to. The result carries a confidence (0–1) and the
evidence, stored with the document and shown by `kb docs`.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from kb.ingest.places import (
    LEVEL_ORDER,
    Mention,
    Place,
    Unit,
    gazetteer,
    place_from_units,
    scan,
)
from kb.settings import PlaceSettings

__all__ = ["Evidence", "RegionResult", "resolve_region", "self_statements"]


@dataclass(frozen=True)
class Evidence:
    """A piece of text that says whose document this is, and how much that counts."""

    kind: str  # column, speaker, session, compiler, signature, byline, title, file name, issuer field
    text: str
    weight: float


@dataclass
class RegionResult:
    place: Place
    confidence: float | None = None
    evidence: list[str] = field(default_factory=list)

    @property
    def summary(self) -> str | None:
        return "; ".join(self.evidence) or None


# ---------------------------------------------------------------------------------------------
# statements of who speaks

_ORG = r"(?:人民政府|政府|管理委员会|管委会|人民代表大会常务委员会|司法局|司法厅|依法治(?:省|市|区|县)办公室|委员会)"
_SPEAKER_RE = re.compile(r"我(?:受|代表)([\u4e00-\u9fff]{0,20}?)" + _ORG + r"(?:的委托)?[,，、]?\s*(?:向|现在|作)")
_SESSION_RE = re.compile(
    r"在([\u4e00-\u9fff]{2,20}?)第[一二三四五六七八九十\d]{1,3}届\s*人民代表大会\s*(?:常务委员会)?\s*第[一二三四五六七八九十\d]{1,3}次"
    r"\s*(?:全体)?会议上"
)
_COMPILER_RE = re.compile(r"本报告由([\u4e00-\u9fff]{2,30}?)(?:根据|依据|按照|编制|负责)")
_BYLINE_RE = re.compile(r"^\s*([\u4e00-\u9fff]{2,16}?)(?:人民政府)?(省长|市长|区长|县长|州长|主席|主任)[\s\u3000]*[\u4e00-\u9fff]", re.MULTILINE)
_ORG_TAIL = (r"(?:人民政府办公室|人民政府办公厅|人民政府|政府办公室|司法局|司法厅|委员会|办公室|办公厅|街道办事处"
             r"|管理委员会|政府|局|委)")
_SIGN_RE = re.compile(r"([\u4e00-\u9fff（）()]{2,30}?" + _ORG_TAIL + r")[\s|]*$")


def self_statements(body: str, w: PlaceSettings = PlaceSettings()) -> list[Evidence]:
    """Who the text says is speaking: the speaker, the session, the compiler, the byline."""
    head = body[:3000]
    out: list[Evidence] = []
    for rx, kind in ((_SPEAKER_RE, "speaker"), (_SESSION_RE, "session"), (_COMPILER_RE, "compiler")):
        m = rx.search(head)
        if m and m.group(1):
            out.append(Evidence(kind, m.group(1), w.speaker))
    m = _BYLINE_RE.search(body[:600])
    if m:
        out.append(Evidence("byline", m.group(1), w.speaker))
    return out


def signature(body: str) -> tuple[str | None, str | None]:
    """(organisation, ISO date) of the closing signature, if the text ends with one."""
    from kb.ingest.dates import dates

    tail = body[-300:]
    ds = dates(tail)
    if not ds:
        return None, None
    pos, iso = ds[-1]
    after = tail[pos:]
    if len(re.sub(r"[\s|\d年月日〇零○一二三四五六七八九十-]", "", after)) > 40:
        return None, None  # the last date is inside prose, not a signature
    org = None
    m = _SIGN_RE.search(tail[:pos].rstrip())
    if m:
        # Keep only the last clause (signatures follow a sentence end or whitespace).
        org = re.split(r"[。；;，,：:！!？?\s]", m.group(1))[-1] or None
    return org, iso


# ---------------------------------------------------------------------------------------------
# self-references: which kind of unit the text speaks as

_SELF_RE = re.compile(r"(我|本|全)(省|自治区|市|州|盟|县|区|旗|镇|乡|街道)")
# 全市第一, 全市率先, 占全市… compare a district with its city: not the author speaking of itself.
_COMPARE_AFTER = re.compile(r"第|首|率先|唯一|最|前列|前[一二三四五六七八九十\d]|领先|平均|排名|范围|域|之")
_COMPARE_BEFORE = frozenset("占居列排评于获为")
_KIND_OF_SPEAKER = re.compile(r"我(?:受|代表)(省|自治区|市|州|盟|县|区|旗|镇|乡|街道)(?:人民政府|政府|管理委员会|管委会)")


def self_kind(body: str, issuer: str | None = None, w: PlaceSettings = PlaceSettings()) -> tuple[str | None, Counter[str]]:
    """The kind of unit the author is (区, 县, 市, 省 …) by how the text speaks, with the votes."""
    votes: Counter[str] = Counter()
    for m in _SELF_RE.finditer(body):
        if m.group(1) == "全":
            if _COMPARE_AFTER.match(body, m.end()) or (m.start() > 0 and body[m.start() - 1] in _COMPARE_BEFORE):
                continue
            votes[m.group(2)] += w.self_all
        else:
            votes[m.group(2)] += w.self_mine
    m = _KIND_OF_SPEAKER.search(body[:3000])
    if m:
        votes[m.group(1)] += w.speaker_kind
    if issuer:
        m = re.match(r"^(省|市|州|县|区|旗|镇|乡|街道)", issuer)
        if m:
            votes[m.group(1)] += w.speaker_kind / 2
    if not votes:
        return None, votes
    return votes.most_common(1)[0][0], votes


def _kind_fits(unit: Unit, kind: str) -> bool:
    """Does a unit answer to 我区 / 我市 …? (全区 in a 自治区 report is the 自治区; 我市 in 北京 is 北京市)"""
    if kind == "省":
        return unit.level == "province" and unit.name.endswith("省")
    if kind == "自治区":
        return unit.level == "province" and unit.name.endswith("自治区")
    if kind in ("镇", "乡", "街道"):
        return unit.level == "town" and unit.name.endswith(kind)
    if kind == "区" and unit.level == "province":
        return unit.name.endswith(("自治区", "特别行政区"))
    if kind == "市" and unit.level == "province":
        return unit.name.endswith("市")
    return unit.level in ("city", "county") and unit.name.endswith(kind)


# ---------------------------------------------------------------------------------------------
# functional zones the gazetteer does not list

_ZONE_RE = re.compile(
    r"([\u4e00-\u9fff]{2,8}?(?:新区|高新技术产业开发区|经济技术开发区|高新区|开发区|自贸区|自由贸易试验区|合作区|示范区|管理区|保税区|工业园区))"
)
_ZONE_PREFIX_JUNK = re.compile(r"^(?:关于|在|对|为|推进|建设|我代表|代表)")


def _zone(text: str) -> tuple[str, str | None] | None:
    """(zone name, the city named right before it) for 深圳市大鹏新区 / 大鹏新区, not in the gazetteer."""
    g = gazetteer()
    for m in _ZONE_RE.finditer(text):
        name = _ZONE_PREFIX_JUNK.sub("", m.group(1))
        city = None
        for mention in scan(name, aliases=True, prose=False):
            if mention.start == 0 and any(u.level in ("city", "province") for u in mention.units):
                city, name = mention.name, name[mention.end :]
                break
        if len(name) < 4 or name in g.by_name or name.startswith(("高新", "经济", "开发", "国家", "省级")):
            continue
        return name, city
    return None


# ---------------------------------------------------------------------------------------------
# resolution

_NATIONAL_RE = re.compile(r"国务院|全国人民代表大会|全国人大|中华人民共和国|中央人民政府|全国政协|全国委员会")
_NATIONAL_REGIONS = frozenset({"全国", "中央", "国家", "中国", "national", "中华人民共和国"})
_NPC_BODY_RE = re.compile(r"第[一二三四五六七八九十]{1,3}届全国人民代表大会")


def _support_names(mentions: list[Mention]) -> set[str]:
    """Full names of province/city/county units stated in the mentions (used to disambiguate)."""
    out: set[str] = set()
    for m in mentions:
        for u in m.units:
            if u.level != "town" and (not m.alias or len(m.units) == 1):
                out.add(u.name)
    return out


def _confirmed(m: Mention, text: str, full_names: set[str]) -> bool:
    """A short name counts only when it is a province (浙江), is followed by its unit's kind
    (恩施州), or the document also names, in full, the same unit, a parent or a child of it."""
    after = text[m.end : m.end + 1]
    for u in m.units:
        if u.level == "province" or u.name in full_names:
            return True
        if any(a in full_names for a in (u.city, u.county) if a and a != u.name and a != u.province):
            return True
        if after and after in "市州县区旗盟" and u.name.endswith(after):
            return True
    g = gazetteer()
    return any(any(u.name in (unit.province, unit.city, unit.county) for u in m.units)
               for n in full_names for unit in g.by_name.get(n, ()))


@dataclass
class _Candidate:
    units: list[Unit]  # the units one name may denote
    weight: float
    kinds: list[str]
    name: str
    order: int


def _strong_candidates(evidence: list[Evidence], body_names: set[str]) -> list[_Candidate]:
    scanned = [(e, scan(e.text, aliases=True, prose=False)) for e in evidence]
    full = set(body_names) | {m.name for _, ms in scanned for m in ms if not m.alias}
    out: list[_Candidate] = []
    for e, mentions in scanned:
        for m in mentions:
            if m.alias and not _confirmed(m, e.text, full):
                continue
            out.append(_Candidate(list(m.units), e.weight, [e.kind], m.name, len(out)))
    return out


def _best(cands: list[_Candidate], support: set[str]) -> tuple[Place, float, list[_Candidate]]:
    """The deepest unit the strong evidence agrees on: each candidate scores its own weight plus
    the weight of every other candidate naming a unit it lies in (深圳市 backs 罗湖区)."""
    best_key, best = None, None
    for c in cands:
        for u in c.units:
            backing = [o for o in cands if o is not c and any(u.within(v) for v in o.units)]
            score = c.weight + sum(o.weight for o in backing)
            key = (score, LEVEL_ORDER[u.level], -c.order)
            if best_key is None or key > best_key:
                best_key, best = key, (c, u, backing)
    assert best is not None and best_key is not None
    c, u, backing = best
    units = [v for v in c.units if v.level == u.level]
    place = place_from_units(units, support | {v.name for o in backing for v in o.units})
    return place, best_key[0], [c, *backing]


_LIST_GAP = re.compile(r"\s*(?:、|和|及|与|以及|，|,)\s*")


def _list_weights(body: str, spans: list[tuple[int, int]]) -> list[float]:
    """How much each place name counts: 1, or 1/n inside an enumeration of n names (与宁波、温州、
    湖州等地合作) — a list of peers speaks of others, not of the author. `spans` in text order."""
    weights = [1.0] * len(spans)
    group: list[int] = []
    for i, (start, _) in enumerate(spans):
        if group and _LIST_GAP.fullmatch(body[spans[group[-1]][1] : start]):
            group.append(i)
            continue
        for j in group:
            weights[j] = 1 / len(group)
        group = [i]
    for j in group:
        weights[j] = 1 / len(group)
    return weights


def _body_mentions_of_kind(body: str, mentions: list[Mention], kind: str, within: Unit | None,
                           support: set[str]) -> Place | None:
    """The unit the body names most often among those of the kind the text speaks as (and inside
    `within`, if given); a bare short name (海盐 for 海盐县) counts when it is unambiguous. Names in
    an enumeration count for less (`_list_weights`)."""
    g = gazetteer()
    counts: Counter[str] = Counter()
    units_of: dict[str, list[Unit]] = {}
    first: dict[str, int] = {}
    found: list[tuple[int, int, str, list[Unit]]] = []
    for m in mentions:
        fits = [u for u in m.units if _kind_fits(u, kind) and (within is None or (u.within(within) and u != within))]
        if fits:
            found.append((m.start, m.end, m.name, fits))
    if not found:  # bare short names: 海盐 for 海盐县, 广东 for 广东省 (unambiguous ones only)
        table = _short_names_of_kind(kind)
        prefixes = {a[:2] for a in table}
        lens = range(min(g.max_alias, 6), 1, -1)
        for i in range(len(body) - 1):
            if body[i : i + 2] not in prefixes:
                continue
            for length in lens:
                u = table.get(body[i : i + length])
                if u is not None and (within is None or (u.within(within) and u != within)):
                    found.append((i, i + length, u.name, [u]))
                    break
    if not found:
        return None
    found.sort(key=lambda f: f[0])
    for (start, _, name, units), weight in zip(found, _list_weights(body, [(f[0], f[1]) for f in found])):
        counts[name] += weight
        units_of[name] = units
        first.setdefault(name, start)
    name = max(counts, key=lambda n: (counts[n], -first[n]))
    return place_from_units(units_of[name], support)


_SHORT_BY_KIND: dict[str, dict[str, Unit]] = {}


def _short_names_of_kind(kind: str) -> dict[str, Unit]:
    """Unambiguous short names (one unit, not also a full name) of units answering to 我{kind}."""
    table = _SHORT_BY_KIND.get(kind)
    if table is None:
        g = gazetteer()
        table = {a: u for a, u in g.unique_alias.items() if _kind_fits(u, kind) and len(g.by_name.get(u.name, ())) == 1}
        _SHORT_BY_KIND[kind] = table
    return table


def _most_named_city(body: str, mentions: list[Mention]) -> Unit | None:
    """The city a body names most (full names, or unambiguous short names: 深圳)."""
    found: list[tuple[int, int, Unit]] = []
    for m in mentions:
        cities = [u for u in m.units if u.level == "city" or (u.level == "province" and u.name.endswith("市"))]
        if len(cities) == 1:
            found.append((m.start, m.end, cities[0]))
    table = gazetteer().short_names("市")
    prefixes = {a[:2] for a in table}
    for i in range(len(body) - 1):
        if body[i : i + 2] in prefixes:
            for length in (4, 3, 2):
                u = table.get(body[i : i + length])
                if u is not None:
                    found.append((i, i + length, u))
                    break
    found.sort(key=lambda f: f[0])
    counts: Counter[Unit] = Counter()
    for (_, _, unit), weight in zip(found, _list_weights(body, [(f[0], f[1]) for f in found])):
        counts[unit] += weight
    return counts.most_common(1)[0][0] if counts else None


def resolve_region(evidence: list[Evidence], body: str, hints: dict[str, str], national_text: str,
                   w: PlaceSettings = PlaceSettings()) -> RegionResult:
    """The document's own region from strong `evidence` (columns, speakers, title, issuer …) and its
    `body`; `hints` are container columns (region, province, city, county) that win field by field."""
    region_hint = hints.get("region", "")
    if region_hint in _NATIONAL_REGIONS:
        return RegionResult(Place(region="全国", level="national"), w.confidence_column, [f"column 地区 {region_hint}"])

    evidence = list(evidence)
    for key, label in (("region", "地区"), ("county", "区县"), ("city", "城市"), ("province", "省份")):
        if hints.get(key):
            evidence.insert(0, Evidence(f"column {label}", hints[key], w.column))
    body_mentions = scan(body)
    body_names = _support_names(body_mentions)
    kind, votes = self_kind(body, w=w)
    cands = _strong_candidates(evidence, body_names)
    zone = next((z for e in evidence if e.kind in ("title", "file name", "speaker", "column 地区")
                 if (z := _zone(e.text))), None)
    if zone and not any(u.level in ("county", "town") for c in cands for u in c.units):
        return _zone_result(zone, cands, body, body_mentions, w)
    if cands:
        return _from_strong(cands, body, body_mentions, body_names, kind, votes, w)
    if (m := _NATIONAL_RE.search(national_text)) or (m := _NPC_BODY_RE.search(body[:300])):
        return RegionResult(Place(region="全国", level="national"), w.confidence_one_source, [f"national: {m.group(0)}"])
    return _from_body(body, body_mentions, body_names, kind, votes, w)


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
        if _kind_fits(own, kind):
            confidence += w.self_reference_bonus
            result.evidence.append(_votes_text(votes, kind))
        elif LEVEL_ORDER[own.level] < LEVEL_ORDER["county"] and votes[kind] >= w.refine_votes:
            # A parent named (来源: 绍兴市人民政府; a province column) while the text speaks as a unit
            # inside it (我区 … 上虞区): the unit it names most, of that kind, inside it.
            sub = _body_mentions_of_kind(body, body_mentions, kind, own, body_names)
            if sub is not None:
                return RegionResult(sub, w.confidence_body_kind,
                                    result.evidence + [_votes_text(votes, kind), f"body names {sub.region} most"])
    result.confidence = round(min(confidence, 0.99), 2)
    return result


def _from_body(body: str, body_mentions: list[Mention], body_names: set[str], kind: str | None,
               votes: Counter[str], w: PlaceSettings) -> RegionResult:
    """No strong evidence: the place of the kind the text speaks as that it names most; without a
    self-reference, the place it names most (low confidence)."""
    if kind:
        place = _body_mentions_of_kind(body, body_mentions, kind, None, body_names)
        if place is not None:
            return RegionResult(place, w.confidence_body_kind,
                                [_votes_text(votes, kind), f"body names {place.region} most"])
        return RegionResult(Place(), None, [_votes_text(votes, kind) + ", but no such place named"])
    if not body_mentions:
        return RegionResult(Place())
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


def _zone_result(zone: tuple[str, str | None], cands: list[_Candidate], body: str,
                 body_mentions: list[Mention], w: PlaceSettings) -> RegionResult:
    name, city_name = zone
    g = gazetteer()
    city: Unit | None = None
    if city_name:
        city = next((u for u in g.units(city_name) if u.level in ("city", "province")), None)
    how = f"named before it ({city_name})" if city else ""
    if city is None:
        stated = [u for c in cands for u in c.units if u.level == "city" and len(c.units) == 1]
        city = stated[0] if stated else None
        how = "named with it" if city else ""
    if city is None:
        city = _most_named_city(body, body_mentions)
        how = "the city the body names most" if city else ""
    place = Place(region=name, level="county")
    if city is not None:
        place.city = city.name if city.level == "city" else None
        place.province = city.province
    evidence = [f"zone {name} (not in the gazetteer)"] + ([f"city {city.name}: {how}"] if city else [])
    return RegionResult(place, w.confidence_zone, evidence)


def _describe(used: list[_Candidate]) -> list[str]:
    out: list[str] = []
    for c in used:
        for kind in c.kinds:
            text = f"{kind} {c.name}"
            if text not in out:
                out.append(text)
    return out


def _votes_text(votes: Counter[str], kind: str) -> str:
    return f"speaks as a {kind} ({votes[kind]:g} votes: 我{kind}/本{kind}/全{kind}…)"
