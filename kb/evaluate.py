"""Retrieval evaluation on judged queries (format: ../shared/README.md): recall@10 and MRR per kind."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from kb.ingest.normalise import fold
from kb.models import Hit

MODES = ("bm25", "dense", "hybrid")


@dataclass(frozen=True)
class Judged:
    id: str
    kind: str
    query: str
    relevant: tuple[tuple[str, str], ...]  # (doc, contains)
    regions: tuple[str, ...] | None
    row: dict = field(default_factory=dict, compare=False)  # the judged row as written (figures, …)


def load_queries(path: str | Path) -> list[Judged]:
    out = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            out.append(Judged(row["id"], row.get("kind", "other"), row["query"],
                              tuple((r["doc"], r["contains"]) for r in row.get("relevant", ())),
                              tuple(row["regions"]) if "regions" in row else None, row))
        except (ValueError, KeyError, TypeError) as e:
            raise ValueError(f"{path}:{n}: bad judged query ({e})") from e
    return out


def matches(hit: Hit, doc: str, contains: str) -> bool:
    return (doc in hit.doc.source or doc in hit.doc.meta.title) and fold(contains) in hit.chunk.folded


def score(hits: list[Hit], q: Judged, k: int = 10) -> tuple[float, float]:
    """(recall@k, reciprocal rank of the first hit matching any relevant item). Recall counts the
    relevant items found out of at most k (a practice stated by 30 reports asks for 10 of them)."""
    found = sum(any(matches(h, d, c) for h in hits) for d, c in q.relevant)
    first = next((h.rank for h in hits if any(matches(h, d, c) for d, c in q.relevant)), None)
    return found / min(len(q.relevant), k), (1.0 / first if first else 0.0)


def evaluate(kb, queries: list[Judged], k: int = 10, modes=MODES) -> dict:
    """{mode: {kind: {"recall": r, "mrr": m, "n": n}}} plus per-query rows and region-answer checks."""
    table: dict[str, dict[str, dict[str, float]]] = {}
    rows = []
    for mode in modes:
        sums: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0])
        for q in queries:
            r, rr = score(kb.search(q.query, k=k, mode=mode), q, k)
            for kind in (q.kind, "all"):
                sums[kind][0] += r
                sums[kind][1] += rr
                sums[kind][2] += 1
            rows.append({"mode": mode, "id": q.id, "kind": q.kind, "recall": r, "rr": rr})
        table[mode] = {kind: {"recall": s[0] / s[2], "mrr": s[1] / s[2], "n": s[2]} for kind, s in sums.items()}
    judged = [q for q in queries if (q.regions is not None and q.kind in ("region", "regions")) or q.row.get("figures")]
    answers = answer_scores([q.row for q in judged], [kb.ask(q.query).to_dict() for q in judged]) if judged else {}
    return {"table": table, "rows": rows, "answers": answers}


def region_scores(listed: list[str], expected: tuple[str, ...]) -> tuple[float, float]:
    """(precision, recall) of a which-regions answer; names match as substrings (密云 ~ 密云区).
    Listing nothing when nothing is expected is right (1, 1)."""
    right = [got for got in listed if any(want in got for want in expected)]
    found = [want for want in expected if any(want in got for got in listed)]
    precision = len(right) / len(listed) if listed else (1.0 if not expected else 0.0)
    recall = len(found) / len(expected) if expected else (1.0 if not listed else 1.0)
    return precision, recall


_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}


def _value(text: str) -> str:
    """A figure's value compared loosely: full-width to half-width, no spaces, ％ as %."""
    return "".join(str(text).translate(_WIDTH).replace("％", "%").split())


def figure_scores(figures: list[dict], expected: list[dict]) -> tuple[int, int]:
    """(found, expected) for a figure question: an expected {"doc", "value"} is found when a figure of
    the answer has that value and cites a document whose source or title holds `doc`."""
    found = 0
    for want in expected:
        value, doc = _value(want["value"]), want.get("doc", "")
        if any(_value(f.get("value", "")) == value and (doc in (f.get("citation") or {}).get("source", "")
               or doc in (f.get("citation") or {}).get("title", "")) for f in figures):
            found += 1
    return found, len(expected)


def answer_scores(rows: list[dict], answers: list[dict]) -> dict:
    """Which-regions precision/recall and figures found, over judged rows and the answers kb gave
    (`Answer.to_dict()` each): {"regions": {n, precision, recall, exact, misses}, "figures": {…}}."""
    regions, figures, misses = [], [0, 0], []
    for row, answer in zip(rows, answers):
        if row.get("regions") is not None and row.get("kind", "region") in ("region", "regions"):
            listed = list(dict.fromkeys(e["region"] for e in answer.get("regions", [])))
            p, r = region_scores(listed, tuple(row["regions"]))
            regions.append((p, r))
            if (p, r) != (1.0, 1.0):
                misses.append({"id": row.get("id"), "query": row["query"], "precision": p, "recall": r,
                               "listed": listed, "expected": row["regions"]})
        if row.get("figures"):
            f, n = figure_scores(answer.get("figures", []), row["figures"])
            figures[0] += f
            figures[1] += n
            if f < n:
                misses.append({"id": row.get("id"), "query": row["query"], "figures_found": f, "of": n,
                               "stated": [(x.get("region"), x.get("value")) for x in answer.get("figures", [])][:8]})
    out: dict = {"misses": misses}
    if regions:
        out["regions"] = {"n": len(regions), "precision": sum(p for p, _ in regions) / len(regions),
                          "recall": sum(r for _, r in regions) / len(regions),
                          "exact": sum(1 for p, r in regions if p == r == 1.0) / len(regions)}
    if figures[1]:
        out["figures"] = {"found": figures[0], "of": figures[1], "share": figures[0] / figures[1]}
    return out


def format_table(result: dict) -> str:
    table = result["table"]
    kinds = sorted({k for m in table.values() for k in m if k != "all"}) + ["all"]
    lines = ["| kind | n | " + " | ".join(f"{m} R@10 | {m} MRR" for m in table) + " |",
             "|---|---|" + "---|---|" * len(table)]
    for kind in kinds:
        n = next(iter(table.values()))[kind]["n"]
        cells = " | ".join(f"{table[m][kind]['recall']:.3f} | {table[m][kind]['mrr']:.3f}" for m in table)
        lines.append(f"| {kind} | {n} | {cells} |")
    answers = result.get("answers") or {}
    if "regions" in answers:
        g = answers["regions"]
        lines.append(f"\nwhich-regions answers (n={g['n']}): precision {g['precision']:.3f}, recall {g['recall']:.3f}, "
                     f"exactly right {g['exact']:.3f}")
    if "figures" in answers:
        f = answers["figures"]
        lines.append(f"figures found: {f['found']} of {f['of']} ({f['share']:.3f})")
    for m in answers.get("misses", []):
        lines.append("  " + json.dumps(m, ensure_ascii=False))
    return "\n".join(lines)
