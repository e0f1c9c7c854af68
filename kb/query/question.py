"""Question understanding: what is asked (intent), about which practice, limited to what (filters).

The question's scaffolding (哪些地区, 推行 …), the regions and years it names are taken out; what is
left is cut into runs at punctuation and question words, and each run into concept units attested in
the corpus (units.py). The run with the most specific head is the practice; evidence.py decides
which passages state it. A quoted phrase is the practice as asked. Two practices joined with 、 or
和 are asked together when each is a name the corpus states and the whole is not. Traditional text
is folded before any of this. The cue words live in kb/data/question.txt and kb/data/units.txt.

Work is bounded by the question's length: at most `evidence.max_units` × 4 tokens are read, one
phrase count per unit and per adjacent pair.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal, Protocol

from kb import rules
from kb.index.tokenize import dictionary, is_verb, stopwords
from kb.query.evidence import Statement, UnitHit, describe, related_parts, statements
from kb.query.units import INDICATOR_ENDS, Concept, Unit, concept, split_joined, synonym_groups  # noqa: F401
from kb.query.units import Corpus as UnitCorpus
from kb.query.units import words as unit_words
from kb.query import budget as work
from kb.settings import EvidenceSettings, QuerySettings

Intent = Literal["regions", "compare", "figure", "general"]

_YEAR = re.compile(r"(?:19|20)\d{2}\s*年(?:度)?|(?:19|20)\d{2}(?=\s*[-—~至到]\s*(?:19|20)\d{2})")
_PIECES = re.compile(r"[，,。；;：:！!？?\s（）()【】\[\]“”\"「」『』]+")
_GLUE = frozenset("的之")  # dropped inside a span without splitting it (重大行政决策的合法性审查)
_HAN = re.compile(r"[\u4e00-\u9fff]")


# ---- cue words (data files) ------------------------------------------------------------------
@dataclass(frozen=True)
class Cues:
    regions: tuple[str, ...]
    compare: tuple[str, ...]
    figure: tuple[str, ...]
    scaffold: frozenset[str]
    prepositions: frozenset[str]
    verbs: frozenset[str]
    beneficiaries: frozenset[str]
    suffixes: frozenset[str]
    generic: frozenset[str]
    levels: tuple[tuple[str, str], ...] = ()  # (cue, level or '-'), longest cue first


@lru_cache(maxsize=1)
def cues() -> Cues:
    def longest_first(key: str) -> tuple[str, ...]:
        return rules.longest_first("question.txt", key)

    def words(key: str) -> frozenset[str]:
        return rules.word_set("question.txt", key)

    return Cues(
        regions=longest_first("regions"), compare=longest_first("compare"), figure=longest_first("figure"),
        scaffold=words("scaffold"), prepositions=words("prepositions"), verbs=words("verbs"),
        beneficiaries=words("beneficiaries"), suffixes=words("suffix"), generic=words("generic"),
        levels=tuple(sorted(((cue, key.split()[1]) for key in rules.sections("question.txt")
                             if key.startswith("level ") for cue in rules.words("question.txt", key)),
                            key=lambda c: -len(c[0]))),
    )


def level_named(folded: str) -> str | None:
    """The level of government a question asks about (哪些省份 → province), when it names exactly one.
    Longest cues are taken first and blanked, so 哪些区域 is not read as 哪些区."""
    found: set[str] = set()
    for cue, level in cues().levels:
        if cue in folded:
            folded = folded.replace(cue, "\0")
            found.add(level)
    found.discard("-")
    return found.pop() if len(found) == 1 else None


# ---- the practice, as concept units -----------------------------------------------------------
class Corpus(UnitCorpus, Protocol):
    """What reading a question needs from the index (Searcher implements it)."""


@dataclass(frozen=True)
class Practice:
    """The practice a question is about: one concept, or several asked together (告知承诺、矛盾纠纷
    多元化解 — a region is listed when it states every one). Matching is evidence.py's."""

    concepts: tuple[Concept, ...]
    cfg: EvidenceSettings = field(default_factory=EvidenceSettings, compare=False)

    @property
    def asked(self) -> str:
        return "、".join(c.asked for c in self.concepts)

    @property
    def term(self) -> str:
        """What the answer calls it: the asked words from its first to its last deciding unit."""
        return "、".join(c.term for c in self.concepts)

    @property
    def attested(self) -> bool:
        """Could a passage state it: each concept's heads are written somewhere (or another name)."""
        return all(c.whole or c.names or all(u.passages for u in c.gating) for c in self.concepts)

    @property
    def parts(self) -> tuple[str, ...]:
        return tuple(u.text for c in self.concepts for u in c.heads)

    @property
    def passages(self) -> int:
        counts = [c.rarest.passages for c in self.concepts if c.rarest is not None]
        return min(counts) if counts else 0

    def find(self, folded: str) -> Statement | None:
        """The best place a passage states (any one of) the practice's concepts, or None."""
        found = self.find_all(folded)
        return found[0] if found else None

    def find_all(self, folded: str) -> list[Statement]:
        out = [st for i, c in enumerate(self.concepts) for st in statements(c, folded, self.cfg, i)]
        out.sort(key=lambda st: (-st.rank, st.start))
        return out

    def find_parts(self, folded: str) -> UnitHit | None:
        """A passage that holds every head of a concept but does not state it: related, not a statement."""
        for c in self.concepts:
            hit = related_parts(c, folded, self.cfg)
            if hit is not None and not statements(c, folded, self.cfg):
                return hit
        return None

    def describe(self, statement: Statement | None, text: str = "") -> str:
        which = self.concepts[statement.concept if statement else 0]
        return describe(which, statement, text)

    def units_dict(self) -> list[dict]:
        """Which units the practice was cut into, and their roles (for --json and the UI)."""
        return [{"concept": i, "text": u.text, "role": u.role, "passages": u.passages, "weight": round(u.weight, 3)}
                for i, c in enumerate(self.concepts) for u in c.units]


