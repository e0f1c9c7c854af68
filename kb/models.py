"""The one data model that flows through the pipeline.

load → normalise → metadata → chunk → store → index (BM25, dense) → search → answer.
Every stage takes and returns these dataclasses, so each can be tested alone.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Literal

from kb.errors import BadRequest, UnknownFilter

SearchMode = Literal["bm25", "dense", "hybrid"]
Level = Literal["national", "province", "city", "county", "town"]
DocType = Literal[
    "法治政府建设年度报告", "政府工作报告", "政府信息公开工作年度报告", "提案/建议答复", "述法报告",
    "决议/决定", "通知/意见/办法", "统计公报", "部门预算/决算", "工作总结/计划", "其他",
]
DOC_TYPES: tuple[str, ...] = (
    "法治政府建设年度报告", "政府工作报告", "政府信息公开工作年度报告", "提案/建议答复", "述法报告",
    "决议/决定", "通知/意见/办法", "统计公报", "部门预算/决算", "工作总结/计划", "其他",
)
# Names earlier versions stored and users may still type: accepted wherever a document type is
# asked for (kb 0.2's 年度报告 / 提案答复 / 决议; kb 0.3's 实施方案/意见, now part of 通知/意见/办法).
DOC_TYPE_ALIASES: dict[str, str] = {
    "年度报告": "法治政府建设年度报告",
    "法治政府建设报告": "法治政府建设年度报告",
    "提案答复": "提案/建议答复",
    "建议答复": "提案/建议答复",
    "决议": "决议/决定",
    "决定": "决议/决定",
    "实施方案/意见": "通知/意见/办法",
    "实施方案": "通知/意见/办法",
    "意见": "通知/意见/办法",
    "通知": "通知/意见/办法",
    "办法": "通知/意见/办法",
    "政策文件": "通知/意见/办法",
    "规范性文件": "通知/意见/办法",
    "政府信息公开年度报告": "政府信息公开工作年度报告",
    "公报": "统计公报",
    "部门预算": "部门预算/决算",
    "部门决算": "部门预算/决算",
    "预算": "部门预算/决算",
    "决算": "部门预算/决算",
    "工作总结": "工作总结/计划",
    "工作计划": "工作总结/计划",
    "总结": "工作总结/计划",
    "计划": "工作总结/计划",
}
LEVELS: tuple[str, ...] = ("national", "province", "city", "county", "town")


def doc_type_name(name: str) -> str:
    """The canonical document type for a name or alias (提案答复 → 提案/建议答复); ValueError if unknown."""
    name = name.strip()
    if name in DOC_TYPES:
        return name
    if name in DOC_TYPE_ALIASES:
        return DOC_TYPE_ALIASES[name]
    raise UnknownFilter(f"unknown document type {name!r}; one of: {', '.join(DOC_TYPES)}")


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


PLACE_FIELDS: tuple[str, ...] = ("region", "province", "city", "county", "town", "level")


@dataclass(frozen=True)
class PlaceFields:
    """Where a document is from, as full names (光明区 · 深圳市 · 广东省, level county). The one type
    for the six place fields: region resolution returns it, `Metadata.place` gives it back, and
    corrections and filters read it. Stored and printed flat, as `Metadata`'s own fields."""

    region: str | None = None
    province: str | None = None
    city: str | None = None
    county: str | None = None
    town: str | None = None
    level: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        return {k: getattr(self, k) for k in PLACE_FIELDS}

    @classmethod
    def of(cls, source: object) -> PlaceFields:
        """The place fields of a `Metadata` (or anything with those attributes) or of a mapping."""
        if isinstance(source, dict):
            return cls(**{k: source.get(k) for k in PLACE_FIELDS})
        return cls(**{k: getattr(source, k, None) for k in PLACE_FIELDS})

    def names(self) -> tuple[str, ...]:
        """The names it holds, narrowest first kept as stored: region, province, city, county, town."""
        return tuple(n for n in (self.region, self.province, self.city, self.county, self.town) if n)


@dataclass(frozen=True)
class Metadata:
    """What a document is. `year` is the year the report covers (what filters use); `issued_year`
    the year it was issued — a 2024 政府工作报告 reviews 2023, so year 2023, issued_year 2024.
    `region_confidence` (0–1) and `region_evidence` say how the region was found (title, issuer,
    signature, self-references …, or a user's correction)."""

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
    issued_year: int | None = None
    region_confidence: float | None = None
    region_evidence: str | None = None

    @property
    def place(self) -> PlaceFields:
        return PlaceFields.of(self)


# Metadata a user may correct (`KnowledgeBase.update_metadata`, `kb docs set`).
CORRECTABLE: tuple[str, ...] = (
    "title", "region", "province", "city", "county", "town", "level", "year", "issued_year", "doc_type",
)


