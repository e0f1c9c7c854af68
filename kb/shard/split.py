"""`kb shard`: cut the search legs of one committed index into N shards by a partition key.

    out/shard-0/  shard.json  lexicon.txt  bm25/ (bm25s arrays + chunk_ids.npy)  dense/faiss.index
    out/shard-1/  …

Documents that share the key's value (a province, by default) go to one shard; groups are placed
largest first on the lightest shard, so shards hold about as many passages each. A shard's BM25 is
the global postings of its passages (global IDF and average length: its scores are the unsharded
index's scores), its FAISS index is built from its passages' stored vectors with the index's own
settings, and `shard.json` says what it was cut from (index, segment, embedder) so a router can
refuse shards of another index and say when they lag behind a newer ingest.
"""

from __future__ import annotations

import copy
import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from kb.answer.atlas import region_key
from kb.errors import BadRequest
from kb.index.bm25 import BM25Index
from kb.index.dense import DenseIndex
from kb.index.segment import fsync_tree, verified_segment
from kb.knowledgebase import KnowledgeBase
from kb.models import Document

FORMAT = 1
SHARD_FILE = "shard.json"
KEYS: dict[str, Callable[[Document], object]] = {
    "province": lambda d: d.meta.province or "",
    "region": region_key,
    "year": lambda d: d.meta.year or 0,
    "doc_type": lambda d: d.meta.doc_type,
    "doc": lambda d: d.doc_id,
}


def assign(sizes: dict[object, int], n: int) -> list[list[object]]:
    """Groups (key value → passages) onto n shards: largest first, each onto the lightest shard."""
    shards: list[list[object]] = [[] for _ in range(n)]
    load = [0] * n
    for value in sorted(sizes, key=lambda v: (-sizes[v], str(v))):
        i = min(range(n), key=lambda j: (load[j], j))
        shards[i].append(value)
        load[i] += sizes[value]
    return shards


def slice_bm25(bm25: BM25Index, rows: np.ndarray) -> BM25Index:
    """The BM25 index restricted to `rows` (ascending), keeping every posting's global score."""
    retriever = bm25._retriever
    scores = retriever.scores
    data, indices, indptr = (np.asarray(scores[k]) for k in ("data", "indices", "indptr"))
    local = np.full(len(bm25), -1, dtype=np.int64)
    local[rows] = np.arange(len(rows))
    keep = local[indices] >= 0
    kept_before = np.concatenate([[0], np.cumsum(keep)])
    part = copy.copy(retriever)
    part.scores = {"data": data[keep], "indices": local[indices[keep]].astype(indices.dtype),
                   "indptr": kept_before[indptr].astype(indptr.dtype), "num_docs": len(rows)}
    return BM25Index(part, bm25.chunk_ids[rows])


def split(index: Path | None, out: Path, n: int, key: str = "province") -> list[dict]:
    """Write n shards of the committed index into out/shard-i; returns what each holds."""
    if key not in KEYS:
        raise BadRequest(f"unknown partition key {key!r}; one of: {', '.join(KEYS)}")
    kb = KnowledgeBase.open(index)
    try:
        return kb._read(lambda: _split(kb, Path(out), n, key))
    finally:
        kb.close()


def _split(kb: KnowledgeBase, out: Path, n: int, key: str) -> list[dict]:
    manifest = kb._view()
    seg = verified_segment(kb.directory, manifest)
    bm25 = BM25Index.load(seg / "bm25")
    docs = {d.doc_id: d for d in kb.store.documents()}
    ids, doc_ids = kb.store.chunk_table()
    doc_of = dict(zip(ids.tolist(), doc_ids))
    row_doc = [doc_of.get(int(c)) for c in bm25.chunk_ids]
    value_of = {doc_id: KEYS[key](d) for doc_id, d in docs.items()}
    sizes: dict[object, int] = {}
    for d in row_doc:
        if d in value_of:
            sizes[value_of[d]] = sizes.get(value_of[d], 0) + 1
    groups = assign(sizes, n)
    cfg = kb.settings_for(manifest).index
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for i, values in enumerate(groups):
        wanted = set(values)
        rows = np.array([r for r, d in enumerate(row_doc) if d in value_of and value_of[d] in wanted], dtype=np.int64)
        part = slice_bm25(bm25, rows)
        vectors = kb.store.vectors_for(manifest.embedder_id, manifest.dim, part.chunk_ids.tolist())
        vids = np.array(sorted(vectors), dtype=np.int64)
        dense = DenseIndex.build(vids, np.array([vectors[c] for c in vids], dtype=np.float32).reshape(-1, manifest.dim),
                                 manifest.dim, cfg.flat_max, cfg.hnsw_m, cfg.hnsw_ef_search)
        shard_docs = sorted({row_doc[r] for r in rows})
        target = out / f"shard-{i}"
        tmp = out / f".shard-{i}.{time.strftime('%H%M%S')}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        part.save(tmp / "bm25")
        dense.save(tmp / "dense")
        shutil.copyfile(seg / "lexicon.txt", tmp / "lexicon.txt")
        info = {
            "format": FORMAT, "index": str(kb.directory.resolve()), "segment": manifest.segment,
            "docs_version": kb._local.docs_version, "embedder": manifest.embedder_id, "dim": manifest.dim,
            "lexicon_hash": manifest.lexicon_hash, "key": key, "values": sorted(values, key=str),
            "shard": i, "shards": n, "documents": len(shard_docs), "chunks": len(rows),
            "embedded": len(vids), "dense_kind": dense.kind, "created_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
        }
        (tmp / SHARD_FILE).write_text(json.dumps(info, ensure_ascii=False, indent=2), encoding="utf-8")
        fsync_tree(tmp)
        if target.exists():
            shutil.rmtree(target)
        tmp.rename(target)
        written.append({**info, "path": str(target)})
    return written
