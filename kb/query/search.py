"""Hybrid search over the loaded indexes: query parsing, filters, the two legs, fusion.

Filters (explicit, or a year/region the query names) become a row mask applied *before* each
leg's top-N cut, so a filtered search returns the best passages inside the filter rather than the
few survivors of an unfiltered top-N.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

import numpy as np

from kb.embed import Embedder
from kb.index.bm25 import BM25Index
from kb.index.dense import DenseIndex
from kb.index.store import Store
from kb.index.tokenize import Tokenizer, collapse_repeats, dictionary
from kb.ingest.normalise import fold
from kb.ingest.places import RegionGazetteer
from kb.models import Chunk, Document, Filters, Hit, SearchMode
from kb.query import budget
from kb.query.corpus import CorpusLookups
from kb.query.fusion import rrf
from kb.query.question import Reading, level_named
from kb.query.rerank import rerank, tier_of
from kb.query.semantic import Semantic, Vectors, dense_scores
from kb.query.semantic_lookups import SemanticLookups
from kb.settings import Settings, settings

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


class Searcher(CorpusLookups, SemanticLookups):
    """Owns the loaded legs; one per opened index, shared across queries (and UI sessions).

    Besides the two legs it answers what question understanding asks of the corpus (the `Corpus`
    protocol of question.py: is a phrase attested, in how many passages — corpus.py) and what the
    answer layer needs (passages that state a practice, similarities, neighbours — the sentence and
    glossary ones in semantic_lookups.py); the answer layer talks to the index only through these
    public methods.
    """

    def __init__(
        self,
        store: Store,
        tokenizer: Tokenizer,
        bm25: BM25Index,
        dense: DenseIndex | None,
        embedder: Embedder,
        docs: list[Document],
        config: Settings | None = None,
        semantic: Semantic | None = None,
    ) -> None:
        self.store = store
        self.tokenizer = tokenizer
        self.bm25 = bm25
        self.dense = dense
        self.embedder = embedder
        self.settings = config or settings()
        self.docs = {d.doc_id: d for d in docs}
        self._doc_order = list(self.docs)
        doc_index = {doc_id: i for i, doc_id in enumerate(self._doc_order)}
        ids, doc_ids = store.chunk_table()
        doc_of_chunk = dict(zip(ids.tolist(), (doc_index[d] for d in doc_ids)))
        self.row_doc = np.array([doc_of_chunk.get(int(c), -1) for c in bm25.chunk_ids], dtype=np.int64)
        self.gazetteer = RegionGazetteer(docs)
        self._mask_cache: dict[Filters, np.ndarray] = {}
        self._doc_mask_cache: dict[Filters, np.ndarray] = {}
        self._counts: dict[str, int] = {}
        self._abbreviations: tuple[tuple[str, ...], ...] | None = None
        self._readings: dict[str, Reading] = {}
        self._tokens: dict[str, tuple[str, ...]] = {}
        self._short_rows: dict[str, list[int]] = {}
        self._named: frozenset[str] | None = None
        self._stated: dict[str, set[int]] = {}
        self.semantic = semantic or Semantic()
        self._vectors = Vectors(embedder, store, queries=self.settings.cache.query_vectors)

    # ---- what the answer layer asks -----------------------------------------------------------
    def chunks(self, chunk_ids) -> dict[int, Chunk]:
        return self.store.chunks(chunk_ids)

    def table_passages(self, chunk_ids) -> dict[int, str]:
        """Of these passages, those holding a flattened table row (a line ending in numbers), each with
        the text of its document just before it (where the table's header may be)."""
        from kb.answer.figures import has_table_row

        out: dict[int, str] = {}
        docs: dict[str, str] = {}
        for cid, chunk in self.store.chunks(list(chunk_ids)).items():
            if not has_table_row(chunk.text):
                continue
            if chunk.doc_id not in docs:
                doc = self.store.document(chunk.doc_id)
                docs[chunk.doc_id] = doc.text if doc else ""
            out[cid] = docs[chunk.doc_id][max(0, chunk.start - 1500) : chunk.start]
        return out

    def similarities(self, text: str, chunk_ids: list[int]) -> dict[int, float]:
        """Cosine similarity of `text` (as a query) to each embedded passage among `chunk_ids`."""
        vectors = self.store.vectors_for(self.embedder.id, self.embedder.dim, chunk_ids)
        if not vectors:
            return {}
        qv = self.query_vector(text)
        return {cid: float(np.dot(v, qv)) for cid, v in vectors.items()}

    # Texts that warm up what a first query would otherwise pay for inside its deadline: question
    # reading (jieba's word classes, the cue and unit data) and the query embedder at a few input
    # lengths (its first calls at a new length are several times slower than the next ones).
    _WARM_QUESTION = "哪些地区推行预热做法"
    _WARM_TEXTS = ("预热", "哪些地区推行预热做法", "预热文本的长度不同，首次计算会慢一些，先算一遍。" * 2)

    def ready(self, dense: bool = True) -> None:
        """Load now what the first query would load inside its deadline (see query/budget.py):
        jieba with the lexicon, jieba's dictionary of word classes, question reading, and — `dense`
        — the query embedder. Done once per loaded index; free afterwards."""
        with budget.outside():  # not the query's work: nothing counted, nothing cut
            if not getattr(self, "_warm_read", False):
                self.tokenizer.cut("预热")
                dictionary()
                self.read(fold(self._WARM_QUESTION))
                self._warm_read = True
            if dense and not getattr(self, "_warm_dense", False) and self.dense is not None and len(self.dense):
                for text in self._WARM_TEXTS:
                    self.embedder.embed_query(text)
                self._warm_dense = True

    def query_vector(self, text: str) -> np.ndarray:
        """The embedding of a query text (its first `query.max_embed_chars` characters), cached per
        loaded index: a question is embedded by several stages (the dense leg, related passages)."""
        cap = self.settings.query.max_embed_chars
        if len(text) > cap:  # the head of a long query (see QuerySettings.max_embed_chars)
            budget.current().note("embed_chars")
            text = text[:cap]
        return self._vectors.query(text)

    def neighbours(self, chunk_id: int, n: int) -> list[int]:
        """Passages nearest to a stored passage (dense; BM25 on its words when it has no vector yet)."""
        vectors = self.store.vectors_for(self.embedder.id, self.embedder.dim, [chunk_id])
        if chunk_id in vectors and self.dense is not None and len(self.dense):
            ids, _ = self.dense.search(vectors[chunk_id], n)
            return ids.tolist()
        chunk = self.store.chunks([chunk_id]).get(chunk_id)
        if chunk is None:
            return []
        return self.bm25_ranking(self.parse(chunk.folded[:200], infer=False), n, None)

    # ---- query understanding -----------------------------------------------------------
    def parse(self, query: str, filters: Filters | None = None, infer: bool = True) -> ParsedQuery:
        folded = collapse_repeats(fold(query))  # 法×1,000 is read as 法法: every stage costs per character
        phrases = tuple(dict.fromkeys(quoted_phrases(folded)))
        if len(phrases) > self.settings.query.max_spans:  # each quoted phrase is a look-up and a mask
            budget.current().note("spans")
            phrases = phrases[: self.settings.query.max_spans]
        tokens = self._tokens.get(folded)
        if tokens is None:  # a question is parsed by several stages: jieba once (≈ 0.1 s at 1,000 characters)
            tokens = tuple(self.tokenizer.tokens(folded))
            if len(self._tokens) >= self.settings.cache.readings:
                self._tokens.clear()
            self._tokens[folded] = tokens
        filters = filters or Filters()
        inferred = Filters()
        if infer:
            inferred = self._named_filters(folded)
            merged = filters
            if filters.year_from is None and filters.year_to is None and inferred.year_from:
                merged = replace(merged, year_from=inferred.year_from, year_to=inferred.year_to, year_basis="either")
            if not filters.region and inferred.region:
                merged = replace(merged, region=inferred.region)
            if not filters.province and not filters.region and inferred.province:
                merged = replace(merged, province=inferred.province)
            # A named year or region that matches nothing here is just words, not a filter.
            if merged != filters and not self._doc_mask(merged).any():
                merged = filters
            # 哪些省份 asks for the provinces' own reports, where the index holds any.
            if not merged.level and not merged.region and inferred.level:
                leveled = replace(merged, level=inferred.level)
                merged = leveled if self._doc_mask(leveled).any() else merged
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
            level=level_named(folded),
        )

    # ---- masks -------------------------------------------------------------------------
    def _doc_mask(self, filters: Filters) -> np.ndarray:
        """Bool per document; cached, since the same few filters recur across queries."""
        mask = self._doc_mask_cache.get(filters)
        if mask is None:
            if len(self._doc_mask_cache) > self.settings.cache.doc_masks:
                self._doc_mask_cache.clear()
            mask = np.array([filters.accepts(self.docs[d]) for d in self._doc_order], dtype=bool)
            self._doc_mask_cache[filters] = mask
        return mask

    def row_mask(self, filters: Filters, phrases: tuple[str, ...] = (), restrict=None) -> np.ndarray | None:
        """Bool per BM25 row, or None when nothing restricts the search."""
        mask = None
        if not filters.is_empty():
            if filters not in self._mask_cache:
                if len(self._mask_cache) > self.settings.cache.row_masks:
                    self._mask_cache.clear()
                doc_ok = np.append(self._doc_mask(filters), False)  # index -1 → chunk of a vanished doc
                self._mask_cache[filters] = doc_ok[self.row_doc]
            mask = self._mask_cache[filters]
        for phrase in phrases:  # a quoted phrase must occur (punctuation- and quote-insensitive)
            has = np.isin(self.bm25.chunk_ids, np.asarray(self.rows_with_phrase(phrase), dtype=np.int64))
            mask = has if mask is None else (mask & has)
        if restrict is not None:
            has = np.isin(self.bm25.chunk_ids, np.asarray(list(restrict), dtype=np.int64))
            mask = has if mask is None else (mask & has)
        return mask

    # ---- the legs ----------------------------------------------------------------------
    def bm25_ranking(self, q: ParsedQuery, n: int, mask: np.ndarray | None) -> list[int]:
        # Each distinct word once (a word repeated in a pasted paragraph, or 法×1,000, weighs as one
        # mention: BM25 sums a query word's weight per occurrence otherwise), at most max_query_tokens.
        tokens = list(dict.fromkeys(q.tokens or self.tokenizer.cut(q.folded)))
        cap = self.settings.query.max_query_tokens
        if len(tokens) > cap:
            budget.current().note("query_tokens")
            tokens = tokens[:cap]
        rows, _ = self.bm25.top(tokens, n, mask)
        return self.bm25.chunk_ids[rows].tolist()

    def dense_ranking(self, q: ParsedQuery, n: int, mask: np.ndarray | None) -> list[int]:
        """Passages nearest the query: each scored by the best of its own vector, its sentences'
        and the glossary definition the query reads as (query/semantic.py)."""
        if self.dense is None or not len(self.dense):
            return []
        allowed = None if mask is None else self.bm25.chunk_ids[mask]
        ranked = dense_scores(self.query_vector(q.folded), n, self.dense.search, allowed, self.semantic,
                              self.settings.semantic, self.rows_with_phrase)
        return [c for c, _ in ranked]

    def search(
        self,
        query: str,
        k: int = 10,
        mode: SearchMode = "hybrid",
        filters: Filters | None = None,
        max_per_doc: int | None = None,
        depth: int | None = None,
        infer_filters: bool = True,
        dense_weight: float | None = None,
        restrict=None,
    ) -> list[Hit]:
        """Hybrid search. Passages that state the query's practice (its words as one phrase, or a
        variant — see question.py) rank above passages with scattered words; within each group the
        fused rank decides. `restrict` (chunk ids) limits the candidates, like a filter."""
        if mode not in ("bm25", "dense", "hybrid"):
            raise ValueError(f"unknown search mode {mode!r}: use bm25, dense or hybrid")
        if k <= 0:
            return []
        cfg = self.settings.retrieval
        q = self.parse(query, filters, infer=infer_filters)
        mask = self.row_mask(q.filters, q.phrases, restrict)
        if mask is not None and not mask.any():
            return []
        n = max(depth or cfg.depth, k * 3 if max_per_doc else k)
        bm25_ids = self.bm25_ranking(q, n, mask) if mode in ("bm25", "hybrid") else []
        dense_ids = self.dense_ranking(q, n, mask) if mode in ("dense", "hybrid") else []
        if mode == "bm25":
            fused = [(c, 1.0 / (cfg.rrf_k + r)) for r, c in enumerate(bm25_ids, 1)]
        elif mode == "dense":
            fused = [(c, 1.0 / (cfg.rrf_k + r)) for r, c in enumerate(dense_ids, 1)]
        else:
            weight = cfg.dense_weight if dense_weight is None else dense_weight
            fused = rrf([bm25_ids, dense_ids], k=cfg.rrf_k, weights=[1.0, weight])
        return self._hits(fused, bm25_ids, dense_ids, k, max_per_doc, q)

    def _hits(self, fused, bm25_ids, dense_ids, k, max_per_doc, q: ParsedQuery) -> list[Hit]:
        """Hits in the evidence stage's order (rerank.py). A hit is *weak* when no query word occurs in
        it (found by the dense leg alone): shown, but flagged."""
        bm25_rank = {c: r for r, c in enumerate(bm25_ids, 1)}
        dense_rank = {c: r for r, c in enumerate(dense_ids, 1)}
        reading = self.read(q.folded, q.phrases)
        tier = tier_of(reading, lambda p: bool(self._stating(p)), self)
        words = [t for t in q.tokens if len(t) >= 2] or list(q.tokens)
        chunks = self.store.chunks(c for c, _ in fused)
        items = [(chunks[c], self.docs[chunks[c].doc_id], score) for c, score in fused
                 if c in chunks and chunks[c].doc_id in self.docs]  # else deleted since the segment was built
        hits: list[Hit] = []
        per_doc: dict[str, int] = {}
        for chunk, doc, score in rerank(items, tier, local_first=reading.intent == "regions"):
            if max_per_doc and per_doc.get(chunk.doc_id, 0) >= max_per_doc:
                continue
            per_doc[chunk.doc_id] = per_doc.get(chunk.doc_id, 0) + 1
            weak = bm25_rank.get(chunk.chunk_id) is None and not any(w in chunk.folded for w in words)
            hits.append(Hit(len(hits) + 1, score, bm25_rank.get(chunk.chunk_id), dense_rank.get(chunk.chunk_id),
                            chunk, doc, weak=weak))
            if len(hits) >= k:
                break
        return hits

    # ---- what the atlas and region pages ask (kb/answer/atlas.py, profile.py) --------------------
    def by_document(self, chunk_ids) -> dict[str, list[int]]:
        """The given chunk ids that are in the loaded index, grouped by document: doc_id → chunk ids,
        documents and chunks in index order (chunks of a document deleted since are left out)."""
        mask = np.isin(self.bm25.chunk_ids, np.asarray(list(chunk_ids), dtype=np.int64))
        out: dict[str, list[int]] = {}
        for chunk_id, doc_index in zip(self.bm25.chunk_ids[mask].tolist(), self.row_doc[mask].tolist()):
            if doc_index >= 0:
                out.setdefault(self._doc_order[doc_index], []).append(int(chunk_id))
        return out

    def chunks_of(self, doc_id: str) -> list[Chunk]:
        """A document's passages, in reading order."""
        return self.store.chunks_of(doc_id)


def parse_year_range(spec: str) -> tuple[int | None, int | None]:
    """'2020' → (2020, 2020); '2020-2022' → (2020, 2022); '2020-' → (2020, None); '-2022' → (None, 2022)."""
    m = re.fullmatch(r"\s*(\d{4})?\s*(?:([-–~至])\s*(\d{4})?)?\s*", spec)
    if not m or not (m.group(1) or m.group(3)):
        raise ValueError(f"bad year range {spec!r}: use 2020, 2020-2022, 2020- or -2022")
    lo = int(m.group(1)) if m.group(1) else None
    hi = int(m.group(3)) if m.group(3) else (None if m.group(2) else lo)
    return lo, hi
