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
"""

from __future__ import annotations

import dataclasses
import shutil
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from .bm25 import BM25Index
from .dense import DenseIndex
from .embed import expect_passages, get_embedder
from .errors import UnknownDocument
from .ingest import FilePlan, IngestReport, apply, read_inputs
from .lock import write_lock
from .models import Document, with_corrections
from .segment import (
    IndexUnusable,
    Manifest,
    fsync_tree,
    link_file,
    link_tree,
    manifest_text,
    new_segment_dir,
    parse_manifest,
    prune_segments,
    segment_path,
    write_manifest,
)
from .store import Store
from .settings import settings
from .tokenize import Tokenizer, harvest_terms

MANIFEST_KEY = "manifest"
# Bumped by every write that changes document rows without a new segment (a metadata correction):
# readers holding loaded indexes re-read the documents (filters, region names) when it changes.
DOCS_VERSION_KEY = "documents_version"
EMBED_CHECKPOINT = 2000  # passages embedded between dense-index publishes during `kb embed`

OnEmbed = Callable[[int, int], None]
EmbedBatches = Callable[[Iterable[list[tuple[str, str]]]], Iterator[tuple[list[tuple[str, str]], np.ndarray]]]


def stored_manifest(store: Store) -> Manifest | None:
    text = store.get_state(MANIFEST_KEY)
    return parse_manifest(text, str(store.path)) if text is not None else None


class Indexer:
    """Holds the write lock and its own database connection for the length of one write."""

    def __init__(self, directory: Path, store: Store, manifest: Manifest, flat_max: int, embed_batch: int) -> None:
        self.directory = directory
        self.store = store
        self.manifest = manifest
        self.flat_max = flat_max
        self.embed_batch = embed_batch

    @classmethod
    @contextmanager
    def session(
        cls,
        directory: Path,
        flat_max: int,
        embed_batch: int,
        new_manifest: Callable[[], Manifest] | None = None,
        wait: bool = True,
        on_wait: Callable[[str], None] | None = None,
    ) -> Iterator[Indexer]:
        """Lock the index, open a writer connection, read the committed manifest (or start one)."""
        with write_lock(directory, wait, on_wait):
            store = Store(directory)
            try:
                manifest = stored_manifest(store)
                if manifest is None:
                    if new_manifest is None:
                        raise IndexUnusable(f"{directory}: no kb index here")
                    manifest = new_manifest()
                yield cls(directory, store, manifest, flat_max, embed_batch)
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
        limit_mb: float | None = None,
        readd: bool = False,
        ray: str | None = None,
    ) -> IngestReport:
        """`ray`: a Ray cluster address (or "auto") to parse and embed on (distributed.py); this
        process still reads the store, commits each embedded batch and makes the one switch."""
        report = IngestReport()
        if ray is None:
            plans = read_inputs(self.store, paths, report, on_file, progress, reparse, limit_mb)
            if dense:
                self._embed(self._embed_todo(plans), progress, on_embed)
        else:
            from .distributed import connect

            with connect(ray, self.manifest.embedder_id) as cluster:
                plans = cluster.read_inputs(self.store, paths, report, on_file, reparse, limit_mb)
                if dense:
                    self._embed(self._embed_todo(plans), progress, on_embed, embed_batches=cluster.embed_batches)

        def write() -> bool:
            apply(self.store, plans, report, reparse, readd)
            plans.clear()  # the parsed texts are stored now: free them before the index build
            return report.changed or self._index_behind()

        self._switch(write, tokens=True, dense=True)
        return report

    def embed(self, progress: bool = False, limit: int | None = None, on_embed: OnEmbed | None = None) -> int:
        """Embed passages without a vector, publishing the dense index every EMBED_CHECKPOINT passages."""
        todo = {h: text for _, h, text in self.store.chunks_to_embed(self.manifest.embedder_id, limit)}

        def checkpoint() -> None:
            self._switch(lambda: True, tokens=False, dense=True)

        done = self._embed(todo, progress, on_embed, checkpoint)
        self._switch(self._index_behind, tokens=False, dense=True)
        return done

    def reindex(self) -> None:
        """Rebuild BM25, FAISS and the lexicon from the store (re-tokenising every passage)."""
        problem = self.store.db.execute("PRAGMA quick_check").fetchone()[0]
        if problem != "ok":
            raise IndexUnusable(f"{self.store.path}: the database itself is damaged ({problem}); "
                                "rebuild from your files with `kb ingest PATH --index NEW_DIR`")

        def write() -> bool:
            self.store.mark_tokens_stale()
            return True

        self._switch(write, tokens=True, dense=True)

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
            batches = (items[i : i + self.embed_batch] for i in range(0, len(items), self.embed_batch))
            for batch, vectors in embed_batches(batches):
                with self.store.transaction():
                    self.store.put_vectors(self.manifest.embedder_id, zip((h for h, _ in batch), vectors))
                done += len(batch)
                since_checkpoint += len(batch)
                if bar:
                    bar.update(len(batch))
                if on_embed:
                    on_embed(done, len(items))
                if checkpoint and since_checkpoint >= EMBED_CHECKPOINT:
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
        )

    def _switch(self, write: Callable[[], bool], tokens: bool, dense: bool) -> None:
        """In one transaction: `write()` rows; if it says the index must follow, build a segment and
        record the manifest naming it. The commit is the switch; a failure anywhere leaves the old."""
        seg: Path | None = None
        try:
            with self.store.transaction():
                if not write():
                    return
                manifest, seg = self._build(tokens, dense)
                self.store.set_state(MANIFEST_KEY, manifest_text(manifest))
        except BaseException:
            if seg is not None:
                shutil.rmtree(seg, ignore_errors=True)
            raise
        previous, self.manifest = self.manifest.segment, manifest
        write_manifest(self.directory, manifest)
        prune_segments(self.directory, keep={manifest.segment, previous})

    def _build(self, tokens: bool, dense: bool) -> tuple[Manifest, Path]:
        """Write a new segment from the store as this transaction sees it; returns its manifest."""
        m = dataclasses.replace(self.manifest, counts=dict(self.manifest.counts))
        old = segment_path(self.directory, m) if m.segment else None
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
                index = DenseIndex.build(ids, vectors, m.dim, self.flat_max)
                index.save(seg / "dense")
                m.dense_kind = index.kind
            else:
                link_tree(old / "dense", seg / "dense")
            fsync_tree(seg)
        except BaseException:
            shutil.rmtree(seg, ignore_errors=True)
            raise
        m.counts = {
            "documents": self.store.count("documents"),
            "chunks": self.store.count("chunks"),
            "embedded": self.store.count_embedded(m.embedder_id),
        }
        m.segment = seg.name
        m.updated_at = time.strftime("%Y-%m-%dT%H:%M:%S")
        m.settings = settings().to_dict()  # the thresholds and weights this index is answered with
        return m, seg

    def _refresh_tokens(self) -> Tokenizer:
        """Tokenise passages whose tokens were made with another lexicon (or none yet)."""
        tokenizer = Tokenizer(harvest_terms(self.store.iter_folded()))
        stale = self.store.stale_token_rows(tokenizer.hash)
        if stale:
            self.store.set_tokens(((cid, tokenizer.tokens(folded)) for cid, folded in stale), tokenizer.hash)
        return tokenizer


def _bar(total: int, enabled: bool):
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, desc="embedding", unit="passage", smoothing=0.1)
