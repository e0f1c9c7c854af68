"""`KnowledgeBase`: the one public entry point the CLI and the UI are thin layers over.

Entry points check what they are asked before spending work on it: a query over the length limit
(limits.py), a k below 1, a chunk id no passage can have are one-line errors, not tracebacks or
minutes of work.
"""

from __future__ import annotations

import dataclasses
import json
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from kb import failpoints
from kb.answer.answers import Answer, Answerer, Citation, SimilarPractices
from kb.answer.atlas import Atlas, build_atlas, cell_citations, vocabulary
from kb.answer.profile import RegionProfile, region_names, region_profile
from kb.embed import DEFAULT_EMBEDDER, Embedder, canonical_id, get_embedder
from kb.errors import BadRequest, UnknownChunk, UnknownDocument
from kb.index.bm25 import BM25Index
from kb.index.dense import DenseIndex
from kb.index.indexer import DOCS_VERSION_KEY, MANIFEST_KEY, Indexer, stored_manifest
from kb.index.lock import write_lock
from kb.index.segment import (
    EmbedderMismatch,
    IndexUnusable,
    Manifest,
    SegmentMissing,
    manifest_text,
    parse_manifest,
    read_manifest,
    verified_segment,
)
from kb.index.store import DB_NAME, DatabaseRefused, Store
from kb.index.tokenize import Tokenizer
from kb.ingest.pipeline import IngestReport, warm_parsers
from kb.limits import Limits, check_query
from kb.models import PLACE_FIELDS, Chunk, Document, Filters, Hit, SearchMode, checked_changes
from kb.query.budget import Budget
from kb.query.budget import applied as budget_applied
from kb.query.budget import current as current_budget
from kb.query.search import ParsedQuery, Searcher
from kb.query.semantic import Semantic
from kb.settings import Settings, in_force, settings

MAX_CHUNK_ID = 2**63 - 1  # SQLite's INTEGER
T = TypeVar("T")


@dataclass(frozen=True)
class QueryResult:
    """What one query in the UI shows, read from one index snapshot: the answer, the passages
    (in the chosen mode), how the query was read, and the documents they cite (for exports)."""

    query: str
    mode: SearchMode
    answer: Answer
    hits: list[Hit]
    parsed: ParsedQuery
    documents: Mapping[str, Document]
    segment: str | None
    took_ms: float


class Hits(list):
    """The hits of one search (a list of Hit), with `notice`: set when the query's work budget cut
    something short (query/budget.py) — the hits are the best found within it — and `work`: what
    the query spent (phrase look-ups, milliseconds of work, what was cut)."""

    def __init__(self, hits: Iterable[Hit] = (), notice: str | None = None, work: Mapping[str, object] | None = None):
        super().__init__(hits)
        self.notice = notice
        self.work = dict(work or {})


def default_index_path() -> Path:
    """`$KB_INDEX`, else `index/` — the same rule for the CLI and the UI."""
    return Path(os.environ.get("KB_INDEX") or "index")


