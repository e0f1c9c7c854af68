"""`KnowledgeBase`: the one public entry point the CLI and the UI are thin layers over."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable
from pathlib import Path

from .answer import Answer, Answerer
from .bm25 import BM25Index
from .dense import DEFAULT_FLAT_MAX, DenseIndex
from .embed import DEFAULT_EMBEDDER, Embedder, canonical_id, get_embedder
from .ingest import IngestReport, ingest_paths
from .models import Chunk, Document, Filters, Hit, SearchMode
from .search import Searcher
from .segment import (
    EmbedderMismatch,
    IndexUnusable,
    Manifest,
    link_tree,
    new_segment_dir,
    prune_segments,
    read_manifest,
    write_manifest,
)
from .store import Store
from .tokenize import Tokenizer, harvest_terms

EMBED_BATCH = int(os.environ.get("KB_EMBED_BATCH", "32"))  # raise on a GPU (e.g. 256)
EMBED_CHECKPOINT = 2000  # chunks embedded between dense-index rebuilds during `embed`


def default_index_path() -> Path:
    """`$KB_INDEX`, else `index/` — the same rule for the CLI and the UI."""
    return Path(os.environ.get("KB_INDEX") or "index")


class KnowledgeBase:
    """A corpus store plus its BM25 and dense indexes, in one directory.

    Opening is cheap; the indexes and the embedder load on the first search.
    """

    def __init__(self, directory: Path, store: Store, manifest: Manifest, flat_max: int = DEFAULT_FLAT_MAX) -> None:
        self.directory = directory
        self.store = store
        self.manifest = manifest
        self.flat_max = flat_max
        self._searcher: Searcher | None = None
        self._lock = threading.RLock()

    # ---- opening -----------------------------------------------------------------------
    @classmethod
    def open(
        cls,
        path: str | Path | None = None,
        embedder: str | None = None,
        create: bool = False,
        flat_max: int = DEFAULT_FLAT_MAX,
    ) -> KnowledgeBase:
        """Open the index at `path` (default: $KB_INDEX or index/).

        `embedder` is checked against the one the index was built with: an index is never queried
        with vectors from another model. `create=True` makes a new index when none exists.
        """
        directory = Path(path) if path is not None else default_index_path()
        manifest = read_manifest(directory)
        if manifest is None:
            if not create:
                raise IndexUnusable(f"{directory}: no kb index here; build one with `kb ingest PATH --index {directory}`")
            directory.mkdir(parents=True, exist_ok=True)
            spec = embedder or DEFAULT_EMBEDDER
            emb = get_embedder(spec)
            manifest = Manifest(embedder_id=canonical_id(spec), dim=emb.dim)
            store = Store(directory)
            kb = cls(directory, store, manifest, flat_max)
            kb._rebuild(tokens=True, dense=True)
            return kb
        if embedder is not None and canonical_id(embedder) != manifest.embedder_id:
            raise EmbedderMismatch(
                f"{directory}: index was built with embedder {manifest.embedder_id} ({manifest.dim}-d), "
                f"not {canonical_id(embedder)}; use that embedder, or build a new index with --index"
            )
        return cls(directory, Store(directory), manifest, flat_max)

    @property
    def embedder(self) -> Embedder:
        return get_embedder(self.manifest.embedder_id)

    def close(self) -> None:
        self.store.close()

    # ---- building ----------------------------------------------------------------------
    def ingest(
        self,
        paths: Iterable[str | Path],
        dense: bool = True,
        progress: bool = False,
        on_file: Callable[[Path, int, int], None] | None = None,
        on_embed: Callable[[int, int], None] | None = None,
        reparse: bool = False,
    ) -> IngestReport:
        """Add files and folders; re-index what changed. `dense=False` leaves embedding for `embed()`;
        `reparse=True` re-derives metadata and chunks of unchanged files (after upgrading kb)."""
        with self._lock:
            report = ingest_paths(self.store, paths, on_file=on_file, progress=progress, reparse=reparse)
            if report.changed or not self.manifest.segment:
                if dense:
                    self._embed_missing(progress=progress, on_embed=on_embed)
                self._rebuild(tokens=True, dense=True)
            return report

    def embed(self, progress: bool = False, limit: int | None = None, on_embed: Callable[[int, int], None] | None = None) -> int:
        """Embed chunks that have no vector yet, resumably; returns how many were embedded."""
        with self._lock:
            done = self._embed_missing(progress=progress, limit=limit, on_embed=on_embed, checkpoint=True)
            self._rebuild(tokens=False, dense=True)
            return done

    def _embed_missing(
        self,
        progress: bool = False,
        limit: int | None = None,
        on_embed: Callable[[int, int], None] | None = None,
        checkpoint: bool = False,
    ) -> int:
        todo = self.store.chunks_to_embed(self.manifest.embedder_id, limit)
        if not todo:
            return 0
        embedder = self.embedder
        bar = None
        if progress:
            from tqdm import tqdm

            bar = tqdm(total=len(todo), desc="embedding", unit="passage", smoothing=0.1)
        seen: set[str] = set()
        done = since_checkpoint = 0
        try:
            for i in range(0, len(todo), EMBED_BATCH):
                batch = [(h, text) for _, h, text in todo[i : i + EMBED_BATCH] if h not in seen]
                seen.update(h for h, _ in batch)
                if batch:
                    vectors = embedder.embed_passages([t for _, t in batch])
                    with self.store.transaction():
                        self.store.put_vectors(self.manifest.embedder_id, zip((h for h, _ in batch), vectors))
                n = len(todo[i : i + EMBED_BATCH])
                done += n
                since_checkpoint += n
                if bar:
                    bar.update(n)
                if on_embed:
                    on_embed(done, len(todo))
                if checkpoint and since_checkpoint >= EMBED_CHECKPOINT:
                    self._rebuild(tokens=False, dense=True)
                    since_checkpoint = 0
        finally:
            if bar:
                bar.close()
        return done

    def _rebuild(self, tokens: bool, dense: bool) -> None:
        """Write a new segment (BM25 and/or FAISS) and swap the manifest to it."""
        old = self.directory / "segments" / self.manifest.segment if self.manifest.segment else None
        seg = new_segment_dir(self.directory)
        if tokens or old is None:
            tokenizer = self._refresh_tokens()
            ids, toks = self.store.all_tokens()
            BM25Index.build(ids, toks).save(seg / "bm25")
            (seg / "lexicon.txt").write_text("\n".join(tokenizer.terms), encoding="utf-8")
            self.manifest.lexicon_hash, self.manifest.lexicon_terms = tokenizer.hash, len(tokenizer.terms)
        else:
            link_tree(old / "bm25", seg / "bm25")
            link_tree_file(old / "lexicon.txt", seg / "lexicon.txt")
        if dense or old is None:
            ids, vectors = self.store.embedded_vectors(self.manifest.embedder_id, self.manifest.dim)
            index = DenseIndex.build(ids, vectors, self.manifest.dim, self.flat_max)
            index.save(seg / "dense")
            self.manifest.dense_kind = index.kind
        else:
            link_tree(old / "dense", seg / "dense")
        self.manifest.counts = {
            "documents": self.store.count("documents"),
            "chunks": self.store.count("chunks"),
            "embedded": self.store.count_embedded(self.manifest.embedder_id),
        }
        self.manifest.segment = seg.name
        write_manifest(self.directory, self.manifest)
        prune_segments(self.directory, keep=seg.name)
        self._searcher = None

    def _refresh_tokens(self) -> Tokenizer:
        """Tokenise chunks whose tokens were made with another lexicon (or none yet)."""
        tokenizer = Tokenizer(harvest_terms(self.store.iter_folded()))
        stale = self.store.stale_token_rows(tokenizer.hash)
        if stale:
            with self.store.transaction():
                self.store.set_tokens(((cid, tokenizer.tokens(folded)) for cid, folded in stale), tokenizer.hash)
        return tokenizer

    # ---- reading -----------------------------------------------------------------------
    def searcher(self) -> Searcher:
        """The loaded indexes (loaded once, on first use)."""
        with self._lock:
            if self._searcher is None:
                seg = self.directory / "segments" / str(self.manifest.segment)
                if not self.manifest.segment or not seg.exists():
                    raise IndexUnusable(f"{self.directory}: index segment missing; re-run `kb ingest`")
                terms = (seg / "lexicon.txt").read_text(encoding="utf-8").split("\n")
                tokenizer = Tokenizer(terms)
                if tokenizer.hash != self.manifest.lexicon_hash:
                    raise IndexUnusable(f"{seg}: lexicon does not match the manifest; re-run `kb ingest`")
                bm25 = BM25Index.load(seg / "bm25")
                dense = DenseIndex.load(seg / "dense", self.manifest.dim)
                self._searcher = Searcher(self.store, tokenizer, bm25, dense, self.embedder, self.store.documents())
            return self._searcher

    def search(
        self,
        query: str,
        k: int = 10,
        mode: SearchMode = "hybrid",
        filters: Filters | None = None,
        max_per_doc: int | None = None,
        depth: int = 100,
        infer_filters: bool = True,
    ) -> list[Hit]:
        return self.searcher().search(query, k, mode, filters, max_per_doc, depth, infer_filters)

    def ask(self, question: str, filters: Filters | None = None, k: int = 10) -> Answer:
        """Which regions / compare / figures / general, answered with exact, located quotes."""
        return Answerer(self.searcher()).ask(question, filters, k)

    def similar(self, chunk_id: int, k: int = 10) -> list[Hit]:
        """Passages most like this one from other regions."""
        return Answerer(self.searcher()).similar(chunk_id, k)

    def documents(self) -> list[Document]:
        return self.store.documents()

    def document(self, doc_id: str) -> Document | None:
        return self.store.document(doc_id)

    def chunks_of(self, doc_id: str) -> list[Chunk]:
        return self.store.chunks_of(doc_id)

    def chunk(self, chunk_id: int) -> Chunk | None:
        return self.store.chunks([chunk_id]).get(chunk_id)

    def status(self) -> dict:
        m = self.manifest
        return {
            "index": str(self.directory),
            "documents": m.counts.get("documents", 0),
            "chunks": m.counts.get("chunks", 0),
            "embedded": m.counts.get("embedded", 0),
            "embedder": m.embedder_id,
            "dim": m.dim,
            "dense_index": m.dense_kind,
            "lexicon_terms": m.lexicon_terms,
            "updated_at": m.updated_at,
        }

    def warm(self, numba: bool = False) -> None:
        """Load indexes and the embedder now (and optionally compile numba BM25), e.g. at UI start."""
        s = self.searcher()
        s.embedder.embed_query("预热")
        if numba:
            s.bm25.use_numba()


def link_tree_file(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)
    except OSError:
        dst.write_bytes(src.read_bytes())

