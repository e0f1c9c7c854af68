"""Similar practices: from a passage, the practice it states, then other regions that state the same
or a near practice — each with the sentence that says so — and nothing more.

1. **The practice** a passage states: a name it writes that other regions' reports write too — a
   practice the glossary defines, a quoted name (“扫码入企”), a lexicon or harvested term — most
   specific first (quoted or defined, then in the heading, then in fewer passages). A generic word
   (营商环境, 依法行政, 优化营商环境: kb/data/glossary.txt, or written by a large share of the
   documents, `semantic.glossary_max_doc_share`) is not a practice.
2. **Same practice**: other regions' passages that state it, quoted at the sentence that does.
3. **Near practice**: glossary neighbours — practices whose definitions are close to this one's
   (≥ `semantic.similar_min_similarity`) — and the passages that state them, marked 近似做法.
4. **Similar statement**: other regions' sentences nearest the sentence stating the practice, at the
   same threshold, marked 表述相近 (weak: they do not name the practice) — none when that many
   documents say nearly the same thing (boilerplate is not a practice either).

One entry per region, best evidence first; the list ends where the evidence ends, not at k.
The threshold is calibrated on eval/dev_similar.jsonl (scripts/eval_semantic.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from kb.answer.answers import Citation, SimilarPractices, cite, heading_only
from kb.index.glossary import plausible_name
from kb.index.phrases import locate, squash
from kb.models import Chunk, Document, Hit
from kb.query.search import Searcher

_QUOTED = re.compile(r"[“「『]([^”」』\s]{2,16})[”」』]")

SAME, NEAR, STATEMENT = "同一做法", "近似做法", "表述相近"


@dataclass(frozen=True)
class SimilarItem:
    """One region's evidence: the passage, its quote, what it states, and how it is similar."""

    hit: Hit
    citation: Citation
    practice: str | None  # the practice the quote states (the source's, or a near one)
    how: str  # 同一做法 / 近似做法 / 表述相近
    similarity: float | None  # cosine of the near practice's definition or of the sentence

    def to_dict(self) -> dict:
        return {**self.hit.to_dict(), "quote": self.citation.quote, "quote_start": self.citation.start,
                "quote_end": self.citation.end, "practice": self.practice, "how": self.how,
                "similarity": None if self.similarity is None else round(self.similarity, 4)}


@dataclass(frozen=True)
class SimilarResult(SimilarPractices):
    """`SimilarPractices` (practice, hits) with the evidence of each hit and the practice's definition."""

    items: tuple[SimilarItem, ...] = ()
    definition: str | None = None  # how the corpus defines the practice, when the glossary has it
    quote: Citation | None = None  # where the source passage states it
    candidates: tuple[str, ...] = field(default=())  # the other practices the passage states


def practices_in(s: Searcher, chunk: Chunk, doc: Document) -> list[str]:
    """The practices a passage states that other regions' reports state too, most specific first."""
    own = doc.meta.region
    glossary_names = set(s.glossary().names())
    quoted = set(_QUOTED.findall(chunk.folded))
    tokens = set(s.cut(chunk.folded))
    named = s.named_terms()
    squashed = squash(chunk.folded)
    terms = {t for t in quoted | {t for t in tokens if t in named} if plausible_name(t)}
    terms |= {n for n in glossary_names if squash(n) and squash(n) in squashed}
    heading = " ".join(chunk.section)
    scored = []
    for term in terms:
        if len(squash(term)) < 3 and term not in named:
            continue
        if s.generic(term):
            continue  # a word most reports write is not a practice
        ids = s.rows_with_phrase(term)
        elsewhere = {c.doc_id for c in s.chunks(ids[:300]).values()} - {doc.doc_id}
        if not any(d in s.docs and s.docs[d].meta.region != own for d in elsewhere):
            continue
        key = (term in quoted or term in glossary_names, term in heading, -len(ids), len(term))
        scored.append((key, term))
    scored.sort(reverse=True)
    # a name inside a longer chosen one (查一次 in 综合查一次) is the same practice
    out: list[str] = []
    for _, term in scored:
        if not any(squash(term) in squash(t) for t in out):
            out.append(term)
    return out