class KnowledgeBase:
    """A corpus store plus its BM25 and dense indexes, in one directory.

    Opening is cheap; the indexes and the embedder load on the first search. Every read runs in
    one database snapshot and follows the committed manifest, so a long-lived handle (the UI's)
    sees a new index as soon as a writer — in this process or another — commits it, and never a
    half-written one. Writes go through `Indexer` (one writer per index, see indexer.py).

    Reads from many threads (the UI's sessions) run side by side: each has its own snapshot and
    connection (store.py), and the loaded indexes are shared read-only; only loading a new segment
    takes a lock.
    """

    def __init__(self, directory: Path, store: Store, manifest: Manifest,
                 overrides: Mapping[str, object] | None = None) -> None:
        self.directory = directory
        self.store = store
        self.manifest = manifest  # the latest one any read saw
        self.overrides = dict(overrides or {})
        self._settings: dict[str, Settings] = {}  # in force, by the manifest's recorded settings
        self.settings_for(manifest)  # an override that needs a rebuild is refused now, not at the first query
        self._manifests: dict[str, Manifest] = {}  # by manifest text: the last few seen
        # (segment, documents version, its searcher): the newest loaded, shared by every thread
        self._current: tuple[str, int, Searcher] | None = None
        self._load_lock = threading.Lock()
        self._local = threading.local()  # .manifest, .docs_version: what this thread's snapshot holds
        # .served: (segment, documents version) the last read in this thread answered from

    # ---- opening -----------------------------------------------------------------------
    @classmethod
    def open(
        cls,
        path: str | Path | None = None,
        embedder: str | None = None,
        create: bool = False,
        overrides: Mapping[str, object] | None = None,
    ) -> KnowledgeBase:
        """Open the index at `path` (default: $KB_INDEX or index/).

        `embedder` is checked against the one the index was built with: an index is never queried
        with vectors from another model. `create=True` makes a new index when none exists (built
        with `overrides` recorded). The index answers with the settings it was built with; `overrides`
        ({"retrieval.depth": 200}) change them for this handle — one that needs a rebuild raises
        NeedsRebuild naming the command that applies it (see settings.py).
        """
        directory = Path(path) if path is not None else default_index_path()
        fresh = create and not (directory / DB_NAME).exists()  # made under the write lock, in _create
        store = None if fresh else Store(directory, create=create)  # refuses emptied and foreign databases
        try:
            manifest = (stored_manifest(store) or cls._adopt_mirror(directory, store)) if store else None
        except IndexUnusable as e:
            store.close()
            if isinstance(e, DatabaseRefused):
                raise
            raise IndexUnusable(f"{e}; run `kb check --index {directory}`, repair with `kb reindex --index {directory}`") from e
        except BaseException:
            store.close()
            raise
        if manifest is None:
            if store:
                store.close()  # a database without a manifest: a first ingest that was stopped
            if not create:
                raise IndexUnusable(f"{directory}: no kb index here; build one with `kb ingest PATH --index {directory}`")
            store, manifest = cls._create(directory, embedder or DEFAULT_EMBEDDER, overrides)
        if embedder is not None and canonical_id(embedder) != manifest.embedder_id:
            store.close()
            raise EmbedderMismatch(
                f"{directory}: index was built with embedder {manifest.embedder_id} ({manifest.dim}-d), "
                f"not {canonical_id(embedder)}; use that embedder, or build a new index with --index"
            )
        try:
            return cls(directory, store, manifest, overrides)
        except BaseException:
            store.close()
            raise

    @staticmethod
    def _create(directory: Path, spec: str, overrides: Mapping[str, object] | None) -> tuple[Store, Manifest]:
        def new_manifest() -> Manifest:
            return Manifest(embedder_id=canonical_id(spec), dim=get_embedder(spec).dim)

        with Indexer.session(directory, new_manifest, overrides=overrides) as writer:
            if writer.manifest.segment is None:  # nobody created it while we waited for the lock
                writer.publish_new()
        store = Store(directory)
        manifest = stored_manifest(store)
        assert manifest is not None
        return store, manifest

    @staticmethod
    def _adopt_mirror(directory: Path, store: Store) -> Manifest | None:
        """kb 0.1.0 kept the manifest only in manifest.json: move it into the database, once —
        when the database holds what it counts (not a replaced or emptied database)."""
        manifest = read_manifest(directory)
        if manifest is None:
            return None
        chunks = store.count("chunks")
        if chunks != manifest.counts.get("chunks"):
            raise DatabaseRefused(
                f"{store.path} has no manifest and holds {chunks} passages, but {directory / 'manifest.json'} counts "
                f"{manifest.counts.get('chunks')}: the database was replaced or emptied. kb writes nothing here: restore "
                "kb.sqlite from a backup, or rebuild from your files with `kb ingest PATH --index NEW_DIR`")
        with write_lock(directory), store.transaction():
            if stored_manifest(store) is None:
                store.set_state(MANIFEST_KEY, manifest_text(manifest))
        return stored_manifest(store)

    @property
    def embedder(self) -> Embedder:
        return get_embedder(self.manifest.embedder_id)

    def close(self) -> None:
        self.store.close()

    # ---- writing (one writer per index; readers carry on) ---------------------------------
    def _writer(self, wait: bool = True, on_wait: Callable[[str], None] | None = None, rebuild: tuple[str, ...] = ()):
        return Indexer.session(self.directory, wait=wait, on_wait=on_wait, overrides=self.overrides, rebuild=rebuild)

    def ingest(
        self,
        paths: Iterable[str | Path],
        dense: bool = True,
        progress: bool = False,
        on_file: Callable[[Path, int, int], None] | None = None,
        on_embed: Callable[[int, int], None] | None = None,
        reparse: bool = False,
        max_file_mb: float | None = None,
        wait: bool = True,
        on_wait: Callable[[str], None] | None = None,
        readd: bool = False,
        ray: str | None = None,
        limits: Limits | None = None,
        sources: Mapping[Path, str] | None = None,
    ) -> IngestReport:
        """Add files and folders; re-index what changed. `dense=False` leaves embedding for `embed()`;
        `reparse=True` re-derives metadata and chunks of unchanged files (after upgrading kb; a
        user's corrections stay); `readd=True` adds documents removed with `remove_document` again.
        `limits` (default: the CLI's, `max_file_mb` overriding its file size) bound what each input
        may expand to; an input over one fails with one line. `sources` records another name for
        a path (an upload's `upload/<hash>/<name>`). Another writer on this index: wait for it
        (`on_wait` hears who), or raise IndexBusy.
        `ray="auto"` or an address parses and embeds on a Ray cluster (see distributed.py)."""
        lim = (limits or Limits.cli()).with_file_mb(max_file_mb)
        warm_parsers()
        with self._writer(wait, on_wait, ("reparse",) if reparse else ()) as writer:
            return writer.ingest(paths, dense, progress, on_file, on_embed, reparse, lim, sources, readd, ray)

    def embed(self, progress: bool = False, limit: int | None = None, on_embed: Callable[[int, int], None] | None = None,
              wait: bool = True, on_wait: Callable[[str], None] | None = None) -> int:
        """Embed chunks that have no vector yet, resumably; returns how many were embedded."""
        with self._writer(wait, on_wait) as writer:
            return writer.embed(progress, limit, on_embed)

    def reindex(self, wait: bool = True, on_wait: Callable[[str], None] | None = None, allow_empty: bool = False) -> None:
        """Rebuild every index file from the store (the repair `kb check` points to), applying this
        handle's overrides (chunk sizes re-chunk every document from its stored text). Refuses to
        turn an index of N passages into an empty one unless `allow_empty`."""
        self.rebuild(self.directory, wait, on_wait, allow_empty, self.overrides).close()

    @classmethod
    def rebuild(cls, path: str | Path | None = None, wait: bool = True, on_wait: Callable[[str], None] | None = None,
                allow_empty: bool = False, overrides: Mapping[str, object] | None = None) -> KnowledgeBase:
        """`kb reindex`: rebuild every index file from the store — also when the committed manifest
        is unreadable (tampered, damaged), which `open` refuses; returns the repaired index, open."""
        directory = Path(path) if path is not None else default_index_path()
        with Indexer.session(directory, wait=wait, on_wait=on_wait, recover=True, overrides=overrides,
                             rebuild=("reindex",)) as writer:
            writer.reindex(allow_empty)
        return cls.open(directory, overrides=overrides)

    def update_metadata(self, doc_id: str, **changes: object) -> Document:
        """Correct a document's metadata: title, region, province, city, county, town, level, year,
        issued_year, doc_type (another key: ValueError naming it; '' or None clears a field).

        A region given without its parents is completed from the gazetteer when the name is
        unambiguous (光明区 → 深圳市, 广东省, county). The correction is kept by the document's text,
        so `kb ingest --reparse` and re-ingesting the same file keep it; readers see it atomically.
        """
        fixes = checked_changes(changes)
        if fixes.get("region"):
            from kb.ingest.places import place_of

            # the hierarchy the gazetteer vouches for (光明 → 光明区, 深圳市, 广东省); parents it cannot
            # vouch for are cleared, not left over from the wrong place
            place = place_of(str(fixes["region"]), fixes.get("province"))  # type: ignore[arg-type]
            for key in PLACE_FIELDS:
                if key == "region":
                    fixes["region"] = place.get("region") or fixes["region"]
                else:
                    fixes.setdefault(key, place.get(key))
        if not fixes:
            raise BadRequest("nothing to change: give at least one of title, region, province, city, county, "
                             "town, level, year, issued_year, doc_type")
        with self._writer() as writer:
            return writer.update_metadata(doc_id, fixes)

    def remove_document(self, doc_id: str) -> None:
        """Delete a document and its passages from the index (one atomic switch). Re-ingesting the
        same file does not bring it back (`kb ingest --readd` does)."""
        with self._writer() as writer:
            writer.remove_document(doc_id)

    # ---- reading -----------------------------------------------------------------------
    def _read(self, read: Callable[[], T], point: str | None = None) -> T:
        """Run `read` inside one database snapshot, after following the manifest committed in it.
        `point`: a failpoint passed inside the snapshot besides read.snapshot (read.query)."""
        outer = getattr(self._local, "manifest", None), getattr(self._local, "docs_version", None)
        for attempt in range(3):
            with self.store.snapshot():
                self._local.manifest = self._follow_manifest()
                self._local.docs_version = self.store.get_state(DOCS_VERSION_KEY)
                try:
                    failpoints.hit("read.snapshot")
                    if point:
                        failpoints.hit(point)
                    out = read()
                    self._local.served = (self._local.manifest.segment, self._local.docs_version)
                    return out
                except SegmentMissing:
                    if attempt == 2:
                        raise
                finally:
                    self._local.manifest, self._local.docs_version = outer
            # pruned between our snapshot and the load: a newer manifest is committed; read again
        raise AssertionError("unreachable")

    def _follow_manifest(self) -> Manifest:
        """The manifest committed in this thread's snapshot (parsed once per distinct text)."""
        text = self.store.get_state(MANIFEST_KEY)
        if text is None:
            raise IndexUnusable(f"{self.directory}: the index has no manifest; run `kb check`")
        manifest = self._manifests.get(text)
        if manifest is None:
            manifest = parse_manifest(text, str(self.store.path))
            keep = settings().cache.manifests - 1
            self._manifests = {**dict(list(self._manifests.items())[-keep:] if keep else []), text: manifest}
        self.manifest = manifest
        return manifest

    def served(self) -> tuple[str | None, str | None]:
        """(segment, documents version) the last read in this thread answered from: the index
        generation a server reports with each answer (None, None before any read)."""
        return getattr(self._local, "served", (None, None))

    def _view(self) -> Manifest:
        """The manifest of the read in progress in this thread."""
        manifest = getattr(self._local, "manifest", None)
        if manifest is None:
            raise RuntimeError("KnowledgeBase: index read outside _read()")
        return manifest

    def _loaded(self) -> Searcher:
        """The loaded indexes of this read's manifest and documents: shared by every thread reading them."""
        key = (str(self._view().segment), int(getattr(self._local, "docs_version", None) or 0))
        current = self._current
        if current is not None and current[:2] == key:
            return current[2]
        with self._load_lock:
            current = self._current
            if current is not None and current[:2] == key:
                return current[2]
            if current is not None and current[0] == key[0]:  # corrected metadata, same indexes: new documents view
                s = current[2]
                searcher = self._new_searcher(s.tokenizer, s.bm25, s.dense, s.semantic)
            else:
                searcher = self._load(self._view())
            if current is None or key > current[:2]:  # segment names sort by time: keep the newest
                self._current = (*key, searcher)
            return searcher

    def _load(self, manifest: Manifest) -> Searcher:
        repair = f"run `kb check --index {self.directory}`, repair with `kb reindex --index {self.directory}`"
        seg = verified_segment(self.directory, manifest) if manifest.segment else self.directory / "segments"
        if not manifest.segment or not seg.exists():
            raise SegmentMissing(f"{seg}: index segment missing; {repair}")
        missing = [f for f in ("lexicon.txt", "bm25/chunk_ids.npy", "dense/faiss.index") if not (seg / f).exists()]
        if missing:  # being pruned (a newer manifest is committed), or damaged
            raise SegmentMissing(f"{seg}: {', '.join(missing)} missing; {repair}")
        try:
            terms = (seg / "lexicon.txt").read_text(encoding="utf-8").split("\n")
            bm25 = BM25Index.load(seg / "bm25")
            dense = DenseIndex.load(seg / "dense", manifest.dim, self.settings_for(manifest).index.hnsw_ef_search)
            semantic = Semantic.load(seg, manifest.dim, self.settings_for(manifest).index.hnsw_ef_search)
        except FileNotFoundError as e:
            raise SegmentMissing(f"{seg}: {e.filename} missing; {repair}") from e
        except Exception as e:  # FAISS and numpy raise RuntimeError/ValueError on damaged files
            if not seg.exists():
                raise SegmentMissing(f"{seg}: index segment missing; {repair}") from e
            raise IndexUnusable(f"{seg}: index files unreadable ({type(e).__name__}: {' '.join(str(e).split())[:240]}); {repair}") from e
        tokenizer = Tokenizer(terms)
        if tokenizer.hash != manifest.lexicon_hash:
            raise IndexUnusable(f"{seg}: lexicon does not match the manifest; {repair}")
        return self._new_searcher(tokenizer, bm25, dense, semantic)

    def _new_searcher(self, tokenizer: Tokenizer, bm25: BM25Index, dense: DenseIndex,
                      semantic: Semantic | None = None) -> Searcher:
        """A searcher over loaded indexes and the documents as this snapshot has them, with the
        settings the index was built with (and this handle's overrides)."""
        return Searcher(self.store, tokenizer, bm25, dense, self.embedder, self.store.documents(),
                        self.settings_for(self._view()), semantic=semantic)

    def settings_for(self, manifest: Manifest) -> Settings:
        """The settings in force for an index state: what it recorded, this machine's, KB_SETTINGS,
        then this handle's overrides (NeedsRebuild for one a rebuild must apply)."""
        key = json.dumps(manifest.settings, sort_keys=True)
        found = self._settings.get(key)
        if found is None:
            recorded = manifest.built_with()
            found = in_force(recorded, self.overrides)
            if manifest.segment:
                recorded.refuse_rebuild(found)
            keep = settings().cache.manifests - 1
            self._settings = {**dict(list(self._settings.items())[-keep:] if keep else []), key: found}
        return found

    @property
    def settings(self) -> Settings:
        """The settings in force for the latest committed index this handle has seen."""
        return self.settings_for(self.manifest)

    def searcher(self) -> Searcher:
        """The loaded indexes of the current manifest (loaded once per manifest, on first use)."""
        return self._read(self._loaded)

    def search(
        self,
        query: str,
        k: int = 10,
        mode: SearchMode = "hybrid",
        filters: Filters | None = None,
        max_per_doc: int | None = None,
        depth: int | None = None,
        infer_filters: bool = True,
    ) -> list[Hit]:
        """Raises QueryTooLong over `max_query_chars`, ValueError for k < 1. The query runs under a
        work budget (settings `query.*`): past a cap or the deadline, the best hits found so far come
        back with `Hits.notice` saying so."""
        check_query(query)
        _check_k(k)
        with self._budget() as spent:
            hits = self._read(lambda: self._ready(mode != "bm25").search(query, k, mode, filters, max_per_doc, depth,
                                                                        infer_filters), "read.query")
        return Hits(hits, spent.notice, _work(spent))

    def _budget(self):
        """The work budget of one query (see query/budget.py), with this index's settings."""
        return budget_applied(Budget.start(self.settings.query))

    def _ready(self, dense: bool = True) -> Searcher:
        """The loaded indexes, with what a first query loads loaded; the query's clock starts now."""
        searcher = self._loaded()
        searcher.ready(dense)
        current_budget().restart()
        return searcher

    def parse(self, query: str, filters: Filters | None = None) -> ParsedQuery:
        """How a query is read: tokens, quoted phrases, and the year/region it names."""
        check_query(query)
        with self._budget():
            return self._read(lambda: self._ready(False).parse(query, filters), "read.query")

    def ask(self, question: str, filters: Filters | None = None, k: int = 10) -> Answer:
        """Which regions / compare / figures / general, answered with exact, located quotes."""
        check_query(question)
        _check_k(k)
        with self._budget() as spent:
            answer = self._read(lambda: Answerer(self._ready()).ask(question, filters, k), "read.query")
        return _with_notice(answer, spent)

    def query(self, text: str, k: int = 10, mode: SearchMode = "hybrid", filters: Filters | None = None) -> QueryResult:
        """Answer, passages and parse of one query in ONE snapshot, so the answer card and the
        passages below it can never come from two index states (an ingest may commit between
        two calls). A general question's hybrid passages are the answer's own, not retrieved twice."""
        check_query(text)
        _check_k(k)

        def run() -> QueryResult:
            t0 = time.perf_counter()
            s = self._ready()
            answer = Answerer(s).ask(text, filters, k)
            if mode == "hybrid" and answer.intent == "general":
                hits = answer.hits
            else:
                hits = s.search(text, k, mode, filters)
            parsed = s.parse(text, filters)
            took = (time.perf_counter() - t0) * 1000
            return QueryResult(text, mode, _with_notice(answer, spent), hits, parsed, s.docs, self._view().segment, took)

        with self._budget() as spent:
            return self._read(run, "read.query")

    def atlas(self, practices: Sequence[str] | None = None, filters: Filters | None = None, limit: int = 12) -> Atlas:
        """Regions × practices: passages naming each practice per region (see atlas.py)."""
        return self._read(lambda: build_atlas(self._loaded(), practices, filters, limit))

    def atlas_quotes(self, region: str, practice: str, filters: Filters | None = None) -> list[Citation]:
        """The quotes behind one atlas cell."""
        return self._read(lambda: cell_citations(self._loaded(), region, practice, filters))

    def practices(self) -> tuple[str, ...]:
        """Practice names the atlas offers: the lexicon plus terms harvested from this corpus."""
        return self._read(lambda: vocabulary(self._loaded()))

    def regions(self) -> list[str]:
        """Regions documents are filed under (what a region page can show)."""
        return self._read(lambda: region_names(self._loaded()))

    def region_profile(self, region: str) -> RegionProfile | None:
        """A region's documents by year, the practices it reports, its figures over the years."""
        return self._read(lambda: region_profile(self._loaded(), region))

    def similar(self, chunk_id: int, k: int = 10) -> list[Hit]:
        """Passages most like this one from other regions (those stating the same practice first)."""
        return self.similar_practices(chunk_id, k).hits

    def similar_practices(self, chunk_id: int, k: int = 10) -> SimilarPractices:
        """The practice a passage states, and passages from other regions like it (see Answerer.similar)."""
        _check_k(k)
        if isinstance(chunk_id, bool) or not isinstance(chunk_id, int) or not 0 <= chunk_id <= MAX_CHUNK_ID:
            raise UnknownChunk(chunk_id)

        def run() -> SimilarPractices:
            s = self._ready()
            if chunk_id not in s.chunks([chunk_id]):
                raise UnknownChunk(chunk_id)
            return Answerer(s).similar(chunk_id, k)

        with self._budget():
            return self._read(run, "read.query")

    def tune(self, options=None, progress=None):
        """Experimental: fine-tune e5-small on pairs mined from this index's texts (embed/tune.py).
        Returns a TuneReport naming the new embedder id; this index keeps its own embedder."""
        from kb.embed.tune import TuneOptions, tune

        return self._read(lambda: tune(self.store, options or TuneOptions(), progress))

    def documents(self) -> list[Document]:
        return self._read(self.store.documents)

    def document(self, doc_id: str) -> Document | None:
        return self._read(lambda: self.store.document(doc_id))

    def get_document(self, doc_id: str) -> Document:
        """The document with this id, or UnknownDocument (a clear one-line error)."""
        doc = self.document(doc_id)
        if doc is None:
            raise UnknownDocument(doc_id, str(self.directory))
        return doc

    def chunks_of(self, doc_id: str) -> list[Chunk]:
        return self._read(lambda: self.store.chunks_of(doc_id))

    def chunk(self, chunk_id: int) -> Chunk | None:
        if not 0 <= chunk_id <= MAX_CHUNK_ID:
            return None
        return self._read(lambda: self.store.chunks([chunk_id]).get(chunk_id))

    def status(self) -> dict:
        m, docs_version = self._read(lambda: (self._view(), self._local.docs_version))
        return {
            "index": str(self.directory),
            "documents": m.counts.get("documents", 0),
            "chunks": m.counts.get("chunks", 0),
            "embedded": m.counts.get("embedded", 0),
            "sentences": m.counts.get("sentences", 0),  # sentence vectors of the semantic leg
            "definitions": m.counts.get("definitions", 0),  # practice definitions in the glossary
            "embedder": m.embedder_id,
            "dim": m.dim,
            "dense_index": m.dense_kind,
            "lexicon_terms": m.lexicon_terms,
            "segment": m.segment,
            "updated_at": m.updated_at,
            "settings": self.settings_for(m).to_dict(),  # in force: recorded, machine, overrides
            "docs_version": docs_version,  # changes with every metadata correction (same segment)
        }

    def warm(self, numba: bool = False) -> None:
        """Load indexes and the embedder now (and optionally compile numba BM25), e.g. at UI start."""
        s = self.searcher()
        s.embedder.embed_query("预热")
        if numba:
            s.bm25.use_numba()


def _with_notice(answer: Answer, spent: Budget) -> Answer:
    """The answer, its notice led by the budget's when the query's work was cut short."""
    if spent.notice is None:
        return answer
    return dataclasses.replace(answer, notice=" ".join(filter(None, (spent.notice, answer.notice))))


def _work(spent: Budget) -> dict[str, object]:
    return {"phrase_lookups": spent.phrase_lookups, "elapsed_ms": round(spent.elapsed_ms, 1),
            "cut": ",".join(spent.cut)}


def _check_k(k: int) -> None:
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise BadRequest(f"k must be a whole number of passages, at least 1 (not {k!r})")
