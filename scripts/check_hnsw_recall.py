"""HNSW recall against exact search, on an index's real (cached) embeddings.

    python scripts/check_hnsw_recall.py --index DIR [--queries ../shared/eval/dev_queries.jsonl]

Uses every passage vector as stored by `kb ingest`, real query embeddings of the judged queries plus
a sample of passages as queries, and prints recall@10 of the HNSW index kb builds beyond `flat_max`.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from kb import KnowledgeBase
from kb.index.dense import DenseIndex
from kb.ingest.normalise import fold


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--index", type=Path, required=True)
    ap.add_argument("--queries", type=Path, default=Path("../shared/eval/dev_queries.jsonl"))
    ap.add_argument("--k", type=int, default=10)
    args = ap.parse_args()

    kb = KnowledgeBase.open(args.index)
    with kb.store.snapshot():  # the manifest and the vectors of one committed state, whatever a writer does
        status = kb.status()
        embedder_id, dim = status["embedder"], status["dim"]
        ids, vectors = kb.store.embedded_vectors(embedder_id, dim)
    if not len(ids):
        raise SystemExit(f"{args.index}: no embedded passages (ingested with dense=False?); run `kb embed --index {args.index}`")
    flat = DenseIndex.build(ids, vectors, dim, flat_max=len(ids) + 1)
    hnsw = DenseIndex.build(ids, vectors, dim, flat_max=0)
    queries = []
    if args.queries.exists():
        texts = [json.loads(line)["query"] for line in args.queries.read_text(encoding="utf-8").splitlines() if line.strip()]
        queries += [kb.embedder.embed_query(fold(t)) for t in texts]
    rng = np.random.default_rng(0)
    queries += list(vectors[rng.choice(len(vectors), size=min(200, len(vectors)), replace=False)])
    recalls = []
    for q in queries:
        exact = set(flat.search(q, args.k)[0].tolist())
        approx = set(hnsw.search(q, args.k)[0].tolist())
        recalls.append(len(exact & approx) / len(exact))
    print(f"{len(ids)} real {embedder_id} vectors, {len(queries)} queries: "
          f"HNSW (M=32, efSearch=128) recall@{args.k} vs exact = {np.mean(recalls):.4f} (min {np.min(recalls):.2f})")


if __name__ == "__main__":
    main()
