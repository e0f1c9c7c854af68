"""The persisted search indexes (BM25, FAISS, lexicon) and the manifest that stamps them.

Layout of an index directory::

    kb.sqlite              documents, chunks, embedding cache (see store.py)
    manifest.json          format version, kb version, embedder id and dimension, lexicon hash, counts,
                           and the name of the current segment
    segments/<name>/       bm25/ (bm25s arrays + chunk_ids.npy), dense/faiss.index, lexicon.json

A build writes a new segment beside the old one and then swaps `manifest.json` with `os.replace`,
so a reader sees either the old indexes or the new ones, never half of each.
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


def read_manifest(directory: Path) -> Manifest | None:
    path = directory / MANIFEST
    if not path.exists():
        return None
    try:
        manifest = Manifest.from_json(json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, KeyError, TypeError) as e:
        raise IndexUnusable(f"{path}: unreadable manifest ({e})") from e
    if manifest.format_version > FORMAT_VERSION:
        raise IndexUnusable(
            f"{path}: index format {manifest.format_version} is newer than this kb reads ({FORMAT_VERSION}); upgrade kb"
        )
    return manifest


def write_manifest(directory: Path, manifest: Manifest) -> None:
    """Atomically replace manifest.json (write aside, fsync, rename)."""
    manifest.updated_at = time.strftime("%Y-%m-%dT%H:%M:%S")
    fd, tmp = tempfile.mkstemp(prefix=".manifest-", dir=directory)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(manifest.to_json(), f, ensure_ascii=False, indent=2)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, directory / MANIFEST)


def new_segment_dir(directory: Path) -> Path:
    """A fresh, not yet visible segment directory (visible once a manifest names it)."""
    name = time.strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]
    path = directory / "segments" / name
    path.mkdir(parents=True)
    return path


def link_tree(src: Path, dst: Path) -> None:
    """Copy a component that did not change into a new segment, by hard links where possible."""
    shutil.copytree(src, dst, copy_function=_link_or_copy)


def _link_or_copy(src: str, dst: str) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def prune_segments(directory: Path, keep: str | None) -> None:
    root = directory / "segments"
    if not root.exists():
        return
    for child in root.iterdir():
        if child.name != keep:
            shutil.rmtree(child, ignore_errors=True)
