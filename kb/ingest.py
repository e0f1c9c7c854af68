"""Ingest: files → RawDocument → clean → metadata → chunks → store, with content dedup.

Each file is its own transaction, so one bad file never stops the others and never leaves half a
document behind. A file whose bytes did not change since the last ingest is skipped before
parsing; a document whose text is already stored (under any name) is stored once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .chunk import chunk
from .load import LoadError, iter_files, load_file
from .metadata import derive
from .models import Document, RawDocument
from .normalise import clean, fold
from .store import Store, embed_input

Outcome = str  # "added" | "updated" | "unchanged" | "failed"


@dataclass
class IngestReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: list[str] = field(default_factory=list)
    outcomes: list[tuple[str, Outcome, str]] = field(default_factory=list)  # (source, outcome, note)

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated)

    def record(self, source: str, outcome: Outcome, note: str = "") -> None:
        if outcome == "failed":
            self.failed.append(f"{source}: {note}")
        else:
            setattr(self, outcome, getattr(self, outcome) + 1)
        self.outcomes.append((source, outcome, note))

    def summary(self) -> str:
        return f"added {self.added}, updated {self.updated}, unchanged {self.unchanged}, failed {len(self.failed)}"


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def prepare(raw: RawDocument) -> tuple[Document, list[tuple]]:
    """The pure part of ingest: one raw document → its Document and chunk rows."""
    cleaned = clean(raw.text)
    if not cleaned.text.strip():
        raise ValueError("no text left after removing page chrome")
    meta = derive(cleaned, raw)
    digest = content_hash(cleaned.text)
    doc = Document(doc_id=digest[:16], source=raw.source, text=cleaned.text, meta=meta, content_hash=digest)
    rows = []
    for span in chunk(cleaned.text):
        text = cleaned.text[span.start : span.end]
        folded = fold(text)
        key = hashlib.sha1(embed_input(meta.title, span.section, folded).encode("utf-8")).hexdigest()
        rows.append((span, text, folded, key))
    if not rows:
        raise ValueError("no passages found in the document")
    return doc, rows


def store_document(store: Store, raw: RawDocument, reparse: bool = False) -> tuple[Outcome, str]:
    """Write one document inside the caller's transaction; returns (outcome, note).

    `reparse` re-derives metadata and chunks of a document whose text did not change (after an
    upgrade of kb's parsers); unchanged passages keep their cached embeddings.
    """
    doc, rows = prepare(raw)
    current = store.doc_for_source(raw.source)
    if current == doc.doc_id:
        if reparse and store.differs(doc, rows):
            store.replace_document(doc, rows)
            return "updated", "re-parsed"
        return "unchanged", ""
    duplicate_of = store.doc_for_hash(doc.content_hash)
    if current is not None:
        store.forget_source(raw.source)
    if duplicate_of is not None:
        store.set_source(raw.source, duplicate_of)
        return ("updated" if current else "unchanged"), f"same text as {duplicate_of}"
    store.insert_document(doc, rows)
    store.set_source(raw.source, doc.doc_id)
    return ("updated" if current else "added"), f"{len(rows)} chunks"


def ingest_paths(
    store: Store,
    paths: Iterable[str | Path],
    report: IngestReport | None = None,
    on_file: Callable[[Path, int, int], None] | None = None,
    progress: bool = False,
    reparse: bool = False,
) -> IngestReport:
    report = report or IngestReport()
    try:
        files = list(iter_files(paths))
    except LoadError as e:
        report.record(e.source, "failed", e.reason)
        return report
    bar = _progress(files, progress)
    for i, path in enumerate(bar):
        if on_file:
            on_file(path, i, len(files))
        ingest_file(store, path, report, reparse)
    return report


def ingest_file(store: Store, path: Path, report: IngestReport, reparse: bool = False) -> None:
    try:
        data = path.read_bytes()
    except OSError as e:
        report.record(str(path), "failed", e.strerror or str(e))
        return
    file_hash = hashlib.sha1(data).hexdigest()
    key = str(path.resolve())
    if not reparse and store.file_hash(key) == file_hash:
        report.record(str(path), "unchanged", "file unchanged")
        return
    try:
        items = load_file(path)
    except LoadError as e:
        report.record(e.source, "failed", e.reason)
        return
    except Exception as e:  # a parser bug must not stop the other files
        report.record(str(path), "failed", f"{type(e).__name__}: {e}")
        return
    any_failed = False
    with store.transaction():
        for item in items:
            if isinstance(item, LoadError):
                report.record(item.source, "failed", item.reason)
                any_failed = True
                continue
            try:
                with _savepoint(store):
                    outcome, note = store_document(store, item, reparse)
            except Exception as e:
                report.record(item.source, "failed", str(e) if isinstance(e, ValueError) else f"{type(e).__name__}: {e}")
                any_failed = True
                continue
            report.record(item.source, outcome, note)
        if not any_failed:
            store.set_file_hash(key, file_hash)


class _savepoint:
    """A nested transaction per document, so a failing row of a JSONL file leaves the others in."""

    _n = 0

    def __init__(self, store: Store) -> None:
        _savepoint._n += 1
        self.db, self.name = store.db, f"doc{_savepoint._n}"

    def __enter__(self):
        self.db.execute(f"SAVEPOINT {self.name}")

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            self.db.execute(f"ROLLBACK TO {self.name}")
        self.db.execute(f"RELEASE {self.name}")
        return False


def _progress(items: list, enabled: bool):
    if not enabled or len(items) < 2:
        return items
    from tqdm import tqdm

    return tqdm(items, desc="reading", unit="file")
