"""What both benchmarks share: paths, the commit they ran on, logging, CPU used by other processes."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# CI and developers have ../shared beside the checkout (read-only; benchmarks may use it).
CORPUS = ROOT.parent / "shared" / "corpus" / "national" / "government_work_reports.jsonl"
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
