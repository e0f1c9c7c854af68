"""The one writer of an index: ingest, embed and reindex, each ending in one atomic switch.

Order of work, chosen so that killing the process at any moment leaves the previous index whole:

1. take the write lock (lock.py): a second writer waits or stops with a clear message;
2. parse every input (ingest.read_inputs) — nothing written;
3. embed the passages that have no vector yet, committing each batch to the embedding cache (a
   content-addressed cache: vectors of passages not indexed yet harm nobody, and a re-run reuses them);
4. one write transaction: store the documents, tokenise, build the BM25 and FAISS segment beside
   the current one (fsynced), record the manifest naming it — then COMMIT, the single switch;
5. mirror manifest.json (atomic rename) and prune segments no reader can still be loading.

Readers (KnowledgeBase) never take the lock; each query reads inside one SQLite snapshot, so it
sees the manifest and the rows of one committed state.

A disk that refuses a write (full, failing, read-only) stops the write before the switch with one
`StorageError` naming the path, the free space and about how much is needed (storage.py); the
index is as it was. Failpoints (failpoints.py) mark each step, so crash tests stop kb exactly there.
"""

from __future__ import annotations

import dataclasses
import shutil
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from kb import failpoints, limits
from kb.embed import expect_passages, get_embedder
from kb.errors import UnknownDocument
from kb.index.bm25 import BM25Index
from kb.index.dense import DenseIndex
from kb.index.derive import derive, input_text, recipe
from kb.index.glossary import Entry, Glossary, generic_words
from kb.index.lock import write_lock
from kb.index.phrases import PhraseIndex, squash
from kb.index.segment import (
    MANIFEST,
    IndexUnusable,
    Manifest,
    fsync_tree,
    link_file,
    link_tree,
    manifest_text,
    new_segment_dir,
    parse_manifest,
    prune_segments,
    read_manifest,
    segment_path,
    verified_segment,
    write_manifest,
)
from kb.index.storage import describe as describe_storage_error  # noqa: F401 (re-exported)
from kb.index.storage import storage_error, storage_problem  # noqa: F401 (re-exported)
from kb.index.sentence_index import SentenceIndex
from kb.index.store import Store, embed_input
from kb.index.tokenize import Tokenizer, harvest_terms
from kb.ingest.pipeline import FilePlan, IngestReport, ParseOptions, apply, passage_rows, read_inputs, within_budget
from kb.limits import Limits
from kb.models import Document, with_corrections
from kb.settings import Settings, in_force

MANIFEST_KEY = "manifest"
# Bumped by every write that changes document rows without a new segment (a metadata correction):
# readers holding loaded indexes re-read the documents (filters, region names) when it changes.
DOCS_VERSION_KEY = "documents_version"

OnEmbed = Callable[[int, int], None]
EmbedBatches = Callable[[Iterable[list[tuple[str, str]]]], Iterator[tuple[list[tuple[str, str]], np.ndarray]]]


def stored_manifest(store: Store) -> Manifest | None:
    text = store.get_state(MANIFEST_KEY)
    return parse_manifest(text, str(store.path)) if text is not None else None


