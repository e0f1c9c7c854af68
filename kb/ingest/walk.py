"""Which files the inputs name: files given, and the supported files under folders given
(recursive, sorted, hidden ones left out), each once; problems in place as LoadError values."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from kb.ingest.problems import LoadError, LoadWarning, Skipped

SUPPORTED = {
    ".txt", ".md", ".html", ".htm", ".pdf", ".docx", ".doc", ".wps", ".ofd", ".jsonl",
    ".csv", ".tsv", ".xlsx", ".xls", ".ods",
}


def _hidden(name: str) -> bool:
    return name.startswith(".")


def _walk(root: Path) -> Iterator[Path | LoadError]:
    """Supported files under `root`, following symlinked folders but never into a loop."""
    seen_dirs = {os.path.realpath(root)}
    errors: list[OSError] = []
    for folder, dirs, files in os.walk(root, followlinks=True, onerror=errors.append):
        keep = []
        for d in sorted(dirs):
            if _hidden(d):
                continue
            real = os.path.realpath(os.path.join(folder, d))
            if real in seen_dirs:
                yield LoadWarning(os.path.join(folder, d), "symlink loop (or a folder already walked), skipped")
                continue
            seen_dirs.add(real)
            keep.append(d)
        dirs[:] = keep
        for f in sorted(files):
            path = Path(folder, f)
            if _hidden(f):
                continue
            if path.suffix.lower() not in SUPPORTED:
                yield Skipped(path, f"unsupported type {path.suffix.lower() or '(no extension)'}")
                continue
            yield path if path.exists() else LoadError(path, f"broken symlink (points to {os.readlink(path)})")
    for e in errors:  # an unreadable folder
        yield LoadError(e.filename or root, e.strerror or type(e).__name__)


def iter_files(paths: Iterable[str | os.PathLike[str]]) -> Iterator[Path | LoadError]:
    """Files named, and supported files under folders named (recursive, sorted, no hidden ones).

    A file named explicitly is yielded whatever its suffix, so `load_file` can say why it fails
    rather than it silently vanishing. Each file is yielded once. Problems (a missing path, a broken
    symlink, a symlink loop) come back as LoadError values in place, so the other inputs still go in.
    """
    seen: set[Path] = set()
    for given in paths:
        path = Path(given)
        if not path.exists():
            reason = "broken symlink" if path.is_symlink() else "no such file or directory"
            yield LoadError(str(given), reason)
            continue
        found = False
        for item in _walk(path) if path.is_dir() else [path]:
            if isinstance(item, LoadError):
                yield item
                continue
            found = True
            key = item.resolve()
            if key not in seen:
                seen.add(key)
                yield item
        if not found:
            yield LoadError(str(given), f"no supported files in this folder ({', '.join(sorted(SUPPORTED))})")
