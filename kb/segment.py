"""The persisted search indexes (BM25, FAISS, lexicon) and the manifest that stamps them.

Layout of an index directory::

    kb.sqlite              documents, chunks, embedding cache, and the manifest (see store.py)
    manifest.json          a copy of the manifest for people and tools: format version, kb version,
                           embedder id and dimension, lexicon hash, counts, the current segment
    segments/<name>/       bm25/ (bm25s arrays + chunk_ids.npy), dense/faiss.index, lexicon.txt
    .write.lock            held by the one process writing (see lock.py)

A build writes a new segment beside the old one and fsyncs it; then one SQLite transaction commits
the corpus changes together with the manifest that names the new segment. The database is the
single switch: a reader's snapshot holds a manifest and exactly the rows its segment was built
from, so it sees the old index or the new one, never half of each — and a process killed at any
point leaves the previous state. `manifest.json` is then replaced atomically (write aside, fsync,
rename) as a mirror; `kb check` says when it lags.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

from . import __version__

FORMAT_VERSION = 1
MANIFEST = "manifest.json"


class IndexUnusable(Exception):
    """An index that cannot be used as asked (missing, newer format, other embedder)."""


class EmbedderMismatch(IndexUnusable):
    pass


@dataclass
class Manifest:
    embedder_id: str
    dim: int
    format_version: int = FORMAT_VERSION
    kb_version: str = __version__
    segment: str | None = None
    lexicon_hash: str | None = None
    lexicon_terms: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    dense_kind: str | None = None
    updated_at: str | None = None
    settings: dict = field(default_factory=dict)  # kb.settings.Settings.to_dict() at the last build

    def to_json(self) -> dict:
        out = asdict(self)
        out["embedder"] = {"id": out.pop("embedder_id"), "dim": out.pop("dim")}
        return out

    @classmethod
    def from_json(cls, data: dict) -> Manifest:
        data = dict(data)
        embedder = data.pop("embedder")
        known = {f for f in cls.__dataclass_fields__}
        return cls(embedder_id=embedder["id"], dim=int(embedder["dim"]), **{k: v for k, v in data.items() if k in known})


class SegmentMissing(IndexUnusable):
    """The segment a manifest names is gone (pruned after a newer one was published): read again."""


def parse_manifest(text: str, where: str) -> Manifest:
    try:
        manifest = Manifest.from_json(json.loads(text))
    except (ValueError, KeyError, TypeError) as e:
        raise IndexUnusable(f"{where}: unreadable manifest ({e})") from e
    if manifest.format_version > FORMAT_VERSION:
        raise IndexUnusable(
            f"{where}: index format {manifest.format_version} is newer than this kb reads ({FORMAT_VERSION}); upgrade kb"
        )
    return manifest


def manifest_text(manifest: Manifest) -> str:
    return json.dumps(manifest.to_json(), ensure_ascii=False, indent=2)


def read_manifest(directory: Path) -> Manifest | None:
    """The mirror `manifest.json` (the database holds the authoritative copy)."""
    path = directory / MANIFEST
    if not path.exists():
        return None
    return parse_manifest(path.read_text(encoding="utf-8"), str(path))


def write_manifest(directory: Path, manifest: Manifest) -> None:
    """Atomically replace manifest.json (write aside, fsync, rename, fsync the folder)."""
    fd, tmp = tempfile.mkstemp(prefix=".manifest-", dir=directory)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(manifest_text(manifest))
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, directory / MANIFEST)
    fsync_dir(directory)


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_tree(root: Path) -> None:
    """Flush a freshly written segment to disk before the manifest that names it is committed."""
    for folder, _, files in os.walk(root):
        for name in files:
            fd = os.open(os.path.join(folder, name), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        fsync_dir(Path(folder))
    fsync_dir(root.parent)


def new_segment_dir(directory: Path) -> Path:
    """A fresh, not yet visible segment directory (visible once a manifest names it)."""
    name = time.strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]
    path = directory / "segments" / name
    path.mkdir(parents=True)
    return path


def link_tree(src: Path, dst: Path) -> None:
    """Copy a component that did not change into a new segment, by hard links where possible."""
    shutil.copytree(src, dst, copy_function=_link_or_copy)


def link_file(src: Path, dst: Path) -> None:
    _link_or_copy(str(src), str(dst))


def _link_or_copy(src: str, dst: str) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def prune_segments(directory: Path, keep: set[str | None]) -> None:
    """Drop segments no manifest names any more (and leftovers of interrupted builds).

    The caller keeps the previous segment too: a reader whose snapshot began just before the
    switch may still be loading it.
    """
    root = directory / "segments"
    if not root.exists():
        return
    for child in root.iterdir():
        if child.name not in keep:
            shutil.rmtree(child, ignore_errors=True)


def segment_path(directory: Path, manifest: Manifest) -> Path:
    return directory / "segments" / str(manifest.segment)
