"""`kb serve` under load: N concurrent clients over loopback, quiet, during an ingest, and on Ray Serve.

    python scripts/bench_serve.py --index /tmp/base/idx_real [--clients 32] [--seconds 60]
                                  [--phases quiet,ingest,ray] [--replicas 2]

The index is copied first (the ingest phase writes to the copy). Each phase starts a server, lets
every client send `GET /search?q=…` (hybrid, k=10, queries from eval/*.jsonl in turn) on its own
keep-alive connection, back to back, for `--seconds`, and reports requests/s, latency p50/p95/p99
as the client saw it, the server's own `took_ms`, and errors (any answer but 200, or no answer:
must be 0).

- quiet: `kb serve` on this machine, nothing else of ours running;
- ingest: the same while `kb ingest` (nice 10, its default) adds reports to the served index —
  timed only while the ingest runs; the server must keep answering from the committed generation;
- ray: `kb serve --ray` with `--replicas` replicas on a local Ray cluster (127.0.0.1).

Other people's work shares this machine: the load average is printed with each phase.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))
import numpy as np  # noqa: E402
from _bench_common import CORPUS, ROOT, code_version, log  # noqa: E402


def queries() -> list[str]:
    out = []
    for f in sorted((ROOT / "eval").glob("*queries*.jsonl")):
        out += [json.loads(line)["query"] for line in f.read_text(encoding="utf-8").splitlines() if line.strip()]
    return list(dict.fromkeys(out))


def start_server(args: list[str], log_path: Path, env: dict | None = None) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, "-m", "kb.cli", "serve", *args], cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=log_path.open("w"), env=env or os.environ.copy(),
                            start_new_session=True)
    line = proc.stdout.readline().strip()
    if not line.startswith("kb: serving"):
        stop(proc)
        raise SystemExit(f"kb serve did not start: {line!r}\n{log_path.read_text()[-2000:]}")
    return proc, line.split(" at ", 1)[1].split()[0]


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def load(url: str, clients: int, seconds: float, qs: list[str], keep_going=lambda: True) -> dict:
    """`clients` threads, each on its own keep-alive connection, back to back until the time is up."""
    host, port = urllib.parse.urlsplit(url).hostname, urllib.parse.urlsplit(url).port
    lat: list[float] = []
    took: list[float] = []
    errors: list[str] = []
    segments: set[str] = set()
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def client(i: int) -> None:
        conn = http.client.HTTPConnection(host, port, timeout=120)
        n = i
        while time.monotonic() < deadline and keep_going():
            q = qs[n % len(qs)]
            n += clients
            path = "/search?" + urllib.parse.urlencode({"q": q, "k": 10})
            t0 = time.perf_counter()
            try:
                conn.request("GET", path)
                r = conn.getresponse()
                body = r.read()
                ms = (time.perf_counter() - t0) * 1000
                with lock:
                    if r.status != 200:
                        errors.append(f"{r.status} {body[:200]!r}")
                    else:
                        lat.append(ms)
                        took.append(json.loads(body)["took_ms"])
                        segments.add(r.getheader("x-kb-segment") or "")
            except (OSError, http.client.HTTPException) as e:
                with lock:
                    errors.append(f"{type(e).__name__}: {e}")
                conn.close()
                conn = http.client.HTTPConnection(host, port, timeout=120)
        conn.close()

    t0 = time.monotonic()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.monotonic() - t0
    return {"requests": len(lat), "seconds": wall, "lat": lat, "took": took, "errors": errors, "segments": sorted(segments)}


def embedded(index: Path) -> int:
    try:
        db = sqlite3.connect(f"file:{index / 'kb.sqlite'}?mode=ro", uri=True, timeout=1)
        try:
            return db.execute("SELECT count(*) FROM embeddings").fetchone()[0]
        finally:
            db.close()
    except sqlite3.Error:
        return 0


def row(label: str, r: dict, load_avg: float) -> str:
    lat, took = np.asarray(r["lat"] or [np.nan]), np.asarray(r["took"] or [np.nan])
    return (f"| {label} | {r['requests']} | {r['requests'] / r['seconds']:.1f} | {np.percentile(lat, 50):.0f} | "
            f"{np.percentile(lat, 95):.0f} | {np.percentile(lat, 99):.0f} | {np.percentile(took, 50):.0f} / "
            f"{np.percentile(took, 95):.0f} | {len(r['errors'])} | {load_avg:.1f} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--index", type=Path, required=True, help="the index to serve (copied first)")
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--phases", default="quiet,ingest,ray")
    ap.add_argument("--replicas", type=int, default=2)
    ap.add_argument("--ingest", type=Path, help="what the ingest phase adds (default: the first 8,000 characters of 2 "
                                                "national reports, JSONL)")
    args = ap.parse_args()
    phases = args.phases.split(",")
    work = Path(tempfile.mkdtemp(prefix="kb-bench-serve-"))
    index = work / "index"
    shutil.copytree(args.index, index)
    qs = queries()
    results: list[tuple[str, dict, float]] = []
    notes: list[str] = []
    env = {**os.environ, "KB_EMBED_QUERY_ENGINE": os.environ.get("KB_EMBED_QUERY_ENGINE", "c")}
    try:
        if "quiet" in phases or "ingest" in phases:
            log("starting kb serve")
            proc, url = start_server(["--index", str(index), "--port", "0"], work / "serve.log", env)
            try:
                load(url, 4, 5, qs)  # warm: caches, first queries
                if "quiet" in phases:
                    log(f"quiet: {args.clients} clients, {args.seconds:.0f} s")
                    la = os.getloadavg()[0]
                    results.append(("kb serve, quiet", load(url, args.clients, args.seconds, qs), la))
                if "ingest" in phases:
                    feed = args.ingest
                    if feed is None:
                        feed = work / "feed.jsonl"
                        docs = [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines()[-2:]]
                        for d in docs:  # ≈ 40 new passages: an ingest that outlasts the window on a busy machine
                            d["content"] = d["content"][:8000]
                        feed.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in docs), encoding="utf-8")
                    before = embedded(index)
                    ingest = subprocess.Popen([sys.executable, "-m", "kb.cli", "ingest", str(feed), "--index", str(index),
                                               "--quiet"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                              stderr=(work / "ingest.log").open("w"))
                    t0 = time.monotonic()
                    while ingest.poll() is None and embedded(index) == before:
                        time.sleep(0.05)  # the event: the ingest is embedding
                    log(f"ingest embedding after {time.monotonic() - t0:.0f} s: {args.clients} clients while it runs")
                    la = os.getloadavg()[0]
                    r = load(url, args.clients, args.seconds, qs, keep_going=lambda: ingest.poll() is None)
                    results.append(("kb serve, during kb ingest", r, la))
                    ingest.wait()
                    after = load(url, 2, 3, qs)
                    notes.append(f"during the ingest the server answered from generation(s) {', '.join(r['segments'])}; "
                                 f"after it committed: {', '.join(after['segments'])} (ingest exit {ingest.returncode}, "
                                 f"{time.monotonic() - t0:.0f} s)")
            finally:
                stop(proc)
        if "ray" in phases:
            from ray_cluster import free_port, two_nodes

            with two_nodes() as address:
                port = free_port()
                log(f"kb serve --ray {address} --replicas {args.replicas}")
                proc, url = start_server(["--index", str(index), "--ray", address, "--port", str(port),
                                          "--replicas", str(args.replicas), "--replica-cpus", "0.5"], work / "ray.log", env)
                try:
                    load(url, 4, 5, qs)
                    la = os.getloadavg()[0]
                    results.append((f"Ray Serve, {args.replicas} replicas", load(url, args.clients, args.seconds, qs), la))
                finally:
                    stop(proc)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"\n`kb serve` under {args.clients} concurrent clients over loopback (GET /search, hybrid, k=10; "
          f"{len(qs)} queries in turn), index {args.index}\n")
    print("| phase | requests | req/s | p50 ms | p95 ms | p99 ms | server took_ms p50 / p95 | errors | load avg |")
    print("|---|---|---|---|---|---|---|---|---|")
    for label, r, la in results:
        print(row(label, r, la))
    for label, r, _ in results:
        if r["errors"]:
            print(f"errors in {label}: {r['errors'][:5]}")
    for n in notes:
        print(n)
    print(f"{code_version()}; {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