def practice_of(phrase: str, corpus: Corpus) -> Practice | None:
    """The practice a phrase names: its concept(s), or None when it holds no content word."""
    found = split_joined(phrase, corpus)
    return Practice(tuple(found), corpus.settings.evidence) if found else None


# ---- reading a question ---------------------------------------------------------------------------
def asks_quantity(folded: str) -> bool:
    """Does the question ask for a number (率, 多少, 数量 …)? Then a comparison compares figures."""
    return any(w in folded for w in cues().figure)


def intent_of(folded: str) -> Intent:
    c = cues()
    if any(w in folded for w in c.compare):
        return "compare"
    if any(w in folded for w in c.regions):
        return "regions"
    if asks_quantity(folded):
        return "figure"
    return "general"


def _without_words(text: str, words: list[str], corpus: Corpus) -> str:
    """`text` with each of `words` replaced by '|' where it starts and ends on a token boundary."""
    bounds, pos = {0, len(text)}, 0
    for token in corpus.cut(text):
        at = text.find(token, pos)
        if at < 0:
            continue
        bounds.update((at, at + len(token)))
        pos = at + len(token)
    for word in words:
        start = text.find(word)
        while start >= 0:
            end = start + len(word)
            if start in bounds and end in bounds:
                text = text[:start] + "|" * len(word) + text[end:]  # same length: bounds stay valid
            start = text.find(word, start + 1)
    return text


def _inside_name(before: list[str], word: str, after: list[str], stop: frozenset[str], c: Cues) -> bool:
    """A scaffolding noun between two content words is part of a name (首席 数据 官, 数据 共享 平台),
    not of the question (综合查一次 做法, 行政复议案件 数量)."""
    if not before or not after or after[0] in stop or after[0] in c.scaffold:
        return False
    entry = dictionary().get(word)
    return entry is not None and entry[1].startswith("n")


