#!/usr/bin/env python
"""The sentence leg at scale: FAISS over sentence vectors — build time, memory, query latency.

    .venv/bin/python scripts/bench_sentences.py --sentences 100000,300000 --queries 200 --out /tmp/sent.json

A passage has ≈ 7 sentences (18,755 for 2,819 passages of the 47 real reports), so 100k passages
mean ≈ 700k sentence vectors and 1M passages ≈ 7M. Vectors here are random unit vectors (latency
and memory do not depend on what they are; recall does — see scripts/check_hnsw_recall.py for real
ones), queries are random unit vectors too. For each size: the index kb builds (`SentenceIndex.build`:
IDMap2 over HNSW32 above `index.flat_max`, else flat), its build seconds and resident memory, and
the latency of what the dense leg asks of it per query — the `semantic.sentence_depth` nearest
sentences, pooled to their passages (`SentenceIndex.best_passages`) — p50/p95 on one thread.
Sizes not measured are projected in the output from the measured ones (memory linear in n; HNSW
build n·log n; query latency log n), and marked as projections.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kb.index.sentence_index import SentenceIndex  # noqa: E402
from kb.settings import IndexSettings, SemanticSettings  # noqa: E402


def rss_mib() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def pct(values: list[float], p: float) -> float:
    v = sorted(values)
    x = (len(v) - 1) * p / 100
    lo, hi = math.floor(x), math.ceil(x)
    return 1000 * (v[lo] + (v[hi] - v[lo]) * (x - lo))


def measure(n: int, queries: int, flat_max: int, seed: int = 7) -> dict:
    rng = np.random.default_rng(seed)
    dim, cfg, sem = 384, IndexSettings(), SemanticSettings()
    rss0 = rss_mib()
    vecs = rng.standard_normal((n, dim), dtype=np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    ids = np.arange(1, n + 1, dtype=np.int64)
    chunk_ids = ids // 7  # ≈ 7 sentences a passage
    rss_vectors = rss_mib()
    t0 = time.perf_counter()
    index = SentenceIndex.build(ids, chunk_ids, vecs, dim, flat_max, cfg.hnsw_m, cfg.hnsw_ef_search)
    build_s = time.perf_counter() - t0
    del vecs
    rss_index = rss_mib()
    qs = rng.standard_normal((queries, dim), dtype=np.float32)
    qs /= np.linalg.norm(qs, axis=1, keepdims=True)
    index.best_passages(qs[0], sem.sentence_depth)  # warm
    times = []
    for q in qs:
        t = time.perf_counter()
        index.best_passages(q, sem.sentence_depth)
        times.append(time.perf_counter() - t)
    return {"sentences": n, "passages_equiv": n // 7, "kind": index.dense.kind, "build_s": round(build_s, 1),
            "rss_vectors_mib": round(rss_vectors - rss0), "rss_index_mib": round(rss_index - rss0),
            "query_p50_ms": round(pct(times, 50), 2), "query_p95_ms": round(pct(times, 95), 2),
            "depth": sem.sentence_depth, "measured": True}


def project(measured: list[dict], n: int) -> dict:
    """From the largest measured HNSW size: memory ∝ n, build ∝ n log n, latency ∝ log n."""
    ref = max((m for m in measured if m["kind"] == "hnsw"), key=lambda m: m["sentences"])
    r, ln = n / ref["sentences"], math.log(n) / math.log(ref["sentences"])
    return {"sentences": n, "passages_equiv": n // 7, "kind": "hnsw", "build_s": round(ref["build_s"] * r * ln),
            "rss_index_mib": round(ref["rss_index_mib"] * r), "query_p50_ms": round(ref["query_p50_ms"] * ln, 2),
            "query_p95_ms": round(ref["query_p95_ms"] * ln, 2), "depth": ref["depth"], "measured": False,
            "projected_from": ref["sentences"]}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sentences", default="20000,100000,300000")
    ap.add_argument("--project", default="700000,7000000", help="sizes to project (≈ 100k and 1M passages)")
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--flat-max", type=int, default=IndexSettings().flat_max)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out")
    args = ap.parse_args()
    import faiss

    faiss.omp_set_num_threads(args.threads)
    rows = []
    for n in (int(x) for x in args.sentences.split(",")):
        row = measure(n, args.queries, args.flat_max)
        print(json.dumps(row), flush=True)
        rows.append(row)
    if any(r["kind"] == "hnsw" for r in rows):
        for n in (int(x) for x in args.project.split(",") if x):
            row = project(rows, n)
            print(json.dumps(row), flush=True)
            rows.append(row)
    if args.out:
        Path(args.out).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
