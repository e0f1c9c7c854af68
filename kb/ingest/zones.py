"""Special zones and functional areas: 深汕特别合作区, 大鹏新区, 北京经济技术开发区, 苏州工业园区 …

They are not administrative divisions, so the gazetteer lacks them, yet reports are written by
them and about them. A zone is a place with a parent: it is filed at county level under the city
(or province) it belongs to, so it takes part in region resolution like any district — 深圳市
backs 深汕特别合作区 as it backs 罗湖区, and the short name inside a zone's name (坪山 in 坪山新区)
is not read as the district it resembles.

Zones come from `kb/data/zones.txt` (a zone, its parent, other names) and, for names the file
lacks, from a pattern: a name ending in a zone suffix (新区, 开发区, 合作区 …), the place written
before it being its parent (深圳市大鹏新区 → 深圳市), a parent-only name keeping it whole
(北京经济技术开发区 → 北京市), and a zone named after a district (坪山新区, beside 坪山区) lying in
that district's city.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from kb import rules
from kb.ingest.places import Unit, gazetteer, scan

__all__ = ["Zone", "find_zones", "zone_unit"]

_HAN = re.compile(r"[\u4e00-\u9fff]")
_MAX_NAME = 10  # characters before the suffix that may belong to a zone's name


@dataclass(frozen=True)
class Zone:
    """A zone named in a text: its name, where it is, and the units it may be (one per possible
    parent; none when the text does not say where it lies). `parent_span` is the part of the
    text that names the parent (深圳市 in 深圳市大鹏新区, 北京 in 北京经济技术开发区), if any."""

    name: str
    start: int
    end: int
    units: tuple[Unit, ...]
    parent_span: tuple[int, int] | None = None
    listed: bool = False  # in kb/data/zones.txt


def zone_unit(name: str, parent: Unit) -> Unit:
    """The zone as a county-level unit under its parent (a city, or a province or municipality)."""
    city = parent.city if parent.level in ("city", "county") else (parent.name if parent.name.endswith("市") else None)
    return Unit(name, "county", parent.province, city, name)


@dataclass(frozen=True)
class _Table:
    listed: dict[str, tuple[str, str]]  # any name of a listed zone → (its name, its parent's name)
    suffix: re.Pattern[str]
    not_a_name: tuple[str, ...]  # longest first


@lru_cache(maxsize=1)
def _table() -> _Table:
    listed: dict[str, tuple[str, str]] = {}
    for line in rules.lines("zones.txt", "zones"):
        name, parent, *others = line.split()
        for n in (name, *others):
            listed[n] = (name, parent)
    return _Table(listed, re.compile(rules.alternation("zones.txt", "suffixes")),
                  rules.longest_first("zones.txt", "not a name"))


def _parent_units(name: str) -> list[Unit]:
    g = gazetteer()
    return [u for u in g.units(name) if u.level in ("province", "city", "county")]


def _name_part(head: str) -> str:
    """The last word of `head` (推进大鹏 → 大鹏), by jieba's dictionary from the right; else its last
    two characters."""
    from kb.index.tokenize import dictionary

    words = dictionary()
    for k in (4, 3, 2):
        if len(head) >= k and head[-k:] in words:
            return head[-k:]
    return head[-2:]


def find_zones(text: str) -> list[Zone]:
    """Zones named in `text` (a title, an issuer, a file name, a body), in order, not overlapping."""
    t = _table()
    g = gazetteer()
    out: list[Zone] = []
    taken = bytearray(len(text))

    def add(zone: Zone) -> None:
        if not any(taken[zone.start : zone.end]):
            taken[zone.start : zone.end] = b"\x01" * (zone.end - zone.start)
            out.append(zone)

    for alias in sorted(t.listed, key=len, reverse=True):  # the listed zones, longest name first
        for m in re.finditer(re.escape(alias), text):
            name, parent = t.listed[alias]
            add(Zone(name, m.start(), m.end(), tuple(zone_unit(name, p) for p in _parent_units(parent)), None, True))
    for m in t.suffix.finditer(text):
        begin = m.start()
        while begin > 0 and m.start() - begin < _MAX_NAME and _HAN.match(text[begin - 1]) and not taken[begin - 1]:
            begin -= 1
        head = text[begin : m.start()]
        if not head:
            continue  # 高新区 alone: a kind of zone, not one
        places = [p for p in scan(head, aliases=True, prose=False)
                  if any(u.level in ("province", "city", "county") for u in p.units)]
        last = places[-1] if places else None
        parent_span = None
        if last is not None and last.end == len(head):
            # 北京经济技术开发区, 苏州工业园区: a place and the suffix; 坪山新区 beside 坪山区: a zone
            # named after a district lies in that district's city
            name, start = last.name + m.group(0), begin + last.start
            parents = [u for u in last.units if u.level != "town"]
            if all(u.level == "county" for u in parents):
                parents = [p for u in parents for p in _parent_units(u.city or u.province)]
            else:
                parent_span = (start, start + len(last.name))
        elif last is not None and 2 <= len(head) - last.end <= 4:
            # 深圳市大鹏新区: the parent, then the zone's own name
            name, start = head[last.end :] + m.group(0), begin + last.start
            parents = [u for u in last.units if u.level != "town"]
            parent_span = (start, begin + last.end)
        else:
            part = _name_part(head)
            name, start, parents = part + m.group(0), m.start() - len(part), []
        listed = g.by_name.get(name, ())
        if name[: len(name) - len(m.group(0))] in t.not_a_name or any(u.level != "town" for u in listed):
            continue  # 国家级新区 is a kind of zone; 浦东新区, 天府新区 are divisions the gazetteer lists
        if listed and not parents:  # listed as a town for statistics (北京经济技术开发区 under 大兴区)
            parents = [p for u in listed for p in _parent_units(u.city or u.province)]
        add(Zone(name, start, m.end(), tuple(dict.fromkeys(zone_unit(name, p) for p in parents)), parent_span))
    out.sort(key=lambda z: z.start)
    return out
