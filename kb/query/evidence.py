"""Does a passage state the practice? Graded evidence over concept units (units.py), one mechanism.

A passage *states* a practice when every gating unit (the heads, and an institutional word where
the question has one) occurs inside one sentence, close together, each as asked or in a tolerated
form, and their weighted score reaches `evidence.state_threshold`. Tolerated forms, each scored:

- squash-insensitive (quote marks, 、, spaces between the characters: “一网通办”平台);
- another name (synonyms.txt, the corpus's own X（以下简称Y）);
- characters inserted between two of the unit's characters — at most `gap_max` in one place and
  `insert_max` in all, never across a sentence mark (轻微违法不罚 ↔ 轻微违法行为不予处罚);
- characters of a unit of four or more left out (行政执法公示 ↔ 执法公示 is the other way: contained);
- another institutional word in the place of the asked one (柔性执法 ↔ 柔性监管), next to a head;
- units in another order (便民利企 ↔ 利企便民; 府院、府检联动 for 府院联动): units are found one by one.

Modifiers (执法人员 in 执法人员亮证执法) never gate; a passage holding them ranks higher. Every
statement reports which units matched and how, for the answer to say.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from kb.index.phrases import SQUASHED, phrase_pattern, squash
from kb.query.units import Concept, Unit, words
from kb.settings import EvidenceSettings

_SENTENCE = re.compile(r"[。！？；;!?\n]")
_CLAUSE = re.compile(r"[。！？；;!?\n，,]")  # one statement never spans a clause break
_GAP_CHARS = r"[^。！？；;!?\n，,：:（）()]"
_SQUASHABLE = frozenset(SQUASHED)
_HAN4 = re.compile(r"[\u4e00-\u9fff]{4}")
_PAIRS = {"“": "”", "「": "」", "『": "』", "《": "》", "‘": "’", '"': '"'}

HOW_LABELS = {
    "exact": "原词",
    "name": "同义名称",
    "tolerant": "近似写法",
    "institution": "换用机构词",
    "order": "前后词序互换",
    "core": "核心词",
}


@dataclass(frozen=True)
class UnitHit:
    unit: int  # index into the concept's units
    start: int  # in the passage's folded text (== original positions)
    end: int
    score: float
    how: str  # exact | name | tolerant | institution


@dataclass(frozen=True)
class Statement:
    """Where and how well a passage states a concept."""

    start: int
    end: int
    score: float  # weighted over the gating units, 0–1
    hits: tuple[UnitHit, ...]
    rank: float  # score plus the modifiers found (for ordering passages that state it)
    whole: str | None = None  # "exact" / "name": the whole phrase (or another name of it) occurs
    concept: int = 0  # which of the question's concepts (several when asked together)


_SQ = "[" + re.escape(SQUASHED) + "]*"


@lru_cache(maxsize=8192)
def _tolerant(text: str, gap: int) -> re.Pattern[str]:
    """The unit's characters in order with up to `gap` other characters between two of them (quote
    marks, 、 and spaces between them are free)."""
    between = f"{_SQ}(?:{_GAP_CHARS}{_SQ}){{0,{gap}}}?"
    return re.compile(between.join(re.escape(c) for c in text))


@lru_cache(maxsize=8192)
def _orders(text: str, parts: tuple[str, ...]) -> tuple[str, ...]:
    """The unit's words in another order: its parts swapped pairwise (包容审慎监管 → 审慎包容监管), or a
    four-character unit's halves (便民利企 → 利企便民)."""
    out = []
    if 2 <= len(parts) <= 4:
        for i in range(len(parts) - 1):
            swapped = list(parts)
            swapped[i], swapped[i + 1] = swapped[i + 1], swapped[i]
            out.append("".join(swapped))
    if len(text) == 4 and _HAN4.fullmatch(text):
        out.append(text[2:] + text[:2])
    return tuple(o for o in dict.fromkeys(out) if o != text)


@lru_cache(maxsize=8192)
def _dropped(text: str) -> tuple[str, ...]:
    """The unit with one inner character left out (for units of four characters or more)."""
    if len(text) < 4:
        return ()
    return tuple(dict.fromkeys(text[:i] + text[i + 1:] for i in range(1, len(text) - 1)))


def _inserted(matched: str, letters: int) -> int:
    return sum(1 for ch in matched if ch not in _SQUASHABLE) - letters


