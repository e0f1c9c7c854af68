"""Question understanding: what is asked (intent), about which practice, limited to what (filters).

The practice is resolved **against the corpus**, not guessed from wording: among the spans left
once question scaffolding (哪些地区, 推行 …), named regions and years are gone, the longest span a
report actually states wins (行政争议调解中心, never the more generic 行政争议 inside it); a span
no report states as a whole backs off to its most specific attested parts, by passage frequency.

A practice is stated by any of its *variants*: its own words with any quote marks or punctuation
between them (“一网通办”平台), its core without institutional suffixes (首违不罚清单制度 → 首违不罚,
so X制度 and X match both ways), its two halves swapped (便民利企 ↔ 利企便民), and names listed as
synonyms (kb/data/synonyms.txt) or defined by the corpus itself (X（以下简称“Y”）). Traditional
text is folded before any of this. The cue words live in kb/data/question.txt.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal, Protocol

from kb import rules
from kb.index.phrases import locate, phrase_pattern, squash
from kb.index.tokenize import dictionary, is_verb, stopwords
from kb.query import budget
from kb.settings import QuerySettings, QuestionSettings, Settings

Intent = Literal["regions", "compare", "figure", "general"]
VariantKind = Literal["exact", "core", "swapped", "synonym", "ellipsis", "gap"]
VARIANT_LABELS: dict[str, str] = {"exact": "原词", "core": "去掉后缀的核心词", "swapped": "前后词序互换",
                                  "ellipsis": "并列省略写法", "gap": "中间插入修饰语",
                                  "synonym": "同义名称", "parts": "全部关键词"}

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


@lru_cache(maxsize=1)
def synonym_groups() -> tuple[tuple[str, ...], ...]:
    """Groups of names for one practice (kb/data/synonyms.txt), squashed for matching."""
    groups = []
    for line in rules.lines("synonyms.txt"):
        names = tuple(dict.fromkeys(squash(n.strip()) for n in line.split("=") if n.strip()))
        if len(names) >= 2:
            groups.append(names)
    return tuple(groups)


# ---- the corpus, as the question stage sees it -----------------------------------------------
class Corpus(Protocol):
    """What resolving a practice needs from the index (Searcher implements it)."""

    settings: Settings  # the index's settings (question.* are read here)

    def pattern_count(self, pattern: str, needs: tuple[str, ...]) -> int:
        """Passages matching a regex (over folded text) among those containing every phrase of `needs`."""

    def phrase_count(self, phrase: str) -> int:
        """Passages that contain the phrase (squash-insensitive); 0 when no report states it."""

    def cut(self, folded: str) -> list[str]:
        """Word tokens of a folded text, stop words included."""

    def abbreviations(self) -> tuple[tuple[str, ...], ...]:
        """(full name, short name) pairs the corpus defines (X（以下简称“Y”）)."""



# ---- practices and their variants ---------------------------------------------------------------
@dataclass(frozen=True)
class Variant:
    form: str  # folded, squashed
    kind: VariantKind
    pattern: str | None = None  # a regex over folded text, for forms a phrase cannot express
    needs: tuple[str, ...] = ()  # phrases every match contains (to find candidate passages fast)

    def finditer(self, folded: str):
        return re.finditer(self.pattern, folded) if self.pattern else phrase_pattern(self.form).finditer(folded)

    @property
    def label(self) -> str:
        return VARIANT_LABELS[self.kind]


@dataclass(frozen=True)
class Match:
    start: int  # in the passage's folded text (== original text positions)
    end: int
    variant: Variant


_PAIRS = {"“": "”", "「": "」", "『": "』", "《": "》", "‘": "’", '"': '"'}


def _widened(folded: str, start: int, end: int, variant: Variant) -> Match:
    """Take in an opening quote whose closing mark the match holds (“一网通办”平台, not 一网通办”平台)."""
    if start > 0 and folded[start - 1] in _PAIRS and _PAIRS[folded[start - 1]] in folded[start:end]:
        start -= 1
    return Match(start, end, variant)


@dataclass(frozen=True)
class Practice:
    """The practice a question is about, as the corpus states it.

    `variants`: forms any one of which states it (attested ones, the asked form first). When the
    asked span is not stated as a whole, `parts` are its most specific attested parts (rarest
    first) and a passage states the practice only if it has all of them.
    """

    asked: str
    term: str
    variants: tuple[Variant, ...] = ()
    parts: tuple[str, ...] = ()
    passages: int = 0  # passages stating the term (or its rarest part)

    @property
    def attested(self) -> bool:
        return bool(self.variants)

    @property
    def forms(self) -> tuple[str, ...]:
        return tuple(v.form for v in self.variants) or self.parts

    def find(self, folded: str) -> Match | None:
        """Where a passage states the practice: its best variant's first occurrence, or None."""
        for v in self.variants:
            m = next(v.finditer(folded), None)
            if m:
                return _widened(folded, m.start(), m.end(), v)
        return None

    def find_parts(self, folded: str) -> Match | None:
        """For a practice not stated as a whole: where a passage has all of its parts (at the rarest
        part), or None. Such a passage is related, not a statement of the practice."""
        if len(self.parts) < 2:
            return None
        spans = [locate(p, folded) for p in self.parts]
        if not all(spans):
            return None
        s, e = spans[0]
        return Match(s, e, Variant(self.parts[0], "exact"))

    def find_all(self, folded: str) -> list[Match]:
        """Every place a passage states the practice (each variant's occurrences, best variant first)."""
        out: list[Match] = []
        for v in self.variants:
            out += [_widened(folded, m.start(), m.end(), v) for m in v.finditer(folded)]
        if not out:
            first = self.find_parts(folded)
            out = [first] if first else []
        return out

    def describe(self, match: Match | None = None) -> str:
        """How a passage was matched, for the answer: 原词 / 去掉后缀的核心词“X” …"""
        if not self.variants and self.parts:
            return f"{VARIANT_LABELS['parts']}“{'”“'.join(self.parts)}”"
        if match is None or match.variant.kind == "exact":
            return VARIANT_LABELS["exact"]
        return f"{match.variant.label}“{match.variant.form}”"