_FUNCTION_TAGS = frozenset("m q u uj ul uz ug uv ud p c r y e o f t mq".split())  # not d: 轻微 (违法) names


def _function_word(word: str, leading: bool = False) -> bool:
    """A numeral, measure word, particle, preposition, conjunction, adverb, pronoun or time word
    (jieba's tags) — or, leading, a lone character (多少件 → 件; a trailing 率 stays) — is never the
    edge of a practice."""
    if word.isdigit() and len(word) >= 3:
        return False
    entry = dictionary().get(word)
    return (leading and len(word) == 1) or (entry is not None and entry[1] in _FUNCTION_TAGS)


def _trim(run: list[str]) -> list[str]:
    """A run without function words at its edges."""
    i, j = 0, len(run)
    while i < j and _function_word(run[i], leading=True):
        i += 1
    while j > i and _function_word(run[j - 1]):
        j -= 1
    return run[i:j]



def spans(folded: str, names: Iterable[str], corpus: Corpus) -> list[list[str]]:
    """Token runs that may name the practice: the question without years, named regions, question
    words and scaffolding (哪些地区, 推行 …), split at punctuation. Wrapping verbs and modifiers stay:
    the concept units decide their role (units.py). At most `evidence.max_units` × 4 tokens are read."""
    text = _YEAR.sub("|", folded)
    c = cues()
    for name in sorted(set(names), key=len, reverse=True):
        text = text.replace(name, "|")
    # Question words go as strings (jieba cuts 哪些省份 in two), where they are whole words:
    # 哪些市 is not taken out of 哪些市场主体.
    text = _without_words(text, sorted({*c.regions, *(cue for cue, level in c.levels if level != "-")}, key=len,
                                       reverse=True), corpus)
    stop = stopwords()
    joiners = set(unit_words().joiners)  # 亮证执法和柔性监管: one run, two practices (units.split_joined)
    budget = corpus.settings.evidence.max_units * 4
    runs: list[list[str]] = []
    for piece in _PIECES.split(text.replace("|", " ")):
        tokens = [t for t in (corpus.cut(piece) if piece else []) if t not in _GLUE][:budget]
        budget -= len(tokens)
        run: list[str] = []
        for i, t in enumerate(tokens):
            if (t in stop or t in c.scaffold) and t not in joiners and not _inside_name(run, t, tokens[i + 1 :], stop, c):
                runs.append(run)
                run = []
            else:
                run.append(t)
        runs.append(run)
        if budget <= 0:
            break
    return [r for r in (_trim(r) for r in _bounded(runs, corpus.settings.query)) if r]


# ---- work bounds (issue 19) ----------------------------------------------------------------------
# Reading a question costs what its caps allow, never the square of its length (before, `法`×1,000
# took `kb search` to 24 GB): at most `evidence.max_units` × 4 tokens are read (spans above), repeats
# collapse, at most `query.max_spans` runs of at most `query.max_span_tokens` tokens are resolved,
# every phrase count goes through the Searcher's budget (query/budget.py), and the budget is checked
# between runs. What a cap cut is said in the query's notice.
_PERIOD_MAX = 4  # tokens in a repeated group that collapses (一网通办一网通办 → 一网通办; 法法法 → 法)


def _collapsed(run: list[str]) -> list[str]:
    """A run with each immediate repeat of a group of up to `_PERIOD_MAX` tokens dropped: 法 法 法 → 法,
    法治 政府 法治 政府 → 法治 政府. No practice name repeats itself, so nothing asked is lost. Linear."""
    out: list[str] = []
    i = 0
    while i < len(run):
        for p in range(1, _PERIOD_MAX + 1):
            if len(out) >= p and run[i : i + p] == out[-p:]:
                i += p
                break
        else:
            out.append(run[i])
            i += 1
    return out


