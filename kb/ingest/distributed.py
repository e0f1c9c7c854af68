"""Ingest on a Ray cluster: parsing and embedding fan out, this process stays the one writer.

`kb ingest PATHS --ray auto|ADDRESS` keeps every guarantee of a local ingest, because only the
pure, CPU-heavy steps move:

- this process walks the inputs, reads each file and skips unchanged ones (it owns the store);
  the bytes go to a CPU task per file that loads, cleans, derives metadata and chunks
  (`ingest.parse_file`), and the prepared documents stream back;
- the passages without a cached vector are embedded by a pool of embedder actors (one per CPU
  slot, or per GPU where the cluster has GPUs), batch by batch; each batch's vectors are committed
  to the embedding cache here as they arrive, exactly as a local ingest commits them;
- then the usual single transaction stores the documents and switches the index.

A worker that dies is retried by Ray (tasks: `max_retries`; actors: restarted, their calls
retried), so a killed node costs time, not data. kb's code travels to the workers with the job
(`runtime_env.py_modules`); the nodes need kb's dependencies installed (`pip install 'kb[ray]'`).
"""

from __future__ import annotations

import os
import socket
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kb.index.store import Store
from kb.ingest.pipeline import (
    FilePlan,
    IngestReport,
    ParseOptions,
    changed_file,
    input_files,
    parse_file,
    plan_parsed,
)

FAILPOINT_ENV = "KB_RAY_FAILPOINT"  # tests: the first embedding call blocks until its worker is killed
IN_FLIGHT_PER_SLOT = 2  # tasks queued per worker slot: keeps workers busy, bounds the bytes in flight


class RayUnavailable(RuntimeError):
    pass


@dataclass(frozen=True)
class EngineSpec:
    """What the embedder actors run: the index's embedder id and the driver's engine options."""

    embedder_id: str
    engine: str
    device: str


def _embed_actor_class():
    import ray

    @ray.remote(max_restarts=-1, max_task_retries=-1)
    class Embedder:
        def __init__(self, spec: EngineSpec, nice: int) -> None:
            from kb.embed import configure, get_embedder

            if nice > 0:
                try:
                    os.nice(nice)
                except OSError:
                    pass
            configure(engine=spec.engine, device=spec.device)
            self.embedder = get_embedder(spec.embedder_id)

        def embed(self, texts: list[str]) -> np.ndarray:
            _failpoint()
            return self.embedder.embed_passages(texts)

        def pid(self) -> int:
            return os.getpid()

    return Embedder


def _failpoint() -> None:
    """Test hook: the first call anywhere in the cluster writes its pid and waits to be killed."""
    where = os.environ.get(FAILPOINT_ENV)
    if not where:
        return
    marker = Path(where) / "embed-attempt"
    try:
        fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return  # a retry after the kill: carry on
    os.write(fd, str(os.getpid()).encode())
    os.close(fd)
    threading.Event().wait()  # until SIGKILL