def unit_hits(unit: Unit, index: int, folded: str, cfg: EvidenceSettings, limit: int = 12,
              short: bool = False) -> list[UnitHit]:
    """Every place a passage holds one unit, with its score (best forms first), at most `limit`.
    `short`: tolerate insertions in a two-character unit too (when other units anchor it nearby)."""
    out: list[UnitHit] = []
    taken: set[tuple[int, int]] = set()

    def add(start: int, end: int, score: float, how: str) -> None:
        if score >= cfg.unit_threshold and not any(s < end and start < e for s, e in taken):
            taken.add((start, end))
            out.append(UnitHit(index, start, end, score, how))

    text = unit.text
    for m in phrase_pattern(text).finditer(folded):
        add(m.start(), m.end(), 1.0, "exact")
    for name in unit.names:
        for m in phrase_pattern(name).finditer(folded):
            add(m.start(), m.end(), cfg.name_score, "name")
    for swapped in _orders(text, unit.parts):
        for m in phrase_pattern(swapped).finditer(folded):
            add(m.start(), m.end(), cfg.swap_score, "order")
    if unit.role == "institution":
        for other in words().institutions:
            if other != text and other in folded:
                for m in phrase_pattern(other).finditer(folded):
                    add(m.start(), m.end(), cfg.institution_score, "institution")
    if (len(text) >= 3 or short and len(text) == 2) and len(out) < limit:
        for m in _tolerant(text, cfg.gap_max).finditer(folded):
            extra = _inserted(m.group(), len(text))
            if 0 < extra <= cfg.insert_max:
                add(m.start(), m.end(), 1.0 - cfg.insert_cost * extra, "tolerant")
        # a character left out, nothing put in its place (an insertion there would be another word:
        # 行政复议 is not 行政争议)
        for shorter in _dropped(text)[: 8] if cfg.drop_max else ():
            for m in phrase_pattern(shorter).finditer(folded):
                add(m.start(), m.end(), 1.0 - cfg.drop_cost, "tolerant")
    out.sort(key=lambda h: (-h.score, h.start))
    return out[:limit]


def _window(concept: Concept, cfg: EvidenceSettings) -> int:
    return max(cfg.window_min, int(cfg.window_factor * len(concept.core)))


def statements(concept: Concept, folded: str, cfg: EvidenceSettings, which: int = 0) -> list[Statement]:
    """Every non-overlapping place a passage states the concept, best first."""
    found: list[Statement] = []
    for whole, how, score in ([(concept.asked, "exact", 1.0)] + [(n, "name", cfg.name_score) for n in concept.names]):
        for m in phrase_pattern(whole).finditer(folded):
            hit = UnitHit(-1, m.start(), m.end(), score, how)
            bonus = 1.0 if how == "exact" else 0.8
            found.append(Statement(m.start(), m.end(), score, (hit,), score + bonus, how, which))
    gating = [(i, u) for i, u in enumerate(concept.units) if u.gates]
    if gating:
        hits: dict[int, list[UnitHit]] = {}
        for i, u in sorted(gating, key=lambda iu: iu[1].passages):  # the rarest first: most passages stop there
            hits[i] = unit_hits(u, i, folded, cfg, short=len(gating) > 1)
            if not hits[i]:
                break
        else:
            found += _combinations(concept, folded, gating, hits, cfg, which)
    found.sort(key=lambda s: (-s.rank, s.start))
    out: list[Statement] = []
    for s in found:
        if not any(s.start < o.end and o.start < s.end for o in out):
            out.append(_widened(folded, s))
    return out


def _widened(folded: str, s: Statement) -> Statement:
    """Take in an opening quote whose closing mark the statement holds (“一网通办”平台)."""
    if s.start > 0 and folded[s.start - 1] in _PAIRS and _PAIRS[folded[s.start - 1]] in folded[s.start : s.end]:
        return Statement(s.start - 1, s.end, s.score, s.hits, s.rank, s.whole, s.concept)
    return s


