"""Memory of one shard's legs (what a shard server holds), measured at two sizes, projected to 1M and 20M.

    python scripts/bench_shard_memory.py [--sizes 60000,120000]

A shard server (kb/shard/legs.py) holds its BM25 postings and its FAISS index. This builds both for
synthetic passages shaped like the real ones — 114 distinct tokens a passage from a Zipf-shaped
vocabulary (the sample index: 316,837 postings over 2,775 passages, 23,350 terms), 384-d unit
vectors — writes them as a shard directory, loads it with `Legs` in a fresh process and reads
that process's resident memory before and after. Above `index.flat_max` (50k) a shard's FAISS index
is HNSW (M=32), as kb builds it; the projection is linear in the passages, from the slope between
the two measured sizes.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

TOKENS_PER_PASSAGE = 114
VOCAB = 60_000


def rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20


def build(n: int, out: Path, seed: int = 0) -> None:
    from kb.index.bm25 import BM25Index
    from kb.index.dense import DenseIndex
    from kb.shard.split import FORMAT, SHARD_FILE

    rng = np.random.default_rng(seed)
    ranks = np.arange(1, VOCAB + 1)
    p = 1 / ranks ** 1.05
    p /= p.sum()
    vocab = [f"t{i}" for i in range(VOCAB)]
    corpus = [[vocab[t] for t in np.unique(rng.choice(VOCAB, TOKENS_PER_PASSAGE * 2, p=p))[:TOKENS_PER_PASSAGE]]
              for _ in range(n)]
    ids = np.arange(n, dtype=np.int64)
    BM25Index.build(ids, corpus).save(out / "bm25")
    vectors = rng.standard_normal((n, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    dense = DenseIndex.build(ids, vectors, 384)
    dense.save(out / "dense")
    (out / "lexicon.txt").write_text("", encoding="utf-8")
    (out / SHARD_FILE).write_text(json.dumps({"format": FORMAT, "dim": 384, "dense_kind": dense.kind}), encoding="utf-8")


def child(directory: Path) -> dict:
    import faiss  # noqa: F401  (libraries loaded before the first reading: only the shard counts)

    import kb.index.bm25  # noqa: F401
    from kb.shard.legs import Legs

    before = rss_mib()
    legs = Legs(directory)
    after = rss_mib()
    files = {p.parent.name + "/" + p.name: p.stat().st_size for p in directory.rglob("*") if p.is_file()}
    return {"rss_mib": after - before, "dense_kind": legs.dense.kind, "passages": len(legs.chunk_ids),
            "bm25_mb": sum(v for k, v in files.items() if k.startswith("bm25/")) / 2**20,
            "faiss_mb": files.get("dense/faiss.index", 0) / 2**20}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="60000,120000")
    ap.add_argument("--child", type=Path)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.child)))
        return
    sizes = [int(s) for s in args.sizes.split(",")]
    found = []
    with tempfile.TemporaryDirectory(prefix="kb-shard-mem-") as tmp:
        for n in sizes:
            d = Path(tmp) / f"s{n}"
            d.mkdir()
            print(f"building a {n:,}-passage shard …", file=sys.stderr, flush=True)
            build(n, d)
            out = subprocess.run([sys.executable, __file__, "--child", str(d)], capture_output=True, text=True, check=True)
            found.append(json.loads(out.stdout))
    print("| passages | FAISS | resident MiB | BM25 files MB | FAISS file MB | bytes a passage |")
    print("|---|---|---|---|---|---|")
    for r in found:
        print(f"| {r['passages']:,} | {r['dense_kind']} | {r['rss_mib']:.0f} | {r['bm25_mb']:.0f} | {r['faiss_mb']:.0f} | "
              f"{r['rss_mib'] * 2**20 / r['passages']:,.0f} |")
    a, b = found[0], found[-1]
    slope = (b["rss_mib"] - a["rss_mib"]) / max(1, b["passages"] - a["passages"])  # MiB a passage
    base = a["rss_mib"] - slope * a["passages"]
    for n in (1_000_000, 20_000_000):
        print(f"projected for {n:,} passages: {(base + slope * n) / 1024:.1f} GiB "
              f"({slope * 2**20:,.0f} bytes a passage; split over S shards: ÷ S each)")


if __name__ == "__main__":
    main()
