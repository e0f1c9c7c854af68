"""What both benchmarks share: paths, the commit they ran on, logging, CPU used by other processes,
and `Timers` (time private methods of kb by wrapping them for the length of a block)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# CI and developers have ../shared beside the checkout (read-only; benchmarks may use it).
# (a git worktree sits deeper: the nearest folder above with shared/corpus in it)
SHARED = next((p / "shared" for p in ROOT.parents if (p / "shared" / "corpus").is_dir()), ROOT.parent / "shared")
CORPUS = SHARED / "corpus" / "national" / "government_work_reports.jsonl"
SAMPLES = ROOT / "data" / "samples"


def code_version() -> str:
    """The commit the benchmark ran on, and whether kb/ had uncommitted changes."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "kb"], cwd=ROOT, capture_output=True, text=True).stdout
        return f"kb at {head or '?'}{' + uncommitted changes in kb/' if dirty.strip() else ''}"
    except OSError:
        return "kb at (no git)"


def log(*args) -> None:
    print(f"[{time.strftime('%H:%M:%S')}]", *args, file=sys.stderr, flush=True)


def cpu_busy() -> float:
    """CPU seconds all processes have used (from /proc/stat): the machine-wide counter."""
    with open("/proc/stat") as f:
        vals = [int(x) for x in f.readline().split()[1:]]
    return (sum(vals[:8]) - vals[3] - vals[4]) / os.sysconf("SC_CLK_TCK")


class Timers:
    """Accumulated seconds per label; `wrap(obj, name, label)` times every call of obj.name.

    Wrap at class level (e.g. `Indexer`, `Store`) to catch the writer's own objects: each
    `KnowledgeBase.ingest/embed/reindex` opens a fresh `Indexer.session` with its own `Store`
    connection, so wrapping the reader's `kb.store` would time nothing.
    """

    def __init__(self) -> None:
        from collections import defaultdict

        self.s: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self._undo: list = []

    def wrap(self, obj, name: str, label: str) -> None:
        orig = getattr(obj, name)

        def timed(*a, **k):
            t = time.perf_counter()
            try:
                return orig(*a, **k)
            finally:
                self.add(label, time.perf_counter() - t)

        self._replace(obj, name, timed)

    def wrap_switch(self, label: str, write_label: str) -> None:
        """Time `Indexer._switch` (one transaction: write rows, build, record manifest; then mirror
        and prune) and, separately, the `write()` it runs first — for ingest that is `ingest.apply`,
        storing the documents — so that "switch minus write" is the index rebuild alone."""
        from kb.index.indexer import Indexer

        orig = Indexer._switch

        def _switch(indexer, write, *a, **k):
            def timed_write():
                t = time.perf_counter()
                try:
                    return write()
                finally:
                    self.add(write_label, time.perf_counter() - t)

            t = time.perf_counter()
            try:
                return orig(indexer, timed_write, *a, **k)
            finally:
                self.add(label, time.perf_counter() - t)

        self._replace(Indexer, "_switch", _switch)

    def add(self, label: str, seconds: float) -> None:
        self.s[label] += seconds
        self.calls[label] += 1

    def _replace(self, obj, name: str, new) -> None:
        had_own = name in getattr(obj, "__dict__", {})
        raw = obj.__dict__[name] if had_own else None  # e.g. the classmethod object itself
        setattr(obj, name, new)
        self._undo.append((obj, name, raw, had_own))

    def restore(self) -> None:
        for obj, name, raw, had_own in reversed(self._undo):
            if had_own:
                setattr(obj, name, raw)
            else:
                delattr(obj, name)
        self._undo.clear()

    @contextmanager
    def active(self):
        try:
            yield self
        finally:
            self.restore()
