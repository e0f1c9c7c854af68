"""Retrieval evaluation on judged queries (format: ../shared/README.md): recall@10 and MRR per kind."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from .models import Hit
from .normalise import fold

MODES = ("bm25", "dense", "hybrid")


@dataclass(frozen=True)
class Judged:
    id: str
    kind: str
    query: str
    relevant: tuple[tuple[str, str], ...]  # (doc, contains)
    regions: tuple[str, ...] | None


def load_queries(path: str | Path) -> list[Judged]:
    out = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            out.append(Judged(row["id"], row.get("kind", "other"), row["query"],
                              tuple((r["doc"], r["contains"]) for r in row["relevant"]),
                              tuple(row["regions"]) if "regions" in row else None))
        except (ValueError, KeyError, TypeError) as e:
            raise ValueError(f"{path}:{n}: bad judged query ({e})") from e
    return out


def matches(hit: Hit, doc: str, contains: str) -> bool:
    return (doc in hit.doc.source or doc in hit.doc.meta.title) and fold(contains) in hit.chunk.folded


def score(hits: list[Hit], q: Judged) -> tuple[float, float]:
    """(recall@len(hits), reciprocal rank of the first hit matching any relevant item)."""
    found = sum(any(matches(h, d, c) for h in hits) for d, c in q.relevant)
    first = next((h.rank for h in hits if any(matches(h, d, c) for d, c in q.relevant)), None)
    return found / len(q.relevant), (1.0 / first if first else 0.0)


def evaluate(kb, queries: list[Judged], k: int = 10, modes=MODES) -> dict:
    """{mode: {kind: {"recall": r, "mrr": m, "n": n}}} plus per-query rows and region-answer checks."""
    table: dict[str, dict[str, dict[str, float]]] = {}
    rows = []
    for mode in modes:
        sums: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0])
        for q in queries:
            r, rr = score(kb.search(q.query, k=k, mode=mode), q)
            for kind in (q.kind, "all"):
                sums[kind][0] += r
                sums[kind][1] += rr
                sums[kind][2] += 1
            rows.append({"mode": mode, "id": q.id, "kind": q.kind, "recall": r, "rr": rr})
        table[mode] = {kind: {"recall": s[0] / s[2], "mrr": s[1] / s[2], "n": s[2]} for kind, s in sums.items()}
    region_checks = []
    for q in queries:
        if q.regions is None:
            continue
        listed = [e.region for e in kb.ask(q.query).regions]
        ok = all(any(want in got for got in listed) for want in q.regions) and all(
            any(want in got for want in q.regions) for got in listed)
        region_checks.append({"id": q.id, "query": q.query, "expected": list(q.regions), "listed": listed, "ok": ok})
    return {"table": table, "rows": rows, "regions": region_checks}


def format_table(result: dict) -> str:
    table = result["table"]
    kinds = sorted({k for m in table.values() for k in m if k != "all"}) + ["all"]
    lines = ["| kind | n | " + " | ".join(f"{m} R@10 | {m} MRR" for m in table) + " |",
             "|---|---|" + "---|---|" * len(table)]
    for kind in kinds:
        n = next(iter(table.values()))[kind]["n"]
        cells = " | ".join(f"{table[m][kind]['recall']:.3f} | {table[m][kind]['mrr']:.3f}" for m in table)
        lines.append(f"| {kind} | {n} | {cells} |")
    for c in result["regions"]:
        lines.append(f"\nregions {c['id']} {c['query']}: {'OK' if c['ok'] else 'WRONG'} listed={c['listed']} expected={c['expected']}")
    return "\n".join(lines)
