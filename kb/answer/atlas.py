"""The practice atlas: which region reports which practice, as a regions × practices matrix.

A cell counts the passages of a region's reports that state the practice — resolved and matched
exactly as a which-regions answer does (question.py: the practice as the corpus words it, and its
variants: quote marks between the words, suffixes, swapped halves, synonyms; Traditional text
folded), so a column and `kb ask 哪些地区推行X` always list the same regions, and every cell opens
onto the same quotes. Practices come from the shipped lexicon plus the terms harvested from the
corpus's quoted phrases, or from the user. National documents are not regions (as in answers).

Matching goes through the phrase index (kb/phrases.py): a fraction of a millisecond per variant.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from kb.answer.answers import Citation, quote_for
from kb.ingest.normalise import fold
from kb.models import Document, Filters
from kb.query.question import Practice
from kb.query.search import Searcher


@dataclass(frozen=True)
class AtlasRegion:
    region: str
    province: str | None
    level: str | None
    years: tuple[int, ...]


@dataclass(frozen=True)
class Atlas:
    practices: tuple[str, ...]
    regions: tuple[AtlasRegion, ...]
    cells: dict[tuple[str, str], tuple[int, ...]]  # (region, practice) → chunk ids, in document order

    def count(self, region: str, practice: str) -> int:
        return len(self.cells.get((region, practice), ()))


def region_key(doc: Document) -> str:
    """The name a document is filed under in answers and the atlas (its region, else issuer, else title)."""
    m = doc.meta
    return m.region or m.issuer or m.title


def vocabulary(searcher: Searcher) -> tuple[str, ...]:
    """Practices the atlas can offer: the lexicon plus the corpus's harvested terms (multi-character, folded)."""
    return tuple(sorted({fold(t) for t in searcher.named_terms() if len(t) >= 3}))


def practice_chunks(searcher: Searcher, practice: str, filters: Filters | None = None) -> dict[str, list[int]]:
    """doc_id → chunk ids of the passages that name `practice` (inside `filters`)."""
    resolved = _practice(searcher, practice)
    if resolved is None:
        return {}
    return searcher.by_document(searcher.rows_stating(resolved, filters))


def build_atlas(
    searcher: Searcher,
    practices: Sequence[str] | None = None,
    filters: Filters | None = None,
    limit: int = 12,
    min_regions: int = 2,
) -> Atlas:
    """The matrix for `practices`, or — when none are given — for the `limit` vocabulary terms
    reported by the most regions (at least `min_regions`: a practice one region reports compares
    nothing; and not by all of them, see below)."""
    auto = not practices
    candidates = vocabulary(searcher) if auto else tuple(dict.fromkeys(fold(p).strip() for p in practices if p.strip()))
    cells: dict[tuple[str, str], list[int]] = {}
    reach: dict[str, tuple[int, int]] = {}
    for practice in candidates:
        regions: set[str] = set()
        passages = 0
        for doc_id, chunk_ids in practice_chunks(searcher, practice, filters).items():
            doc = searcher.docs[doc_id]
            if doc.meta.level == "national":
                continue
            key = region_key(doc)
            cells.setdefault((key, practice), []).extend(sorted(chunk_ids))
            regions.add(key)
            passages += len(chunk_ids)
        reach[practice] = (len(regions), passages)
    if auto:
        # A column every region fills says nothing (法治政府, 行政复议 in every report), nor one that
        # a single region fills: the default shows the practices that tell regions apart most —
        # those about half of the regions report (the larger of the two groups it splits them into
        # is smallest), then the more widely reported.
        total = len({r for r, _ in cells})
        ceiling = total - 1 if total >= 3 else total
        ranked = sorted((p for p in candidates if min_regions <= reach[p][0] <= ceiling),
                        key=lambda p: (max(reach[p][0], total - reach[p][0]), -reach[p][0], -reach[p][1], p))
        chosen = _drop_contained(ranked)[:limit]
    else:
        chosen = list(candidates)
    kept = {(r, p): tuple(ids) for (r, p), ids in cells.items() if p in chosen}
    regions = _regions(searcher, {r for r, _ in kept}, filters)
    regions.sort(key=lambda e: (-sum(1 for p in chosen if (e.region, p) in kept), e.province or "~", e.region))
    return Atlas(tuple(chosen), tuple(regions), kept)


def _drop_contained(ranked: list[str]) -> list[str]:
    """双随机 and 一公开 add nothing next to 双随机、一公开 when they reach the same regions: keep the
    longer term once a shorter one inside it ranks no higher."""
    kept: list[str] = []
    for term in ranked:
        if not any(term in other or other in term for other in kept):
            kept.append(term)
    return kept


def _regions(searcher: Searcher, names: Iterable[str], filters: Filters | None) -> list[AtlasRegion]:
    wanted = set(names)
    found: dict[str, tuple[str | None, str | None, set[int]]] = {}
    for doc in searcher.docs.values():
        key = region_key(doc)
        if key not in wanted or doc.meta.level == "national" or (filters and not filters.accepts(doc)):
            continue
        province, level, years = found.get(key, (doc.meta.province, doc.meta.level, set()))
        if doc.meta.year:
            years.add(doc.meta.year)
        found[key] = (province or doc.meta.province, level or doc.meta.level, years)
    return [AtlasRegion(name, p, lv, tuple(sorted(ys))) for name, (p, lv, ys) in found.items()]


def _practice(searcher: Searcher, practice: str) -> Practice | None:
    """The practice as a which-regions answer resolves it (its variants included), if any report states it."""
    term = fold(practice).strip()
    resolved = searcher.read(term).practice if term else None
    return resolved if resolved is not None and resolved.attested else None


def cell_citations(searcher: Searcher, region: str, practice: str, filters: Filters | None = None) -> list[Citation]:
    """The quotes behind one cell: the sentence naming the practice in each of the region's passages."""
    resolved = _practice(searcher, practice)
    if resolved is None:
        return []
    ids = [cid for doc_id, chunk_ids in practice_chunks(searcher, practice, filters).items()
           if region_key(searcher.docs[doc_id]) == region and searcher.docs[doc_id].meta.level != "national"
           for cid in chunk_ids]
    chunks = searcher.chunks(ids)
    out = []
    for cid in ids:
        chunk = chunks.get(cid)
        if chunk is not None:
            quote = quote_for(searcher.docs[chunk.doc_id], chunk, resolved)
            if quote is not None:
                out.append(quote)
    out.sort(key=lambda c: (-(c.year or 0), c.doc_id, c.start))
    return out

