"""The one data model that flows through the pipeline.

load → normalise → metadata → chunk → store → index (BM25, dense) → search → answer.
Every stage takes and returns these dataclasses, so each can be tested alone.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Literal

SearchMode = Literal["bm25", "dense", "hybrid"]
Level = Literal["national", "province", "city", "county", "town"]
DocType = Literal["年度报告", "提案答复", "政府工作报告", "决议", "其他"]
DOC_TYPES: tuple[str, ...] = ("年度报告", "提案答复", "政府工作报告", "决议", "其他")
LEVELS: tuple[str, ...] = ("national", "province", "city", "county", "town")


@dataclass(frozen=True)
class RawDocument:
    """What a loader read from one file (or one JSONL line), before cleaning.

    `hints` carries metadata the container itself states (a JSONL row's year/region/published,
    an HTML page's <title> and publish date); they win over anything guessed from the text.
    """

    source: str
    text: str
    title: str | None = None
    hints: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class CleanText:
    """Noise-free text in its original script, plus the page-header fields found in the scrape.

    `fields` maps header labels as printed (发布机构, 來源, 公開日期 …) to their values; `title` is the
    title line found in the scrape, if any. `text` is what chunk spans and citations index into.
    """

    text: str
    title: str | None = None
    fields: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Metadata:
    title: str
    doc_type: str = "其他"
    year: int | None = None
    published: str | None = None  # ISO date, YYYY-MM-DD
    issuer: str | None = None
    region: str | None = None
    province: str | None = None
    city: str | None = None
    county: str | None = None
    town: str | None = None
    level: str | None = None


@dataclass(frozen=True)
class Section:
    """A heading-delimited span of a document. `path` lists the headings from the top level down."""

    path: tuple[str, ...]
    start: int
    end: int


@dataclass(frozen=True)
class ChunkSpan:
    """Where a chunk sits in its document: section path and [start, end) of the original text."""

    section: tuple[str, ...]
    start: int
    end: int


@dataclass(frozen=True)
class Document:
    doc_id: str
    source: str
    text: str
    meta: Metadata
    content_hash: str
    chunks: int = 0

    def to_dict(self, with_text: bool = False) -> dict:
        out = {"doc_id": self.doc_id, "source": self.source, **asdict(self.meta), "chunks": self.chunks}
        if with_text:
            out["text"] = self.text
        return out


@dataclass(frozen=True)
class Chunk:
    chunk_id: int
    doc_id: str
    ordinal: int
    section: tuple[str, ...]
    start: int
    end: int
    text: str  # original script, == document.text[start:end]
    folded: str  # Traditional→Simplified, full→half width: what search sees


@dataclass(frozen=True)
class Hit:
    rank: int
    score: float
    bm25_rank: int | None
    dense_rank: int | None
    chunk: Chunk
    doc: Document
    weak: bool = False  # no query word occurs in it: found by meaning alone (dense leg)

    def to_dict(self) -> dict:
        m = self.doc.meta
        return {
            "rank": self.rank,
            "score": round(self.score, 6),
            "bm25_rank": self.bm25_rank,
            "dense_rank": self.dense_rank,
            "doc_id": self.doc.doc_id,
            "chunk_id": self.chunk.chunk_id,
            "title": m.title,
            "source": self.doc.source,
            "region": m.region,
            "province": m.province,
            "level": m.level,
            "year": m.year,
            "doc_type": m.doc_type,
            "section": list(self.chunk.section),
            "text": self.chunk.text,
            "start": self.chunk.start,
            "end": self.chunk.end,
            "weak": self.weak,
        }


@dataclass(frozen=True)
class Filters:
    """Restrictions applied before top-k. Strings match as substrings (浙江 matches 浙江省)."""

    year_from: int | None = None
    year_to: int | None = None
    province: str | None = None
    region: str | None = None
    level: str | None = None
    doc_type: str | None = None

    def is_empty(self) -> bool:
        return self == Filters()

    def accepts(self, doc: Document) -> bool:
        m = doc.meta
        if self.year_from is not None and (m.year is None or m.year < self.year_from):
            return False
        if self.year_to is not None and (m.year is None or m.year > self.year_to):
            return False
        if self.province and not (m.province and self.province in m.province):
            return False
        if self.region and not _region_matches(self.region, m):
            return False
        if self.level and m.level != self.level:
            return False
        if self.doc_type and m.doc_type != self.doc_type:
            return False
        return True


def _region_matches(wanted: str, m: Metadata) -> bool:
    names = [n for n in (m.region, m.province, m.city, m.county, m.town) if n]
    return any(wanted in n or n in wanted for n in names)
