"""Which-regions questions from paraphrase questions: "哪些地区" + the paraphrase, and as expected
regions the row's own `regions` or else the regions of the documents its relevant passages are in
(read from an index of those documents). A deterministic rewrite of a frozen file, for measuring
how plain-language which-regions questions are answered (the glossary's 按“X”理解 reading).

    python scripts/make_region_paraphrases.py eval/dev_paraphrase.jsonl --index IDX > out.jsonl
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kb import KnowledgeBase

_END = re.compile(r"[。？?！!，,\s]+$")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("queries", type=Path)
    ap.add_argument("--index", required=True, type=Path)
    args = ap.parse_args()
    kb = KnowledgeBase.open(args.index)
    docs = kb.documents()
    for line in args.queries.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        regions = row.get("regions")
        if regions is None:
            regions = sorted({d.meta.region for r in row["relevant"] for d in docs
                              if (r["doc"] in d.source or r["doc"] in d.meta.title) and d.meta.region})
        query = _END.sub("", row["query"])
        if not query.startswith("哪些"):
            query = "哪些地区" + query
        print(json.dumps({"id": row["id"] + "-r", "kind": "region", "query": query, "regions": regions,
                          "relevant": row["relevant"]}, ensure_ascii=False))
    kb.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
