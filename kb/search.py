"""Hybrid search over the loaded indexes: query parsing, filters, the two legs, fusion.

Filters (explicit, or a year/region the query names) become a row mask applied *before* each
leg's top-N cut, so a filtered search returns the best passages inside the filter rather than the
few survivors of an unfiltered top-N.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

import numpy as np

from .bm25 import BM25Index
from .dense import DenseIndex
from .embed import Embedder
from .fusion import rrf
from .models import Document, Filters, Hit, SearchMode
from .normalise import fold
from .places import RegionGazetteer, short_name  # noqa: F401 - short_name is imported from here by answer.py
from .store import Store
from .tokenize import Tokenizer

# Weight of the dense leg in the fusion (BM25's is 1). The default embedder, 4-bit
# multilingual-e5-small, ranks short Chinese policy terms worse than BM25 (dev set, README table):
# at equal weight hybrid R@10 0.903 / MRR 0.889, at 0.5 0.951 / 0.944 — above either leg alone.
DENSE_WEIGHT = 0.5

_PHRASE = re.compile(r"[“\"「『]([^“”\"「」『』]+)[”\"」』]")
_YEAR = re.compile(r"((?:19|20)\d{2})\s*年")


@dataclass(frozen=True)
class ParsedQuery:
    text: str
    folded: str
    phrases: tuple[str, ...]
    tokens: tuple[str, ...]
    filters: Filters
    inferred: Filters  # what the query itself named (year, region, province), for display


def quoted_phrases(folded: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in _PHRASE.findall(folded) if p.strip())


class Searcher:
    """Owns the loaded legs; one per opened index, shared across queries (and UI sessions)."""

    def __init__(
        self,
        store: Store,
        tokenizer: Tokenizer,
        bm25: BM25Index,
        dense: DenseIndex | None,
        embedder: Embedder,
        docs: list[Document],
    ) -> None:
        self.store = store
        self.tokenizer = tokenizer
        self.bm25 = bm25
        self.dense = dense
        self.embedder = embedder
        self.docs = {d.doc_id: d for d in docs}
        self._doc_order = list(self.docs)
        doc_index = {doc_id: i for i, doc_id in enumerate(self._doc_order)}
        ids, doc_ids = store.chunk_table()
        doc_of_chunk = dict(zip(ids.tolist(), (doc_index[d] for d in doc_ids)))
        self.row_doc = np.array([doc_of_chunk.get(int(c), -1) for c in bm25.chunk_ids], dtype=np.int64)
        self.gazetteer = RegionGazetteer(docs)
        self._joined: tuple[str, np.ndarray] | None = None
        self._mask_cache: dict[Filters, np.ndarray] = {}
        self._doc_mask_cache: dict[Filters, np.ndarray] = {}

    # ---- query understanding -----------------------------------------------------------
    def parse(self, query: str, filters: Filters | None = None, infer: bool = True) -> ParsedQuery:
        folded = fold(query)
        phrases = quoted_phrases(folded)
        tokens = tuple(self.tokenizer.tokens(folded))
        filters = filters or Filters()
        inferred = Filters()
        if infer:
            inferred = self._named_filters(folded)
            merged = filters
            if filters.year_from is None and filters.year_to is None and inferred.year_from:
                merged = replace(merged, year_from=inferred.year_from, year_to=inferred.year_to)
            if not filters.region and inferred.region:
                merged = replace(merged, region=inferred.region)
            if not filters.province and not filters.region and inferred.province:
                merged = replace(merged, province=inferred.province)
            # A named year or region that matches nothing here is just words, not a filter.
            if merged != filters and not self._doc_mask(merged).any():
                merged = filters
            filters = merged
        return ParsedQuery(query, folded, phrases, tokens, filters, inferred)

    def _named_filters(self, folded: str) -> Filters:
        years = [int(y) for y in _YEAR.findall(folded)]
        province, region = self.gazetteer.find(folded)
        return Filters(
            year_from=min(years) if years else None,
            year_to=max(years) if years else None,
            province=province,
            region=region,
        )

    # ---- masks -------------------------------------------------------------------------
    def _doc_mask(self, filters: Filters) -> np.ndarray:
        """Bool per document; cached, since the same few filters recur across queries."""
        mask = self._doc_mask_cache.get(filters)
        if mask is None:
            if len(self._doc_mask_cache) > 256:
                self._doc_mask_cache.clear()
            mask = np.array([filters.accepts(self.docs[d]) for d in self._doc_order], dtype=bool)
            self._doc_mask_cache[filters] = mask
        return mask

    def row_mask(self, filters: Filters, phrases: tuple[str, ...] = ()) -> np.ndarray | None:
        """Bool per BM25 row, or None when nothing restricts the search."""
        mask = None
        if not filters.is_empty():
            if filters not in self._mask_cache:
                if len(self._mask_cache) > 64:
                    self._mask_cache.clear()
                doc_ok = np.append(self._doc_mask(filters), False)  # index -1 → chunk of a vanished doc
                self._mask_cache[filters] = doc_ok[self.row_doc]
            mask = self._mask_cache[filters]
        if phrases:
            has = self._phrase_rows(phrases)
            mask = has if mask is None else (mask & has)
        return mask

    def _phrase_rows(self, phrases: tuple[str, ...]) -> np.ndarray:
        """Rows whose text contains every phrase: `str.find` over all rows joined (C speed, exact
        substring semantics, unlike a token lookup that misses a phrase inside a longer token)."""
        joined, starts = self._joined_rows()
        has = np.ones(len(starts), dtype=bool)
        for phrase in phrases:
            found = np.zeros(len(starts), dtype=bool)
            at = joined.find(phrase)
            while at >= 0:
                row = int(np.searchsorted(starts, at, side="right")) - 1
                found[row] = True
                at = joined.find(phrase, starts[row + 1] if row + 1 < len(starts) else len(joined))
            has &= found
        return has

    def _joined_rows(self) -> tuple[str, np.ndarray]:
        """All row texts in one string (NUL-separated) and each row's start offset, built once."""
        if self._joined is None:
            rows = self._row_texts()
            lengths = np.fromiter((len(r) + 1 for r in rows), dtype=np.int64, count=len(rows))
            starts = np.concatenate(([0], np.cumsum(lengths)[:-1])) if len(rows) else np.zeros(0, np.int64)
            self._joined = ("\x00".join(rows), starts)
        return self._joined

    def _row_texts(self) -> list[str]:
        """Folded text per BM25 row, in row order."""
        rows = list(self.store.iter_folded())
        if len(rows) != len(self.bm25):  # store changed after the segment was built
            found = self.store.chunks(self.bm25.chunk_ids.tolist())
            rows = [found[int(c)].folded if int(c) in found else "" for c in self.bm25.chunk_ids]
        return rows

    # ---- the legs ----------------------------------------------------------------------
    def bm25_ranking(self, q: ParsedQuery, n: int, mask: np.ndarray | None) -> list[int]:
        tokens = list(q.tokens) or self.tokenizer.cut(q.folded)
        rows, _ = self.bm25.top(tokens, n, mask)
        return self.bm25.chunk_ids[rows].tolist()

    def dense_ranking(self, q: ParsedQuery, n: int, mask: np.ndarray | None) -> list[int]:
        if self.dense is None or not len(self.dense):
            return []
        allowed = None if mask is None else self.bm25.chunk_ids[mask]
        ids, _ = self.dense.search(self.embedder.embed_query(q.folded), n, allowed)
        return ids.tolist()

    def search(
        self,
        query: str,
        k: int = 10,
        mode: SearchMode = "hybrid",
        filters: Filters | None = None,
        max_per_doc: int | None = None,
        depth: int = 100,
        infer_filters: bool = True,
        dense_weight: float = DENSE_WEIGHT,
    ) -> list[Hit]:
        if mode not in ("bm25", "dense", "hybrid"):
            raise ValueError(f"unknown search mode {mode!r}: use bm25, dense or hybrid")
        q = self.parse(query, filters, infer=infer_filters)
        mask = self.row_mask(q.filters, q.phrases)
        if mask is not None and not mask.any():
            return []
        n = max(depth, k * 3 if max_per_doc else k)
        bm25_ids = self.bm25_ranking(q, n, mask) if mode in ("bm25", "hybrid") else []
        dense_ids = self.dense_ranking(q, n, mask) if mode in ("dense", "hybrid") else []
        if mode == "bm25":
            fused = [(c, 1.0 / (60 + r)) for r, c in enumerate(bm25_ids, 1)]
        elif mode == "dense":
            fused = [(c, 1.0 / (60 + r)) for r, c in enumerate(dense_ids, 1)]
        else:
            fused = rrf([bm25_ids, dense_ids], weights=[1.0, dense_weight])
        return self._hits(fused, bm25_ids, dense_ids, k, max_per_doc)

    def _hits(self, fused, bm25_ids, dense_ids, k, max_per_doc) -> list[Hit]:
        bm25_rank = {c: r for r, c in enumerate(bm25_ids, 1)}
        dense_rank = {c: r for r, c in enumerate(dense_ids, 1)}
        chunks = self.store.chunks(c for c, _ in fused[: max(k * 4, 50)])  # enough for most caps
        hits: list[Hit] = []
        per_doc: dict[str, int] = {}
        for chunk_id, score in fused:
            chunk = chunks.get(chunk_id) or self.store.chunks([chunk_id]).get(chunk_id)
            if chunk is None or chunk.doc_id not in self.docs:
                continue  # deleted since the segment was built
            if max_per_doc and per_doc.get(chunk.doc_id, 0) >= max_per_doc:
                continue
            per_doc[chunk.doc_id] = per_doc.get(chunk.doc_id, 0) + 1
            hits.append(Hit(len(hits) + 1, score, bm25_rank.get(chunk_id), dense_rank.get(chunk_id), chunk, self.docs[chunk.doc_id]))
            if len(hits) >= k:
                break
        return hits


def parse_year_range(spec: str) -> tuple[int | None, int | None]:
    """'2020' → (2020, 2020); '2020-2022' → (2020, 2022); '2020-' → (2020, None); '-2022' → (None, 2022)."""
    m = re.fullmatch(r"\s*(\d{4})?\s*(?:([-–~至])\s*(\d{4})?)?\s*", spec)
    if not m or not (m.group(1) or m.group(3)):
        raise ValueError(f"bad year range {spec!r}: use 2020, 2020-2022, 2020- or -2022")
    lo = int(m.group(1)) if m.group(1) else None
    hi = int(m.group(3)) if m.group(3) else (None if m.group(2) else lo)
    return lo, hi
