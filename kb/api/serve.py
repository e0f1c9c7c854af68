"""`kb serve`: uvicorn in front of the API app, on a socket bound before the index loads.

Why uvicorn + FastAPI: FastAPI writes the OpenAPI document and the /docs page from the routes
themselves (no second description to keep in sync), validates parameters, and Ray Serve deploys
the same FastAPI app unchanged (`serve.ingress`), so one app serves one machine and a cluster.
The /docs page is served from files inside the `fastapi-offline` package: a machine without
internet access still shows it (FastAPI's default page loads Swagger UI from a CDN).

The process is a reader: `kb.threads.query_process()` makes every library single-threaded per
query before anything loads, a pool of `threads` query threads runs the reads (default: one per
core, divided among `workers` processes), and writes go to a writer process at nice 10.
"""

from __future__ import annotations

import inspect
import json
import os
import socket
import sys
from pathlib import Path

from kb.threads import cores, query_process

ENV = "KB_SERVE_CONFIG"
MAX_REQUEST_HEAD = 1 << 20  # bytes of request line and headers read before a request is refused  # how `--workers N` hands the configuration to each worker process


def default_threads(workers: int) -> int:
    return max(1, cores() // max(1, workers))


def build_app(index: Path | None, threads: int, overrides: dict | None = None, token: str | None = None,
              writes: bool = True, shards: list[Path] | None = None, legs=None):
    """Open the index (one long-lived handle), load it, and make the app over it. With `shards`
    (directories, loaded here) or `legs` (shard servers elsewhere, ray_serve.py), the index is the
    catalogue and the shards `kb shard` cut from it hold the search legs."""
    query_process(1)  # before the index, FAISS and the embedder load
    from kb.api.app import create_app
    from kb.api.writer import Writer
    from kb.knowledgebase import KnowledgeBase
    from kb.settings import settings

    if shards or legs:
        from kb.shard.router import ShardedKnowledgeBase, local_legs

        kb = ShardedKnowledgeBase.open(index, legs or local_legs(shards), overrides=overrides)
        writes = False  # shards are cut from one generation: re-cut them after a write (`kb shard`)
    else:
        kb = KnowledgeBase.open(index, overrides=overrides)
    kb.warm()
    kb.search("预热 综合查一次", k=1)  # jieba, the gazetteer and the caches: not the first user's wait
    writer = Writer(kb.directory, nice=settings().embed.ingest_nice) if writes else None
    return create_app(kb, token=token, threads=threads, writer=writer, title=f"kb · {kb.directory}")


def app_from_env():
    """The app for one worker process of `kb serve --workers N` (configuration in $KB_SERVE_CONFIG)."""
    cfg = json.loads(os.environ[ENV])
    return build_app(Path(cfg["index"]) if cfg["index"] else None, cfg["threads"], cfg["overrides"],
                     os.environ.get("KB_API_TOKEN") or None, shards=[Path(p) for p in cfg.get("shards") or []])


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on host:port (port 0: a free one, chosen by the system)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def run(index: Path | None, host: str = "127.0.0.1", port: int = 8000, workers: int = 1, threads: int | None = None,
        overrides: dict | None = None, shards: list[Path] | None = None) -> None:
    import uvicorn

    threads = threads or default_threads(workers)
    token = os.environ.get("KB_API_TOKEN") or None
    sock = bind(host, port)
    where = f"http://{host if ':' not in host else f'[{host}]'}:{sock.getsockname()[1]}"
    # h11 with room for a long request line: a 20,000-character query is 180 kB of URL, and must reach
    # the app to be refused as `query_too_long` (problem+json), not cut off by the parser as a bare 400
    common = dict(log_level="warning", access_log=False, timeout_graceful_shutdown=5, http="h11",
                  h11_max_incomplete_event_size=MAX_REQUEST_HEAD)
    if workers > 1:
        from uvicorn.supervisors import Multiprocess

        os.environ[ENV] = json.dumps({"index": str(index) if index else None, "threads": threads,
                                      "overrides": overrides or {}, "shards": [str(p) for p in shards or []]})
        config = uvicorn.Config("kb.api.serve:app_from_env", factory=True, workers=workers, **common)
        _ready(where, index, workers, threads, token)
        # uvicorn ≥ 0.3x builds each worker's server itself; older ones take it as `target`
        takes_target = "target" in inspect.signature(Multiprocess.__init__).parameters
        Multiprocess(config, sockets=[sock], **({"target": uvicorn.Server(config).run} if takes_target else {})).run()
        return
    app = build_app(index, threads, overrides, token, shards=shards)
    _ready(where, app.state.kb.directory, workers, threads, token, app.state.kb.status()["segment"])
    uvicorn.Server(uvicorn.Config(app, **common)).run(sockets=[sock])


def _ready(where: str, index, workers: int, threads: int, token: str | None, segment: str | None = None) -> None:
    seg = f", segment {segment}" if segment else ""
    writes = "writes need the token in KB_API_TOKEN" if token else "reads only (set KB_API_TOKEN to allow writes)"
    print(f"kb: serving {index or 'index/'} at {where} ({workers} process(es) × {threads} query thread(s){seg}); "
          f"{writes}; API docs at {where}/docs", flush=True)
    print("kb: stop with Ctrl-C", file=sys.stderr, flush=True)