def similar_practices(s: Searcher, chunk_id: int, k: int = 10) -> SimilarResult:
    chunk = s.chunks([chunk_id]).get(chunk_id)
    if chunk is None or chunk.doc_id not in s.docs:
        raise ValueError(f"no passage {chunk_id} in this index")
    doc = s.docs[chunk.doc_id]
    cfg, quote_max = s.settings.semantic, s.settings.answer.quote_max
    own = doc.meta.region or doc.doc_id
    found = practices_in(s, chunk, doc)
    practice = found[0] if found else None
    items: list[SimilarItem] = []
    taken: set[str] = {own}

    def region_of(d: Document) -> str:
        return d.meta.region or d.meta.issuer or d.doc_id

    def add(c: Chunk, name: str | None, how: str, sim: float | None, at: tuple[int, int] | None) -> None:
        d = s.docs.get(c.doc_id)
        if d is None or c.doc_id == doc.doc_id or heading_only(c) or len(items) >= k:
            return
        region = region_of(d)
        if region in taken:
            return
        taken.add(region)
        citation = cite(d, c, at[0], at[1] - at[0], quote_max) if at else cite(d, c)
        rank = len(items) + 1
        hit = Hit(rank, 0.0 if sim is None else sim, None, None, c, d, weak=how == STATEMENT)
        items.append(SimilarItem(hit, citation, name, how, sim))

    source_quote: Citation | None = None
    definition = None
    seed_vector, seed_text = None, ""
    if practice is not None:
        at = locate(practice, chunk.folded)
        if at:
            source_quote = cite(doc, chunk, at[0], at[1] - at[0], quote_max)
        # 2. the same practice, stated by other regions (the passages that say most first)
        ids = [c for c in s.rows_with_phrase(practice) if c != chunk_id]
        stating = s.chunks(ids)
        order = sorted(stating.values(), key=lambda c: (-len(c.text), c.chunk_id))
        for c in order:
            add(c, practice, SAME, None, locate(practice, c.folded))
        entries = s.glossary().entries_of(practice)
        definition = entries[0].definition if entries else None
        seed_vector = s.glossary().vector_of(practice)
        if source_quote is not None:
            qs, qe = source_quote.start - chunk.start, source_quote.end - chunk.start
            seed_text = chunk.folded[qs:qe]
            if seed_vector is None:
                seed_vector = s.sentence_vector(chunk_id, qs, qe)
        # 3. near practices: glossary neighbours and the passages that state them
        if seed_vector is not None:
            for name, sim in s.practice_neighbours(seed_vector, (practice,), 5):
                if sim < cfg.similar_min_similarity:
                    break
                if s.generic(name):
                    continue
                for c in s.chunks(s.rows_with_phrase(name)).values():
                    add(c, name, NEAR, sim, locate(name, c.folded))
    if seed_vector is None:  # no practice named: the passage's most substantial sentence speaks for it
        seed_vector, seed_text = _passage_sentence_vector(s, chunk)
    # 4. the nearest statements from other regions, down to the threshold — unless so many
    # documents say nearly the same (现将有关情况报告如下) that the statement is boilerplate
    if seed_vector is not None and len(items) < k:
        near = [n for n in s.nearest_sentences(seed_vector, 200) if n[1] >= cfg.similar_min_similarity]
        chunks = s.chunks([cid for cid, *_ in near])
        docs = {chunks[cid].doc_id for cid, *_ in near if cid in chunks}
        if len(docs) < cfg.glossary_max_doc_share * max(len(s.docs), cfg.generic_min_documents):
            words = _specific_words(s, seed_text) if seed_text else set()
            for cid, sim, start, end in near:
                c = chunks.get(cid)
                # shares a word that is not generic: 坚持依法行政、优化营商环境 says nothing in common
                if c is not None and words & _specific_words(s, c.folded[start:end]):
                    add(c, None, STATEMENT, sim, (start, end))
    hits = [it.hit for it in items]
    return SimilarResult(practice, hits, tuple(items), definition, source_quote, tuple(found[1:]))


def _passage_sentence_vector(s: Searcher, chunk: Chunk):
    """The vector and text of the passage's longest sentence (its substance, for a passage naming no practice)."""
    from kb.index.sentences import spans

    cfg = s.settings.semantic
    cut = spans(chunk.text, cfg.sentence_min_chars, cfg.sentence_max_chars)
    if not cut:
        return None, ""
    start, end = max(cut, key=lambda se: se[1] - se[0])
    return s.sentence_vector(chunk.chunk_id, start, end), chunk.folded[start:end]


def _specific_words(s: Searcher, text: str) -> set[str]:
    """Words of a text that can name something done (not scaffolding, verbs, or generic words)."""
    from kb.query.question import is_content

    return {t for t in s.cut(text) if len(t) >= 2 and is_content(t) and not s.generic(t)}
