"""The dense leg: FAISS inner product over normalised vectors, ids mapped to chunk ids.

Exact `IndexFlatIP` up to `index.flat_max` vectors (settings; 50k by default), HNSW beyond it: at
100k × 384 a flat search alone takes ~15 ms on 2 cores, which puts hybrid search over its 30 ms
budget. Both are wrapped in an `IndexIDMap2` so FAISS returns chunk ids directly, and filters apply
inside the search through an id selector, before the top-k cut.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kb.settings import IndexSettings

_DEFAULTS = IndexSettings()
DEFAULT_FLAT_MAX = _DEFAULTS.flat_max


def _faiss():
    import faiss

    return faiss


class _one_thread:
    """A single query searches fastest on one thread (measured: flat 100k 13.5 → 6.8 ms).

    OpenMP's thread count is per calling thread (libgomp's `omp_set_num_threads` sets the caller's
    value; a thread started afterwards still sees the default — tests/test_api.py checks it), so
    this save-and-restore touches only the searching thread and cannot race other queries; in a
    query server (kb/threads.py) the thread is single-threaded already and this changes nothing."""

    def __enter__(self):
        faiss = _faiss()
        self.prev = faiss.omp_get_max_threads()
        faiss.omp_set_num_threads(1)

    def __exit__(self, *exc):
        _faiss().omp_set_num_threads(self.prev)
        return False


class DenseIndex:
    def __init__(self, index, dim: int, ef_search: int = _DEFAULTS.hnsw_ef_search) -> None:
        self._index = index
        self.dim = dim
        self.ef_search = ef_search

    @property
    def kind(self) -> str:
        return "hnsw" if "HNSW" in type(self._faiss_inner()).__name__ else "flat"

    def _faiss_inner(self):
        faiss = _faiss()
        return faiss.downcast_index(self._index.index)

    @classmethod
    def build(cls, chunk_ids: np.ndarray, vectors: np.ndarray, dim: int, flat_max: int = _DEFAULTS.flat_max,
              hnsw_m: int = _DEFAULTS.hnsw_m, ef_search: int = _DEFAULTS.hnsw_ef_search) -> DenseIndex:
        faiss = _faiss()
        if len(vectors) > flat_max:
            inner = faiss.IndexHNSWFlat(dim, hnsw_m, faiss.METRIC_INNER_PRODUCT)
            inner.hnsw.efConstruction = 80
            inner.hnsw.efSearch = ef_search
        else:
            inner = faiss.IndexFlatIP(dim)
        index = faiss.IndexIDMap2(inner)
        if len(vectors):
            index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), np.asarray(chunk_ids, dtype=np.int64))
        return cls(index, dim, ef_search)

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def ids(self) -> np.ndarray:
        """The chunk ids in the index (for `kb check`)."""
        return _faiss().vector_to_array(self._index.id_map).astype(np.int64)

    def vector(self, chunk_id: int) -> np.ndarray:
        return self._index.reconstruct(int(chunk_id))

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        _faiss().write_index(self._index, str(directory / "faiss.index"))

    @classmethod
    def load(cls, directory: Path, dim: int, ef_search: int = _DEFAULTS.hnsw_ef_search) -> DenseIndex:
        faiss = _faiss()
        index = faiss.read_index(str(directory / "faiss.index"))
        if index.d != dim:
            raise ValueError(f"{directory}: FAISS index has dimension {index.d}, manifest says {dim}")
        inner = faiss.downcast_index(index.index) if hasattr(index, "index") else index
        if hasattr(inner, "hnsw"):
            inner.hnsw.efSearch = ef_search
        return cls(index, dim, ef_search)

    def search(self, query: np.ndarray, n: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(chunk ids, similarities) best first; `allowed` (chunk ids) restricts before the cut."""
        if not len(self) or n <= 0:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        faiss = _faiss()
        q = np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32)
        params = None
        if allowed is not None:
            if not len(allowed):
                return np.zeros(0, np.int64), np.zeros(0, np.float32)
            selector = faiss.IDSelectorBatch(np.ascontiguousarray(allowed, dtype=np.int64))
            inner = self._faiss_inner()
            if hasattr(inner, "hnsw"):
                params = faiss.SearchParametersHNSW(sel=selector, efSearch=max(self.ef_search, n))
            else:
                params = faiss.SearchParameters(sel=selector)
        with _one_thread():
            sims, ids = self._index.search(q, min(n, len(self)), params=params)
        keep = ids[0] >= 0
        ids, sims = ids[0][keep].astype(np.int64), sims[0][keep]
        # Equal similarities (the same passage in two reports) in chunk-id order, not in the order of
        # FAISS's heap: the same ranking whether the vectors sit in one index or in shards.
        order = np.lexsort((ids, -sims))
        return ids[order], sims[order]
