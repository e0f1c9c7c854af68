"""Do reads wait for each other? Short-query latency alone, and beside long queries in other threads.

One `KnowledgeBase` handle shared by threads, as the UI's sessions share it. A "long" query is the
longest one kb accepts (1,000 characters, about a second of work); the short ones are the
questions people type. With kb 0.2's one read lock, a short query waited for whatever long query
was running; with a connection per read it only shares the CPU.

    python scripts/bench_concurrent_reads.py --index DIR [--long-threads 1] [--short 40]
    PYTHONPATH=/path/to/other/checkout python scripts/bench_concurrent_reads.py --index DIR   # compare

Timings on a shared 2-core machine vary: read the ratio, and rerun.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _bench_common import code_version, cpu_busy, log  # noqa: E402

SHORT = ["综合查一次", "行政复议", "哪些地区推行综合查一次", "府院联动", "行政执法三项制度", "败诉率"]
LONG = ("全面推进依法行政，深化行政执法体制改革，" * 60)[:1000]


def percentiles(ms: list[float]) -> str:
    ms = sorted(ms)
    p95 = ms[min(len(ms) - 1, int(0.95 * len(ms)))]
    return f"p50 {statistics.median(ms):7.1f} ms   p95 {p95:7.1f} ms   max {ms[-1]:7.1f} ms"


def short_latencies(kb, n: int) -> list[float]:
    out = []
    for i in range(n):
        t0 = time.perf_counter()
        kb.search(SHORT[i % len(SHORT)], k=10)
        out.append((time.perf_counter() - t0) * 1000)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--index", type=Path, required=True)
    ap.add_argument("--short", type=int, default=40, help="short queries timed in each phase")
    ap.add_argument("--long-threads", type=int, default=1, help="threads running long queries meanwhile")
    args = ap.parse_args()

    import kb as kb_package
    from kb import KnowledgeBase

    kb = KnowledgeBase.open(args.index)
    kb.warm()
    for q in SHORT:  # first queries pay for caches (jieba, the gazetteer): not timed
        kb.search(q, k=10)
    t0 = time.perf_counter()
    kb.search(LONG, k=10)
    long_ms = (time.perf_counter() - t0) * 1000
    log(f"kb from {Path(kb_package.__file__).parent}; one long query alone: {long_ms:.0f} ms")

    busy0, wall0 = cpu_busy(), time.perf_counter()
    alone = short_latencies(kb, args.short)
    busy_alone = (cpu_busy() - busy0) / (time.perf_counter() - wall0)

    stop = threading.Event()
    long_done = [0]

    def long_loop() -> None:
        while not stop.is_set():
            kb.search(LONG, k=10)
            long_done[0] += 1

    threads = [threading.Thread(target=long_loop, daemon=True) for _ in range(args.long_threads)]
    for t in threads:
        t.start()
    time.sleep(0.2)  # the long queries are under way (a benchmark, not a test: a sleep is fine here)
    beside = short_latencies(kb, args.short)
    stop.set()
    for t in threads:
        t.join()

    print(f"Concurrent reads — index {args.index}, {kb.status()['chunks']} chunks; {code_version()}; "
          f"kb imported from {Path(kb_package.__file__).parent}")
    print(f"one long query ({len(LONG)} characters) alone: {long_ms:.0f} ms")
    print(f"short queries alone                      : {percentiles(alone)}   (machine busy {busy_alone:.2f} cores)")
    print(f"short queries beside {args.long_threads} long-query thread(s): {percentiles(beside)}   "
          f"({long_done[0]} long queries meanwhile)")
    print(f"p50 ratio beside/alone: {statistics.median(beside) / statistics.median(alone):.1f}×")


if __name__ == "__main__":
    main()
