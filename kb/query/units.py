"""A practice as weighted concept units, not one string.

A question says more, or otherwise, than the report it should find: 执法人员亮证执法 asked, 亮证执法
written; 首违不罚清单制度 asked, 首违不罚 written; 柔性执法 asked, 柔性监管 written. So the practice
phrase a question names is cut into *units* attested in the corpus, each with a role:

- **head** — the specific practice words (亮证, 首违不罚, 综合查一次): a passage states the practice
  only when it holds every head, as asked or in a tolerated form (see evidence.py);
- **institution** — a word of the kind that names the institutional side of a practice (执法, 监管,
  服务, 审批 …; kb/data/units.txt): another word of the same kind may stand in its place
  (柔性执法 ↔ 柔性监管), but the head must be followed by one;
- **suffix** — an institutional suffix (制度, 机制, 清单, 平台 …): optional (X制度 states X, X states X制度);
- **generic** — words that alone name nothing (政府, 建设, 管理; question.txt [generic]): inside a phrase
  they count towards the score (法治政府建设示范 written 法治政府示范 still scores high; 法治示范 does not),
  but no one of them is required;
- **modifier** — actors, beneficiaries, scope and degree words (执法人员, 企业, 全面), and words far more
  common in the corpus than the heads: they rank passages, never gate them;
- **wording** — verbs of the question and function words (推行, 建立, 的): ignored.

Units come from the index's tokenizer (so lexicon terms like 综合查一次 are one token), with adjacent
tokens merged into one unit when the corpus writes them together (亮证|执法 stays two tokens when
亮证 also occurs alone, 违法|不罚 …). Every decision is a count in the corpus or a word list in
kb/data; the thresholds are `Settings.evidence`. Work is linear in the phrase's length: at most
`evidence.max_units` units, one phrase count per unit and one per adjacent pair.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal, Protocol

from kb import rules
from kb.index.phrases import squash
from kb.index.tokenize import dictionary, is_verb, stopwords
from kb.settings import EvidenceSettings, Settings

INDICATOR_ENDS = ("率", "数", "量", "额", "比例", "占比", "比重", "指数")
Role = Literal["head", "generic", "institution", "suffix", "modifier", "wording"]
_HAN = re.compile(r"[\u4e00-\u9fff]")
_FUNCTION_TAGS = frozenset("m q u uj ul uz ug uv ud p c r y e o f t mq".split())  # not d: 轻微 (违法) names


class Corpus(Protocol):
    """What cutting a practice into units needs from the index (the Searcher implements it)."""

    settings: Settings

    def phrase_count(self, phrase: str) -> int:
        """Passages that contain the phrase (squash-insensitive); 0 when no report states it."""

    def passage_total(self) -> int:
        """How many passages the index holds."""

    def cut(self, folded: str) -> list[str]:
        """Word tokens of a folded text, stop words included."""

    def words(self, folded: str) -> list[str]:
        """Dictionary words of a text (jieba without the index's lexicon: units are merged by counts)."""

    def abbreviations(self) -> tuple[tuple[str, ...], ...]:
        """(full name, short name) pairs the corpus defines (X（以下简称“Y”）)."""

    def named_terms(self) -> frozenset[str]:
        """Practice names the index knows: the shipped lexicon and the terms the corpus quotes."""


@dataclass(frozen=True)
class Words:
    """The word lists units are classified by (kb/data/units.txt and question.txt)."""

    institutions: frozenset[str]
    suffixes: frozenset[str]
    modifiers: frozenset[str]
    generic: frozenset[str]
    verbs: frozenset[str]
    wording: frozenset[str]
    joiners: tuple[str, ...]
    bodies: frozenset[str]


@lru_cache(maxsize=1)
def words() -> Words:
    q = "question.txt"
    return Words(
        institutions=rules.word_set("units.txt", "institution"),
        suffixes=rules.word_set(q, "suffix") | rules.word_set("units.txt", "suffix"),
        modifiers=rules.word_set(q, "beneficiaries") | rules.word_set("units.txt", "modifier"),
        generic=rules.word_set(q, "generic") - rules.word_set(q, "suffix"),
        verbs=rules.word_set(q, "verbs"),
        wording=(rules.word_set(q, "verbs") | rules.word_set(q, "prepositions") | rules.word_set(q, "scaffold")
                 | rules.word_set("units.txt", "wording") | stopwords()),
        joiners=rules.longest_first("units.txt", "joiner"),
        bodies=rules.word_set("units.txt", "body"),
    )


@lru_cache(maxsize=1)
def synonym_groups() -> tuple[tuple[str, ...], ...]:
    """Groups of names for one practice (kb/data/synonyms.txt), squashed for matching."""
    groups = []
    for line in rules.lines("synonyms.txt"):
        names = tuple(dict.fromkeys(squash(n.strip()) for n in line.split("=") if n.strip()))
        if len(names) >= 2:
            groups.append(names)
    return tuple(groups)


@dataclass(frozen=True)
class Unit:
    text: str  # squashed, as asked
    role: Role
    passages: int  # passages holding it (0: the corpus never writes it)
    weight: float  # specificity: log((N + 1) / (passages + 1)) + 1, scaled by role
    names: tuple[str, ...] = ()  # other names the corpus or synonyms.txt give it
    parts: tuple[str, ...] = ()  # the dictionary words it was merged from (包容|审慎|监管), for other orders

    @property
    def gates(self) -> bool:
        return self.role in ("head", "institution")


@dataclass(frozen=True)
class Concept:
    """One practice a question names, as units; `names` are other names for the whole of it."""

    asked: str  # the practice phrase as asked, squashed
    units: tuple[Unit, ...]
    names: tuple[str, ...] = ()  # whole-practice synonyms / corpus abbreviations (squashed)
    whole: int = 0  # passages stating the asked phrase itself

    @property
    def heads(self) -> tuple[Unit, ...]:
        return tuple(u for u in self.units if u.role == "head")

    @property
    def gating(self) -> tuple[Unit, ...]:
        return tuple(u for u in self.units if u.gates)

    @property
    def core(self) -> str:
        """The asked phrase without its modifiers, suffixes and wording (亮证执法 of 执法人员亮证执法)."""
        kept = [u.text for u in self.units if u.gates or u.role == "generic"]
        return "".join(kept) or self.asked

    @property
    def term(self) -> str:
        """What an answer calls it: the asked words from the first gating unit to the last gating or
        suffix unit (设立行政争议调解中心 → 行政争议调解中心; 执法人员亮证执法 → 亮证执法)."""
        ends = [i for i, u in enumerate(self.units) if u.gates]
        if not ends:
            return self.asked
        last = max(i for i, u in enumerate(self.units) if u.gates or u.role == "suffix")
        return "".join(u.text for u in self.units[ends[0] : last + 1])

    @property
    def rarest(self) -> Unit | None:
        heads = [u for u in self.heads if u.passages] or list(self.heads)
        return min(heads, key=lambda u: u.passages) if heads else None


def _function_word(word: str) -> bool:
    if word.isdigit() and len(word) >= 3:
        return False
    entry = dictionary().get(word)
    return entry is not None and entry[1] in _FUNCTION_TAGS


def _role(token: str, w: Words) -> Role | None:
    """The role a word list gives a token, or None (decided by counts)."""
    if not _HAN.search(token) and not (token.isdigit() and len(token) >= 3):
        return "wording"
    if token in w.suffixes:
        return "suffix"
    if token in w.institutions:
        return "institution"
    if token in w.modifiers:
        return "modifier"
    if token in w.generic:
        return "generic"
    if token in w.wording or _function_word(token):
        return "wording"
    if len(token) == 1:
        return None  # a lone character merges with a neighbour, or is wording
    return None


def _without_suffix(token: str, w: Words) -> list[str]:
    """A dictionary word ending in an institutional suffix is two units (联动机制 → 联动 | 机制)."""
    for suffix in sorted(w.suffixes, key=len, reverse=True):
        if token.endswith(suffix) and len(token) - len(suffix) >= 2 and token != suffix:
            return [token[: -len(suffix)], suffix]
    return [token]


def _merge(tokens: list[str], corpus: Corpus, cfg: EvidenceSettings, w: Words) -> list[str]:
    """Dictionary words into units, by what the corpus writes:
    1. a run of lone characters is one unit when the corpus writes the run (首|违|不|罚 → 首违不罚),
       else its attested pairs are (不|罚 → 不罚);
    2. a lone character left joins the neighbour it is most often written with (综合|查 → 综合查);
    3. two words join when the pair occurs in at least `collocation_share` of the passages of its rarer
       part and in `collocation_min` passages (行政|执法 → 行政执法; 柔性|执法 stays two: 柔性 is also
       柔性监管, 柔性引进). Wording and modifiers never join."""
    def listed(t: str) -> bool:
        """By the word lists only (jieba tags 首 of 首违不罚 a numeral); a lone character is listed
        only as a joiner (和, 与, 、) — 不 of 首违不罚 is a stop word, yet part of the name. Suffixes,
        institutions and bodies keep their role: they join nothing."""
        if len(t) == 1:
            return t in w.joiners
        return (t in w.wording or t in w.modifiers or t in w.generic or t in w.suffixes or t in w.institutions
                or t in w.bodies)

    # 1. runs of lone characters
    pieces: list[str] = []
    i = 0
    while i < len(tokens):
        j = i
        while j < len(tokens) and len(tokens[j]) == 1 and not listed(tokens[j]):
            j += 1
        if j - i >= 2:
            run = tokens[i:j]
            if corpus.phrase_count("".join(run)):
                pieces.append("".join(run))
            else:  # its attested pairs; characters no pair takes stay together (unattested content)
                k, loose = i, ""
                while k < j:
                    if k + 1 < j and corpus.phrase_count(tokens[k] + tokens[k + 1]):
                        if loose:
                            pieces.append(loose)
                            loose = ""
                        pieces.append(tokens[k] + tokens[k + 1])
                        k += 2
                    else:
                        loose += tokens[k]
                        k += 1
                if loose:
                    pieces.append(loose)
            i = j
        else:
            pieces.append(tokens[i])
            i += 1
    # 2. a lone character joins its better neighbour — the word before it when the corpus writes
    #    neither pair (负责人出庭|率: an unattested unit the tolerant match can still find)
    out: list[str] = []
    for n, piece in enumerate(pieces):
        if len(piece) == 1 and not listed(piece):
            left_ok = bool(out) and not listed(out[-1]) and len(out[-1]) >= 2
            left = corpus.phrase_count(out[-1] + piece) if left_ok else 0
            right_word = pieces[n + 1] if n + 1 < len(pieces) and not listed(pieces[n + 1]) else ""
            right = corpus.phrase_count(piece + right_word) if right_word else 0
            if left and left >= right:
                out[-1] += piece
                continue
            if right:
                pieces[n + 1] = piece + right_word
                continue
            if left_ok and piece not in stopwords():
                out[-1] += piece
                continue
        out.append(piece)
    # 3. collocations of words (an institutional word too: 行政|执法 → 行政执法, never 柔性|执法)
    def fixed(t: str) -> bool:
        return len(t) > 1 and t not in w.institutions and listed(t)

    merged: list[str] = []
    for token in out:
        if merged and not fixed(merged[-1]) and not fixed(token):
            prev = merged[-1]
            both = corpus.phrase_count(prev + token)
            if both >= cfg.collocation_min and both >= cfg.collocation_share * max(
                    min(corpus.phrase_count(prev), corpus.phrase_count(token)), 1):
                merged[-1] = prev + token
                continue
        elif merged and len(merged) == 1 and merged[0] in w.verbs and not fixed(token):
            # a leading verb is part of the name when the corpus nearly always writes it with the next
            # word (规范|涉企…: the reports' own name), else it is wording (设立|行政争议…)
            both = corpus.phrase_count(merged[0] + token)
            if both >= cfg.collocation_min and both >= corpus.settings.question.wrapper_share * corpus.phrase_count(token):
                merged[0] += token
                continue
        merged.append(token)
    return merged


def _names_for(text: str, corpus: Corpus) -> tuple[str, ...]:
    """Other names of `text`: synonym groups holding it, and the corpus's own abbreviations."""
    found: list[str] = []
    for group in synonym_groups() + tuple(corpus.abbreviations()):
        for name in group:
            if name and name in text:
                found += [text.replace(name, other) for other in group if other != name]
    return tuple(n for n in dict.fromkeys(found) if n and n != text)


def _named_first(asked: str, corpus: Corpus) -> list[str]:
    """Dictionary words of the phrase, except that a name the corpus quotes or the lexicon lists and
    the dictionary would cut into lone characters or numerals (一件事一次办, 双随机一公开, 民意速办)
    stays one word — longest names first, never overlapping. 柔性执法 stays 柔性|执法."""
    def broken(name: str) -> bool:  # the dictionary cuts it into lone characters or numerals
        return any(len(t) == 1 or (dictionary().get(t) or (0, ""))[1] == "m" for t in corpus.words(name))

    names = sorted((squash(t) for t in corpus.named_terms() if 3 <= len(squash(t)) <= len(asked)
                    and squash(t) in asked and broken(squash(t))), key=len, reverse=True)
    taken: list[tuple[int, int]] = []
    for name in names:
        at = asked.find(name)
        while at >= 0:
            if not any(at < e and s < at + len(name) for s, e in taken):
                taken.append((at, at + len(name)))
            at = asked.find(name, at + 1)
    out, pos = [], 0
    for start, end in sorted(taken):
        out += corpus.words(asked[pos:start]) if start > pos else []
        out.append(asked[start:end])
        pos = end
    out += corpus.words(asked[pos:]) if pos < len(asked) else []
    return out


def _listed_pairs(tokens: list[str], w: Words) -> list[str]:
    """Adjacent words that together are one listed word keep that word's role (专项|行动 → 专项行动, a suffix)."""
    known = w.suffixes | w.institutions | w.modifiers | w.bodies
    out: list[str] = []
    for t in tokens:
        if out and out[-1] + t in known and out[-1] not in w.joiners:
            out[-1] += t
        else:
            out.append(t)
    return out


def concept(phrase: str, corpus: Corpus) -> Concept | None:
    """The concept units of a (folded) practice phrase, or None when it holds no content word."""
    cfg = corpus.settings.evidence
    w = words()
    asked = squash(phrase)
    words_ = [t for t in _named_first(asked, corpus) if t.strip() and t not in ("的", "之")][: cfg.max_units * 2]
    tokens = _listed_pairs([piece for t in words_ for piece in _without_suffix(t, w)], w)
    merged = _merge(tokens, corpus, cfg, w)[: cfg.max_units]
    total = max(corpus.passage_total(), 1)
    roles: list[Role | None] = [_role(t, w) for t in merged]
    # Verbs wrap a practice (推动|建立|亮证执法, 败诉率|降到): at its edges they are wording; inside it
    # (行政执法与刑事司法|衔接|机制) they are part of the name. Lone characters that did not merge too.
    for i in range(len(merged)):  # leading verbs: 推动|建立|亮证执法
        if roles[i] in ("wording", "modifier"):
            continue
        if roles[i] not in (None, "generic") or not (is_verb(merged[i]) or merged[i] in w.verbs):
            break
        roles[i] = "wording"
    for i in range(len(merged) - 1, 0, -1):  # trailing verbs after an indicator: 败诉率|降到 (not 结果|纠正)
        if roles[i] in ("wording", "modifier"):
            continue
        if roles[i] not in (None, "generic") or not is_verb(merged[i]) \
                or not merged[i - 1].endswith(INDICATOR_ENDS):
            break
        roles[i] = "wording"
    units: list[Unit] = []
    for token, role in zip(merged, roles):
        count = corpus.phrase_count(token)
        if role is None:
            role = "wording" if len(token) == 1 else "head"
        weight = math.log((total + 1) / (count + 1)) + 1.0
        parts = tuple(p for p in corpus.words(token)) if len(token) >= 4 else ()
        units.append(Unit(token, role, count, weight, (), parts if len(parts) >= 2 else ()))
    units = _demote_common(units, total, cfg, w)
    if any(u.role == "head" and len(u.text) >= 4 for u in units):
        # a long practice name (双随机一公开) is one without its institutional word too (…监管);
        # a short word (柔性, 无感) needs one (柔性执法, 柔性监管 — not 柔性引进, 无感支付)
        units = [_as(u, "suffix") if u.role == "institution" else u for u in units]
    heads = [i for i, u in enumerate(units) if u.role == "head"]
    alone = len([u for u in units if u.gates]) == 1
    if alone and len(heads) == 1 and len(units[heads[0]].text) <= 2 and heads[0] > 0 \
            and units[heads[0] - 1].role in ("wording", "modifier", "generic"):
        # a bare two-character word names nothing specific: the word before it belongs to it
        # (制定 发展 规划 asks for 发展规划, not 规划)
        i = heads[0] - 1
        before = units[i]
        if len(before.text) >= 2 and before.text not in stopwords() and _HAN.search(before.text):
            units[i] = _as(before, "head")
    if not any(u.role == "head" for u in units):
        # nothing specific was asked: the rarest word that can name something is the head
        content = [u for u in units if u.role in ("generic", "modifier", "institution", "suffix") and len(u.text) >= 2]
        if not content:
            return None
        rarest = min(content, key=lambda u: (u.passages == 0, u.passages))
        units = [_as(u, "head") if u is rarest else u for u in units]
    units = [Unit(u.text, u.role, u.passages, _scaled(u), _names_for(u.text, corpus) if u.role == "head" else (),
                  u.parts) for u in units]
    gating = [i for i, u in enumerate(units) if u.gates]
    stem = "".join(u.text for u in units[gating[0] : gating[-1] + 1]) if gating else asked
    names = tuple(dict.fromkeys(_names_for(asked, corpus) + _names_for(stem, corpus)))
    return Concept(asked, tuple(units), names, corpus.phrase_count(asked))


def _as(u: Unit, role: Role) -> Unit:
    return Unit(u.text, role, u.passages, u.weight, u.names, u.parts)


def _demote_common(units: list[Unit], total: int, cfg: EvidenceSettings, w: Words) -> list[Unit]:
    """A head far more common than the rarest head is a modifier (政务服务 in 政务服务一网通办):
    at least `common_ratio` times as many passages and at least `common_share` of all passages.
    A body the question names (中心, 委员会 …; units.txt [body]) always decides."""
    heads = [u for u in units if u.role == "head" and u.passages]
    if len(heads) < 2:
        return units
    rarest = min(u.passages for u in heads)
    out = []
    for u in units:
        common = (u.role == "head" and u.text not in w.bodies and u.passages >= cfg.common_ratio * rarest
                  and u.passages >= cfg.common_share * total)
        out.append(_as(u, "modifier") if common else u)
    return out


def _scaled(u: Unit) -> float:
    return u.weight * {"head": 1.0, "generic": 1.0, "institution": 0.5, "suffix": 0.2, "modifier": 0.3,
                       "wording": 0.0}[u.role]


def split_joined(phrase: str, corpus: Corpus) -> list[Concept]:
    """The concept(s) a phrase names: two practices asked together (告知承诺、矛盾纠纷多元化解; A和B) are
    two, when the whole is not one name the corpus states and each part's deciding units are attested;
    else one (行政执法与刑事司法衔接 stays one: the corpus writes it whole)."""
    whole = concept(phrase, corpus)
    if whole is None or whole.whole or not words().joiners:
        return [whole] if whole else []
    pattern = "|".join(re.escape(j) for j in words().joiners)
    parts = [p for p in re.split(pattern, phrase) if p.strip()]
    if not 2 <= len(parts) <= 4:
        return [whole]
    relation = rules.word_set("units.txt", "relation")
    last = [u for u in whole.units if u.role in ("head", "generic")][-1:]
    if "、" not in phrase and last and last[0].text in relation:
        return [whole]  # 行政执法与刑事司法衔接: the relation between two sides is one practice (、 lists two)
    found = [concept(p, corpus) for p in parts]
    if all(c is not None and c.gating and all(u.passages for u in c.gating) for c in found):
        return [c for c in found if c is not None]
    return [whole]
