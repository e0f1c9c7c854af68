"""Failpoints: named places where a test can stop, kill or fail kb on purpose, exactly there.

Why: a crash test that watches a `kb ingest` from outside and sends SIGKILL "while parsing" races
the process — on a fast run the ingest has already moved on (or finished) when the signal lands,
and the test fails at random. With a failpoint the process itself says it has reached the point and
waits there, so the signal lands in the same place on every run.

Armed through the environment (read once per process), so real `kb` subprocesses can be armed:

    KB_FAILPOINTS="ingest.parsed=pause,switch.built=kill"
    KB_FAILPOINT_DIR=/tmp/run-1      # where `pause` announces itself

Actions, each firing on the first hit of its point (``name=action@N``: on the N-th hit); every other
hit passes through:

- ``pause``: create ``$KB_FAILPOINT_DIR/<name>`` (holding the pid), then wait until the process is
  killed or interrupted (SIGINT raises KeyboardInterrupt right there) or ``<name>.release`` appears;
- ``kill``: SIGKILL itself (a power cut, as far as the index can tell);
- ``interrupt``: raise KeyboardInterrupt (Ctrl-C);
- ``enospc`` / ``eio``: raise the OSError a full disk / a failing disk raises.

Tests in the same process use `armed(name, callback)`. Disarmed, `hit()` costs a dict lookup.
"""

from __future__ import annotations

import errno
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

# Every point kb passes, where it is (tests and docs name them from here).
POINTS = {
    "ingest.parsed": "after each input file is parsed (nothing written yet)",
    "embed.storing": "in the transaction that stores a batch of vectors, before its COMMIT",
    "ingest.embedded": "after each batch of vectors is committed to the embedding cache",
    "switch.building": "in the write transaction, before the new segment is written",
    "switch.built": "segment written and fsynced, manifest row written, before the COMMIT",
    "switch.committed": "after the COMMIT (the switch), before manifest.json is mirrored",
    "read.snapshot": "inside every read, after its database snapshot began",
    "read.query": "inside a search, question, parse or similar-passages read (in its snapshot)",
}
ACTIONS = ("pause", "kill", "interrupt", "enospc", "eio")
POLL_S = 0.01  # how often a paused process looks for its release file

_lock = threading.Lock()
_hits: dict[str, int] = {}
_callbacks: dict[str, Callable[[], None]] = {}
_armed: dict[str, tuple[str, int]] | None = None  # name -> (action, on which hit), parsed once


class FailpointError(ValueError):
    """KB_FAILPOINTS names an unknown point or action (a typo would silently test nothing)."""


def parse(spec: str) -> dict[str, tuple[str, int]]:
    """'a=pause,b=kill@3' -> {'a': ('pause', 1), 'b': ('kill', 3)}."""
    out: dict[str, tuple[str, int]] = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        name, _, action = item.partition("=")
        action, _, nth = action.partition("@")
        if name not in POINTS:
            raise FailpointError(f"KB_FAILPOINTS: unknown failpoint {name!r}; known: {', '.join(POINTS)}")
        if action not in ACTIONS:
            raise FailpointError(f"KB_FAILPOINTS: unknown action {action!r} for {name}; known: {', '.join(ACTIONS)}")
        out[name] = (action, int(nth) if nth else 1)
    return out


def _from_env() -> dict[str, tuple[str, int]]:
    global _armed
    if _armed is None:
        _armed = parse(os.environ.get("KB_FAILPOINTS", ""))
    return _armed


def hit(name: str) -> None:
    """kb passes the point `name`: do what it is armed to do, if anything."""
    armed = _from_env()
    if not armed and not _callbacks:
        return
    with _lock:
        count = _hits[name] = _hits.get(name, 0) + 1
        callback = _callbacks.get(name)
    if callback is not None:
        callback()
    action = armed.get(name)
    if action is not None and action[1] == count:
        _fire(name, action[0])


def _fire(name: str, action: str) -> None:
    if action == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    elif action == "interrupt":
        raise KeyboardInterrupt
    elif action in ("enospc", "eio"):
        code = errno.ENOSPC if action == "enospc" else errno.EIO
        raise OSError(code, f"{os.strerror(code)} (failpoint {name})")
    elif action == "pause":
        _pause(name)


def _pause(name: str) -> None:
    folder = os.environ.get("KB_FAILPOINT_DIR")
    if not folder:
        raise FailpointError(f"failpoint {name}=pause needs KB_FAILPOINT_DIR (where to announce it)")
    marker = Path(folder, name)
    tmp = marker.with_name(f".{name}.{os.getpid()}")
    tmp.write_text(str(os.getpid()), encoding="ascii")
    os.replace(tmp, marker)  # the test sees the whole file or none
    release = marker.with_name(f"{name}.release")
    while not release.exists():
        time.sleep(POLL_S)  # SIGINT raises KeyboardInterrupt here, as it would mid-work


def reached(folder: Path, name: str) -> int | None:
    """For tests: the pid paused at `name`, or None if no process has reached it yet."""
    try:
        return int((Path(folder) / name).read_text(encoding="ascii"))
    except (OSError, ValueError):
        return None


def release(folder: Path, name: str) -> None:
    """For tests: let the process paused at `name` go on."""
    (Path(folder) / f"{name}.release").write_text("go", encoding="ascii")


@contextmanager
def armed(name: str, callback: Callable[[], None]) -> Iterator[None]:
    """For tests in this process: call `callback` (in the hitting thread) each time `name` is hit."""
    if name not in POINTS:
        raise FailpointError(f"unknown failpoint {name!r}")
    with _lock:
        _callbacks[name] = callback
    try:
        yield
    finally:
        with _lock:
            _callbacks.pop(name, None)