class RayIngest:
    """A connection to a Ray cluster for one ingest."""

    def __init__(self, address: str, spec: EngineSpec, nice: int) -> None:
        try:
            import ray
        except ImportError as e:
            raise RayUnavailable("--ray needs Ray on this machine and the cluster: pip install 'kb[ray]'") from e
        self.ray = ray
        _reachable(address)
        env_vars = {k: os.environ[k] for k in (FAILPOINT_ENV, "KB_MODEL_CACHE") if os.environ.get(k)}
        runtime_env = {"py_modules": [str(Path(__file__).parents[1])], "env_vars": env_vars}
        try:
            ray.init(address=address, runtime_env=runtime_env, log_to_driver=False,
                     logging_level="ERROR", configure_logging=True)
        except (ConnectionError, RuntimeError, ValueError) as e:
            raise RayUnavailable(f"cannot join the Ray cluster at {address!r}: {' '.join(str(e).split())[:200]}") from e
        resources = ray.cluster_resources()
        self.cpus = max(1, int(resources.get("CPU", 1)))
        self.gpus = int(resources.get("GPU", 0))
        self.spec, self.nice = spec, nice
        self._parse = ray.remote(max_retries=3)(parse_file)
        self._actors: list = []

    def close(self) -> None:
        for actor in self._actors:
            self.ray.kill(actor)
        self._actors = []
        self.ray.shutdown()

    def __enter__(self) -> RayIngest:
        # Ray prints cluster events (a worker died, a task is retried) on the driver's stdout;
        # kb's stdout is the ingest summary, so they go to stderr with kb's other messages.
        self._stdout, sys.stdout = sys.stdout, sys.stderr
        return self

    def __exit__(self, *exc) -> None:
        try:
            self.close()
        finally:
            sys.stdout = self._stdout

    # ---- parse --------------------------------------------------------------------------
    def read_inputs(
        self,
        store: Store,
        paths: Iterable[str | Path],
        report: IngestReport,
        on_file: Callable[[Path, int, int], None] | None = None,
        reparse: bool = False,
        limit_mb: float | None = None,
        options: ParseOptions = ParseOptions(),
    ) -> list[FilePlan]:
        """`ingest.read_inputs` with parsing on the cluster; problems are reported in input order."""
        ray = self.ray
        files = input_files(paths, report)
        pending: dict = {}  # ref → index
        parsed: dict[int, tuple] = {}
        slots = self.cpus * IN_FLIGHT_PER_SLOT
        checked: list[tuple[Path, IngestReport, tuple | None]] = []
        for i, path in enumerate(files):
            if on_file:
                on_file(path, i, len(files))
            own = IngestReport()  # this file's unreadable/unchanged lines, merged in order below
            changed = changed_file(store, path, own, reparse, limit_mb)
            checked.append((path, own, changed))
            if changed is not None:
                while len(pending) >= slots:
                    done, _ = ray.wait(list(pending), num_returns=1)
                    parsed[pending.pop(done[0])] = ray.get(done[0])
                pending[self._parse.remote(path, changed[0], None, options)] = i
        for ref, i in pending.items():
            parsed[i] = ray.get(ref)
        plans = []
        for i, (path, own, changed) in enumerate(checked):
            _merge(report, own)
            if changed is not None:
                plan = plan_parsed(path, changed[1], changed[2], parsed[i], report)
                if plan is not None:
                    plans.append(plan)
        return plans

    # ---- embed --------------------------------------------------------------------------
    def _pool(self) -> list:
        if not self._actors:
            Embedder = _embed_actor_class()
            if self.gpus:
                spec = EngineSpec(self.spec.embedder_id, "torch", "cuda")
                self._actors = [Embedder.options(num_gpus=1, num_cpus=1).remote(spec, 0) for _ in range(self.gpus)]
            else:
                self._actors = [Embedder.options(num_cpus=1).remote(self.spec, self.nice) for _ in range(self.cpus)]
        return self._actors

    def embed_batches(self, batches: Iterable[list[tuple[str, str]]]) -> Iterator[tuple[list[tuple[str, str]], np.ndarray]]:
        """(batch, vectors) as the actors finish them (any order), at most two batches queued per actor."""
        actors = self._pool()
        idle = list(actors) * IN_FLIGHT_PER_SLOT
        pending: dict = {}
        for batch in batches:
            if not idle:
                yield self._one_done(pending, idle)
            actor = idle.pop()
            pending[actor.embed.remote([text for _, text in batch])] = (batch, actor)
        while pending:
            yield self._one_done(pending, idle)

    def _one_done(self, pending: dict, idle: list):
        done, _ = self.ray.wait(list(pending), num_returns=1)
        batch, actor = pending.pop(done[0])
        idle.append(actor)
        return batch, np.asarray(self.ray.get(done[0]), dtype=np.float32)


def _reachable(address: str) -> None:
    """Fail in seconds, not after Ray's minute of retries, when nothing listens at host:port."""
    if address == "auto" or ":" not in address:
        return
    host, _, port = address.rpartition(":")
    try:
        socket.create_connection((host.split("//")[-1], int(port)), timeout=10).close()
    except (OSError, ValueError) as e:
        raise RayUnavailable(f"cannot join the Ray cluster at {address!r}: {e}") from e


def _merge(report: IngestReport, part: IngestReport) -> None:
    for source, outcome, note in part.outcomes:
        report.record(source, outcome, note)
    report.warnings.extend(part.warnings)


def connect(address: str, embedder_id: str) -> RayIngest:
    """Join the cluster (`auto`: the one this machine is part of) for one ingest."""
    from kb.embed import _options
    from kb.settings import settings

    return RayIngest(address, EngineSpec(embedder_id, _options.engine, _options.device), settings().embed.ingest_nice)

