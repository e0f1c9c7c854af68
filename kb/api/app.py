"""The HTTP API: the CLI's reads and writes as routes a user can guess, over one long-lived index handle.

    GET  /search?q=…&k=…&mode=…&province=…&year=…   passages (the object `kb search --json` prints)
    GET  /ask?q=…                                    an answer with citations (`kb ask --json`)
    GET  /documents, /documents/{doc_id}             metadata; one document with its section tree
    GET  /chunks/{chunk_id}, /similar/{chunk_id}     a passage with its span; passages like it
    GET  /atlas, /regions, /regions/{name}           regions × practices; a region's page
    GET  /status, /health                            counts and settings; the generation served
    POST /ingest, PATCH|DELETE /documents/{doc_id}   writes, with `Authorization: Bearer $KB_API_TOKEN`

Every body is built by kb/serialise.py, the serialiser the CLI's `--json` uses. Reads run on a
small pool of single-threaded query threads (kb/threads.py); the handle follows the committed
manifest, so an ingest that commits is served from the next request on, and every read answers
with the generation it read in `X-KB-Segment` / `X-KB-Docs-Version`. Writes go to a writer process
(writer.py) and need the token; a server started without KB_API_TOKEN refuses them.
"""

from __future__ import annotations

import asyncio
import hmac
import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any, Literal

from fastapi import Body, Depends, FastAPI, Path, Query, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from kb import __version__
from kb import serialise as js
from kb.api import problems
from kb.errors import (
    BadRequest,
    LimitExceeded,
    NotAuthorised,
    UnknownChunk,
    UnknownFilter,
    UnknownRegion,
    WritesDisabled,
)
from kb.limits import MB, Limits
from kb.models import LEVELS, Filters, doc_type_name
from kb.query.search import parse_year_range
from kb.settings import settings
from kb.threads import query_thread, thread_counts

DESCRIPTION = """Search and cite Chinese rule-of-law reports over HTTP — the same objects `kb … --json` prints.

Reads are open. Writes (`POST /ingest`, `PATCH`/`DELETE /documents/{doc_id}`) need the header
`Authorization: Bearer <token>` with the token the server was started with (`KB_API_TOKEN`); a
server started without one refuses every write. Errors are `application/problem+json` with a
stable `code`, a Chinese `title` and, as `detail`, the message the CLI prints.
Each read answers with the index generation it read in the `X-KB-Segment` header."""


class QueryPool:
    """A few single-threaded threads that run the reads: concurrency bounded by the cores, and no
    OpenMP team spinning against the neighbours (kb/threads.py)."""

    def __init__(self, threads: int) -> None:
        self.threads = threads
        self._ex = ThreadPoolExecutor(threads, thread_name_prefix="kb-query", initializer=query_thread)

    async def run(self, fn: Callable[[], Any]) -> Any:
        return await asyncio.wrap_future(self._ex.submit(fn))

    def run_now(self, fn: Callable[[], Any]) -> Any:
        return self._ex.submit(fn).result()

    def close(self) -> None:
        self._ex.shutdown(wait=False, cancel_futures=True)


def filters_of(year: str | None, province: str | None, region: str | None, level: str | None,
               doc_type: str | None) -> Filters:
    """The CLI's filters from query parameters; an unknown level or type is an `unknown_filter`."""
    try:
        lo, hi = parse_year_range(year) if year else (None, None)
    except ValueError as e:
        raise BadRequest(str(e)) from None
    if level and level not in LEVELS:
        raise UnknownFilter(f"unknown level {level!r}; one of: {', '.join(LEVELS)}")
    return Filters(year_from=lo, year_to=hi, province=province or None, region=region or None, level=level or None,
                   doc_type=doc_type_name(doc_type) if doc_type else None)


def _filters(year: str | None = Query(None, description="year or range: 2020, 2020-2022, 2020-, -2022"),
             province: str | None = Query(None, description="province, e.g. 浙江 (matches 浙江省)"),
             region: str | None = Query(None, description="region, e.g. 密云 or 海盐县"),
             level: str | None = Query(None, description=f"one of {', '.join(LEVELS)}"),
             doc_type: str | None = Query(None, description="a document type, e.g. 政府工作报告")) -> Filters:
    return filters_of(year, province, region, level, doc_type)


def _query_parameters(app: FastAPI) -> dict[tuple[str, str], set[str]]:
    """(path template, method) → the query parameters its route takes, read from the OpenAPI document."""
    out: dict[tuple[str, str], set[str]] = {}
    for path, methods in app.openapi().get("paths", {}).items():
        for method, op in methods.items():
            out[(path, method.upper())] = {p["name"] for p in op.get("parameters", []) if p.get("in") == "query"}
    return out


