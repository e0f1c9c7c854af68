"""Calibrate `evidence.state_threshold` on DEV questions: which-regions precision/recall per threshold.

    python scripts/calibrate_evidence.py --index IDX QUERIES.jsonl [--index IDX2 QUERIES2.jsonl …]

Each question is answered once with the threshold at 0 (every place that holds every gating unit in
one clause and window is a candidate statement, with its score); a region's score is its best
statement's. For each threshold the regions at or above it are the answer, scored against the
judged `regions` (substring match, as kb eval does). Prints the curve and the best threshold by
F1 (ties: the higher threshold). Never run it on the frozen test split: calibration is tuning.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kb import KnowledgeBase  # noqa: E402
from kb.answer.answers import Answerer, _region_of, understand  # noqa: E402
from kb.evaluate import region_scores  # noqa: E402


def region_best(kb: KnowledgeBase, question: str) -> dict[str, float]:
    """{region: best statement score} for a which-regions question, with no threshold."""
    def run() -> dict[str, float]:
        s = kb._loaded()
        q = understand(s, question)
        if q.practice is None:
            return {}
        best: dict[str, float] = {}
        concepts = len(q.practice.concepts)
        per: dict[str, dict[int, float]] = {}
        for h, st in Answerer(s).stating(q):
            if h.doc.meta.level == "national":
                continue
            r = _region_of(h.doc)
            per.setdefault(r, {})
            per[r][st.concept] = max(per[r].get(st.concept, 0.0), st.score)
        for r, by_concept in per.items():
            if len(by_concept) == concepts:  # asked together: every concept stated; the weakest decides
                best[r] = min(by_concept.values())
        return best

    return kb._read(run)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--index", action="append", type=Path, required=True)
    ap.add_argument("queries", nargs="+", type=Path, help="one judged file per --index, in the same order")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    if len(args.index) != len(args.queries):
        raise SystemExit("give one --index per queries file")
    cases = []
    for index, path in zip(args.index, args.queries):
        kb = KnowledgeBase.open(index, overrides={"evidence.state_threshold": 0.0})
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        for row in rows:
            if row.get("regions") is None or row.get("kind", "region") not in ("region", "regions"):
                continue
            cases.append((row["id"], tuple(row["regions"]), region_best(kb, row["query"])))
        kb.close()
    grid = [round(0.5 + 0.025 * i, 3) for i in range(21)]
    curve = []
    for t in grid:
        ps, rs = [], []
        for _, expected, best in cases:
            listed = [r for r, score in best.items() if score >= t]
            p, r = region_scores(listed, expected)
            ps.append(p)
            rs.append(r)
        p, r = sum(ps) / len(ps), sum(rs) / len(rs)
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        curve.append({"threshold": t, "precision": p, "recall": r, "f1": f1})
        print(f"threshold {t:.3f}: P {p:.3f} R {r:.3f} F1 {f1:.3f}")
    best = max(curve, key=lambda c: (round(c["f1"], 4), c["threshold"]))
    print(f"best: {best['threshold']:.3f} (P {best['precision']:.3f} R {best['recall']:.3f}) over {len(cases)} questions")
    if args.json:
        args.json.write_text(json.dumps({"cases": len(cases), "curve": curve, "best": best}, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
