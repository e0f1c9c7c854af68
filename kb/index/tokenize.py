"""Tokens for the BM25 leg: jieba precise mode over folded text, with a policy-term lexicon.

Only this module imports jieba. Precise mode (not `lcut_for_search`) because its overlapping
sub-words let generic words outrank the practice asked for; lexicon terms are added so that a
named practice such as 综合查一次 is one token instead of 综合/查/一次.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
from collections.abc import Iterable
from functools import lru_cache

from kb import rules

# “…” 「…」 "…" of 2–12 characters: named practices in reports are written in quotes.
_QUOTED = re.compile(r"[“\"「『]([^“”\"「」『』\s]{2,12})[”\"」』]")
_TERM_SPLIT = re.compile(r"[、，,+＋·/\s]+")
_KEEP = re.compile(r"[\w\u4e00-\u9fff]", re.UNICODE)


# A group of 1–4 Han characters repeated three or more times in a row (法法法…, 一网通办一网通办一网通办…).
_REPEATS = re.compile(r"([\u4e00-\u9fff]{1,4}?)\1{2,}")


def collapse_repeats(folded: str) -> str:
    """A query with each run of a repeated group cut to two copies: `法`×1,000 → 法法, 一网通办×250 →
    一网通办一网通办. A repeat says nothing more than its first two copies, and every stage after —
    jieba's HMM over a run of unknown characters, question reading, BM25, the query embedding —
    costs per character. Two copies keep reduplication (常常, 天天) and what a repeat may span;
    digits are left alone (100000). Linear: one regex pass. For queries only, never passages."""
    return _REPEATS.sub(r"\1\1", folded)


def _read_list(name: str) -> list[str]:
    return list(rules.lines(name))


@lru_cache(maxsize=1)
def base_lexicon() -> tuple[str, ...]:
    """The policy terms shipped with kb (kb/data/lexicon.txt)."""
    return tuple(_read_list("lexicon.txt"))


@lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    return frozenset(_read_list("stopwords.txt"))


def harvest_terms(folded_texts: Iterable[str]) -> set[str]:
    """Quoted phrases of 2–12 characters found in the corpus: the corpus's own named practices."""
    terms: set[str] = set()
    for text in folded_texts:
        for m in _QUOTED.finditer(text):
            term = m.group(1)
            if re.search(r"[\u4e00-\u9fff]", term) and not term.isdigit():
                terms.add(term)
    return terms


def lexicon_hash(terms: Iterable[str]) -> str:
    return hashlib.sha1("\n".join(sorted(set(terms))).encode()).hexdigest()[:16]


def _pieces(term: str) -> list[str]:
    """双随机、一公开 → [双随机、一公开 pieces]: jieba never joins across punctuation."""
    return [p for p in _TERM_SPLIT.split(term) if len(p) >= 2]


def _contained_terms(terms: set[str]) -> dict[str, tuple[str, ...]]:
    """For each term, the other terms inside it (行政执法三项制度 → 三项制度, …)."""
    out: dict[str, tuple[str, ...]] = {}
    for term in terms:
        inner = tuple(sorted(t for t in terms if t != term and t in term))
        if inner:
            out[term] = inner
    return out


@lru_cache(maxsize=1)
def dictionary() -> dict[str, tuple[int, str]]:
    """jieba's dictionary: word → (frequency, part-of-speech tag), read once per process and shared
    (question reading asks for verbs, place matching for common words)."""
    import jieba

    entries: dict[str, tuple[int, str]] = {}
    with open(os.path.join(os.path.dirname(jieba.__file__), "dict.txt"), encoding="utf-8") as f:
        for line in f:
            parts = line.split()
            if len(parts) == 3:
                entries[parts[0]] = (int(parts[1]), parts[2])
    return entries


def is_verb(word: str) -> bool:
    """A verb by jieba's dictionary tags ('v', 'vd'; not the verbal noun 'vn', which names things:
    监管, 服务). Words the dictionary lacks (lexicon terms, 利企) are not."""
    entry = dictionary().get(word)
    return entry is not None and entry[1] in ("v", "vd")


def dictionary_words(text: str) -> list[str]:
    """jieba's dictionary words of a text (no lexicon, no HMM guessing): the pieces concept units are
    merged from by counts (query/units.py), so 柔性执法 stays 柔性|执法 whatever a corpus quoted."""
    import jieba

    return jieba.lcut(text, HMM=False)


class Tokenizer:
    """A jieba tokenizer of its own (not the global one) loaded with a fixed lexicon.

    Two tokenizers built from the same terms give the same tokens, which is what lets a saved
    BM25 index be queried by a later process: the manifest records the lexicon's hash.
    """

    def __init__(self, extra_terms: Iterable[str] = ()) -> None:
        self.terms: tuple[str, ...] = tuple(sorted(set(base_lexicon()) | set(extra_terms)))
        self.hash = lexicon_hash(self.terms)
        self._jieba = None
        self._lock = threading.Lock()
        self._parts = _contained_terms({p for t in self.terms for p in _pieces(t)})

    def _load(self):
        with self._lock:
            if self._jieba is None:
                import logging

                import jieba

                jieba.setLogLevel(logging.WARNING)
                tk = jieba.Tokenizer()
                tk.initialize()
                total = tk.total
                for term in self.terms:
                    for piece in _pieces(term):
                        # Enough frequency to win over its split, without shifting every other
                        # word's probability (jieba adds freq to the total; we restore it).
                        freq = max(tk.suggest_freq(piece, False) * 2, 1000)
                        tk.add_word(piece, freq=freq)
                tk.total = total
                self._jieba = tk
        return self._jieba

    def cut(self, folded: str) -> list[str]:
        """All word tokens of a folded text, stop words included (for phrase checks)."""
        tk = self._jieba or self._load()
        return [t.lower() for t in tk.lcut(folded, HMM=True) if _KEEP.search(t)]

    def tokens(self, folded: str) -> list[str]:
        """Index/query tokens: words minus stop words.

        A lexicon term that contains other lexicon terms also yields them (出庭应诉率 → 出庭应诉率,
        出庭应诉), so a query for the shorter term still finds passages that use the longer one.
        """
        stop = stopwords()
        out: list[str] = []
        for t in self.cut(folded):
            if t not in stop:
                out.append(t)
                out.extend(self._parts.get(t, ()))
        return out