async def _known_parameters(request: Request) -> None:
    """A parameter no route takes (a typo such as `provnce=浙江`) is refused, not silently ignored."""
    route = request.scope.get("route")
    if route is None or not request.query_params:
        return
    app = request.app
    table = getattr(app.state, "query_parameters", None)
    if table is None:
        table = app.state.query_parameters = _query_parameters(app)
    known = table.get((getattr(route, "path_format", route.path), request.method), set())
    unknown = [name for name in request.query_params if name not in known]
    if unknown:
        raise UnknownFilter(f"unknown parameter {unknown[0]!r} for {request.url.path}; "
                            f"it takes: {', '.join(sorted(known)) or 'no parameters'}")


class BodyLimit:
    """ASGI middleware: a request body over `limit` bytes is refused with 413 before it is read
    (Content-Length), or as soon as it turns out larger (a chunked body): one upload cannot fill
    the disk or the memory of the server."""

    def __init__(self, app, limit_for: Callable[[str], int]) -> None:
        self.app = app
        self.limit_for = limit_for

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            return await self.app(scope, receive, send)
        limit = self.limit_for(scope["path"])
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            return await self._refuse(scope, send, int(declared), limit)
        seen = 0

        async def counted():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise _TooLarge(seen)
            return message

        started = False

        async def tracked_send(message):
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, tracked_send)
        except _TooLarge as e:
            if not started:
                await self._refuse(scope, send, e.size, limit)

    @staticmethod
    async def _refuse(scope, send, size: int, limit: int) -> None:
        e = LimitExceeded(scope["path"], f"request body too large: {size / MB:.1f} MB (limit {limit / MB:g} MB; "
                                         "KB_UPLOAD_MAX_REQUEST_MB, each file KB_UPLOAD_MAX_FILE_MB)", "upload_max_request_mb")
        await problems.from_error(e, scope["path"])(scope, None, send)


class _TooLarge(Exception):
    def __init__(self, size: int) -> None:
        self.size = size


