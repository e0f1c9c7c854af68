"""Errors as `application/problem+json` (RFC 9457), built from kb/errors.py.

A `KbError` answers with its own `status`, its stable `code`, its Chinese `title` and, as `detail`,
the one line the CLI prints for it. A request FastAPI cannot read (a k that is not a number, an
unknown mode) is a `bad_request`; an unknown route is `not_found`; anything else is a bug and
answers 500 without its traceback (which goes to the server's log).
"""

from __future__ import annotations

import logging
import re

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from kb.errors import KbError

MEDIA_TYPE = "application/problem+json"
log = logging.getLogger("kb.api")
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def one_line(text: str) -> str:
    """The CLI's rendering of a message: whitespace collapsed, control characters escaped."""
    text = " ".join(str(text).split())
    return _UNPRINTABLE.sub(lambda m: m[0].encode("unicode_escape").decode("ascii"), text)


def problem(status: int, code: str, title: str, detail: str, instance: str | None = None,
            headers: dict[str, str] | None = None, **extra) -> JSONResponse:
    body = {"type": f"urn:kb:error:{code}", "title": title, "status": status, "detail": one_line(detail),
            "code": code, **({"instance": instance} if instance else {}), **extra}
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def from_error(e: KbError, instance: str | None = None) -> JSONResponse:
    headers = {"WWW-Authenticate": 'Bearer realm="kb"'} if e.status == 401 else None
    return problem(e.status, e.code, e.title, str(e), instance, headers)


def install(app: FastAPI) -> None:
    """Every error the app can answer with, as a problem document."""

    @app.exception_handler(KbError)
    async def _kb_error(request: Request, e: KbError) -> JSONResponse:
        return from_error(e, request.url.path)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, e: RequestValidationError) -> JSONResponse:
        parts = []
        for err in e.errors():
            where = ".".join(str(x) for x in err.get("loc", ()) if x not in ("query", "path", "body"))
            parts.append(f"{where or 'request'}: {err.get('msg', 'invalid')}")
        return problem(400, "bad_request", "请求有误", "; ".join(parts) or "invalid request", request.url.path)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, e: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(e.status_code, "http_error")
        title = {404: "没有这个地址", 405: "不支持该方法"}.get(e.status_code, "请求无法完成")
        detail = f"no route {request.method} {request.url.path}; see /docs" if e.status_code in (404, 405) else str(e.detail)
        return problem(e.status_code, code, title, detail, request.url.path, getattr(e, "headers", None))

    @app.exception_handler(Exception)
    async def _bug(request: Request, e: Exception) -> JSONResponse:
        log.exception("internal error on %s %s", request.method, request.url.path)
        return problem(500, "internal_error", "服务器内部错误", f"{type(e).__name__}: a kb bug; the server log has the details",
                       request.url.path)
