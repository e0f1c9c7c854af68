"""Chunking heading-dense text: time against length, and how long `kb ingest` holds the write lock.

    python scripts/bench_chunking.py [--sizes 50000,100000,500000,3000000] [--skip-ingest]

A file of numbered headings only (一、… （一）… 1.… （1）…, one a line, numbering that continues
as real reports number) is the worst case for section-aware chunking: every line is a heading and
a section, every section a passage. Before issue 19 such a file took 27 s at 49k characters and
did not finish at 439k — cleaning joined every run of short lines from every line on (quadratic),
and the passage limit was checked only once the whole text was cut — all under the write lock.

Three measurements per size:
1. `chunk()` alone, no limit: must grow linearly (the time per 1,000 characters stays flat);
2. `prepare()` — clean, metadata, chunk — under the CLI's limits (10,000 passages a document):
   the time to the passages, or to the refusal (at the first passage over the limit);
3. a real `kb ingest FILE --no-dense` in its own process (a new index each time): how long it held
   the write lock (timed inside the process around `write_lock`), its exit code and its line.
   Embedding is left out (`--no-dense`): its time is bounded by the passage count (≈ 5 passages a
   second on 2 cores), which the passage limit and the upload budget bound.

Also: the largest heading-only file the CLI accepts (10,000 passages) through the same ingest.
Targets: linear; the lock held ≤ 10 s for the largest accepted file; refusals in seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _bench_common import ROOT, code_version, log  # noqa: E402

_CN = "一二三四五六七八九十"


def cn(n: int) -> str:
    """1..99 as a Chinese numeral (the numbering headings use)."""
    if n <= 10:
        return _CN[n - 1]
    tens, unit = divmod(n, 10)
    return (_CN[tens - 1] if tens > 1 else "") + "十" + (_CN[unit - 1] if unit else "")


def _heading_lines() -> Iterator[str]:
    for a in range(1, 100):
        yield f"{cn(a)}、第{a}部分"
        for b in range(1, 100):
            yield f"（{cn(b)}）事项{b}"
            for c in range(1, 100):
                yield f"{c}.要点{c}"
                for d in range(1, 100):
                    yield f"（{d}）细目{d}"


def heading_only(chars: int | None = None, headings: int | None = None) -> str:
    """Numbered headings only, one a line, numbering continuing at each level (so every line is
    accepted as a heading): `chars` characters, or exactly `headings` heading lines."""
    out: list[str] = []
    size = 0
    for line in _heading_lines():
        out.append(line)
        size += len(line) + 1
        if (chars is not None and size >= chars) or (headings is not None and len(out) >= headings):
            break
    text = "\n".join(out) + "\n"
    return text[:chars] if chars is not None else text


def time_chunk(text: str) -> tuple[float, int]:
    from kb.ingest.chunk import chunk

    t = time.perf_counter()
    spans = chunk(text)
    return time.perf_counter() - t, len(spans)


def time_prepare(text: str) -> tuple[float, str]:
    from kb.errors import LimitExceeded
    from kb.ingest.load import RawDocument
    from kb.ingest.pipeline import prepare

    t = time.perf_counter()
    try:
        _, rows = prepare(RawDocument("headings.txt", text))
        outcome = f"{len(rows):,} passages"
    except LimitExceeded as e:
        outcome = f"refused: {e.reason}"
    return time.perf_counter() - t, outcome


# Run in a fresh process: `kb ingest` as the CLI runs it, with the write lock timed from inside.
_INGEST = r"""
import json, sys, time
from contextlib import contextmanager
import kb.index.indexer as indexer
held = []
original = indexer.write_lock
@contextmanager
def timed(*a, **k):
    with original(*a, **k):
        t = time.perf_counter()
        try:
            yield
        finally:
            held.append(time.perf_counter() - t)
indexer.write_lock = timed
from kb.cli import main
t = time.perf_counter()
code = main(sys.argv[2:])
sys.stderr.flush()
with open(sys.argv[1], "w") as f:
    json.dump({"code": code, "held_s": max(held, default=0.0), "wall_s": time.perf_counter() - t}, f)
"""


def time_ingest(text: str, work: Path) -> dict:
    path = work / "headings.txt"
    path.write_text(text, encoding="utf-8")
    out = work / "result.json"
    index = work / f"index-{time.monotonic_ns()}"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    p = subprocess.run([sys.executable, "-c", _INGEST, str(out), "ingest", str(path), "--index", str(index),
                        "--no-dense", "--quiet"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=3600,
                       check=False)
    result = json.loads(out.read_text())
    lines = [line for line in (p.stderr + p.stdout).splitlines() if line.strip()]
    result["line"] = next((line for line in lines if line.startswith(("failed:", "kb:"))), lines[-1] if lines else "")
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="50000,100000,500000,3000000", help="characters of heading-only text")
    ap.add_argument("--skip-ingest", action="store_true", help="only chunk() and prepare(), in this process")
    args = ap.parse_args()
    sizes = [int(x) for x in args.sizes.split(",")]
    log(code_version(), f"load average {os.getloadavg()[0]:.2f}")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        cases = [(f"{n:,} characters", heading_only(chars=n)) for n in sizes]
        cases.append(("largest accepted: 10,000 headings", heading_only(headings=10_000)))
        time_prepare(heading_only(chars=2_000))  # load the gazetteer, jieba, OpenCC once
        for name, text in cases:
            chunk_s, passages = time_chunk(text)
            prep_s, outcome = time_prepare(text)
            row = {"case": name, "chars": len(text), "chunk_s": chunk_s, "passages": passages,
                   "us_per_char": chunk_s / len(text) * 1e6, "prepare_s": prep_s, "prepare": outcome}
            if not args.skip_ingest:
                row["ingest"] = time_ingest(text, work)
            rows.append(row)
            log(json.dumps(row, ensure_ascii=False))
    print(f"### Heading-only text — {code_version()}, load average {os.getloadavg()[0]:.2f}\n")
    head = "| text | characters | `chunk()` alone | µs / character | passages | `prepare()` (limits on) |"
    sep = "| --- | ---: | ---: | ---: | ---: | --- |"
    if not args.skip_ingest:
        head += " `kb ingest --no-dense`: write lock held | exit, line |"
        sep += " ---: | --- |"
    print(head)
    print(sep)
    for r in rows:
        line = (f"| {r['case']} | {r['chars']:,} | {r['chunk_s']:.2f} s | {r['us_per_char']:.1f} | {r['passages']:,} "
                f"| {r['prepare_s']:.2f} s: {r['prepare'][:70]} |")
        if "ingest" in r:
            i = r["ingest"]
            line += f" {i['held_s']:.2f} s | {i['code']}: {i['line'][:90]} |"
        print(line)


if __name__ == "__main__":
    main()
