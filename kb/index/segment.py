"""The persisted search indexes (BM25, FAISS, lexicon) and the manifest that stamps them.

Layout of an index directory::

    kb.sqlite              documents, chunks, embedding cache, and the manifest (see store.py)
    manifest.json          a copy of the manifest for people and tools: format version, kb version,
                           embedder id and dimension, lexicon hash, counts, the current segment
    segments/<name>/       bm25/ (bm25s arrays + chunk_ids.npy), dense/faiss.index, lexicon.txt,
                           sentences/ (faiss.index, ids.npy, chunk_ids.npy), glossary/ (entries.jsonl, vectors.npy)
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
import re
import shutil
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

from kb import __version__
from kb.errors import EmbedderMismatch, IndexUnusable, SegmentMissing, StorageError  # noqa: F401 (re-exported)
from kb.settings import Settings

FORMAT_VERSION = 1
MANIFEST = "manifest.json"


# The manifest is read from a file anyone with write access to the folder can edit: it is checked
# as untrusted input. A segment name comes only from this pattern (what new_segment_dir makes).
SEGMENT_NAME = re.compile(r"\d{8}-\d{6}-[0-9a-f]{6}")
COUNT_KEYS = ("documents", "chunks", "embedded", "sentences", "definitions")
DENSE_KINDS = ("flat", "hnsw")


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

    def built_with(self) -> Settings:
        """The settings this index was built with (defaults for what an older kb did not record)."""
        return Settings.from_dict(self.settings)

    def to_json(self) -> dict:
        out = asdict(self)
        out["embedder"] = {"id": out.pop("embedder_id"), "dim": out.pop("dim")}
        return out

    @classmethod
    def from_json(cls, data: object) -> Manifest:
        """Every field type-checked; raises ValueError naming the first bad one. Unknown keys are ignored."""
        if not isinstance(data, dict):
            raise ValueError(f"a JSON object expected, not {type(data).__name__}")
        embedder = data.get("embedder")
        if not isinstance(embedder, dict):
            raise ValueError("'embedder' must be an object with 'id' and 'dim'")
        out = cls(embedder_id=_field(embedder, "id", str, "embedder.id"), dim=_field(embedder, "dim", int, "embedder.dim"))
        if not out.embedder_id or len(out.embedder_id) > 300 or not 0 < out.dim <= 65536:
            raise ValueError(f"embedder {out.embedder_id[:40]!r} of dimension {out.dim} is not plausible")
        out.format_version = _field(data, "format_version", int, default=FORMAT_VERSION)
        out.kb_version = _field(data, "kb_version", str, default="unknown")
        out.segment = _field(data, "segment", str, optional=True)
        if out.segment is not None and not SEGMENT_NAME.fullmatch(out.segment):
            raise ValueError(f"segment name {out.segment[:80]!r} is not one kb makes (YYYYMMDD-HHMMSS-xxxxxx)")
        out.lexicon_hash = _field(data, "lexicon_hash", str, optional=True)
        if out.lexicon_hash is not None and not re.fullmatch(r"[0-9a-f]{1,128}", out.lexicon_hash):
            raise ValueError("lexicon_hash is not a hex digest")
        out.lexicon_terms = _field(data, "lexicon_terms", int, default=0)
        counts = data.get("counts") or {}
        if not isinstance(counts, dict) or not set(counts) <= set(COUNT_KEYS):
            raise ValueError(f"'counts' must be an object with keys among {', '.join(COUNT_KEYS)}")
        out.counts = {k: _field(counts, k, int, f"counts.{k}") for k in counts}
        if min([out.lexicon_terms, *out.counts.values()]) < 0:
            raise ValueError("negative counts")
        out.dense_kind = _field(data, "dense_kind", str, optional=True)
        if out.dense_kind is not None and out.dense_kind not in DENSE_KINDS:
            raise ValueError(f"dense_kind {out.dense_kind[:40]!r} is not one of {', '.join(DENSE_KINDS)}")
        out.updated_at = _field(data, "updated_at", str, optional=True)
        out.settings = data.get("settings") or {}
        if not isinstance(out.settings, dict):
            raise ValueError(f"'settings' must be an object, not {type(out.settings).__name__}")
        return out


_MISSING = object()


def _field(data: dict, key: str, kind: type, name: str | None = None, optional: bool = False, default=_MISSING):
    """data[key] if it has type `kind` (a bool is not an int); absent or null: None when `optional`,
    else `default`, else an error."""
    name = name or key
    value = data.get(key)
    if value is None:
        if optional:
            return None
        if default is not _MISSING:
            return default
        raise ValueError(f"'{name}' is missing")
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ValueError(f"'{name}' must be {kind.__name__}, not {type(value).__name__}")
    return value


def parse_manifest(text: str, where: str) -> Manifest:
    try:
        manifest = Manifest.from_json(json.loads(text))
    except (ValueError, KeyError, TypeError, RecursionError) as e:
        raise IndexUnusable(f"{where}: unreadable manifest ({' '.join(str(e).split())[:200]})") from e
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
            if child.is_symlink():  # never delete through a link (what it points to is not ours)
                child.unlink()
            else:
                shutil.rmtree(child, ignore_errors=True)


def segment_path(directory: Path, manifest: Manifest) -> Path:
    """Where the manifest's segment lives; never outside `directory/segments` (see `verified_segment`)."""
    name = str(manifest.segment)
    if not SEGMENT_NAME.fullmatch(name):
        raise IndexUnusable(f"{directory}: segment name {name[:80]!r} is not one kb makes")
    return directory / "segments" / name


def verified_segment(directory: Path, manifest: Manifest) -> Path:
    """The segment folder, once nothing in it (nor `segments/` itself) leads outside the index folder.

    A symlinked segment or index file would make kb read — and `kb check` vouch for — files from
    anywhere. Hard links (how unchanged components are shared between segments) are fine.
    """
    seg = segment_path(directory, manifest)
    root = directory.resolve()
    outside = [p for p in (seg.parent, seg) if p.is_symlink() or not _inside(p, root)]
    if seg.is_dir():
        for folder, dirs, files in os.walk(seg):
            for name in (*dirs, *files):
                entry = Path(folder, name)
                if entry.is_symlink() or not _inside(entry, root):
                    outside.append(entry)
    if outside:
        raise IndexUnusable(f"{outside[0]} leads outside the index folder {directory} (a symlink?); kb reads "
                            f"index files only from inside it; rebuild them with `kb reindex --index {directory}`")
    return seg


def _inside(path: Path, root: Path) -> bool:
    return path.resolve().is_relative_to(root)
