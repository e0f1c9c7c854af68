"""`kb serve --ray ADDRESS`: the same API app as a Ray Serve deployment; shards as deployments of their own.

    kb serve --ray 127.0.0.1:6379 --index idx --replicas 2                  # 2 copies of the API
    kb serve --ray 127.0.0.1:6379 --index idx --shards shards/shard-*       # legs on the shards

Each API replica runs `serve.build_app` — one long-lived handle on the committed index, the
single-threaded query pool — so a replica answers exactly as `kb serve` does; Ray Serve's proxy
spreads requests over the replicas. With `--shards`, every shard is a deployment of its own (a
`LegServer` holding that shard's BM25 and FAISS) and each API replica is a router
(shard/router.py) whose legs are Ray Serve handles, called for every shard at once.

The proxy listens on --host/--port of the head node only (HeadOnly: two nodes of one machine would
otherwise both bind the port). This process is the driver: it deploys, prints where the API is,
and takes the application down again on Ctrl-C or SIGTERM. Writes on Ray need the index on storage
every replica's node reads (and are refused with shards: re-cut the shards after a write).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import threading
from pathlib import Path

APP = "kb"


class RayLegs:
    """Shard deployments through their handles, called side by side (from a query thread)."""

    def __init__(self, handles) -> None:
        self.handles = list(handles)

    def describe(self) -> list[dict]:
        return [h.describe.remote().result() for h in self.handles]

    def call(self, method: str, args) -> list:
        responses = [getattr(h, method).remote(*a) for h, a in zip(self.handles, args)]
        return [r.result() for r in responses]


def deployments():
    """The two deployment classes (defined on first use: Ray is an optional dependency)."""
    from ray import serve

    @serve.deployment
    class LegServer:
        def __init__(self, directory: str) -> None:
            from kb.shard.legs import Legs
            from kb.threads import query_process

            query_process(1)
            self.legs = Legs(Path(directory))

        def describe(self) -> dict:
            return self.legs.describe()

        def bm25_top(self, tokens, n, bits):
            return self.legs.bm25_top(tokens, n, bits)

        def dense_top(self, vector, n, bits):
            return self.legs.dense_top(vector, n, bits)

        def rows_with(self, token):
            return self.legs.rows_with(token)

    @serve.deployment
    @serve.ingress()
    class KbApi:
        def __init__(self, config: dict, *legs) -> None:
            self.config, self.legs = config, legs

        async def __serve_build_asgi_app__(self):
            return await asyncio.to_thread(self._build)  # handles' .result() may not run on the event loop

        def _build(self):
            from kb.api.serve import build_app

            cfg = self.config
            legs = RayLegs(self.legs) if self.legs else None
            return build_app(Path(cfg["index"]) if cfg["index"] else None, cfg["threads"], cfg["overrides"],
                             cfg["token"], legs=legs)

    return LegServer, KbApi


def run_on_ray(address: str, index: Path | None, host: str, port: int, replicas: int = 1,
               shards: list[Path] | None = None, overrides: dict | None = None, replica_cpus: float = 1.0,
               threads: int | None = None) -> None:
    import ray
    from ray import serve

    from kb.ingest.distributed import _reachable

    _reachable(address)
    kb_package = str(Path(__file__).resolve().parents[1])
    env = {k: os.environ[k] for k in ("KB_EMBED_ENGINE", "KB_EMBED_QUERY_ENGINE", "KB_SETTINGS", "KB_MODEL_CACHE",
                                      "KB_FAILPOINTS", "KB_FAILPOINT_DIR", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
           if os.environ.get(k)}
    ray.init(address=address, runtime_env={"py_modules": [kb_package], "env_vars": env}, log_to_driver=False,
             logging_level="ERROR", configure_logging=True, _node_ip_address="127.0.0.1" if host.startswith("127.") else None)
    LegServer, KbApi = deployments()
    index = (index or Path(os.environ.get("KB_INDEX") or "index")).resolve()
    config = {"index": str(index), "threads": threads or max(1, int(replica_cpus)), "overrides": overrides or {},
              "token": os.environ.get("KB_API_TOKEN") or None}
    legs = [LegServer.options(name=f"kb-shard-{i}", num_replicas=1, ray_actor_options={"num_cpus": replica_cpus / 2})
            .bind(str(Path(d).resolve())) for i, d in enumerate(shards or [])]
    api = KbApi.options(name="kb-api", num_replicas=replicas, ray_actor_options={"num_cpus": replica_cpus},
                        max_ongoing_requests=64).bind(config, *legs)
    serve.start(proxy_location="HeadOnly", http_options={"host": host, "port": port})
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        serve.run(api, name=APP, route_prefix="/", blocking=False)
        where = f"http://{host}:{port}"
        what = f"{len(shards)} shards" if shards else "the whole index"
        print(f"kb: serving {index} on Ray at {where} ({replicas} replica(s), {what}); API docs at {where}/docs",
              flush=True)
        stop.wait()
    finally:
        try:
            serve.delete(APP)
            serve.shutdown()
        finally:
            ray.shutdown()
        print("kb: Ray Serve application removed", file=sys.stderr, flush=True)
