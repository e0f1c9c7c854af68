"""What a kb database is: its schema, as numbered migrations, and the gate that refuses any other file.

The store (store.py) applies the migrations when it opens a database (PRAGMA user_version counts
those applied) and calls `refuse_unusable` first, so that an empty, foreign or replaced file is
refused before SQLite touches it.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from kb.errors import DatabaseRefused
from kb.index.phrases import MIGRATION as PHRASE_INDEX
from kb.index.segment import MANIFEST
from kb.index.storage import storage_error

# A migration is one script (split at ';') or a tuple of statements (when a statement holds ';').
_MIGRATIONS: list[str | tuple[str, ...]] = [
    # 1: documents, their sources, chunks, embedding cache
    """
    CREATE TABLE documents (
        doc_id TEXT PRIMARY KEY,
        source TEXT NOT NULL,
        content_hash TEXT NOT NULL UNIQUE,
        title TEXT NOT NULL,
        doc_type TEXT,
        year INTEGER,
        published TEXT,
        issuer TEXT,
        region TEXT,
        province TEXT,
        city TEXT,
        county TEXT,
        town TEXT,
        level TEXT,
        text TEXT NOT NULL,
        added_at TEXT DEFAULT CURRENT_TIMESTAMP
    );
    CREATE TABLE sources (
        source TEXT PRIMARY KEY,
        doc_id TEXT NOT NULL REFERENCES documents(doc_id) ON DELETE CASCADE
    );
    CREATE TABLE files (
        path TEXT PRIMARY KEY,
        file_hash TEXT NOT NULL
    );
    CREATE TABLE chunks (
        chunk_id INTEGER PRIMARY KEY AUTOINCREMENT,
        doc_id TEXT NOT NULL REFERENCES documents(doc_id) ON DELETE CASCADE,
        ordinal INTEGER NOT NULL,
        section TEXT NOT NULL,
        start INTEGER NOT NULL,
        end INTEGER NOT NULL,
        text TEXT NOT NULL,
        folded TEXT NOT NULL,
        embed_hash TEXT NOT NULL,
        tokens TEXT,
        lexicon TEXT
    );
    CREATE INDEX chunks_doc ON chunks(doc_id, ordinal);
    CREATE TABLE embeddings (
        embedder TEXT NOT NULL,
        text_hash TEXT NOT NULL,
        vector BLOB NOT NULL,
        PRIMARY KEY (embedder, text_hash)
    ) WITHOUT ROWID;
    """,
    # 2: the manifest lives in the database, committed together with the rows its segment indexes
    """
    CREATE TABLE state (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    """,
    # 3: two years, region evidence, the document types of kb 0.3, and corrections that outlast
    # re-parsing: keyed by the document's text (content_hash), not by its row
    """
    ALTER TABLE documents ADD COLUMN issued_year INTEGER;
    ALTER TABLE documents ADD COLUMN region_confidence REAL;
    ALTER TABLE documents ADD COLUMN region_evidence TEXT;
    UPDATE documents SET doc_type = '法治政府建设年度报告' WHERE doc_type = '年度报告';
    UPDATE documents SET doc_type = '提案/建议答复' WHERE doc_type = '提案答复';
    UPDATE documents SET doc_type = '决议/决定' WHERE doc_type = '决议';
    CREATE TABLE corrections (
        content_hash TEXT NOT NULL,
        field TEXT NOT NULL,
        value TEXT NOT NULL,
        corrected_at TEXT DEFAULT CURRENT_TIMESTAMP,
        PRIMARY KEY (content_hash, field)
    );
    CREATE TABLE removed (
        content_hash TEXT PRIMARY KEY,
        source TEXT NOT NULL,
        title TEXT,
        removed_at TEXT DEFAULT CURRENT_TIMESTAMP
    );
    """,
    # 4: a substring index over every passage, kept in step by triggers (see phrases.py)
    PHRASE_INDEX,
    # 5: what is derived from each passage for the dense leg: its sentences (index/sentences.py) and
    # the practices it defines (index/glossary.py), with the recipe they were derived by; a passage
    # whose recipe is not the current one is derived again when the next segment is built
    """
    CREATE TABLE sentences (
        sentence_id INTEGER PRIMARY KEY AUTOINCREMENT,
        chunk_id INTEGER NOT NULL REFERENCES chunks(chunk_id) ON DELETE CASCADE,
        ordinal INTEGER NOT NULL,
        start INTEGER NOT NULL,
        end INTEGER NOT NULL,
        embed_hash TEXT NOT NULL
    );
    CREATE INDEX sentences_chunk ON sentences(chunk_id, ordinal);
    CREATE TABLE definitions (
        chunk_id INTEGER NOT NULL REFERENCES chunks(chunk_id) ON DELETE CASCADE,
        ordinal INTEGER NOT NULL,
        name TEXT NOT NULL,
        start INTEGER NOT NULL,
        end INTEGER NOT NULL,
        embed_hash TEXT NOT NULL,
        PRIMARY KEY (chunk_id, ordinal)
    ) WITHOUT ROWID;
    CREATE INDEX definitions_name ON definitions(name);
    CREATE TABLE derived (
        chunk_id INTEGER PRIMARY KEY REFERENCES chunks(chunk_id) ON DELETE CASCADE,
        recipe TEXT NOT NULL
    );
    """,
]


def refuse_unusable(path: Path, create: bool) -> None:
    """Raise DatabaseRefused unless `path` is a kb database, or absent/empty where `create` may make one.

    The file is looked at only through SQLite: opening and closing it with open() would drop the
    POSIX locks SQLite holds on it for this process's other connections — another process could
    then delete the WAL under them (seen: "database disk image is malformed")."""
    directory = path.parent
    remnants = [name for name in (MANIFEST, "segments") if (directory / name).exists()]
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        size = None
    if size:
        tables = _tables(path)
        if tables - {"sqlite_sequence"} and not tables & {"documents", "chunks"}:
            raise DatabaseRefused(f"{path}: an SQLite database kb did not write (tables: {', '.join(sorted(tables))[:200]}); "
                                  "kb will not touch it — use another --index")
        if tables:
            return
    if remnants:
        what = "is empty (0 bytes)" if size == 0 else ("holds no tables" if size else "is missing")
        raise DatabaseRefused(
            f"{path} {what}, but {directory} holds an index ({', '.join(remnants)}): the database was truncated, "
            "replaced or deleted. kb writes nothing here, so nothing more is lost: restore kb.sqlite from a backup, "
            f"or rebuild from your files with `kb ingest PATH --index NEW_DIR`")
    if not create:
        raise DatabaseRefused(f"{directory}: no kb index here; build one with `kb ingest PATH --index {directory}`")


def _tables(path: Path) -> set[str]:
    """The tables of an existing database file, read-only (a second SQLite connection is safe)."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=60)
    try:
        return {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.DatabaseError as e:
        if "not a database" in str(e):
            raise DatabaseRefused(f"{path}: not an SQLite database ({e}); kb will not touch it — move it away or "
                                  "use another --index") from e
        disk = storage_error(e, path.parent, reading=True)  # a full or failing disk is not a damaged database
        if disk is not None:
            raise disk from e
        raise DatabaseRefused(f"{path}: database unreadable ({e}); restore it from a backup, or rebuild from your "
                              "files with `kb ingest PATH --index NEW_DIR`") from e
    finally:
        db.close()