def is_content(word: str) -> bool:
    """Can this word alone name a practice (not scaffolding, a suffix or a generic word)?"""
    return _content([word])


def _listed_word(word: str) -> bool:
    """Is the word one of the cue lists' or a stop word (scaffolding, suffix, generic, wrapper)?"""
    c = cues()
    return (word in stopwords() or word in c.generic or word in c.suffixes or word in c.verbs
            or word in c.prepositions or word in c.beneficiaries or not _HAN.search(word))


def _content(tokens: Iterable[str]) -> bool:
    """Does a span hold a word that can name a practice (not scaffolding, a suffix, a generic word
    or a bare verb: 收到, 降到, 执法 alone name nothing)?"""
    c = cues()
    stop = stopwords()
    return any(
        len(t) >= 2 and _HAN.search(t) and t not in stop and t not in c.generic and t not in c.suffixes
        and t not in c.verbs and t not in c.prepositions and t not in c.beneficiaries and not is_verb(t)
        or t.isdigit() and len(t) >= 3  # 12345
        for t in tokens
    )


def _core_forms(tokens: list[str]) -> list[list[str]]:
    """Token lists with trailing institutional suffixes stripped, one at a time (首违不罚/清单/制度 →
    首违不罚/清单 → 首违不罚; a suffix may span tokens: 专项/行动); a last token of ≥3 characters
    ending in a one-character suffix (河长制) loses that character. Only institutional suffixes go:
    stripping any trailing word down to a named practice (公共法律服务中心 → 公共法律服务) would
    answer for a more generic practice than the one asked."""
    c = cues()
    out: list[list[str]] = []
    current = list(tokens)
    stripped = True
    while stripped and len(current) > 1:
        stripped = False
        for n in (3, 2, 1):
            if len(current) > n and "".join(current[-n:]) in c.suffixes:
                current = current[:-n]
                out.append(list(current))
                stripped = True
                break
    last = current[-1] if current else ""
    if len(last) >= 3 and last[-1] in c.suffixes:
        out.append(current[:-1] + [last[:-1]])
    return [t for t in out if _content(t)]


