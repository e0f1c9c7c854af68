"""The router of a sharded deployment: a `KnowledgeBase` over the catalogue, its legs on the shards.

The searcher is kb's own (`Searcher`), given stand-ins for its two legs that ask every shard for
its top n and merge: BM25 by (score, global row) — the tie order `BM25Index.top` uses — and dense
by (similarity, chunk id). Since each shard scores its passages exactly as the unsharded index
does (split.py), the merged top n of each leg is the unsharded leg's top n, and everything after
the legs (fusion, filters, question reading, evidence, answers) runs unchanged on the router.

Transport: `local_legs` loads the shards in this process (tests, one machine); `ray_serve.py`
gives the router Ray Serve handles to shard deployments instead. Both answer `call(method, args)`
for every shard at once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from kb.errors import IndexUnusable
from kb.index.segment import Manifest, verified_segment
from kb.index.tokenize import Tokenizer
from kb.knowledgebase import KnowledgeBase
from kb.query.search import Searcher
from kb.query.semantic import Semantic
from kb.shard.legs import Legs, pack


class LocalLegs:
    """Shards loaded in this process, queried side by side (each call on its own thread)."""

    def __init__(self, directories: Sequence[Path]) -> None:
        self.legs = [Legs(Path(d)) for d in directories]
        self._pool = ThreadPoolExecutor(max(1, len(self.legs)), thread_name_prefix="kb-leg")

    def describe(self) -> list[dict]:
        return [leg.describe() for leg in self.legs]

    def call(self, method: str, args: Sequence[tuple]) -> list:
        """`method(*args[i])` on shard i, for every shard at once; results in shard order."""
        futures = [self._pool.submit(getattr(leg, method), *a) for leg, a in zip(self.legs, args)]
        return [f.result() for f in futures]


def local_legs(directories: Sequence[Path]) -> LocalLegs:
    return LocalLegs(directories)


class ShardMap:
    """Where each shard's passages sit among the global rows (the sorted union of chunk ids)."""

    def __init__(self, shards: list[dict]) -> None:
        self.shards = shards
        self.chunk_ids = np.unique(np.concatenate([np.asarray(s["chunk_ids"], dtype=np.int64) for s in shards]))
        self.rows = [np.searchsorted(self.chunk_ids, np.asarray(s["chunk_ids"], dtype=np.int64)) for s in shards]

    def masks(self, mask: np.ndarray | None) -> list[bytes | None]:
        return [None if mask is None else pack(mask[rows]) for rows in self.rows]


