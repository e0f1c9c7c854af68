"""The evidence stage over retrieved passages: a reranker applied after the two legs and fusion
(as txtai composes one over its search), so retrieval, fusion and evidence are three replaceable pieces.

Passages are ordered by evidence tier, then by the fused rank:
3 — states the question's practice and, for a figure question, a value follows it;
2 — states the practice (evidence.py decides: every head, in one sentence, as asked or tolerated);
1 — names it in its title or section path, or holds every head without stating it;
0 — neither.
A which-regions question is about local reports: national ones follow them within a tier.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from kb.answer.figures import figures_in
from kb.ingest.normalise import fold
from kb.models import Chunk, Document
from kb.query.question import Practice, Reading, indicator_of

T = TypeVar("T")
Tier = Callable[[Chunk, Document], int]


def tier_of(reading: Reading, stated: Callable[[Practice], bool], corpus) -> Tier | None:
    """The tier function for a question, or None when it names no practice."""
    practice = reading.practice
    if practice is None:
        return None
    figure = reading.intent == "figure"
    if figure:
        practice = indicator_of(practice, corpus, stated)  # 行政诉讼败诉率 asked, 败诉率 stated

    def tier(chunk: Chunk, doc: Document) -> int:
        if practice.find(chunk.folded) is not None:
            return 3 if figure and figures_in(chunk, practice) else 2
        context = fold(" ".join((doc.meta.title, *chunk.section)))
        return 1 if practice.find(context) or practice.find_parts(chunk.folded) else 0

    return tier


def rerank(items: Sequence[tuple[Chunk, Document, T]], tier: Tier | None, local_first: bool) -> list[tuple[Chunk, Document, T]]:
    """`items` (in fused order) by (evidence tier, national last when `local_first`, fused order)."""
    keyed = [((-(tier(chunk, doc) if tier else 0), local_first and doc.meta.level == "national", i), (chunk, doc, extra))
             for i, (chunk, doc, extra) in enumerate(items)]
    keyed.sort(key=lambda kv: kv[0])
    return [item for _, item in keyed]
