"""Uploads (the UI's import page): each into a fresh private folder, under a safe name, by content.

Why: kb 0.2 saved uploads into a predictable folder under /tmp (named from the index path), reused
it when it existed and wrote through symlinks — anyone on the machine could plant
`report.txt -> ~/.bashrc` there and the UI overwrote the target. Two different files uploaded under
one name (two browser tabs) replaced each other's report. Now:

- every upload gets a new folder from `tempfile.mkdtemp` (mode 0700, unguessable name), deleted
  afterwards; each file is created with O_CREAT | O_EXCL | O_NOFOLLOW, so never through a link and
  never over an existing file;
- names are reduced to a safe base name (no folders, control or format characters, leading dots;
  at most 80 characters; the suffix kept), so a name cannot forge a second message line either;
- the source recorded for an upload is `upload/<sha256 prefix>/<name>`: the same bytes uploaded
  again are "unchanged", different bytes under one name are two documents;
- files are parsed under the upload limits (`Limits.upload()`: stricter than the CLI's, with a
  budget of new passages per upload), so one upload cannot hold the write lock for hours.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from pathlib import Path

from kb.ingest.pipeline import IngestReport
from kb.knowledgebase import KnowledgeBase
from kb.limits import LimitExceeded, Limits
from kb.models import Document

MAX_NAME_CHARS = 80  # 80 CJK characters are 240 bytes in UTF-8: under every file system's 255
SOURCE_PREFIX = "upload"


@dataclass(frozen=True)
class Upload:
    """One uploaded file as the browser sent it: its (untrusted) name and its bytes."""

    name: str
    data: bytes


@dataclass
class UploadResult:
    report: IngestReport
    status: dict  # the index after the ingest (KnowledgeBase.status())
    documents: dict[str, Document] = field(default_factory=dict)  # by source: those this upload added or updated


def safe_name(name: str) -> str:
    """A base name safe to create in a folder and to print on one line; keeps a plain suffix."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = unicodedata.normalize("NFC", base)
    base = "".join(c for c in base if unicodedata.category(c)[0] != "C")  # controls, RTL overrides …
    base = base.strip().lstrip(".").strip()
    stem, suffix = os.path.splitext(base)
    if not re.fullmatch(r"\.[0-9A-Za-z]{1,8}", suffix):
        stem, suffix = base, ""
    return (stem[:MAX_NAME_CHARS].strip() or "upload") + suffix.lower()


def source_for(upload: Upload) -> str:
    """What the index records for this upload: stable for the same bytes, distinct for others."""
    return f"{SOURCE_PREFIX}/{hashlib.sha256(upload.data).hexdigest()[:16]}/{safe_name(upload.name)}"


@contextmanager
def private_folder() -> Iterator[Path]:
    """A new folder only this process can enter, removed with everything in it afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="kb-upload-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def save(uploads: Iterable[Upload], folder: Path, limits: Limits, report: IngestReport) -> dict[Path, str]:
    """Write each upload into `folder` as <hash>/<safe name>; returns {saved path: source}.

    An upload over the size limit is refused before it is written; one that cannot be created
    (a name taken, a planted link) fails with its reason. Each problem is one line in `report`."""
    saved: dict[Path, str] = {}
    for upload in uploads:
        source = source_for(upload)
        try:
            limits.check_file_size(source, len(upload.data))
        except LimitExceeded as e:
            report.record(source, "failed", e.reason)
            continue
        if source in saved.values():  # the same file twice in one upload: once is enough
            continue
        digest, name = source.split("/")[1:]
        path = folder / digest / name
        try:
            path.parent.mkdir(mode=0o700, exist_ok=True)
            _write_new(path, upload.data)
        except OSError as e:
            report.record(source, "failed", f"cannot save the upload: {e.strerror or e}")
            continue
        saved[path] = source
    return saved


def _write_new(path: Path, data: bytes) -> None:
    """Create `path` and write `data`; never follows a link, never replaces a file."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def ingest_uploads(
    index: Path,
    uploads: Iterable[Upload],
    on_file: Callable[[Path, int, int], None] | None = None,
    on_embed: Callable[[int, int], None] | None = None,
    on_wait: Callable[[str], None] | None = None,
    limits: Limits | None = None,
) -> UploadResult:
    """Save the uploads privately, ingest them under the upload limits, and clean up.

    A handle of its own writes the index; a cached reader (the UI's) follows the commit on its
    next query. Two uploads at once each get their own folder; the second waits for the first's
    write lock (`on_wait` hears who holds it)."""
    limits = limits or Limits.upload()
    report = IngestReport()
    with private_folder() as folder:
        saved = save(uploads, folder, limits, report)
        writer = KnowledgeBase.open(index, create=True)
        try:
            if saved:
                done = writer.ingest(list(saved), on_file=on_file, on_embed=on_embed, on_wait=on_wait,
                                     limits=limits, sources=saved)
                _merge(report, done)
            status = writer.status()
            changed = {source for source, outcome, _ in report.outcomes if outcome in ("added", "updated")}
            documents = {d.source: d for d in writer.documents() if d.source in changed} if changed else {}
        finally:
            writer.close()
    return UploadResult(report, status, documents)


def _merge(into: IngestReport, other: IngestReport) -> None:
    """Add `other`'s counts and lines to `into` (the uploads refused before the ingest are in `into`)."""
    for f in fields(IngestReport):
        setattr(into, f.name, getattr(into, f.name) + getattr(other, f.name))