def _adjacent_swaps(tokens: list[str]) -> list[str]:
    """Forms with two adjacent two-character words swapped (便民利企 ↔ 利企便民; 审慎包容监管 ↔
    包容审慎监管; a four-character word counts as its two halves); words that cannot name a
    practice stay put."""
    words: list[str] = []
    for t in tokens:
        words += [t[:2], t[2:]] if re.fullmatch(r"[\u4e00-\u9fff]{4}", t) else [t]
    out = []
    for i in range(len(words) - 1):
        a, b = words[i], words[i + 1]
        if len(a) == len(b) == 2 and not _listed_word(a) and not _listed_word(b):
            out.append("".join(words[:i] + [b, a] + words[i + 2:]))
    return out


def _swaps(tokens: list[str]) -> list[str]:
    """Adjacent two-character words swapped (see `_adjacent_swaps`), and a term's two parts swapped
    as wholes at any word boundary, each part as asked or itself swapped (政务服务一网通办 ↔
    一网通办政务服务; 便民惠企法律服务 ↔ 法律服务惠企便民). Both parts must be able to name something."""
    out = _adjacent_swaps(tokens)
    for i in range(1, len(tokens)):
        left, right = tokens[:i], tokens[i:]
        if min(len("".join(left)), len("".join(right))) < 2 or not (_content(left) and _content(right)):
            continue
        for r in ["".join(right), *_adjacent_swaps(right)]:
            out += [r + part for part in ["".join(left), *_adjacent_swaps(left)]]
    return list(dict.fromkeys(out))


def _halves(tokens: list[str]) -> tuple[str, str] | None:
    """The two parts of a two-part compound (便民/利企), or None."""
    text = "".join(tokens)
    if len(tokens) == 2 and all(len(t) >= 2 for t in tokens):
        return tokens[0], tokens[1]
    if len(tokens) == 1 and len(text) == 4 and re.fullmatch(r"[\u4e00-\u9fff]{4}", text):
        return text[:2], text[2:]
    return None


def candidate_variants(tokens: list[str], corpus: Corpus) -> list[Variant]:
    """Every variant of a span (attested or not), the asked form first."""
    term = squash("".join(tokens))
    out = [Variant(term, "exact")]
    cores = _core_forms(tokens)
    out += [Variant(squash("".join(t)), "core") for t in cores]
    for base in [tokens, *cores]:
        out += [Variant(squash(form), "swapped") for form in _swaps(base)]
    names = [v.form for v in out]
    for group in synonym_groups() + tuple(corpus.abbreviations()):
        for name in group:
            for form in names:
                if name and name in form:
                    out += [Variant(form.replace(name, other), "synonym") for other in group if other != name]
    seen: set[str] = set()
    unique = []
    for v in out:
        if v.form and v.form not in seen:
            seen.add(v.form)
            unique.append(v)
    return unique


_SEP = "[、，,和与及“”\"'「」『』]"


def ellipsis_variants(tokens: list[str]) -> list[Variant]:
    """A two-part practice written in a coordination that shares one part: 府院、府检联动 states 府院联动
    (shared tail), 行政复议、应诉 states 行政应诉 (shared head)."""
    out = []
    for base in [tokens, *_core_forms(tokens)]:
        halves = _halves(base)
        if not halves:
            continue
        head, tail = (re.escape(h) for h in halves)
        item = "[\u4e00-\u9fff]{%d}" % len(halves[0])
        form = squash("".join(base))
        out += [
            Variant(form, "ellipsis", f"{head}(?:{_SEP}{{1,2}}{item}){{1,3}}{_SEP}{{0,2}}{tail}", halves),
            Variant(form, "ellipsis", f"{head}[\u4e00-\u9fff]{{2}}{_SEP}{{1,2}}{tail}", halves),
        ]
    return out


# Statistical indicators take qualifiers inside them (行政诉讼案件一审败诉率); names of bodies and
# practices do not (行政复议咨询委员会 is not a 行政复议委员会), so only indicators get the gap.
INDICATOR_ENDS = ("率", "数", "量", "额", "比例", "占比", "比重", "指数")