class Indexer:
    """Holds the write lock and its own database connection for the length of one write.

    `config` is the settings this write builds with: the index's own (read back from its manifest),
    with the explicit overrides of this command laid over them; the new manifest records them."""

    def __init__(self, directory: Path, store: Store, manifest: Manifest, config: Settings) -> None:
        self.directory = directory
        self.store = store
        self.manifest = manifest
        self.config = config
        self.recorded = manifest.built_with()  # what the committed index was built with
        self.warnings: list[str] = []  # after the switch: what did not go as planned but harms nothing

    @classmethod
    @contextmanager
    def session(
        cls,
        directory: Path,
        new_manifest: Callable[[], Manifest] | None = None,
        wait: bool = True,
        on_wait: Callable[[str], None] | None = None,
        recover: bool = False,
        overrides: Mapping[str, object] | None = None,
        rebuild: Iterable[str] = (),
    ) -> Iterator[Indexer]:
        """Lock the index, open a writer connection, read the committed manifest (or start one).
        `recover` (kb reindex): a manifest that is unreadable or missing is rebuilt from what the
        store and manifest.json still say, rather than refused. `overrides` change settings for
        this write and the index after it; one that needs a rebuild this write does not do
        (`rebuild`: "reindex", "reparse") is refused with the command that applies it."""
        with write_lock(directory, wait, on_wait):
            store = Store(directory, create=new_manifest is not None)
            try:
                try:
                    manifest = stored_manifest(store)
                except IndexUnusable:
                    if not recover:
                        raise
                    manifest = None
                if manifest is None and recover:
                    manifest = recovered_manifest(directory, store)
                fresh = manifest is None or not manifest.segment
                if manifest is None:
                    if new_manifest is None:
                        raise IndexUnusable(f"{directory}: no kb index here")
                    manifest = new_manifest()
                recorded = manifest.built_with()
                config = in_force(recorded, overrides)
                if not fresh:
                    recorded.refuse_rebuild(config, allowed=rebuild)
                yield cls(directory, store, manifest, config)
            finally:
                store.close()

    # ---- the three writes ----------------------------------------------------------------
    def ingest(
        self,
        paths: Iterable[str | Path],
        dense: bool = True,
        progress: bool = False,
        on_file: Callable[[Path, int, int], None] | None = None,
        on_embed: OnEmbed | None = None,
        reparse: bool = False,
        limits_: Limits | None = None,
        sources: Mapping[Path, str] | None = None,
        readd: bool = False,
        ray: str | None = None,
    ) -> IngestReport:
        """`ray`: a Ray cluster address (or "auto") to parse and embed on (distributed.py); this
        process still reads the store, commits each embedded batch and makes the one switch."""
        report = IngestReport()
        lim = limits_ or Limits.cli()
        if ray is None:
            plans = read_inputs(self.store, paths, report, on_file, progress, reparse, ParseOptions.of(self.config, lim), sources)
            plans = within_budget(plans, report, lim, self._embed_cost)
            if dense:
                self._embed(self._embed_todo(plans), progress, on_embed)
        else:
            from kb.ingest.distributed import connect

            with connect(ray, self.manifest.embedder_id) as cluster, limits.applied(lim):
                plans = cluster.read_inputs(self.store, paths, report, on_file, reparse, lim.file_mb,
                                             ParseOptions.of(self.config, lim))
                plans = within_budget(plans, report, lim, self._embed_cost)
                if dense:
                    self._embed(self._embed_todo(plans), progress, on_embed, embed_batches=cluster.embed_batches)
        new_bytes = sum(len(item.doc.text.encode()) for plan in plans for item in plan.items)

        def write() -> bool:
            apply(self.store, plans, report, reparse, readd)
            plans.clear()  # the parsed texts are stored now: free them before the index build
            return report.changed or self._index_behind()

        # text, folded text, tokens and chunk rows: ≈ 4 bytes stored per byte of new text
        self._switch(write, tokens=True, dense=True, new_bytes=4 * new_bytes)
        for line in self.warnings:
            report.warn(str(self.directory), line)
        return report

    def embed(self, progress: bool = False, limit: int | None = None, on_embed: OnEmbed | None = None) -> int:
        """Embed passages without a vector, publishing the dense index every `embed.checkpoint` passages."""
        todo = {h: text for _, h, text in self.store.chunks_to_embed(self.manifest.embedder_id, limit)}
        if limit is None or len(todo) < limit:  # passages first; then their sentences and definitions
            derived = self._derived_todo()
            todo.update(list(derived.items())[: None if limit is None else limit - len(todo)])

        def checkpoint() -> None:
            self._switch(lambda: True, tokens=False, dense=True)

        done = self._embed(todo, progress, on_embed, checkpoint)
        self._switch(self._index_behind, tokens=False, dense=True)
        return done

    def reindex(self, allow_empty: bool = False, progress: bool = False) -> None:
        """Rebuild BM25, FAISS and the lexicon from the store (re-tokenising every passage); with
        chunk settings other than the index's, every document is first cut again from its stored
        text and the new passages embedded; with other sentence settings (semantic.sentence_*),
        every passage's sentences are cut again and the new ones embedded. Sentences and
        definitions of an index built before them are derived from what is cached; `kb embed`
        embeds the rest (a repair never starts hours of embedding unasked).

        Never turns an index of N passages into an empty one unasked: an emptied store is a
        damaged or replaced database, and rebuilding from it would hide that."""
        problem = self.store.db.execute("PRAGMA quick_check").fetchone()[0]
        if problem != "ok":
            raise IndexUnusable(f"{self.store.path}: the database itself is damaged ({problem}); "
                                "rebuild from your files with `kb ingest PATH --index NEW_DIR`")
        had, has = self.manifest.counts.get("chunks") or 0, self.store.count("chunks")
        if has == 0 and had > 0 and not allow_empty:
            raise IndexUnusable(
                f"{self.store.path} holds no passages, but the index was built from {had}: rebuilding would leave "
                "an empty index, so nothing was changed. If the database was replaced or emptied, restore it from a "
                "backup or rebuild from your files with `kb ingest PATH --index NEW_DIR`; to empty this index on "
                "purpose run `kb reindex --allow-empty`")

        rechunked = self._rechunked() if self.config.chunk != self.recorded.chunk else {}
        # the new passages' vectors first, committed to the cache (an interrupted run keeps them), and
        # those of sentences and definitions a changed recipe derives
        todo = {key: embed_input(doc.meta.title, span.section, folded)
                for doc, rows in rechunked.values() for span, _, folded, key in rows}
        for doc, rows in rechunked.values():
            for _, text, folded, _ in rows:
                todo.update(derive(text, folded, self.config.semantic).inputs)
        if not rechunked and self.config.semantic != self.recorded.semantic:  # asked to cut sentences anew
            todo.update(self._derived_todo())
        cached = self.store.cached(self.manifest.embedder_id, todo)
        self._embed({h: t for h, t in todo.items() if h not in cached}, progress, None)

        def write() -> bool:
            for doc, rows in rechunked.values():
                self.store.replace_document(doc, rows)
            self.store.mark_tokens_stale()
            return True

        self._switch(write, tokens=True, dense=True)

    def _rechunked(self) -> dict[str, tuple[Document, list[tuple]]]:
        """Every stored document cut into passages with this write's chunk settings (no writes)."""
        out = {}
        for listed in self.store.documents():
            doc = self.store.document(listed.doc_id)
            if doc is not None:
                out[doc.doc_id] = (doc, passage_rows(doc, self.config.chunk))
        return out

    def update_metadata(self, doc_id: str, changes: dict[str, object]) -> Document:
        """Correct a document's metadata (validated `changes`) and record the correction by the
        document's text, so that `--reparse` and re-ingesting the file keep it. One transaction:
        readers see the old metadata or the new, in filters, region names and `kb docs` alike."""
        with self.store.transaction():
            doc = self.store.document(doc_id)
            if doc is None:
                raise UnknownDocument(doc_id, str(self.directory))
            self.store.set_corrections(doc.content_hash, changes)
            self.store.update_metadata(doc_id, with_corrections(doc.meta, changes))
            self._bump_docs_version()
            updated = self.store.document(doc_id)
        assert updated is not None
        return updated

    def remove_document(self, doc_id: str) -> Document:
        """Delete a document and its passages; the index is rebuilt without them in the same
        transaction. Its text is remembered as removed: re-ingesting the file does not bring it back."""
        removed: list[Document] = []

        def write() -> bool:
            doc = self.store.remove_document(doc_id)
            if doc is None:
                raise UnknownDocument(doc_id, str(self.directory))
            removed.append(doc)
            self._bump_docs_version()
            return True

        self._switch(write, tokens=True, dense=True)
        return removed[0]

    def _bump_docs_version(self) -> None:
        version = int(self.store.get_state(DOCS_VERSION_KEY) or 0)
        self.store.set_state(DOCS_VERSION_KEY, str(version + 1))

    def publish_new(self) -> None:
        """The first, empty segment of a new index."""
        self._switch(lambda: True, tokens=True, dense=True)

    # ---- embedding -------------------------------------------------------------------------
    def _embed_cost(self, plan: FilePlan) -> int:
        """Passages of this file that would need embedding (new text, no cached vector)."""
        hashes = {key for item in plan.items if self.store.doc_for_hash(item.doc.content_hash) is None
                  for *_, key in item.rows}
        return len(hashes - self.store.cached(self.manifest.embedder_id, hashes))

    def _embed_todo(self, plans: list[FilePlan]) -> dict[str, str]:
        """Embed inputs by hash: new passages of these files, and stored ones still without a vector."""
        todo: dict[str, str] = {}
        texts: set[str] = set()
        for plan in plans:
            for item in plan.items:
                # a text stored already, or met earlier in this run, is stored (and embedded) once
                if item.doc.content_hash not in texts and self.store.doc_for_hash(item.doc.content_hash) is None:
                    todo.update(item.embed_inputs())
                texts.add(item.doc.content_hash)
        todo.update((h, text) for _, h, text in self.store.chunks_to_embed(self.manifest.embedder_id))
        for plan in plans:  # their sentences and definitions (cached ones are dropped below)
            for item in plan.items:
                for _, text, folded, _ in item.rows:
                    todo.update(derive(text, folded, self.config.semantic).inputs)
        todo.update(self._derived_todo())
        cached = self.store.cached(self.manifest.embedder_id, todo)
        return {h: t for h, t in todo.items() if h not in cached}

    def _derived_todo(self) -> dict[str, str]:
        """Embed inputs of the stored passages' sentences and definitions that have no vector: those
        derived already (from their rows), and those the next build will derive (new recipe)."""
        todo = {key: input_text(folded, s, e) for key, folded, s, e in self.store.derived_to_embed(self.manifest.embedder_id)}
        for _, text, folded in self.store.underived(recipe(self.config.semantic)):
            todo.update(derive(text, folded, self.config.semantic).inputs)
        cached = self.store.cached(self.manifest.embedder_id, todo)
        return {h: t for h, t in todo.items() if h not in cached}

    def _embed(
        self,
        todo: dict[str, str],
        progress: bool,
        on_embed: OnEmbed | None,
        checkpoint: Callable[[], None] | None = None,
        embed_batches: EmbedBatches | None = None,
    ) -> int:
        """Embed and cache in committed batches: an interrupted run keeps what it embedded.

        `embed_batches` maps batches of (hash, text) to (batch, vectors) — here by default, on a
        Ray cluster for `ingest(ray=...)`, where batches may come back in any order."""
        if not todo:
            return 0
        if embed_batches is None:
            expect_passages(len(todo))
            embedder = get_embedder(self.manifest.embedder_id)

            def embed_batches(batches):
                for batch in batches:
                    yield batch, embedder.embed_passages([text for _, text in batch])

        items = list(todo.items())
        bar = _bar(len(items), progress)
        done = since_checkpoint = 0
        try:
            size = self.config.embed.batch
            batches = (items[i : i + size] for i in range(0, len(items), size))
            for batch, vectors in embed_batches(batches):
                with self._disk(self.store.path, np.asarray(vectors).nbytes * 3), self.store.transaction():
                    self.store.put_vectors(self.manifest.embedder_id, zip((h for h, _ in batch), vectors))
                    failpoints.hit("embed.storing")
                failpoints.hit("ingest.embedded")
                done += len(batch)
                since_checkpoint += len(batch)
                if bar:
                    bar.update(len(batch))
                if on_embed:
                    on_embed(done, len(items))
                if checkpoint and since_checkpoint >= self.config.embed.checkpoint:
                    checkpoint()
                    since_checkpoint = 0
        finally:
            if bar:
                bar.close()
        return done

    # ---- the switch ------------------------------------------------------------------------
    def _index_behind(self) -> bool:
        """Does the store hold something the current segment does not (or no segment yet)?"""
        counts = self.manifest.counts
        return (
            not self.manifest.segment
            or counts.get("chunks") != self.store.count("chunks")
            or counts.get("documents") != self.store.count("documents")
            or counts.get("embedded") != self.store.count_embedded(self.manifest.embedder_id)
            or self.store.count_underived(recipe(self.config.semantic)) > 0
            or counts.get("sentences") != self.store.count_sentence_vectors(self.manifest.embedder_id)
        )

    def _switch(self, write: Callable[[], bool], tokens: bool, dense: bool, new_bytes: int = 0) -> None:
        """In one transaction: `write()` rows; if it says the index must follow, build a segment and
        record the manifest naming it. The commit is the switch; a failure anywhere leaves the old."""
        seg: Path | None = None
        try:
            with self._disk(self.directory, self._segment_bytes() + new_bytes), self.store.transaction():
                if not write():
                    return
                failpoints.hit("switch.building")
                manifest, seg = self._build(tokens, dense)
                self.store.set_state(MANIFEST_KEY, manifest_text(manifest))
                failpoints.hit("switch.built")
        except BaseException:
            if seg is not None:
                shutil.rmtree(seg, ignore_errors=True)
            raise
        failpoints.hit("switch.committed")
        previous, self.manifest = self.manifest.segment, manifest
        try:
            write_manifest(self.directory, manifest)
        except OSError as e:  # committed already: only the copy for people and tools lags
            self.warnings.append(f"{MANIFEST} (a copy for people and tools) not updated ({e.strerror or e}); "
                                 "the index itself is committed; `kb check` will say when the copy is current")
        prune_segments(self.directory, keep={manifest.segment, previous})

    def _segment_bytes(self) -> int:
        """Size of the current segment: about what a rebuild writes beside it."""
        if not self.manifest.segment:
            return 0
        seg = segment_path(self.directory, self.manifest)
        return sum(p.stat().st_size for p in seg.rglob("*") if p.is_file()) if seg.is_dir() else 0

    @contextmanager
    def _disk(self, where: Path, need: int) -> Iterator[None]:
        """Turn a full, failing or read-only disk into one StorageError naming path, space and need
        (storage.py: 磁盘空间不足：… 需要约 N MB)."""
        try:
            yield
        except (OSError, sqlite3.Error, RuntimeError) as e:
            error = storage_error(e, where, need)
            if error is None or error is e:
                raise
            raise error from e

    def _build(self, tokens: bool, dense: bool) -> tuple[Manifest, Path]:
        """Write a new segment from the store as this transaction sees it; returns its manifest."""
        m = dataclasses.replace(self.manifest, counts=dict(self.manifest.counts))
        old = verified_segment(self.directory, m) if m.segment and not (tokens and dense) else None
        seg = new_segment_dir(self.directory)
        try:
            if tokens or old is None:
                tokenizer = self._refresh_tokens()
                ids, toks = self.store.all_tokens()
                BM25Index.build(ids, toks).save(seg / "bm25")
                (seg / "lexicon.txt").write_text("\n".join(tokenizer.terms), encoding="utf-8")
                m.lexicon_hash, m.lexicon_terms = tokenizer.hash, len(tokenizer.terms)
            else:
                link_tree(old / "bm25", seg / "bm25")
                link_file(old / "lexicon.txt", seg / "lexicon.txt")
            if dense or old is None:
                ids, vectors = self.store.embedded_vectors(m.embedder_id, m.dim)
                cfg = self.config.index
                index = DenseIndex.build(ids, vectors, m.dim, cfg.flat_max, cfg.hnsw_m, cfg.hnsw_ef_search)
                index.save(seg / "dense")
                m.dense_kind = index.kind
                del ids, vectors
                m.counts["sentences"], m.counts["definitions"] = self._build_semantic(seg, m)
            else:
                link_tree(old / "dense", seg / "dense")
                for part in ("sentences", "glossary"):
                    if (old / part).is_dir():
                        link_tree(old / part, seg / part)
            fsync_tree(seg)
        except BaseException:
            shutil.rmtree(seg, ignore_errors=True)
            raise
        m.counts = {
            "documents": self.store.count("documents"),
            "chunks": self.store.count("chunks"),
            "embedded": self.store.count_embedded(m.embedder_id),
            **{k: v for k, v in m.counts.items() if k in ("sentences", "definitions")},
        }
        m.segment = seg.name
        m.updated_at = time.strftime("%Y-%m-%dT%H:%M:%S")
        m.settings = self.config.index_dict()  # read back when the index is opened
        return m, seg

    def _build_semantic(self, seg: Path, m: Manifest) -> tuple[int, int]:
        """Derive what passages still lack (sentences, definitions), then write the segment's sentence
        index and glossary from the vectors cached so far; returns (sentences, definitions) indexed."""
        sem = self.config.semantic
        todo = self.store.underived(recipe(sem))
        if todo:
            rows = []
            for chunk_id, text, folded in todo:
                d = derive(text, folded, sem)
                rows.append((chunk_id, d.sentences, d.definitions))
            self.store.set_derived(rows, recipe(sem))
        sids, chunk_of, vectors = self.store.sentence_vectors(m.embedder_id, m.dim)
        cfg = self.config.index
        SentenceIndex.build(sids, chunk_of, vectors, m.dim, cfg.flat_max, cfg.hnsw_m, cfg.hnsw_ef_search).save(seg / "sentences")
        del vectors
        definitions = self.store.definition_rows(m.embedder_id, m.dim)
        self.glossary_of(definitions, m.dim).save(seg / "glossary")
        return len(sids), len(definitions)

    def glossary_of(self, definitions: list, dim: int) -> Glossary:
        """Glossary entries of the defined names that are not generic: not in the generic word list,
        and — in an index of `generic_min_documents` or more — stated by fewer than
        `glossary_max_doc_share` of the documents (营商环境 and the plan everybody names are not practices)."""
        documents = max(self.store.count("documents"), 1)
        index = PhraseIndex(self.store.db)
        doc_count: dict[str, int] = {}
        for name in {d[2] for d in definitions}:
            key = squash(name)
            ids = index.rows(key) if index.usable(key) else [
                r[0] for r in self.store.db.execute("SELECT chunk_id FROM chunks WHERE instr(folded, ?) > 0", (key,))]
            doc_count[name] = len({c.doc_id for c in self.store.chunks(ids).values()})
        sem = self.config.semantic
        common = generic_words()
        keep = [(chunk_id, name, s, e, v) for chunk_id, _, name, s, e, v in definitions if name not in common and not (
                documents >= sem.generic_min_documents and doc_count[name] >= sem.glossary_max_doc_share * documents)]
        folded = {c: ch.folded for c, ch in self.store.chunks({k[0] for k in keep}).items()}
        entries = [Entry(name, input_text(folded[c], s, e), c, s, e, doc_count[name]) for c, name, s, e, _ in keep]
        return Glossary.build(entries, (v for *_, v in keep), dim)

    def _refresh_tokens(self) -> Tokenizer:
        """Tokenise passages whose tokens were made with another lexicon (or none yet)."""
        tokenizer = Tokenizer(harvest_terms(self.store.iter_folded()))
        stale = self.store.stale_token_rows(tokenizer.hash)
        if stale:
            self.store.set_tokens(((cid, tokenizer.tokens(folded)) for cid, folded in stale), tokenizer.hash)
        return tokenizer


def recovered_manifest(directory: Path, store: Store) -> Manifest | None:
    """For `kb reindex` when the database's manifest is unreadable or missing: the embedder from
    manifest.json if that is readable, else from the one embedder whose vectors the store caches."""
    try:
        mirror = read_manifest(directory)
    except IndexUnusable:
        mirror = None
    if mirror is not None:
        return Manifest(embedder_id=mirror.embedder_id, dim=mirror.dim, counts=dict(mirror.counts),
                        settings=dict(mirror.settings))
    found = store.db.execute("SELECT embedder, length(vector) / 4 FROM embeddings GROUP BY embedder").fetchall()
    if len(found) == 1:
        return Manifest(embedder_id=found[0][0], dim=int(found[0][1]))
    return None


def _bar(total: int, enabled: bool):
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, desc="embedding", unit="text", smoothing=0.1)