def create_app(kb, token: str | None = None, threads: int = 1, writer=None, title: str = "kb") -> FastAPI:
    """The API over one open index handle (`KnowledgeBase`, or a sharded one with the same reads).
    `token`: what writes must present (None: writes refused); `writer`: runs them (writer.Writer)."""
    from fastapi_offline import FastAPIOffline

    pool = QueryPool(threads)
    limits = settings().limits

    @asynccontextmanager
    async def lifespan(_app):
        yield
        pool.close()
        if writer is not None:
            writer.close()

    app = FastAPIOffline(title=title, version=__version__, description=DESCRIPTION, lifespan=lifespan,
                         dependencies=[Depends(_known_parameters)])
    app.state.kb, app.state.pool, app.state.writer = kb, pool, writer
    threads_seen = pool.run_now(thread_counts)  # what a query thread runs each library's parallel regions on
    problems.install(app)
    app.add_middleware(BodyLimit, limit_for=lambda path: int(limits.upload_max_request_mb * MB)
                       if path.rstrip("/") == "/ingest" else MB)

    async def read(fn: Callable[[], Any]) -> JSONResponse:
        """Run a read on the query pool; answer with its body and the generation it read."""
        def task():
            out = fn()
            return out, kb.served()

        body, (segment, docs_version) = await pool.run(task)
        return JSONResponse(body, headers={"X-KB-Segment": str(segment), "X-KB-Docs-Version": str(docs_version or 0)})

    def authorised(request: Request) -> None:
        if not token:
            raise WritesDisabled("writes are off: this server was started without KB_API_TOKEN "
                                 "(set it to a secret and restart to allow uploads and corrections)")
        given = request.headers.get("authorization", "")
        scheme, _, value = given.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(value.strip().encode(), token.encode()):
            raise NotAuthorised("this write needs the header `Authorization: Bearer <KB_API_TOKEN>`"
                                + (" (the token given is not the server's)" if given else ""))

    def writes():
        if writer is None:
            raise WritesDisabled("this deployment serves reads only")
        return writer

    # ---- reads ---------------------------------------------------------------------------------
    @app.get("/search", summary="Hybrid search: passages with source, region and year")
    async def search(q: str = Query(..., description="the query (at most KB_MAX_QUERY_CHARS characters)"),
                     k: int = Query(10, description="passages to return"),
                     mode: Literal["hybrid", "bm25", "dense"] = "hybrid",
                     max_per_doc: int | None = Query(None, description="at most this many passages from one document"),
                     infer: bool = Query(True, description="turn a year/region the query names into a filter"),
                     filters: Filters = Depends(_filters)):
        def run():
            t0 = time.perf_counter()
            hits = kb.search(q, k=k, mode=mode, filters=filters, max_per_doc=max_per_doc, infer_filters=infer)
            return js.search(q, hits, (time.perf_counter() - t0) * 1000)

        return await read(run)

    @app.get("/ask", summary="Answer a question with cited passages (which regions, compare, figures)")
    async def ask(q: str = Query(..., description="the question"), k: int = Query(10, description="passages for general questions"),
                  filters: Filters = Depends(_filters)):
        return await read(lambda: js.answer(kb.ask(q, filters=filters, k=k)))

    @app.get("/similar/{chunk_id}", summary="Passages from other regions most like this one")
    async def similar(chunk_id: int = Path(...), k: int = 10):
        return await read(lambda: js.similar(chunk_id, kb.similar_practices(chunk_id, k=k)))

    @app.get("/documents", summary="Documents with their metadata (the objects `kb docs --json` prints)")
    async def documents():
        return await read(lambda: [js.document(d) for d in kb.documents()])

    @app.get("/documents/{doc_id}", summary="One document with its section tree (`kb show --json`)")
    async def document(doc_id: str):
        def run():
            doc = kb.get_document(doc_id)
            return js.document_tree(doc, kb.chunks_of(doc.doc_id))

        return await read(run)

    @app.get("/chunks/{chunk_id}", summary="One passage with its span in its document (`kb chunk --json`)")
    async def chunk(chunk_id: int):
        def run():
            c = kb.chunk(chunk_id)
            if c is None:
                raise UnknownChunk(chunk_id)
            return js.chunk(c, kb.document(c.doc_id))

        return await read(run)

    @app.get("/atlas", summary="Regions × practices: which region's reports state which practice")
    async def atlas(practice: list[str] | None = Query(None, description="a column (repeat for more); default: the practices that tell regions apart"),
                    limit: int = Query(12, ge=1, le=200, description="columns chosen when no practice is given"),
                    filters: Filters = Depends(_filters)):
        return await read(lambda: js.atlas(kb.atlas(practice or None, filters, limit)))

    @app.get("/regions", summary="The regions documents are filed under")
    async def regions():
        return await read(kb.regions)

    @app.get("/regions/{name}", summary="A region's reports by year, the practices they state, its figures")
    async def region(name: str):
        def run():
            profile = kb.region_profile(name)
            if profile is None:
                raise UnknownRegion(name)
            return js.region_profile(profile)

        return await read(run)

    @app.get("/status", summary="Index counts, embedder and the settings in force (`kb status --json`)")
    async def status():
        return await read(kb.status)

    @app.get("/health", summary="Is the server up, and which index generation does it serve")
    async def health():
        # not on the query pool: a health check answers while every query thread is busy
        st = await run_in_threadpool(kb.status)
        extra = kb.health() if hasattr(kb, "health") else {}
        return JSONResponse({"status": "ok", "segment": st["segment"], "docs_version": st["docs_version"],
                             "updated_at": st["updated_at"], "documents": st["documents"], "chunks": st["chunks"],
                             "embedded": st["embedded"], "index": st["index"], "version": __version__,
                             "pid": os.getpid(), "query_threads": pool.threads, "thread_counts": threads_seen,
                             **extra},
                            headers={"X-KB-Segment": str(st["segment"])})

    # ---- writes (token) ----------------------------------------------------------------------
    @app.post("/ingest", summary="Upload files and add them to the index (token)",
              description="multipart/form-data with one or more `files` parts. Each file is read under the "
                          "upload limits (size, what it may expand to, passages); the summary says what went in.")
    async def ingest(request: Request, _: None = Depends(authorised)):
        w = writes()
        form = await request.form(max_files=1000)
        try:
            files = [(f.filename or "upload", await f.read()) for f in form.getlist("files") if hasattr(f, "read")]
        finally:
            await form.close()
        if not files:
            raise BadRequest("no files: send multipart/form-data with one or more `files` parts")
        from kb.ingest.uploads import Upload, source_for

        lim = Limits.upload()
        for name, data in files:  # refused whole, before anything is written
            lim.check_file_size(source_for(Upload(name, data)), len(data))
        return JSONResponse(await asyncio.wrap_future(w.ingest(files)))

    @app.patch("/documents/{doc_id}", summary="Correct a document's metadata (token)")
    async def correct(doc_id: str, changes: dict[str, Any] = Body(..., examples=[{"region": "光明区", "year": 2023}]),
                      _: None = Depends(authorised)):
        return JSONResponse(await asyncio.wrap_future(writes().update(doc_id, changes)))

    @app.delete("/documents/{doc_id}", summary="Remove a document (token); re-ingesting its file does not bring it back")
    async def remove(doc_id: str, _: None = Depends(authorised)):
        return JSONResponse(await asyncio.wrap_future(writes().remove(doc_id)))

    return app