def gap_variants(tokens: list[str], gap_max: int = QuestionSettings().gap_max) -> list[Variant]:
    """An indicator with a short qualifier inserted between two of its words: 行政诉讼案件一审败诉率
    states 行政诉讼败诉率. Both sides must be words that can name something, the head at least three
    characters and the tail an indicator (…率, …数, …量 …)."""
    out = []
    for base in [tokens, *_core_forms(tokens)]:
        if not 2 <= len(base) <= 6:
            continue
        for i in range(1, len(base)):
            head, tail = "".join(base[:i]), "".join(base[i:])
            if len(head) < 3 or len(tail) < 2 or not (_content(base[:i]) and _content(base[i:])):
                continue
            if not tail.endswith(INDICATOR_ENDS):  # 行政复议咨询委员会 is another body than 行政复议委员会
                continue
            pattern = f"{re.escape(head)}[\u4e00-\u9fff]{{1,{gap_max}}}?{re.escape(tail)}"
            out.append(Variant(squash("".join(base)), "gap", pattern, (head, tail)))
    return out


def _attested(tokens: list[str], corpus: Corpus, whole: bool = False) -> tuple[tuple[Variant, ...], int]:
    gap = corpus.settings.question.gap_max
    cands = candidate_variants(tokens, corpus) + (ellipsis_variants(tokens) + gap_variants(tokens, gap) if whole else [])
    found = [(v, corpus.pattern_count(v.pattern, v.needs) if v.pattern else corpus.phrase_count(v.form))
             for v in cands]
    found = [(v, n) for v, n in found if n > 0]
    return tuple(v for v, _ in found), max((n for _, n in found), default=0)


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


def spans(folded: str, names: Iterable[str], corpus: Corpus) -> list[list[str]]:
    """Token runs that may name the practice: the question without years, named regions, scaffolding,
    stop words and leading wrappers (为群众提供 …)."""
    text = _YEAR.sub("|", folded)
    c = cues()
    for name in sorted(set(names), key=len, reverse=True):
        text = text.replace(name, "|")
    # Question words go as strings (jieba cuts 哪些省份 in two), where they are whole words:
    # 哪些市 is not taken out of 哪些市场主体.
    text = _without_words(text, sorted({*c.regions, *(cue for cue, level in c.levels if level != "-")}, key=len, reverse=True), corpus)
    stop = stopwords()
    runs: list[list[str]] = []
    for piece in _PIECES.split(text.replace("|", " ")):
        tokens = [t for t in (corpus.cut(piece) if piece else []) if t not in _GLUE]
        run: list[str] = []
        for i, t in enumerate(tokens):
            if (t in stop or t in c.scaffold) and not _inside_name(run, t, tokens[i + 1 :], stop, c):
                runs.append(run)
                run = []
            else:
                run.append(t)
        runs.append(run)
    runs = _bounded(runs, corpus.settings.query)  # work bounds (issue 19): see the section below
    return [r for r in (_trim(_unwrapped(_trim(r), corpus)) for r in runs) if r]


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


# ---- work bounds (issue 19) ----------------------------------------------------------------------
# Reading a question must cost what its caps allow, never the square of its length: before these
# bounds a run of n tokens was resolved window by window (n² windows, each with O(w²) swapped
# variants, each a phrase look-up), and `法`×1,000 took `kb search` to 24 GB. The caps live in the
# settings (QuerySettings, a machine section); what they cut is said in the query's notice
# (query/budget.py). A rewrite of question reading must keep: repeats collapsed, at most
# `max_spans` spans of at most `max_span_tokens` tokens, windows of at most `max_window_tokens`
# tokens, every phrase/pattern look-up counted against `max_phrase_lookups` (Searcher does it), and
# the budget (look-ups left, deadline) checked between spans and between windows.
_PERIOD_MAX = 4  # tokens in a repeated group that collapses (一网通办一网通办 → 一网通办; 法法法 → 法)