def _combinations(concept: Concept, folded: str, gating: list[tuple[int, Unit]], hits: dict[int, list[UnitHit]],
                  cfg: EvidenceSettings, which: int) -> list[Statement]:
    """Statements anchored on each place of the rarest gating unit: the best hit of every other
    gating unit (required) and of every generic unit (if there) in the same clause and window;
    the weighted score over all of them; those over the threshold."""
    window = _window(concept, cfg)
    soft = [(i, u) for i, u in enumerate(concept.units) if u.role == "generic"]
    total = sum(u.weight for _, u in gating + soft) or 1.0
    anchor_i = min(gating, key=lambda iu: (iu[1].role != "head", len(hits[iu[0]]), -iu[1].weight))[0]
    heads = [h for i, u in gating if u.role == "head" for h in hits[i]]
    soft_hits = {i: unit_hits(u, i, folded, cfg, limit=6) for i, u in soft}
    out = []
    for anchor in hits[anchor_i]:
        chosen = [anchor]
        for i, u in gating + soft:
            if i == anchor_i:
                continue
            best = None
            for h in (hits[i] if u.gates else soft_hits[i]):
                lo, hi = min(h.start, anchor.start), max(h.end, anchor.end)
                if hi - lo > window or _CLAUSE.search(folded, lo, hi):
                    continue
                if h.how == "institution" and not _next_to(h, heads, chosen):
                    continue
                if u.text in words().bodies and not _follows(h, chosen):
                    continue
                key = (h.score, -abs(h.start - anchor.start))
                if best is None or key > best[0]:
                    best = (key, h)
            if best is None:
                if u.gates:
                    break
                continue
            chosen.append(best[1])
        else:
            score = sum(concept.units[h.unit].weight * h.score for h in chosen) / total
            if score < cfg.state_threshold:
                continue
            lo, hi = min(h.start for h in chosen), max(h.end for h in chosen)
            exact = all(h.how == "exact" for h in chosen)  # every unit as asked: as good as the whole phrase
            rank = score + (0.9 if exact else 0.0) + _modifiers(concept, folded, lo, hi, window)
            out.append(Statement(lo, hi, score, tuple(sorted(chosen, key=lambda h: h.start)), rank, None, which))
    return out


def _follows(hit: UnitHit, chosen: list[UnitHit]) -> bool:
    """A body the question names (中心) comes right after the practice's words (调解中心, 调解 中心)."""
    return any(0 <= hit.start - h.end <= 2 for h in chosen)


def _next_to(hit: UnitHit, heads: list[UnitHit], chosen: list[UnitHit]) -> bool:
    """An institutional word standing in for the asked one must follow or precede a head closely."""
    near = [h for h in chosen if h.how != "institution"] or heads
    return any(0 <= hit.start - h.end <= 1 or 0 <= h.start - hit.end <= 1 for h in near)


def _modifiers(concept: Concept, folded: str, lo: int, hi: int, window: int) -> float:
    """A small bonus per modifier the passage holds near the statement (they rank, never gate)."""
    bonus = 0.0
    around = folded[max(0, lo - window) : hi + window]
    for u in concept.units:
        if u.role == "modifier" and squash(u.text) and phrase_pattern(u.text).search(around):
            bonus += 0.05
    return min(bonus, 0.2)


def related_parts(concept: Concept, folded: str, cfg: EvidenceSettings) -> UnitHit | None:
    """A passage holding every head somewhere but not stating the practice (too far apart, in
    different sentences): related, never a statement. The first head's place, or None."""
    heads = [(i, u) for i, u in enumerate(concept.units) if u.role == "head"]
    if len(heads) < 2:
        return None
    first = None
    for i, u in heads:
        found = unit_hits(u, i, folded, cfg, limit=1)
        if not found:
            return None
        first = first or found[0]
    return first


def describe(concept: Concept, statement: Statement | None, text: str = "") -> str:
    """How a passage states it, for the answer: 原词 / 核心词“亮证执法” / 近似写法“…” … (`text`: the
    passage, whose words at the statement's places are quoted)."""
    if statement is None or statement.whole == "exact":
        return HOW_LABELS["exact"]
    if statement.whole == "name":
        return f"{HOW_LABELS['name']}“{text[statement.start:statement.end]}”"
    parts = []
    for how in ("name", "tolerant", "institution", "order"):
        forms = list(dict.fromkeys(text[h.start:h.end] for h in statement.hits if h.how == how))
        if forms:
            parts.append(f"{HOW_LABELS[how]}“{'”“'.join(forms)}”")
    order = [h.unit for h in statement.hits if h.unit >= 0]
    if order != sorted(order) and not any(h.how == "order" for h in statement.hits):
        parts.append(HOW_LABELS["order"])
    sentence = text[max(0, statement.start - 40): statement.end + 40]
    missing = [u.text for u in concept.units if u.role in ("modifier", "suffix", "generic")
               and not phrase_pattern(u.text).search(sentence)]
    if not parts:  # every unit as asked, in the asked order: the practice's own words (or its core)
        parts.append(f"{HOW_LABELS['core']}“{text[statement.start:statement.end]}”" if missing else HOW_LABELS["exact"])
    label = "；".join(parts)
    if missing:
        label += f"（问题中的“{'”“'.join(missing)}”未出现，不作为判定条件）"
    return label