class ShardedBM25:
    """Stands in for `BM25Index` on the router: the top n of every shard, merged."""

    backend = "numpy"

    def __init__(self, legs, shard_map: ShardMap) -> None:
        self.legs, self.map = legs, shard_map
        self.chunk_ids = shard_map.chunk_ids

    def __len__(self) -> int:
        return len(self.chunk_ids)

    def top(self, query_tokens: list[str], n: int, mask: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        if not len(self) or n <= 0:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        found = self.legs.call("bm25_top", [(list(query_tokens), n, bits) for bits in self.map.masks(mask)])
        ids = np.concatenate([np.asarray(c, dtype=np.int64) for c, _ in found])
        scores = np.concatenate([np.asarray(s, dtype=np.float32) for _, s in found])
        rows = np.searchsorted(self.chunk_ids, ids)
        order = np.lexsort((rows, -scores))[:n]  # by score, ties by row: BM25Index.top's order
        return rows[order], scores[order]

    def rows_with(self, token: str) -> np.ndarray:
        found = self.legs.call("rows_with", [(token,)] * len(self.map.rows))
        return np.sort(np.searchsorted(self.chunk_ids, np.concatenate([np.asarray(f, dtype=np.int64) for f in found])))

    def use_numba(self) -> None:  # the shards score with numpy; nothing to compile here
        return None


class ShardedDense:
    """Stands in for `DenseIndex` on the router: the query vector to every shard, the top n merged."""

    def __init__(self, legs, shard_map: ShardMap, size: int, kind: str) -> None:
        self.legs, self.map, self.size, self.kind = legs, shard_map, size, kind

    def __len__(self) -> int:
        return self.size

    def search(self, query: np.ndarray, n: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        if not self.size or n <= 0:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        mask = None if allowed is None else np.isin(self.map.chunk_ids, np.asarray(allowed, dtype=np.int64))
        vector = np.asarray(query, dtype=np.float32).reshape(-1)
        found = self.legs.call("dense_top", [(vector, n, bits) for bits in self.map.masks(mask)])
        ids = np.concatenate([np.asarray(c, dtype=np.int64) for c, _ in found])
        sims = np.concatenate([np.asarray(s, dtype=np.float32) for _, s in found])
        order = np.lexsort((ids, -sims))[:n]
        return ids[order], sims[order]


class ShardedKnowledgeBase(KnowledgeBase):
    """A `KnowledgeBase` whose search legs are shards cut from it (`kb shard`): every read the
    unsharded index offers, with the legs' memory spread over the shards' machines."""

    legs = None
    shards: list[dict] = []

    @classmethod
    def open(cls, path: str | Path | None = None, legs=None, overrides: Mapping[str, object] | None = None,
             **kwargs) -> ShardedKnowledgeBase:
        kb = super().open(path, overrides=overrides)
        assert isinstance(kb, ShardedKnowledgeBase)
        kb.attach(legs)
        return kb

    def attach(self, legs) -> None:
        shards = legs.describe()
        if not shards:
            raise IndexUnusable("no shards given")
        where = str(self.directory.resolve())
        for s in shards:
            if s["index"] != where or s["embedder"] != self.manifest.embedder_id:
                raise IndexUnusable(f"{s['path']}: a shard of {s['index']} ({s['embedder']}), not of {where}; "
                                    f"cut shards of this index with `kb shard --index {self.directory}`")
        cut = {(s["segment"], s["lexicon_hash"], s["shards"]) for s in shards}
        if len(cut) > 1 or len(shards) != shards[0]["shards"]:
            raise IndexUnusable(f"the {len(shards)} shards given were not cut together (segments "
                                f"{', '.join(sorted({str(c[0]) for c in cut}))}); give every shard of one `kb shard` run")
        self.legs, self.shards = legs, shards
        self.map = ShardMap(shards)
        self.terms = (Path(shards[0]["path"]) / "lexicon.txt").read_text(encoding="utf-8").split("\n")
        self.dense_size = sum(int(s["embedded"]) for s in shards)

    def _load(self, manifest: Manifest) -> Searcher:
        """The catalogue's documents and passages with the shards' legs (the lexicon they were cut with)."""
        tokenizer = Tokenizer(self.terms)
        kinds = {s["dense_kind"] for s in self.shards}
        dense = ShardedDense(self.legs, self.map, self.dense_size, kinds.pop() if len(kinds) == 1 else "mixed")
        # The sentence vectors and the glossary (query/semantic.py) stay with the router, read from the
        # catalogue's segment: a passage's dense score is the best of its own (from its shard) and its
        # sentences', exactly as unsharded. (Their memory is not spread: docs/operators.md.)
        seg = verified_segment(self.directory, manifest) if manifest.segment else None
        semantic = (Semantic.load(seg, manifest.dim, self.settings_for(manifest).index.hnsw_ef_search)
                    if seg is not None and seg.exists() else None)
        return self._new_searcher(tokenizer, ShardedBM25(self.legs, self.map), dense, semantic)

    def health(self) -> dict:
        """What /health adds: the shards, and whether the catalogue moved on since they were cut."""
        segment = self.served()[0] or self.manifest.segment
        cut_from = self.shards[0]["segment"]
        return {"shards": [{k: s[k] for k in ("path", "shard", "key", "documents", "chunks", "embedded", "dense_kind")}
                           for s in self.shards],
                "shards_cut_from": cut_from,
                "shards_current": cut_from == segment}