def _collapsed(run: list[str]) -> list[str]:
    """A run with each immediate repeat of a group of up to `_PERIOD_MAX` tokens dropped: 法 法 法 → 法,
    法治 政府 法治 政府 → 法治 政府. No practice name repeats itself, so nothing asked is lost. Linear:
    each token is compared with the at most `_PERIOD_MAX` groups ending just before it."""
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
    dropped, and at most `max_spans` of them (the first ones); each cut is noted for the notice."""
    spent = budget.current()
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


def _inside_name(before: list[str], word: str, after: list[str], stop: frozenset[str], c: Cues) -> bool:
    """A scaffolding noun between two content words is part of a name (首席 数据 官, 数据 共享 平台),
    not of the question (综合查一次 做法, 行政复议案件 数量)."""
    if not before or not after or after[0] in stop or after[0] in c.scaffold:
        return False
    entry = dictionary().get(word)
    return entry is not None and entry[1].startswith("n")


def _unwrapped(run: list[str], corpus: Corpus) -> list[str]:
    """The run without its leading wrapper — unless the corpus says the wrapper is part of the name:
    when nearly every passage with the rest has the wrapper too (规范 涉企行政执法专项行动), it stays;
    设立 行政争议调解中心 loses 设立 (most reports 成立 or 建成 one)."""
    inner = _unwrap(run)
    if inner == run or not inner or not any(t in cues().verbs for t in run[: len(run) - len(inner)]):
        return inner
    rest = corpus.phrase_count("".join(inner))
    cfg = corpus.settings.question
    if rest < cfg.wrapper_evidence:  # too few passages to tell: the cue list decides
        return inner
    return run if corpus.phrase_count("".join(run)) >= cfg.wrapper_share * rest else inner


_FUNCTION_TAGS = frozenset("m q u uj ul uz ug uv ud p c d r y e o f t mq".split())


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


def _unwrap(run: list[str]) -> list[str]:
    """Drop a leading run of prepositions/verbs/beneficiaries when it holds a preposition or a verb."""
    c = cues()
    cut, i = 0, 0
    while i < len(run) - 1 and run[i] in (c.prepositions | c.verbs | c.beneficiaries):
        if run[i] in c.prepositions or run[i] in c.verbs:
            cut = i + 1
        i += 1
    if cut and any(t in c.beneficiaries for t in run[cut:i]):
        cut = i  # 为 群众 … : the beneficiary after the preposition goes too
    return run[cut:]


def resolve(run: list[str], corpus: Corpus) -> Practice | None:
    """The practice a token run names, decided by what the corpus states (see module docstring)."""
    if not _content(run):
        return None
    asked = squash("".join(run))
    variants, count = _attested(run, corpus, whole=True)
    if variants:
        return _without_wrapper_verbs(asked, run, 0, len(run), corpus) or Practice(asked, asked, variants, passages=count)
    # Not stated as a whole: without the verbs around it (强调 便民利企, 败诉率 降到) it may be.
    lead = 0
    while lead < len(run) - 1 and is_verb(run[lead]):
        lead += 1
    tail = len(run)
    while tail > lead + 1 and is_verb(run[tail - 1]):
        tail -= 1
    for i, j in sorted({(lead, len(run)), (0, tail), (lead, tail)} - {(0, len(run))}, key=lambda w: w[0] - w[1]):
        rest = run[i:j]
        if _content(rest):
            variants, count = _attested(rest, corpus, whole=True)
            if variants:
                return _without_wrapper_verbs(asked, run, i, j, corpus) or \
                    Practice(asked, squash("".join(rest)), variants, passages=count)
    # Not stated at all: its maximal attested windows, rarest first.
    windows: list[tuple[int, int, tuple[Variant, ...], int]] = []
    n = len(run)
    longest = corpus.settings.query.max_window_tokens  # work bound (issue 19): n·w windows, not n²
    spent = budget.current()
    for i in range(n):
        if spent.exhausted():
            break
        for j in range(i + 1, min(n, i + longest) + 1):
            if (i, j) == (0, n) or not _content(run[i:j]):
                continue
            vs, cnt = _attested(run[i:j], corpus)
            if vs:
                windows.append((i, j, vs, cnt))
    maximal = [w for w in windows if not any(o is not w and o[0] <= w[0] and w[1] <= o[1] for o in windows)]
    if not maximal:
        return Practice(asked, asked)
    maximal.sort(key=lambda w: (w[3], -(w[1] - w[0])))
    parts = tuple(squash("".join(run[i:j])) for i, j, _, _ in maximal)
    return Practice(asked, asked, (), parts, passages=maximal[0][3])


def indicator_of(practice: Practice, corpus: Corpus) -> Practice:
    """For a figure question: an indicator no report states as asked (行政诉讼败诉率) backs off to
    its attested part that is itself an indicator (败诉率); otherwise the practice as it was."""
    if practice.attested:
        return practice
    for part in practice.parts:
        if part.endswith(INDICATOR_ENDS):
            found = resolve(corpus.cut(part) or [part], corpus)
            if found is not None and found.attested:
                return Practice(practice.asked, found.term, found.variants, passages=found.passages)
    return practice


def _without_wrapper_verbs(asked: str, run: list[str], i: int, j: int, corpus: Corpus) -> Practice | None:
    """run[i:j] is stated; so may be the words without its leading verbs (提出 建设 全国统一大市场:
    most reports 融入 or 服务 it). The verb stays only when the corpus writes it with the rest nearly
    always (`question.wrapper_share`), as `_unwrapped` decides for the question's wrapper."""
    verbs = cues().verbs
    k = i
    # Never down to one bare two-character word: 编制 发展 规划 is not answered for 规划.
    while k < j - 1 and (is_verb(run[k]) or run[k] in verbs) and len("".join(run[k + 1 : j])) > 2:
        k += 1
    if k == i or not _content(run[k:j]):
        return None
    inner = squash("".join(run[k:j]))
    rest = corpus.phrase_count(inner)
    cfg = corpus.settings.question
    if rest < cfg.wrapper_evidence or corpus.phrase_count(squash("".join(run[i:j]))) >= cfg.wrapper_share * rest:
        return None
    variants, count = _attested(run[k:j], corpus, whole=True)
    return Practice(asked, inner, variants, passages=count) if variants else None


