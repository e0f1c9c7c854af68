"""A region's page: its reports by year, the practices they name, and its figures over the years.

Built from the same pieces as answers and the atlas — the region a document is filed under
(`atlas.region_key`), passages that name a practice after folding, and figures read only where a
number follows the indicator (`answer.extract_figures`) — so the page never shows what an answer
would not cite. Indicators live in `kb/data/indicators.txt`, which a user can extend.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from kb.answer.answers import Citation, Figure, cite
from kb.answer.atlas import region_key, vocabulary
from kb.answer.figures import extract_figures
from kb.models import Document
from kb.query.search import Searcher

_NUMBER = re.compile(r"\d+(?:\.\d+)?")


@lru_cache(maxsize=1)
def indicators() -> tuple[str, ...]:
    """Indicators from kb/data/indicators.txt, longest first (直接纠错率 before 纠错率)."""
    text = resources.files("kb").joinpath("data", "indicators.txt").read_text(encoding="utf-8")
    names = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]
    return tuple(sorted(dict.fromkeys(names), key=len, reverse=True))


@dataclass(frozen=True)
class PracticeMention:
    practice: str
    passages: int
    years: tuple[int, ...]
    citation: Citation  # the first passage that names it, for a quote and a link


@dataclass(frozen=True)
class RegionProfile:
    region: str
    province: str | None
    city: str | None
    level: str | None
    documents: tuple[Document, ...]  # by covered year, then title
    practices: tuple[PracticeMention, ...]  # most passages first
    figures: tuple[Figure, ...]  # by indicator, then year

    @property
    def years(self) -> tuple[int, ...]:
        return tuple(sorted({d.meta.year for d in self.documents if d.meta.year}))

    def series(self) -> dict[str, list[tuple[int, float, str]]]:
        """indicator → [(year, numeric value, value as written)], one value per year (the first
        stated), for indicators stated in at least one year; a chart draws those with ≥ 2 years."""
        out: dict[str, dict[int, tuple[float, str]]] = {}
        for f in self.figures:
            number = _NUMBER.search(f.value)
            if f.year is None or number is None:
                continue
            out.setdefault(canonical_indicator(f.indicator), {}).setdefault(f.year, (float(number.group()), f.value))
        return {name: [(y, v, raw) for y, (v, raw) in sorted(by_year.items())] for name, by_year in out.items()}


def canonical_indicator(written: str) -> str:
    """行政首长出庭应诉率 → 出庭应诉率: the indicator from the list that a written name ends in."""
    from kb.ingest.normalise import fold

    folded = fold(written)
    return next((name for name in indicators() if folded.endswith(name)), written)


def region_names(searcher: Searcher) -> list[str]:
    """Every region documents are filed under (national documents excluded), by name."""
    return sorted({region_key(d) for d in searcher.docs.values() if d.meta.level != "national"})


def region_profile(searcher: Searcher, region: str) -> RegionProfile | None:
    docs = [d for d in searcher.docs.values() if region_key(d) == region]
    if not docs:
        return None
    docs.sort(key=lambda d: (d.meta.year or 0, d.meta.title))
    first = next((d.meta for d in docs if d.meta.province), docs[0].meta)

    # The practices its own passages name (after folding; the region's passages only, so a page
    # costs a scan of one region's text, not a corpus-wide match per vocabulary term).
    chunks = {d.doc_id: searcher.chunks_of(d.doc_id) for d in docs}
    practices: list[PracticeMention] = []
    for practice in vocabulary(searcher):
        mine = {doc_id: [c for c in cs if practice in c.folded] for doc_id, cs in chunks.items()}
        mine = {doc_id: cs for doc_id, cs in mine.items() if cs}
        if not mine:
            continue
        years = tuple(sorted({searcher.docs[d].meta.year for d in mine if searcher.docs[d].meta.year}))
        doc_id = next(d.doc_id for d in docs if d.doc_id in mine)
        chunk = mine[doc_id][0]
        at = chunk.folded.find(practice)
        practices.append(PracticeMention(practice, sum(len(c) for c in mine.values()), years,
                                         cite(searcher.docs[doc_id], chunk, at=at, length=len(practice))))
    practices = [p for p in practices if not any(p.practice != o.practice and p.practice in o.practice
                                                 and o.passages >= p.passages for o in practices)]
    practices.sort(key=lambda p: (-p.passages, p.practice))

    figures: list[Figure] = []
    for doc in docs:
        for chunk in chunks[doc.doc_id]:
            figures += _chunk_figures(region, doc, chunk)
    figures.sort(key=lambda f: (canonical_indicator(f.indicator), f.year or 0, f.citation.start))
    return RegionProfile(region, first.province, first.city, first.level, tuple(docs), tuple(practices), tuple(figures))


def _chunk_figures(region: str, doc: Document, chunk) -> list[Figure]:
    """Each stated value once, under the indicator written right before it: in 行政复议案件纠错率1.56%
    the value is a 纠错率, not a count of 行政复议案件."""
    best: dict[int, tuple[int, int, str, str, int, int]] = {}  # value end → (name end, len, …)
    for indicator in indicators():
        if indicator not in chunk.folded:
            continue
        for name, value, pos, length in extract_figures(chunk, indicator):
            key = (pos + len(name), len(indicator))
            if pos + length not in best or key > best[pos + length][:2]:
                best[pos + length] = (*key, name, value, pos, length)
    return [Figure(region, doc.meta.year, name, value, cite(doc, chunk, at=pos, length=length))
            for _, _, name, value, pos, length in best.values()]
