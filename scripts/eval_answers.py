"""Which-regions and figure answers, scored per split, for any version of kb (before/after a change).

    python scripts/eval_answers.py --index IDX QUERIES.jsonl [QUERIES2.jsonl …] [--code DIR] [--json OUT]

Runs `kb ask --json` over every question of each file in one process (the kb at --code, default this
repository, so an older checkout can be measured with the same scoring), and scores the answers with
kb.evaluate.answer_scores from THIS repository: which-regions precision/recall (region names match
as substrings, no others allowed) and figures found (value and citing document). Prints one line per
file and every miss. Indexes can be BM25-only (`kb ingest --no-dense`): region lists do not depend on
the dense leg.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kb.evaluate import answer_scores  # noqa: E402


def ask_all(code: Path, index: Path, questions: list[str]) -> list[dict]:
    env = {**os.environ, "PYTHONPATH": str(code), "HF_HUB_OFFLINE": "1"}
    out = []
    for start in range(0, len(questions), 50):  # argv stays small
        batch = questions[start : start + 50]
        r = subprocess.run([sys.executable, "-m", "kb.cli", "ask", *batch, "--json", "--index", str(index)],
                           env=env, cwd=code, capture_output=True, text=True, check=False)
        lines = [json.loads(line) for line in r.stdout.splitlines() if line.strip()]
        if r.returncode != 0 or len(lines) != len(batch):
            raise SystemExit(f"kb ask failed ({r.returncode}): {r.stderr[-2000:]}")
        out += lines
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("queries", nargs="+", type=Path)
    ap.add_argument("--index", type=Path, required=True)
    ap.add_argument("--code", type=Path, default=ROOT, help="the kb checkout that answers (default: this one)")
    ap.add_argument("--json", type=Path, help="write the scores and misses here")
    ap.add_argument("--quiet", action="store_true", help="no per-miss lines")
    args = ap.parse_args()
    report = {}
    for path in args.queries:
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        rows = [r for r in rows if r.get("regions") is not None or r.get("figures")]
        answers = ask_all(args.code, args.index, [r["query"] for r in rows])
        scores = answer_scores(rows, answers)
        report[str(path)] = scores
        parts = []
        if "regions" in scores:
            g = scores["regions"]
            parts.append(f"which-regions n={g['n']} P {g['precision']:.3f} R {g['recall']:.3f} exact {g['exact']:.3f}")
        if "figures" in scores:
            f = scores["figures"]
            parts.append(f"figures {f['found']}/{f['of']} = {f['share']:.3f}")
        print(f"{path}: " + "; ".join(parts), flush=True)
        if not args.quiet:
            for m in scores["misses"]:
                print("   ", json.dumps(m, ensure_ascii=False))
    if args.json:
        args.json.write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
