"""The corpus store: documents, chunks and the embedding cache in one SQLite database.

SQLite because writes must be transactional (an ingest that fails half-way leaves the previous
corpus intact) and because a user can open the file with any SQLite tool. The schema evolves
through numbered migrations applied when the database opens (PRAGMA user_version).

Reads never wait for each other: each `snapshot()` borrows a connection of its own from a small
pool, so a long query in one UI session does not hold up a short one in another (kb 0.2 shared one
connection behind one lock: a 20k-character query made another session's query wait 49 s).
A file that is not a kb database — empty, foreign, replaced — is refused before SQLite touches it.
The schema and that refusal are in schema.py; the embedding cache and the sentences and
definitions derived for the dense leg in vectors.py (`VectorTables`, a mixin of `Store`).
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, fields, replace
from pathlib import Path

import numpy as np

from kb.errors import DatabaseRefused  # noqa: F401 (re-exported)
from kb.index.schema import _MIGRATIONS, refuse_unusable
from kb.index.storage import rolled_back, storage_error
from kb.index.vectors import VectorTables, embed_input  # noqa: F401 (embed_input re-exported)
from kb.models import Chunk, ChunkSpan, Document, Metadata, with_corrections
from kb.settings import settings

DB_NAME = "kb.sqlite"

_META_FIELDS = [f.name for f in fields(Metadata)]


class Store(VectorTables):
    """Thin typed access to the database; every write happens inside `transaction()`.

    `db` is the calling thread's connection: inside `snapshot()` one borrowed from the read pool,
    otherwise the store's own (the writer's, and set-up). `create=False` refuses a missing or
    empty database instead of making one.
    """

    def __init__(self, directory: str | Path, create: bool = False) -> None:
        self.path = Path(directory) / DB_NAME
        refuse_unusable(self.path, create)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._pool_lock = threading.Lock()
        self._idle: list[sqlite3.Connection] = []
        self._closed = False
        try:
            self._own = self._connect()
            self._own.execute("PRAGMA journal_mode = WAL")
            self._own.execute("PRAGMA synchronous = NORMAL")
            self._migrate()
        except (sqlite3.Error, OSError) as e:  # SQLite writes its -wal/-shm beside the database on open
            disk = storage_error(e, self.path.parent, reading=True)
            if disk is None:
                raise
            raise disk from e

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=60)
        db.execute("PRAGMA foreign_keys = ON")
        return db

    @property
    def db(self) -> sqlite3.Connection:
        return getattr(self._local, "db", None) or self._own

    def _migrate(self) -> None:
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        if version > len(_MIGRATIONS):
            raise RuntimeError(
                f"{self.path}: database schema version {version} is newer than this kb understands "
                f"({len(_MIGRATIONS)}); upgrade kb"
            )
        for number, script in enumerate(_MIGRATIONS[version:], start=version + 1):
            with self.transaction():
                statements = script.split(";") if isinstance(script, str) else script
                for statement in filter(str.strip, statements):
                    self.db.execute(statement)
                self.db.execute(f"PRAGMA user_version = {number}")

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction; on any failure rolled back — unless SQLite already did (a full disk
        ends the transaction itself, and "cannot rollback" would hide the real error)."""
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
            if not db.in_transaction:  # SQLite rolled it back itself (a full disk…) after an error someone caught:
                raise rolled_back(self.path.parent)  # not "cannot commit - no transaction is active"
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                try:
                    db.execute("ROLLBACK")
                except sqlite3.Error:
                    pass  # the error being raised says more
            raise

    @contextmanager
    def snapshot(self) -> Iterator[sqlite3.Connection]:
        """A read transaction on a connection of this thread's own: every query inside sees the same
        committed state (WAL snapshot), whatever a writer commits meanwhile, and no other reader
        waits for it. Re-entrant within a thread."""
        mine = getattr(self._local, "db", None)
        if mine is not None:
            yield mine
            return
        db = self._borrow()
        self._local.db = db
        try:
            db.execute("BEGIN")
            try:
                yield db
            finally:
                if db.in_transaction:
                    db.execute("COMMIT")
        finally:
            self._local.db = None
            self._give_back(db)

    def _borrow(self) -> sqlite3.Connection:
        with self._pool_lock:
            if self._closed:
                raise sqlite3.ProgrammingError("Cannot operate on a closed database.")
            if self._idle:
                return self._idle.pop()
        return self._connect()

    def _give_back(self, db: sqlite3.Connection) -> None:
        with self._pool_lock:
            if not self._closed and len(self._idle) < settings().cache.idle_readers:
                self._idle.append(db)
                return
        db.close()

    def close(self) -> None:
        with self._pool_lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for db in idle:
            db.close()
        self._own.close()

    # ---- state (the manifest) ----------------------------------------------------------
    def get_state(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM state WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_state(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO state(key, value) VALUES (?, ?)", (key, value))

    # ---- files and sources -------------------------------------------------------------
    def file_hash(self, path: str) -> str | None:
        row = self.db.execute("SELECT file_hash FROM files WHERE path = ?", (path,)).fetchone()
        return row[0] if row else None

    def set_file_hash(self, path: str, file_hash: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO files(path, file_hash) VALUES (?, ?)", (path, file_hash))

    def doc_for_source(self, source: str) -> str | None:
        row = self.db.execute("SELECT doc_id FROM sources WHERE source = ?", (source,)).fetchone()
        return row[0] if row else None

    def source_of(self, doc_id: str) -> str | None:
        row = self.db.execute("SELECT source FROM documents WHERE doc_id = ?", (doc_id,)).fetchone()
        return row[0] if row else None

    def doc_for_hash(self, content_hash: str) -> str | None:
        row = self.db.execute("SELECT doc_id FROM documents WHERE content_hash = ?", (content_hash,)).fetchone()
        return row[0] if row else None

    def set_source(self, source: str, doc_id: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO sources(source, doc_id) VALUES (?, ?)", (source, doc_id))

    def forget_source(self, source: str) -> None:
        """Detach a source from its document; drop the document when no source refers to it any more."""
        doc_id = self.doc_for_source(source)
        if doc_id is None:
            return
        self.db.execute("DELETE FROM sources WHERE source = ?", (source,))
        left = self.db.execute("SELECT source FROM sources WHERE doc_id = ? LIMIT 1", (doc_id,)).fetchone()
        if left is None:
            self.db.execute("DELETE FROM documents WHERE doc_id = ?", (doc_id,))
        elif self.db.execute("SELECT source FROM documents WHERE doc_id = ?", (doc_id,)).fetchone()[0] == source:
            self.db.execute("UPDATE documents SET source = ? WHERE doc_id = ?", (left[0], doc_id))

    # ---- corrections and removals (they outlast re-parsing and re-ingest) ---------------
    def corrections(self, content_hash: str) -> dict[str, object]:
        """A user's corrections of the document with this text: field → value (None clears)."""
        rows = self.db.execute("SELECT field, value FROM corrections WHERE content_hash = ?", (content_hash,))
        return {f: json.loads(v) for f, v in rows}

    def set_corrections(self, content_hash: str, changes: dict[str, object]) -> None:
        self.db.executemany(
            "INSERT OR REPLACE INTO corrections(content_hash, field, value) VALUES (?, ?, ?)",
            [(content_hash, f, json.dumps(v, ensure_ascii=False)) for f, v in changes.items()],
        )

    def carry_corrections(self, old_hash: str, new_hash: str) -> None:
        """A file whose text changed (edited, or read by a newer kb) keeps its document's corrections."""
        if old_hash != new_hash and not self.corrections(new_hash):
            self.db.execute(
                "INSERT INTO corrections(content_hash, field, value, corrected_at) "
                "SELECT ?, field, value, corrected_at FROM corrections WHERE content_hash = ?",
                (new_hash, old_hash),
            )

    def with_corrections(self, doc: Document) -> Document:
        """The document as the user corrected it (its derived metadata overlaid)."""
        fixes = self.corrections(doc.content_hash)
        return replace(doc, meta=with_corrections(doc.meta, fixes), corrected=tuple(sorted(fixes))) if fixes else doc

    def removed(self, content_hash: str) -> str | None:
        """When a user removed the document with this text (`kb rm`), or None."""
        row = self.db.execute("SELECT removed_at FROM removed WHERE content_hash = ?", (content_hash,)).fetchone()
        return row[0] if row else None

    def forget_removal(self, content_hash: str) -> None:
        self.db.execute("DELETE FROM removed WHERE content_hash = ?", (content_hash,))

    def remove_document(self, doc_id: str) -> Document | None:
        """Delete a document, its chunks and sources, and remember its text as removed, so that
        re-ingesting the same file does not bring it back. Returns what was removed."""
        doc = self.document(doc_id)
        if doc is None:
            return None
        sources = [r[0] for r in self.db.execute("SELECT source FROM sources WHERE doc_id = ?", (doc_id,))]
        self.db.execute(
            "INSERT OR REPLACE INTO removed(content_hash, source, title) VALUES (?, ?, ?)",
            (doc.content_hash, doc.source, doc.meta.title),
        )
        self.db.execute("DELETE FROM documents WHERE doc_id = ?", (doc_id,))  # cascades to chunks, sources
        for source in sources:  # its file is read again next time (and the document skipped as removed)
            path = re.sub(r"#(?:L\d+|row\d+|.+!row\d+)$", "", source)  # a JSONL line, a spreadsheet row
            self.db.execute("DELETE FROM files WHERE path = ?", (str(Path(path).resolve()),))
        return doc

    def update_metadata(self, doc_id: str, meta: Metadata) -> None:
        values = asdict(meta)
        self.db.execute(
            f"UPDATE documents SET {', '.join(f + ' = ?' for f in _META_FIELDS)} WHERE doc_id = ?",
            [*(values[f] for f in _META_FIELDS), doc_id],
        )

    # ---- documents and chunks ----------------------------------------------------------
    def insert_document(self, doc: Document, chunks: Sequence[tuple[ChunkSpan, str, str, str]]) -> None:
        """chunks: (span, original text, folded text, text hash for the embedding cache)."""
        meta = asdict(doc.meta)
        cols = ["doc_id", "source", "content_hash", *_META_FIELDS, "text"]
        values = [doc.doc_id, doc.source, doc.content_hash, *(meta[f] for f in _META_FIELDS), doc.text]
        self.db.execute(
            f"INSERT INTO documents({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})", values
        )
        self.db.executemany(
            "INSERT INTO chunks(doc_id, ordinal, section, start, end, text, folded, embed_hash) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (doc.doc_id, i, json.dumps(list(span.section), ensure_ascii=False), span.start, span.end, text, folded, h)
                for i, (span, text, folded, h) in enumerate(chunks)
            ],
        )

    def differs(self, doc: Document, chunks: Sequence[tuple[ChunkSpan, str, str, str]]) -> bool:
        """Whether a re-parse of a stored document changed its metadata or its chunking."""
        stored = self.document(doc.doc_id)
        if stored is None or stored.meta != doc.meta:
            return True
        old = [(c.section, c.start, c.end) for c in self.chunks_of(doc.doc_id)]
        return old != [(span.section, span.start, span.end) for span, *_ in chunks]

    def replace_document(self, doc: Document, chunks: Sequence[tuple[ChunkSpan, str, str, str]]) -> None:
        """Swap a document's row and chunks, keeping every source that points at it."""
        sources = [r[0] for r in self.db.execute("SELECT source FROM sources WHERE doc_id = ?", (doc.doc_id,))]
        first = self.db.execute("SELECT source FROM documents WHERE doc_id = ?", (doc.doc_id,)).fetchone()[0]
        self.db.execute("DELETE FROM documents WHERE doc_id = ?", (doc.doc_id,))  # cascades to chunks, sources
        self.insert_document(replace(doc, source=first), chunks)
        for source in sources:
            self.set_source(source, doc.doc_id)

    def _doc_from_row(self, row: sqlite3.Row | tuple, with_text: bool) -> Document:
        doc_id, source, content_hash, *rest = row
        meta_values = rest[: len(_META_FIELDS)]
        text = rest[len(_META_FIELDS)] if with_text else ""
        chunks, corrected = rest[-2], rest[-1]
        return Document(
            doc_id=doc_id,
            source=source,
            text=text,
            meta=Metadata(**dict(zip(_META_FIELDS, meta_values))),
            content_hash=content_hash,
            chunks=chunks,
            corrected=tuple(sorted(corrected.split("\t"))) if corrected else (),
        )

    _DOC_TAIL = (
        "(SELECT COUNT(*) FROM chunks c WHERE c.doc_id = d.doc_id), "
        "(SELECT group_concat(field, char(9)) FROM corrections k WHERE k.content_hash = d.content_hash)"
    )

    def documents(self, with_text: bool = False) -> list[Document]:
        """Every document; rows hold the metadata as corrected (corrections are applied on write)."""
        text_col = ", d.text" if with_text else ""
        rows = self.db.execute(
            f"SELECT d.doc_id, d.source, d.content_hash, {', '.join('d.' + f for f in _META_FIELDS)}{text_col}, "
            f"{self._DOC_TAIL} FROM documents d ORDER BY d.source"
        ).fetchall()
        return [self._doc_from_row(r, with_text) for r in rows]

    def document(self, doc_id: str) -> Document | None:
        row = self.db.execute(
            f"SELECT d.doc_id, d.source, d.content_hash, {', '.join('d.' + f for f in _META_FIELDS)}, d.text, "
            f"{self._DOC_TAIL} FROM documents d WHERE d.doc_id = ?",
            (doc_id,),
        ).fetchone()
        return self._doc_from_row(row, True) if row else None

    _CHUNK_COLS = "chunk_id, doc_id, ordinal, section, start, end, text, folded"

    @staticmethod
    def _chunk_from_row(row: tuple) -> Chunk:
        chunk_id, doc_id, ordinal, section, start, end, text, folded = row
        return Chunk(chunk_id, doc_id, ordinal, tuple(json.loads(section)), start, end, text, folded)

    def chunks(self, chunk_ids: Iterable[int]) -> dict[int, Chunk]:
        ids = list(chunk_ids)
        out: dict[int, Chunk] = {}
        for i in range(0, len(ids), 500):
            part = ids[i : i + 500]
            rows = self.db.execute(
                f"SELECT {self._CHUNK_COLS} FROM chunks WHERE chunk_id IN ({', '.join('?' * len(part))})", part
            ).fetchall()
            out.update((r[0], self._chunk_from_row(r)) for r in rows)
        return out

    def chunks_of(self, doc_id: str) -> list[Chunk]:
        rows = self.db.execute(
            f"SELECT {self._CHUNK_COLS} FROM chunks WHERE doc_id = ? ORDER BY ordinal", (doc_id,)
        ).fetchall()
        return [self._chunk_from_row(r) for r in rows]

    def chunk_table(self) -> tuple[np.ndarray, list[str]]:
        """(chunk ids, their doc ids) in chunk-id order: what indexes and filters align to."""
        rows = self.db.execute("SELECT chunk_id, doc_id FROM chunks ORDER BY chunk_id").fetchall()
        return np.array([r[0] for r in rows], dtype=np.int64), [r[1] for r in rows]

    def iter_folded(self) -> Iterator[str]:
        for (folded,) in self.db.execute("SELECT folded FROM chunks ORDER BY chunk_id"):
            yield folded

    def count(self, table: str) -> int:
        assert table in ("documents", "chunks", "embeddings", "sources", "sentences", "definitions")
        return self.db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]

    # ---- tokens (cached per lexicon) ---------------------------------------------------
    def stale_token_rows(self, lexicon: str) -> list[tuple[int, str]]:
        return self.db.execute(
            "SELECT chunk_id, folded FROM chunks WHERE lexicon IS NULL OR lexicon != ? ORDER BY chunk_id", (lexicon,)
        ).fetchall()

    def set_tokens(self, rows: Iterable[tuple[int, list[str]]], lexicon: str) -> None:
        self.db.executemany(
            "UPDATE chunks SET tokens = ?, lexicon = ? WHERE chunk_id = ?",
            [("\t".join(toks), lexicon, cid) for cid, toks in rows],
        )

    def mark_tokens_stale(self) -> None:
        """Make the next build re-tokenise every passage (kb reindex)."""
        self.db.execute("UPDATE chunks SET lexicon = NULL")

    def all_tokens(self) -> tuple[np.ndarray, list[list[str]]]:
        ids, toks = [], []
        for cid, tokens in self.db.execute("SELECT chunk_id, tokens FROM chunks ORDER BY chunk_id"):
            ids.append(cid)
            toks.append(tokens.split("\t") if tokens else [])
        return np.array(ids, dtype=np.int64), toks