def checked_changes(changes: dict[str, object]) -> dict[str, object]:
    """Validated metadata corrections: known keys only (ValueError naming any other), years as
    integers, a known level and document type; '' or None clears a field."""
    out: dict[str, object] = {}
    for key, value in changes.items():
        if key not in CORRECTABLE:
            raise BadRequest(f"unknown metadata field {key!r}; correctable: {', '.join(CORRECTABLE)}")
        if isinstance(value, str):
            value = value.strip() or None
        if value is None:
            if key in ("title", "doc_type"):
                raise BadRequest(f"{key} cannot be empty")
        elif key in ("year", "issued_year"):
            try:
                value = int(value)  # type: ignore[arg-type]
            except (TypeError, ValueError):
                raise BadRequest(f"{key} must be a year, not {value!r}") from None
            if not 1900 <= value <= 2100:
                raise BadRequest(f"{key} must be a year between 1900 and 2100, not {value}")
        elif key == "level":
            if value not in LEVELS:
                raise BadRequest(f"unknown level {value!r}; one of: {', '.join(LEVELS)}")
        elif key == "doc_type":
            try:
                value = doc_type_name(str(value))
            except UnknownFilter as e:
                raise BadRequest(str(e)) from None
        else:
            value = str(value)
        out[key] = value
    return out


def with_corrections(meta: Metadata, corrections: dict[str, object]) -> Metadata:
    """The metadata a user sees: derived values overlaid with their corrections. A corrected region
    is certain, and says so."""
    if not corrections:
        return meta
    meta = replace(meta, **corrections)
    if any(k in corrections for k in PLACE_FIELDS):
        meta = replace(meta, region_confidence=1.0, region_evidence="corrected by a user")
    return meta


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
    corrected: tuple[str, ...] = ()  # metadata fields a user corrected (they outlast re-parsing)

    def to_dict(self, with_text: bool = False) -> dict:
        out = {"doc_id": self.doc_id, "source": self.source, **asdict(self.meta), "chunks": self.chunks,
               "corrected": list(self.corrected)}
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



LEVEL_LABELS = {"national": "全国", "province": "省级", "city": "市级", "county": "县级", "town": "乡镇"}


@dataclass(frozen=True)
class Filters:
    """Restrictions applied before top-k. Strings match as substrings (浙江 matches 浙江省).
    Years are the years documents cover (`Metadata.year`); with `year_basis="either"` (a year a
    query names: 2026年政府工作报告 is the one issued in 2026, which covers 2025) the issued year counts too."""

    year_from: int | None = None
    year_to: int | None = None
    province: str | None = None
    region: str | None = None
    level: str | None = None
    doc_type: str | None = None
    year_basis: Literal["covered", "either"] = "covered"

    def __post_init__(self) -> None:
        if self.doc_type:  # 提案答复 (kb 0.2's name) filters 提案/建议答复
            object.__setattr__(self, "doc_type", doc_type_name(self.doc_type))

    def is_empty(self) -> bool:
        return self == Filters()

    def accepts(self, doc: Document) -> bool:
        m = doc.meta
        if (self.year_from is not None or self.year_to is not None) and not any(
            y is not None and (self.year_from is None or y >= self.year_from) and (self.year_to is None or y <= self.year_to)
            for y in ((m.year, m.issued_year) if self.year_basis == "either" else (m.year,))
        ):
            return False
        if self.province and not (m.province and self.province in m.province):
            return False
        if self.region and not _region_matches(self.region, m):
            return False
        if self.level and m.level != self.level:
            return False
        if self.doc_type and _canonical_type(m.doc_type) != self.doc_type:
            return False
        return True

    def describe(self) -> str:
        """The scope in words, for an answer that must say what it looked at (2025年、浙江、省级报告)."""
        parts = []
        if self.year_from is not None or self.year_to is not None:
            lo, hi = self.year_from, self.year_to
            parts.append(f"{lo}年" if lo == hi else f"{lo or ''}–{hi or ''}年")
        parts += [name for name in (self.province, self.region) if name]
        if self.level:
            parts.append(f"{LEVEL_LABELS.get(self.level, self.level)}报告")
        if self.doc_type:
            parts.append(self.doc_type)
        return "、".join(parts)


def _canonical_type(name: str) -> str:
    """A stored type in today's name (a document stored as 实施方案/意见 is a 通知/意见/办法)."""
    return DOC_TYPE_ALIASES.get(name, name)


def _region_matches(wanted: str, m: Metadata) -> bool:
    return any(wanted in n or n in wanted for n in m.place.names())
