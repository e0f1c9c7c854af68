"""What the answer layer asks of the semantic parts of a loaded index (query/semantic.py): a
passage's sentence nearest a text, the glossary practices near a text and the one a question
reads as, the stored sentences and practices nearest a vector, and which words every report
writes (generic, not a practice in common).

`SemanticLookups` is a mixin of `Searcher` (search.py), which owns the loaded sentence index,
glossary and query-vector cache these methods use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from kb.ingest.normalise import fold
from kb.query.semantic import PracticeMatch, practices_like, sentence_similarities

if TYPE_CHECKING:
    from kb.embed import Embedder
    from kb.index.bm25 import BM25Index
    from kb.index.store import Store
    from kb.models import Document
    from kb.query.semantic import Semantic, Vectors
    from kb.settings import Settings


class SemanticLookups:
    """The sentence, glossary and neighbour methods of `Searcher`, over its store, embedder, semantic
    parts and query-vector cache (and its `query_vector`, `rows_with_phrase` and `cut`)."""

    store: Store
    embedder: Embedder
    bm25: BM25Index
    settings: Settings
    docs: dict[str, Document]
    row_doc: np.ndarray
    semantic: Semantic
    _vectors: Vectors

    def sentence_similarities(self, text: str, chunk_ids: list[int]) -> dict[int, tuple[float, int, int]]:
        """For each passage among `chunk_ids`, its best sentence's cosine to `text` (embedded as a
        query) and that sentence's [start, end) in the chunk text. Sentences stored at ingest are
        used; a passage of an index built before sentence vectors is cut and embedded on the fly
        (remembered for this loaded index; `kb embed` stores them)."""
        chunks = self.store.chunks(chunk_ids)
        if not chunks:
            return {}
        return sentence_similarities(self.query_vector(fold(text)), chunks, self.store, self._vectors,
                                     self.settings.semantic)

    def glossary(self):
        """The practice glossary of this index (kb.index.glossary.Glossary; empty before sentence vectors)."""
        from kb.index.glossary import Glossary

        return self.semantic.glossary if self.semantic.glossary is not None else Glossary([], np.zeros((0, self.embedder.dim)))

    def practices_like(self, text: str, k: int = 5, min_similarity: float | None = None) -> list[PracticeMatch]:
        """The glossary practices whose definitions are nearest `text` (as a query), best first: each
        (practice, definition, similarity, chunk_ids) — the passages stating the practice. With
        `min_similarity` (e.g. settings.semantic.glossary_min_similarity) only those that close."""
        if self.semantic.glossary is None or not len(self.semantic.glossary):
            return []  # no glossary (an index without vectors): nothing to embed the text for
        return practices_like(self.query_vector(fold(text)), self.semantic.glossary, k, self.rows_with_phrase,
                              -1.0 if min_similarity is None else min_similarity)

    def read_as_practice(self, text: str) -> PracticeMatch | None:
        """The glossary practice a plain-language question is read as (按‘X’理解), if one is close
        enough (`semantic.glossary_min_similarity`) and some passage states it."""
        found = [m for m in self.practices_like(text, 1, self.settings.semantic.glossary_min_similarity) if m.chunk_ids]
        return found[0] if found else None

    def sentence_vector(self, chunk_id: int, start: int, end: int) -> np.ndarray | None:
        """The vector of a span of a stored passage, embedded as a passage (its cached sentence vector
        when the span is one of its sentences)."""
        chunk = self.store.chunks([chunk_id]).get(chunk_id)
        if chunk is None:
            return None
        from kb.index.sentences import embed_text, sentence_key

        text = embed_text(chunk.folded, start, end)
        return self._vectors.of_keys({sentence_key(text): text}).get(sentence_key(text)) if text else None

    def nearest_sentences(self, vector: np.ndarray, n: int) -> list[tuple[int, float, int, int]]:
        """(chunk id, cosine, start, end) of the stored sentences nearest a vector, best first (one
        per passage); empty for an index without sentence vectors."""
        index = self.semantic.sentences
        if index is None or not len(index):
            return []
        sids, sims = index.dense.search(vector, n)
        spans = self.store.sentence_spans(sids.tolist())
        out, seen = [], set()
        for sid, sim in zip(sids.tolist(), sims.tolist()):
            if sid in spans and spans[sid][0] not in seen:
                cid, s, e = spans[sid]
                seen.add(cid)
                out.append((cid, float(sim), s, e))
        return out

    def practice_neighbours(self, vector: np.ndarray, exclude: tuple[str, ...], k: int) -> list[tuple[str, float]]:
        """Glossary practices whose definitions are nearest a vector (other than `exclude`)."""
        from kb.query.semantic import neighbours_of

        return neighbours_of(vector, self.semantic.glossary, exclude, k)

    def document_share(self, phrase: str) -> float:
        """The share of this index's documents with a passage containing the phrase (营商环境 ≈ 1)."""
        ids = self.rows_with_phrase(phrase)
        if not ids or not self.docs:
            return 0.0
        docs = set(self.row_doc[np.isin(self.bm25.chunk_ids, np.asarray(ids, dtype=np.int64))].tolist())
        return len(docs - {-1}) / len(self.docs)

    def generic(self, phrase: str) -> bool:
        """Is this a word every report writes (营商环境, 依法行政), not a practice in common? The word
        list (kb/data/glossary.txt [generic]), or — in an index of `semantic.generic_min_documents`
        documents or more — a share of documents of `semantic.glossary_max_doc_share` or more."""
        from kb.index.glossary import generic_words
        from kb.query.question import is_content

        cfg = self.settings.semantic
        common = generic_words()
        rest = phrase
        for word in sorted(common, key=len, reverse=True):
            rest = rest.replace(word, " ")
        if not any(is_content(t) for t in self.cut(rest) if t.strip()):
            return True  # 营商环境, and 优化营商环境: nothing in it but generic words and verbs
        return len(self.docs) >= cfg.generic_min_documents and self.document_share(phrase) >= cfg.glossary_max_doc_share
