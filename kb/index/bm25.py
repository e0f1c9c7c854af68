"""The BM25 leg, served by bm25s (sparse precomputed scores) with `rank_bm25` as the reference.

bm25s with ``method="lucene"`` ranks like ``rank_bm25.BM25Okapi`` (its IDF never reaches zero)
while answering a query at 100k chunks in a few milliseconds instead of ~150 ms: rank_bm25 loops
over every document in Python. The numba backend is faster still but compiles for ~10 s on the
first query of a process, so one-shot commands use numpy and the UI warms numba in the background.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Literal

import numpy as np

Backend = Literal["numpy", "numba"]
K1, B = 1.5, 0.75


class BM25Index:
    """BM25 over pre-tokenised chunks; rows are aligned with `chunk_ids`."""

    def __init__(self, retriever, chunk_ids: np.ndarray, backend: Backend = "numpy") -> None:
        self._retriever = retriever
        self.chunk_ids = chunk_ids
        self.backend: Backend = backend

    @classmethod
    def build(cls, chunk_ids: np.ndarray, corpus_tokens: list[list[str]]) -> BM25Index:
        import bm25s

        retriever = bm25s.BM25(method="lucene", k1=K1, b=B)
        if len(corpus_tokens):
            # An empty passage still needs a row: give it the empty token bm25s reserves.
            retriever.index([t or [""] for t in corpus_tokens], show_progress=False)
        return cls(retriever, np.asarray(chunk_ids, dtype=np.int64))

    def __len__(self) -> int:
        return len(self.chunk_ids)

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        np.save(directory / "chunk_ids.npy", self.chunk_ids)
        if len(self):
            self._retriever.save(str(directory), show_progress=False)
        (directory / "kb_bm25.json").write_text(json.dumps({"k1": K1, "b": B, "method": "lucene", "rows": len(self)}))

    @classmethod
    def load(cls, directory: Path, backend: Backend = "numpy") -> BM25Index:
        import bm25s

        chunk_ids = np.load(directory / "chunk_ids.npy")
        if not len(chunk_ids):
            return cls(bm25s.BM25(method="lucene"), chunk_ids, backend)
        retriever = bm25s.BM25.load(str(directory), mmap=False)
        index = cls(retriever, chunk_ids, "numpy")
        problems = index.problems()
        if problems:  # a tampered or damaged file would otherwise index out of bounds mid-query
            raise ValueError(f"inconsistent BM25 arrays: {problems[0]}")  # the caller names the folder
        if backend == "numba":
            index.use_numba()
        return index

    def problems(self) -> list[str]:
        """What is inconsistent in the loaded arrays (postings out of range, sizes that disagree):
        read from files, so checked like any untrusted input. Vectorised: milliseconds at 100k rows."""
        ids = np.asarray(self.chunk_ids)
        if ids.ndim != 1 or ids.dtype.kind not in "iu":
            return [f"chunk_ids.npy holds {ids.dtype} of shape {ids.shape}, not a list of ids"]
        if len(ids) > 1 and not (np.diff(ids) > 0).all():
            return ["chunk_ids.npy is not in increasing order (rows would map to the wrong passages)"]
        if not len(self):
            return []
        scores = getattr(self._retriever, "scores", None) or {}
        data, indices, indptr = (np.asarray(scores.get(k, [])) for k in ("data", "indices", "indptr"))
        # bm25s gives the reserved empty token the id one past the last posting list
        vocab = [i for t, i in getattr(self._retriever, "vocab_dict", {}).items() if t != ""]
        n_docs = scores.get("num_docs")
        out = []
        if n_docs != len(ids):
            out.append(f"{n_docs} documents in the BM25 arrays, {len(ids)} chunk ids")
        if indptr.ndim != 1 or len(indptr) < 1 or indptr[0] != 0 or (np.diff(indptr) < 0).any():
            out.append("posting offsets (indptr) are not a non-decreasing list starting at 0")
        elif indptr[-1] != len(indices) or len(indices) != len(data):
            out.append(f"posting offsets end at {indptr[-1]}, but there are {len(indices)} postings and {len(data)} scores")
        if len(indices) and (indices.min() < 0 or indices.max() >= len(ids)):
            out.append(f"postings name rows up to {indices.max()}, beyond the {len(ids)} passages")
        if vocab and (not all(isinstance(i, int) for i in vocab) or min(vocab) < 0 or max(vocab) >= max(len(indptr) - 1, 0)):
            out.append(f"token ids up to {max(vocab)}, beyond the {max(len(indptr) - 1, 0)} posting lists")
        if len(data) and not np.isfinite(data).all():
            out.append("scores that are not finite numbers")
        return out

    def use_numba(self) -> None:
        """Compile the numba backend (seconds), then switch to it; meant for a background thread.

        The compile runs on a shallow copy, so queries arriving meanwhile keep using numpy
        instead of waiting for the compiler.
        """
        try:
            import numba  # noqa: F401
        except ImportError:
            return
        if len(self):
            trial = copy.copy(self._retriever)
            trial.backend = "numba"
            first = next(iter(self._retriever.vocab_dict.values()))  # a known token, or nothing compiles
            trial.retrieve([[first]], k=1, show_progress=False, n_threads=1)
        self._retriever.backend = "numba"
        self.backend = "numba"

    def scores(self, query_tokens: list[str]) -> np.ndarray:
        """BM25 score of every row for the query (0 where no query token occurs)."""
        if not len(self):
            return np.zeros(0, dtype=np.float32)
        ids = self._retriever.get_tokens_ids(query_tokens)
        if not ids:
            return np.zeros(len(self), dtype=np.float32)
        return np.asarray(self._retriever.get_scores_from_ids(ids), dtype=np.float32)

    def rows_with(self, token: str) -> np.ndarray:
        """Rows whose passage has this token (its postings), ascending."""
        if not len(self) or token not in getattr(self._retriever, "vocab_dict", {}):
            return np.zeros(0, np.int64)
        return np.flatnonzero(self.scores([token]) > 0).astype(np.int64)

    def top(self, query_tokens: list[str], n: int, mask: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(row indices, scores) of the best `n` rows with a positive score, best first.

        `mask` (bool per row) restricts the candidates before the cut, which is how filters apply.
        """
        if not len(self) or n <= 0:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        if self._retriever.backend == "numba" and mask is None:
            ids = self._retriever.get_tokens_ids(query_tokens)
            if not ids:
                return np.zeros(0, np.int64), np.zeros(0, np.float32)
            k = min(n, len(self))
            res = self._retriever.retrieve([ids], k=k, show_progress=False, n_threads=1)
            rows, scores = np.asarray(res.documents[0]), np.asarray(res.scores[0])
        else:
            scores_all = self.scores(query_tokens)
            if mask is not None:
                scores_all = np.where(mask, scores_all, 0.0)
            k = min(n, len(self))
            rows = np.argpartition(-scores_all, k - 1)[:k] if k < len(self) else np.arange(len(self))
            rows = rows[np.lexsort((rows, -scores_all[rows]))]  # by score, ties by row: deterministic
            scores = scores_all[rows]
        keep = scores > 0
        return rows[keep].astype(np.int64), scores[keep]