def _bounded(runs: list[list[str]], cfg: QuerySettings) -> list[list[str]]:
    """Runs with repeats collapsed, long runs cut into pieces of `max_span_tokens`, duplicates
    dropped, and at most `max_spans` of them (the first); each cut is noted for the notice."""
    spent = work.current()
    out: list[list[str]] = []
    seen: set[tuple[str, ...]] = set()
    for run in runs:
        run = _collapsed(run)
        if len(run) > cfg.max_span_tokens:
            spent.note("span_tokens")
        for k in range(0, max(len(run), 1), max(cfg.max_span_tokens, 1)):
            piece = run[k : k + cfg.max_span_tokens]
            if not piece or tuple(piece) in seen:
                continue
            if len(out) >= cfg.max_spans:
                spent.note("spans")
                return out
            seen.add(tuple(piece))
            out.append(piece)
    return out


def _as_written(run: list[str], folded: str) -> str:
    """A run's text as the question writes it, punctuation between its words kept (府院联动、标准地:
    the tokenizer drops the 、 that says two practices are asked)."""
    first = folded.find(run[0])
    if first < 0:
        return "".join(run)
    end, at = first, first
    for t in run:
        at = folded.find(t, end)
        if at < 0:
            return "".join(run)
        end = at + len(t)
    return folded[first:end]


@dataclass(frozen=True)
class Reading:
    """What question understanding found: the intent, the practice and the other content words."""

    intent: Intent
    practice: Practice | None
    words: tuple[str, ...] = field(default_factory=tuple)  # the question's words, scaffolding removed


def read_question(folded: str, phrases: tuple[str, ...], names: Iterable[str], corpus: Corpus) -> Reading:
    """Intent and practice of a folded question. A quoted phrase is the practice as asked; else the
    run whose most specific head is rarest in the corpus (the question's other words rank, as
    modifiers of the search, never decide)."""
    intent = intent_of(folded)
    runs = spans(folded, names, corpus)
    words = tuple(dict.fromkeys(t for r in runs for t in r if len(t) >= 2 or t.isdigit()))
    if phrases:
        return Reading(intent, practice_of(phrases[0], corpus), words)
    best: tuple[tuple, Practice] | None = None
    for run in runs:
        if best is not None and work.current().exhausted():  # the first run always; then while the budget lasts
            break
        p = practice_of(_as_written(run, folded), corpus)
        if p is None:
            continue
        heads = [u for c in p.concepts for u in c.heads]
        key = (p.attested, max((u.weight for u in heads), default=0.0), len(p.asked))
        if best is None or key > best[0]:
            best = (key, p)
    return Reading(intent, best[1] if best else None, words)




def indicator_of(practice: Practice, corpus: Corpus, stated: Callable[[Practice], bool]) -> Practice:
    """For a figure question: an indicator no passage states as asked (行政诉讼败诉率) backs off to its
    last unit that is itself an indicator (败诉率), the words before it becoming modifiers."""
    if stated(practice) or len(practice.concepts) != 1:
        return practice
    c = practice.concepts[0]
    for i in range(len(c.units) - 1, -1, -1):
        u = c.units[i]
        if u.role == "head" and u.text.endswith(INDICATOR_ENDS) and u.passages:
            units = tuple(Unit(x.text, "modifier" if j != i and x.role == "head" else x.role, x.passages, x.weight,
                               x.names) for j, x in enumerate(c.units))
            backed = Practice((Concept(c.asked, units, c.names, c.whole),), practice.cfg)
            return backed if stated(backed) else practice
    return practice


def is_content(word: str) -> bool:
    """Can this word alone name a practice (not scaffolding, a suffix, generic or a bare verb)?"""
    c = cues()
    return (len(word) >= 2 and bool(_HAN.search(word)) and word not in stopwords() and word not in c.generic
            and word not in c.suffixes and word not in c.verbs and word not in c.prepositions
            and word not in c.beneficiaries and not is_verb(word))
