"""The practice atlas: which region reports which practice, as a regions × practices matrix.

A cell counts the passages of a region's reports that contain the practice's name (after folding,
so 綜合查一次 counts for 综合查一次) — the same test a which-regions answer applies first, so a
region is in a column only when one of its passages really names the practice, and every cell
opens onto those quotes. Practices come from the shipped lexicon plus the terms harvested from
the corpus's quoted phrases, or from the user. National documents are not regions (as in answers).

Matching is `str.find` over all passages joined (the searcher's phrase filter): at ≈ 1 ms per
practice on 3k passages, the default vocabulary of a few hundred terms is well under a second.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .answer import Citation, cite
from .models import Chunk, Document, Filters
from .normalise import fold
from .search import Searcher


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
    return tuple(sorted({fold(t) for t in searcher.tokenizer.terms if len(t) >= 3}))


def practice_chunks(searcher: Searcher, practice: str, filters: Filters | None = None) -> dict[str, list[int]]:
    """doc_id → chunk ids of the passages that name `practice` (inside `filters`)."""
    term = fold(practice).strip()
    if not term:
        return {}
    mask = searcher.row_mask(filters or Filters(), (term,))
    if mask is None or not mask.any():
        return {}
    order = list(searcher.docs)
    out: dict[str, list[int]] = {}
    for chunk_id, doc_index in zip(searcher.bm25.chunk_ids[mask].tolist(), searcher.row_doc[mask].tolist()):
        if doc_index >= 0:
            out.setdefault(order[doc_index], []).append(int(chunk_id))
    return out


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


def cite_term(doc: Document, chunk: Chunk, term: str) -> Citation:
    """A citation whose quote is the sentence naming `term` (found in the folded text)."""
    at = chunk.folded.find(term)
    return cite(doc, chunk, at=at if at >= 0 else None, length=len(term) if at >= 0 else 0)


def cell_citations(searcher: Searcher, region: str, practice: str, filters: Filters | None = None) -> list[Citation]:
    """The quotes behind one cell: the sentence naming the practice in each of the region's passages."""
    term = fold(practice).strip()
    ids = [cid for doc_id, chunk_ids in practice_chunks(searcher, term, filters).items()
           if region_key(searcher.docs[doc_id]) == region and searcher.docs[doc_id].meta.level != "national"
           for cid in chunk_ids]
    chunks = searcher.store.chunks(ids)
    out = []
    for cid in ids:
        chunk = chunks.get(cid)
        if chunk is not None:
            out.append(cite_term(searcher.docs[chunk.doc_id], chunk, term))
    out.sort(key=lambda c: (-(c.year or 0), c.doc_id, c.start))
    return out

