"""One writer per index: an advisory lock file, released by the OS when its holder dies.

`flock` rather than a PID file: a `kb ingest` killed with SIGKILL leaves no stale lock behind, and
a second writer can tell who holds it. Readers never take it (SQLite's WAL gives them snapshots).
"""

from __future__ import annotations

import fcntl
import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from kb.errors import IndexBusy  # noqa: F401 (re-exported)

LOCK_NAME = ".write.lock"


@contextmanager
def write_lock(directory: Path, wait: bool = True, on_wait: Callable[[str], None] | None = None) -> Iterator[None]:
    """Hold the index's write lock; wait for it (telling `on_wait` who holds it) or raise IndexBusy."""
    directory.mkdir(parents=True, exist_ok=True)
    fd = os.open(directory / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(fd)
            if not wait:
                raise IndexBusy(f"{directory}: another kb process is writing this index ({holder}); "
                                "try again when it has finished") from None
            if on_wait:
                on_wait(holder)
            fcntl.flock(fd, fcntl.LOCK_EX)
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps({"pid": os.getpid(), "command": " ".join(sys.argv[:3]),
                                  "since": time.strftime("%Y-%m-%d %H:%M:%S")}, ensure_ascii=False).encode(), 0)
        yield
    finally:
        os.close(fd)  # releases the lock


def _holder(fd: int) -> str:
    try:
        info = json.loads(os.pread(fd, 4096, 0) or b"{}")
        return f"pid {info['pid']}, {info.get('command') or 'kb'}, since {info['since']}"
    except (ValueError, KeyError, OSError):
        return "holder unknown"
