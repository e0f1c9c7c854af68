"""The semantic parts of a loaded segment — sentence vectors and the practice glossary — and what
the searcher asks of them (docs/semantic.md).

- `dense_scores`: the dense leg. A passage's score is the best of its own similarity to the query
  and its sentences' (the sentence index is searched `semantic.sentence_depth` deep); passages that
  state a glossary practice whose definition the query is close to (≥ `glossary_min_similarity`)
  join with that similarity — a plain-language question read as the practice it describes.
- `sentence_similarities`: for given passages, the best sentence's cosine to a text and its span
  (for the evidence stage); for an index built before sentence vectors, a passage's sentences are
  cut and embedded on the fly and remembered (bounded), until `kb embed` stores them.
- `practices_like`: the glossary practices nearest a text, with their definitions and passages.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kb.embed import Embedder
from kb.index.glossary import Glossary
from kb.index.sentence_index import SentenceIndex
from kb.index.sentences import sentences_of
from kb.index.store import Store
from kb.models import Chunk
from kb.settings import SemanticSettings


@dataclass(frozen=True)
class PracticeMatch:
    """A glossary practice near a text: its name, the definition that matched, the cosine, and the
    passages that state the practice (its name occurs in them)."""

    practice: str
    definition: str
    similarity: float
    chunk_ids: tuple[int, ...]
    defined_in: int  # the passage the definition comes from

    def __iter__(self):  # unpacks as (practice, definition, similarity, chunk_ids)
        return iter((self.practice, self.definition, self.similarity, list(self.chunk_ids)))


@dataclass
class Semantic:
    sentences: SentenceIndex | None = None
    glossary: Glossary | None = None

    @classmethod
    def load(cls, segment: Path, dim: int, ef_search: int) -> Semantic:
        """The parts the segment has (an index built before sentence vectors has neither)."""
        sentences = SentenceIndex.load(segment / "sentences", dim, ef_search) if (segment / "sentences").is_dir() else None
        glossary = Glossary.load(segment / "glossary", dim) if (segment / "glossary").is_dir() else None
        return cls(sentences, glossary)


class Vectors:
    """Query vectors and lazily embedded sentence vectors, remembered per loaded index (bounded)."""

    def __init__(self, embedder: Embedder, store: Store, size: int = 4096, queries: int = 256) -> None:
        self.embedder = embedder
        self.store = store
        self.size = size
        self.queries = queries
        self._queries: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lazy: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def query(self, text: str) -> np.ndarray:
        with self._lock:
            v = self._queries.get(text)
            if v is not None:
                self._queries.move_to_end(text)
                return v
        v = self.embedder.embed_query(text)
        with self._lock:
            self._queries[text] = v
            while len(self._queries) > self.queries:
                self._queries.popitem(last=False)
        return v

    def of_keys(self, items: dict[str, str]) -> dict[str, np.ndarray]:
        """Vectors of texts by cache key: the index's cache, else remembered, else embedded now."""
        found = self.store.vectors_by_key(self.embedder.id, self.embedder.dim, items)
        missing = [k for k in items if k not in found]
        with self._lock:
            for k in list(missing):
                if k in self._lazy:
                    found[k] = self._lazy[k]
                    missing.remove(k)
        if missing:
            vecs = self.embedder.embed_passages([items[k] for k in missing])
            with self._lock:
                for k, v in zip(missing, vecs):
                    found[k] = v
                    self._lazy[k] = v
                while len(self._lazy) > self.size:
                    self._lazy.popitem(last=False)
        return found


def dense_scores(
    qv: np.ndarray,
    n: int,
    passages: Callable[[np.ndarray, int, np.ndarray | None], tuple[np.ndarray, np.ndarray]],
    allowed: np.ndarray | None,
    semantic: Semantic,
    cfg: SemanticSettings,
    stating: Callable[[str], list[int]],
) -> list[tuple[int, float]]:
    """(chunk id, dense score) best first, at most n: a passage scores the best of its own, its
    best sentence's and (when the query reads as a glossary practice it states) the definition's
    similarity."""
    scores: dict[int, float] = {}
    ids, sims = passages(qv, n, allowed)
    for c, s in zip(ids.tolist(), sims.tolist()):
        scores[c] = s
    if cfg.sentence_leg and semantic.sentences is not None and len(semantic.sentences):
        ids, sims = semantic.sentences.best_passages(qv, max(cfg.sentence_depth, n), allowed)
        for c, s in zip(ids.tolist(), sims.tolist()):
            if s > scores.get(c, -2.0):
                scores[c] = s
    if cfg.glossary_expand and semantic.glossary is not None and len(semantic.glossary):
        ok = None if allowed is None else set(allowed.tolist())
        for name, _, sim in semantic.glossary.like(qv, 3):
            if sim < cfg.glossary_min_similarity:
                continue
            for c in stating(name):
                if (ok is None or c in ok) and sim > scores.get(c, -2.0):
                    scores[c] = sim
    return sorted(scores.items(), key=lambda kv: -kv[1])[:n]


def sentence_similarities(qv: np.ndarray, chunks: dict[int, Chunk], store: Store, vectors: Vectors,
                          cfg: SemanticSettings) -> dict[int, tuple[float, int, int]]:
    """chunk id → (cosine of its best sentence to the query vector, that sentence's [start, end) in
    the chunk text). Stored sentences where derived, else cut now (same rule) and embedded lazily."""
    stored = store.sentences_of(list(chunks))
    spans: dict[int, list[tuple[int, int, str]]] = {}
    texts: dict[str, str] = {}
    for cid, chunk in chunks.items():
        rows = stored.get(cid)
        if rows:
            spans[cid] = rows
            for s, e, key in rows:
                texts[key] = " ".join(chunk.folded[s:e].split())
        else:
            cut = sentences_of(chunk.text, chunk.folded, cfg.sentence_min_chars, cfg.sentence_max_chars)
            spans[cid] = [(x.start, x.end, x.key) for x in cut]
            texts.update((x.key, x.text) for x in cut)
    found = vectors.of_keys(texts) if texts else {}
    out: dict[int, tuple[float, int, int]] = {}
    for cid, rows in spans.items():
        best: tuple[float, int, int] | None = None
        for s, e, key in rows:
            v = found.get(key)
            if v is None:
                continue
            sim = float(np.dot(v, qv))
            if best is None or sim > best[0]:
                best = (sim, s, e)
        if best is not None:
            out[cid] = best
    return out


def practices_like(qv: np.ndarray, glossary: Glossary | None, k: int, stating: Callable[[str], list[int]],
                   min_similarity: float = -1.0) -> list[PracticeMatch]:
    """The k glossary practices whose definitions are nearest the query vector (at least
    `min_similarity`), best first, each with the passages that state it."""
    if glossary is None or not len(glossary):
        return []
    out = []
    for name, entry, sim in glossary.like(qv, k):
        if sim >= min_similarity:
            out.append(PracticeMatch(name, entry.definition, sim, tuple(stating(name)), entry.chunk_id))
    return out


def neighbours_of(vector: np.ndarray, glossary: Glossary | None, exclude: Sequence[str], k: int) -> list[tuple[str, float]]:
    """Glossary practices nearest a practice's (or a passage's) vector, other than `exclude`."""
    if glossary is None or not len(glossary):
        return []
    return [(name, sim) for name, _, sim in glossary.like(vector, k + len(exclude)) if name not in exclude][:k]