def choose(practices: list[Practice]) -> Practice | None:
    """Of several spans in one question, the one that names a practice: a span stated as a whole
    (the longest), else the one with the most specific part; unattested spans last."""
    if not practices:
        return None
    return max(practices, key=lambda p: (p.attested, bool(p.parts), len(p.term) if p.attested else -p.passages))


@dataclass(frozen=True)
class Reading:
    """What question understanding found: the intent, the practice and the other content words."""

    intent: Intent
    practice: Practice | None
    words: tuple[str, ...] = field(default_factory=tuple)  # the question's words, scaffolding removed


def read_question(folded: str, phrases: tuple[str, ...], names: Iterable[str], corpus: Corpus) -> Reading:
    """Intent and practice of a folded question. A quoted phrase is the practice as asked."""
    intent = intent_of(folded)
    runs = spans(folded, names, corpus)
    words = tuple(dict.fromkeys(t for r in runs for t in r if len(t) >= 2 or t.isdigit()))
    if phrases:
        tokens = corpus.cut(phrases[0]) or [phrases[0]]
        asked = squash(phrases[0])
        if len(tokens) > corpus.settings.query.max_span_tokens:  # work bound (issue 19): a long
            budget.current().note("span_tokens")  # quotation is looked up as written, without variants
            count = corpus.phrase_count(asked)
            variants = (Variant(asked, "exact"),) if count else ()
            return Reading(intent, Practice(asked, asked, variants, passages=count), words)
        variants, count = _attested(tokens, corpus, whole=True)
        return Reading(intent, Practice(asked, asked, variants, passages=count), words)
    resolved = []
    for r in runs:
        if resolved and budget.current().exhausted():  # work bound (issue 19): the first span always
            break
        p = resolve(r, corpus)
        if p:
            resolved.append(p)
    return Reading(intent, _covering(choose(resolved), resolved, runs, corpus.settings.question.min_coverage), words)




def _covering(chosen: Practice | None, resolved: list[Practice], runs: list[list[str]],
              min_coverage: float) -> Practice | None:
    """A stated practice that is only a fragment of what the question describes (老人 in
    让老人在社区就近吃上饭, 窗口 in 开办企业在一个窗口就能办完) is not what was asked: the question
    is a paraphrase, answered by related passages, never by every report that says 老人. Runs of
    only verbs and generic words (全省 一年 办结) do not count against it; a bare two-character
    word among other words never stands for the whole question."""
    if chosen is None or not chosen.attested:
        return chosen
    content = sum(len("".join(r)) for r in runs if _content(r))
    covered = sum(len(p.term) for p in resolved if p.attested)
    others = [t for r in runs for t in r if len(t) >= 2 and t not in chosen.term]
    a_bare_word = len(chosen.term) <= 2 and bool(others)  # 窗口 among 开办 企业 … 办完
    if content and covered / content >= min_coverage and not a_bare_word:
        return chosen
    asked = squash("".join("".join(r) for r in runs if _content(r)))
    parts = tuple(p.term for p in resolved if p.attested)
    return Practice(asked, asked, (), parts if len(parts) >= 2 else (), passages=chosen.passages)
