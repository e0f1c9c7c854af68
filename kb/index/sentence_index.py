"""The segment's sentence vectors: a FAISS index of its own, ids = sentence ids, with their passages.

Layout (segments/<name>/sentences/): `faiss.index` (IDMap2 over a flat or HNSW inner-product index,
as dense.py builds one for passages — flat up to `index.flat_max` vectors) and `ids.npy` /
`chunk_ids.npy`: the sentence ids in ascending order and the passage each belongs to. A search
returns passages, each scored by its best sentence; a filter (allowed passages) restricts the
sentences before the top-k cut, like the passage index does.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kb.index.dense import DenseIndex


class SentenceIndex:
    def __init__(self, dense: DenseIndex, ids: np.ndarray, chunk_ids: np.ndarray) -> None:
        self.dense = dense
        self.ids = np.asarray(ids, dtype=np.int64)  # ascending sentence ids
        self.chunk_ids = np.asarray(chunk_ids, dtype=np.int64)  # aligned: the passage of each sentence
        self._allowed: tuple[object, np.ndarray] | None = None  # (the last mask asked, its sentence ids)

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def build(cls, ids: np.ndarray, chunk_ids: np.ndarray, vectors: np.ndarray, dim: int, flat_max: int,
              hnsw_m: int, ef_search: int) -> SentenceIndex:
        order = np.argsort(ids, kind="stable")
        ids, chunk_ids, vectors = ids[order], chunk_ids[order], vectors[order]
        return cls(DenseIndex.build(ids, vectors, dim, flat_max, hnsw_m, ef_search), ids, chunk_ids)

    def save(self, directory: Path) -> None:
        self.dense.save(directory)
        np.save(directory / "ids.npy", self.ids)
        np.save(directory / "chunk_ids.npy", self.chunk_ids)

    @classmethod
    def load(cls, directory: Path, dim: int, ef_search: int) -> SentenceIndex:
        dense = DenseIndex.load(directory, dim, ef_search)
        ids, chunk_ids = np.load(directory / "ids.npy"), np.load(directory / "chunk_ids.npy")
        if len(ids) != len(chunk_ids) or len(ids) != len(dense):
            raise ValueError(f"{directory}: {len(dense)} sentence vectors, {len(ids)} ids, {len(chunk_ids)} passages")
        return cls(dense, ids, chunk_ids)

    def chunk_of(self, sentence_ids: np.ndarray) -> np.ndarray:
        pos = np.searchsorted(self.ids, sentence_ids)
        return self.chunk_ids[np.clip(pos, 0, max(len(self.ids) - 1, 0))]

    def _sentences_in(self, allowed_chunks: np.ndarray) -> np.ndarray:
        """Sentence ids of the allowed passages (the last one asked is remembered: a filtered search
        asks for the same passages again at once)."""
        key = hash(np.ascontiguousarray(allowed_chunks).tobytes())
        last = self._allowed
        if last is not None and last[0] == key:
            return last[1]
        found = self.ids[np.isin(self.chunk_ids, allowed_chunks)]
        self._allowed = (key, found)
        return found

    def best_passages(self, query: np.ndarray, n: int, allowed_chunks: np.ndarray | None = None
                      ) -> tuple[np.ndarray, np.ndarray]:
        """(chunk ids, best sentence similarity) of the passages whose sentences are nearest, best
        first; `n` sentences are searched."""
        allowed = None if allowed_chunks is None else self._sentences_in(allowed_chunks)
        sids, sims = self.dense.search(query, n, allowed)
        if not len(sids):
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        chunks = self.chunk_of(sids)
        _, first = np.unique(chunks, return_index=True)  # sims are sorted: a passage's first is its best
        first = np.sort(first)
        return chunks[first], sims[first]
