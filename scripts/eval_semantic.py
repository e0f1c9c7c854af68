"""Measure the semantic leg: judged queries (recall@10, MRR per kind and mode) and similar-practice
cases (precision and recall of the regions listed), on one index, optionally over a sweep of settings.

    python scripts/eval_semantic.py --index IDX --queries eval/dev_paraphrase.jsonl eval/realworld_queries.jsonl \
        --similar eval/dev_similar.jsonl [--modes hybrid,dense] [--set semantic.sentence_leg=0] \
        [--sweep semantic.similar_min_similarity=0.86,0.88,0.90] [--kinds paraphrase] [--json out.json]

A similar case (eval/dev_similar.jsonl, eval/heldout/similar.jsonl) names a seed — a document (a
substring of its file name or title) and a string the seed passage contains — and the regions of
other documents that state the same or a near practice; a region matches as a substring (光明 ~ 光明区).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kb import KnowledgeBase
from kb.evaluate import answer_scores, evaluate, format_table, load_queries, region_scores
from kb.ingest.normalise import fold
from kb.settings import parse_overrides


def seed_chunk(kb: KnowledgeBase, doc: str, contains: str) -> int | None:
    want = fold(contains)
    for d in kb.documents():
        if doc in d.source or doc in d.meta.title:
            for c in kb.chunks_of(d.doc_id):
                if want in c.folded:
                    return c.chunk_id
    return None


def evaluate_similar(kb: KnowledgeBase, path: str, k: int = 10) -> dict:
    rows = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        case = json.loads(line)
        cid = seed_chunk(kb, case["seed"]["doc"], case["seed"]["contains"])
        if cid is None:
            rows.append({"id": case["id"], "error": "seed not found", "precision": 0.0, "recall": 0.0})
            continue
        result = kb.similar_practices(cid, k=k)
        listed = list(dict.fromkeys(h.doc.meta.region or h.doc.meta.title for h in result.hits))
        p, r = region_scores(listed, tuple(case["expected_regions"]))
        rows.append({"id": case["id"], "seed": cid, "practice": result.practice, "expected": case["expected_regions"],
                     "listed": listed, "how": [it.how for it in getattr(result, "items", ())],
                     "precision": p, "recall": r})
    n = len(rows) or 1
    p = sum(r["precision"] for r in rows) / n
    r = sum(r["recall"] for r in rows) / n
    return {"n": len(rows), "precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0, "rows": rows}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--index", required=True)
    ap.add_argument("--queries", nargs="*", default=[])
    ap.add_argument("--similar", nargs="*", default=[])
    ap.add_argument("--modes", default="bm25,dense,hybrid")
    ap.add_argument("--kinds", default="", help="only these kinds of queries (comma-separated)")
    ap.add_argument("--set", action="append", default=[], help="a setting for this run (section.field=value)")
    ap.add_argument("--sweep", default="", help="section.field=v1,v2,…: one run per value")
    ap.add_argument("--json", help="write every result here")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args()
    base = parse_overrides(args.set)
    runs = [dict(base)]
    if args.sweep:
        key, _, values = args.sweep.partition("=")
        runs = [{**base, key: v} for v in values.split(",")]
    kinds = {k for k in args.kinds.split(",") if k}
    out = []
    for overrides in runs:
        kb = KnowledgeBase.open(args.index, overrides=overrides)
        result = {"overrides": overrides, "queries": {}, "similar": {}}
        for path in args.queries:
            qs = [q for q in load_queries(path) if not kinds or q.kind in kinds]
            t0 = time.perf_counter()
            # a row whose answer is empty on purpose (no report states it) has nothing to retrieve:
            # it counts in the which-regions checks only
            r = evaluate(kb, [q for q in qs if q.relevant], modes=tuple(args.modes.split(",")))
            if any(not q.relevant and q.regions is not None for q in qs):
                judged = [q for q in qs if (q.regions is not None and q.kind in ("region", "regions"))
                          or q.row.get("figures")]
                r["answers"] = answer_scores([q.row for q in judged], [kb.ask(q.query).to_dict() for q in judged])
            r["seconds"] = round(time.perf_counter() - t0, 1)
            result["queries"][path] = r
            print(f"## {path} {overrides or ''} ({len(qs)} queries, {r['seconds']} s)\n{format_table(r)}\n")
            if not args.quiet:
                for row in r["rows"]:
                    if row["mode"] == "hybrid" and row["kind"] == "paraphrase" and row["rr"] < 1:
                        print(f"   {row['id']} rr={row['rr']:.2f} recall={row['recall']:.2f}")
        for path in args.similar:
            r = evaluate_similar(kb, path)
            result["similar"][path] = r
            print(f"## similar {path} {overrides or ''}: n={r['n']} precision {r['precision']:.3f} "
                  f"recall {r['recall']:.3f} F1 {r['f1']:.3f}")
            if not args.quiet:
                for row in r["rows"]:
                    print(f"   {row['id']} P {row['precision']:.2f} R {row['recall']:.2f} practice={row.get('practice')} "
                          f"listed={row.get('listed')} expected={row.get('expected')} how={row.get('how')}")
        kb.close()
        out.append(result)
    if args.json:
        Path(args.json).write_text(json.dumps(out, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
