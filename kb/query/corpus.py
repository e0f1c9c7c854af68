"""What question understanding asks of the corpus: the `Corpus` protocol of question.py.

Is a phrase attested, in how many passages and which; does a pattern occur; which names the
corpus abbreviates (X（以下简称“Y”）); which passages state a practice or hold its parts; how a
question reads against this corpus. Look-ups are cached per loaded index, and a look-up the
query's budget (budget.py) refuses counts as not attested.

`CorpusLookups` is a mixin of `Searcher` (search.py), which owns the loaded legs and caches these
methods use.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import numpy as np

from kb.index.phrases import PhraseIndex, squash
from kb.index.tokenize import dictionary_words, is_verb
from kb.ingest.places import short_name
from kb.models import Filters
from kb.query import budget
from kb.query.question import Practice, Reading, read_question

if TYPE_CHECKING:
    from kb.index.bm25 import BM25Index
    from kb.index.store import Store
    from kb.index.tokenize import Tokenizer
    from kb.ingest.places import RegionGazetteer
    from kb.models import Document
    from kb.settings import Settings

# X（以下简称“Y”） / X(简称Y): a name the corpus itself abbreviates.
_ABBREVIATION = re.compile(
    r"([\u4e00-\u9fff0-9+]{3,30})[（(](?:以下|下)?简称(?:为)?[:：]?\s*[“\"「『]?([\u4e00-\u9fff0-9+]{2,12})[”\"」』]?[）)]"
)


class CorpusLookups:
    """The question.Corpus methods of `Searcher`, over its store, tokenizer, BM25 leg and documents
    (and its `_doc_mask`, for filters)."""

    store: Store
    tokenizer: Tokenizer
    bm25: BM25Index
    settings: Settings
    docs: dict[str, Document]
    _doc_order: list[str]
    row_doc: np.ndarray
    gazetteer: RegionGazetteer
    _counts: dict[str, int]
    _abbreviations: tuple[tuple[str, ...], ...] | None
    _readings: dict[str, Reading]
    _short_rows: dict[str, list[int]]
    _named: frozenset[str] | None
    _stated: dict[str, set[int]]

    # ---- what the corpus states (question.Corpus) -----------------------------------------
    def phrase_count(self, phrase: str) -> int:
        """Passages containing the phrase, squash-insensitive (cached per loaded index). A look-up
        the query's budget refuses counts as 0 (not attested), and is not cached."""
        key = squash(phrase)
        n = self._counts.get(key)
        if n is None:
            if not budget.current().lookup():
                return 0
            if len(self._counts) > self.settings.cache.phrase_counts:
                self._counts.clear()
            index = PhraseIndex(self.store.db)
            if index.usable(key):
                n = index.count(key)
            else:  # two characters: trigrams cannot say; a word of the BM25 vocabulary can
                n = int(len(self.bm25.rows_with(key))) if key else 0
            self._counts[key] = n
        return n

    def pattern_count(self, pattern: str, needs: tuple[str, ...]) -> int:
        """Passages matching a pattern (see rows_matching); a look-up the budget refuses counts as 0."""
        if "\x01" + pattern not in self._counts and not budget.current().lookup():
            return 0
        return len(self.rows_matching(pattern, needs))

    def rows_matching(self, pattern: str, needs: tuple[str, ...], limit: int = 5_000) -> list[int]:
        """Chunk ids whose folded text matches `pattern`, checked among the passages holding every
        phrase in `needs` (the rarest first; at most `limit` candidates are read)."""
        key = "\x01" + pattern
        cached = self._counts.get(key)
        if cached == 0:
            return []
        sets = sorted((self.rows_with_phrase(n) for n in needs), key=len)
        cands = set(sets[0]) if sets else set()
        for other in sets[1:]:
            cands &= set(other)
        regex = re.compile(pattern)
        found = sorted(c for c, ch in self.store.chunks(sorted(cands)[:limit]).items() if regex.search(ch.folded))
        self._counts[key] = len(found)
        return found

    def cut(self, folded: str) -> list[str]:
        return self.tokenizer.cut(folded)

    def words(self, folded: str) -> list[str]:
        return dictionary_words(folded)

    def named_terms(self) -> frozenset[str]:
        """Practice names this index knows: the shipped lexicon and the corpus's quoted terms."""
        if self._named is None:
            self._named = frozenset(self.tokenizer.terms)
        return self._named


    def abbreviations(self) -> tuple[tuple[str, ...], ...]:
        """(full name, short name) pairs the corpus defines: X（以下简称“Y”）, Y's characters in X, in order."""
        if self._abbreviations is None:
            pairs: set[tuple[str, str]] = set()
            ids = PhraseIndex(self.store.db).rows("简称")
            for chunk in self.store.chunks(ids).values():
                for m in _ABBREVIATION.finditer(chunk.folded):
                    full = _without_leading_verbs(self.cut(m.group(1))) or m.group(1)
                    short = m.group(2)
                    full = full[max(0, full.find(short[0])):] if short[0] in full else full
                    if short != full and short not in full and _subsequence(short, full):
                        pairs.add((squash(full), squash(short)))
            self._abbreviations = tuple(sorted(pairs))
        return self._abbreviations

    def rows_with_phrase(self, phrase: str) -> list[int]:
        """Chunk ids whose text contains the phrase (squash-insensitive, verified), ascending."""
        key = squash(phrase)
        index = PhraseIndex(self.store.db)
        if index.usable(key):
            return index.rows(key)
        if not key:
            return []
        # Two characters: trigrams cannot say. A scan, cached per loaded index (short practice names
        # are rare; a word of two characters is usually a BM25 token, which phrase_count uses instead).
        cached = self._short_rows.get(key)
        if cached is None:
            cached = [r[0] for r in self.store.db.execute(
                "SELECT chunk_id FROM chunks WHERE instr(folded, ?) > 0 ORDER BY chunk_id", (key,))]
            self._short_rows[key] = cached
        return cached

    def rows_stating(self, practice: Practice, filters: Filters | None = None) -> list[int]:
        """Chunk ids of the passages (inside `filters`) that state the practice (evidence.py)."""
        return self._inside(self._stating(practice), filters)

    def passage_total(self) -> int:
        return len(self.bm25.chunk_ids)

    def rows_with_parts(self, practice: Practice, filters: Filters | None = None) -> list[int]:
        """Chunk ids of the passages (inside `filters`) holding every head of a practice without
        stating it (related passages, not statements of it)."""
        if len(practice.parts) < 2:
            return []
        sets = [set(self.rows_with_phrase(p)) for p in practice.parts]
        ids = set.intersection(*sets) - self._stating(practice)
        chunks = self.store.chunks(sorted(ids)[: self.settings.answer.deep])
        return self._inside({c for c, ch in chunks.items() if practice.find_parts(ch.folded)}, filters)

    def _stating(self, practice: Practice) -> set[int]:
        """Every passage stating the practice. Candidates: the passages holding the rarest gating
        unit of each concept (or another name of it, or the whole phrase), and the BM25 leg's best
        passages for its core (where tolerated forms are); each candidate is then checked."""
        key = "\x02" + repr(practice.concepts)
        cached = self._stated.get(key)
        if cached is not None:
            return cached
        cands: set[int] = set()
        for c in practice.concepts:
            anchor = min(c.gating, key=lambda u: (u.passages == 0, u.passages), default=None)
            for form in (c.asked, *c.names, *((anchor.text, *anchor.names) if anchor else ())):
                cands.update(self.rows_with_phrase(form)[: self.settings.evidence.max_candidates])
            # tolerated forms hide inside other tokens (府院、府检联动): the halves of long units too
            pieces = [c.core] + [h for u in c.gating if len(u.text) >= 4
                                 for h in (u.text[: len(u.text) // 2], u.text[len(u.text) // 2:])]
            tokens = [t for piece in pieces for t in self.tokenizer.tokens(piece) if t]
            if tokens:
                rows, _ = self.bm25.top(tokens, self.settings.answer.deep, None)
                cands.update(self.bm25.chunk_ids[rows].tolist())
        chunks = self.store.chunks(sorted(cands))
        found = {cid for cid, ch in chunks.items() if practice.find(ch.folded) is not None}
        if len(self._stated) > self.settings.cache.readings:
            self._stated.clear()
        self._stated[key] = found
        return found

    def _inside(self, ids: set[int], filters: Filters | None) -> list[int]:
        if filters is not None and not filters.is_empty():
            ok = self._doc_mask(filters)
            index = {d: i for i, d in enumerate(self._doc_order)}
            chunks = self.store.chunks(sorted(ids))
            ids = {c for c, ch in chunks.items() if ch.doc_id in index and ok[index[ch.doc_id]]}
        return sorted(ids)

    def chunks_of_region(self, region: str, filters: Filters | None = None) -> set[int]:
        """Chunk ids of the documents (inside `filters`) whose own region is `region` — not the
        documents of places inside it; empty when it has none."""
        ok = self._doc_mask(filters) if filters is not None and not filters.is_empty() else None
        own = [i for i, d in enumerate(self._doc_order)
               if self.docs[d].meta.region == region and (ok is None or ok[i])]
        if not own:
            return set()
        return set(self.bm25.chunk_ids[np.isin(self.row_doc, own)].tolist())

    def names_in(self, folded: str) -> list[str]:
        """Region names of this corpus a text mentions (canonical), in order of appearance."""
        return self.gazetteer.names_in(folded)

    def read(self, folded: str, phrases: tuple[str, ...] = ()) -> Reading:
        """Intent and practice of a (folded) query or question, resolved against this corpus."""
        key = folded + "\x00" + "\x00".join(phrases)
        reading = self._readings.get(key)
        if reading is None:
            names = self.names_in(folded)
            aliases = [a for n in names for a in (n, short_name(n))]
            reading = read_question(folded, phrases, aliases, self)
            if len(self._readings) > self.settings.cache.readings:
                self._readings.clear()
            self._readings[key] = reading
        return reading


def _without_leading_verbs(tokens: list[str]) -> str:
    """A defined name without the verbs that introduce it (推行 首违不罚清单 → 首违不罚清单)."""
    i = 0
    while i < len(tokens) - 1 and is_verb(tokens[i]):
        i += 1
    return "".join(tokens[i:])


def _subsequence(short: str, full: str) -> bool:
    """Are the characters of `short` in `full`, in order (首违不罚 in 首次违法不予处罚)?"""
    it = iter(full)
    return all(ch in it for ch in short)
