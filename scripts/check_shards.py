"""Do N shards give the unsharded index's answers? Top-10 per query and mode, and whole answers.

    python scripts/check_shards.py --index DIR [--shards 3] [--key province] QUERIES.jsonl…

Cuts the index's legs into shards (`kb shard`) in a temporary folder, opens the router over them in
this process (the same router `kb serve --shards` and Ray Serve run) and compares, query by query,
the top-10 chunk ids (with their BM25 and dense ranks) in each mode, and `ask`'s whole answer.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kb import KnowledgeBase  # noqa: E402
from kb import serialise as js  # noqa: E402
from kb.shard.router import ShardedKnowledgeBase, local_legs  # noqa: E402
from kb.shard.split import split  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("queries", nargs="+", type=Path)
    ap.add_argument("--index", type=Path, required=True)
    ap.add_argument("--shards", type=int, default=3)
    ap.add_argument("--key", default="province")
    ap.add_argument("--no-ask", action="store_true", help="compare searches only")
    args = ap.parse_args()
    queries = [json.loads(line)["query"] for f in args.queries for line in f.read_text(encoding="utf-8").splitlines()
               if line.strip()]
    with tempfile.TemporaryDirectory(prefix="kb-shards-") as tmp:
        written = split(args.index, Path(tmp), args.shards, args.key)
        for w in written:
            print(f"shard {w['shard']}: {w['documents']} documents, {w['chunks']} passages ({w['dense_kind']}) — "
                  f"{args.key}: {', '.join(map(str, w['values']))[:80]}")
        whole = KnowledgeBase.open(args.index)
        router = ShardedKnowledgeBase.open(args.index, local_legs([Path(w["path"]) for w in written]))
        same = {m: 0 for m in ("hybrid", "bm25", "dense", "ask")}
        took = {"whole": 0.0, "sharded": 0.0}
        for q in queries:
            for mode in ("hybrid", "bm25", "dense"):
                t0 = time.perf_counter()
                a = [(h.chunk.chunk_id, h.bm25_rank, h.dense_rank) for h in whole.search(q, k=10, mode=mode)]
                t1 = time.perf_counter()
                b = [(h.chunk.chunk_id, h.bm25_rank, h.dense_rank) for h in router.search(q, k=10, mode=mode)]
                took["whole"] += t1 - t0
                took["sharded"] += time.perf_counter() - t1
                same[mode] += a == b
                if a != b:
                    print(f"DIFFERENT {mode}: {q}\n  whole   {a}\n  sharded {b}")
            if not args.no_ask:
                same["ask"] += js.answer(whole.ask(q)) == js.answer(router.ask(q))
        n = len(queries)
        print(f"\n{n} queries, {args.shards} shards by {args.key}: identical top-10 — "
              + ", ".join(f"{m} {same[m]}/{n}" for m in ("hybrid", "bm25", "dense"))
              + ("" if args.no_ask else f"; identical answers (ask) {same['ask']}/{n}")
              + f"; search time whole {took['whole'] / (3 * n) * 1000:.1f} ms, sharded {took['sharded'] / (3 * n) * 1000:.1f} ms a query")


if __name__ == "__main__":
    main()
