"""Helpers for the tests that talk to a real `kb serve` over loopback: start it, call it, stop it."""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: object
    content_type: str


class Server:
    """A `kb serve` subprocess on a free loopback port (the server picks it: --port 0)."""

    def __init__(self, args: list[str], env: dict[str, str] | None = None, log: Path | None = None,
                 ready: str = "kb: serving", timeout: float = 600) -> None:
        self.log = log
        err = log.open("w") if log else subprocess.DEVNULL
        self.proc = subprocess.Popen([sys.executable, "-m", "kb.cli", "serve", *args], cwd=ROOT, text=True,
                                     stdout=subprocess.PIPE, stderr=err, env=env or os.environ.copy(),
                                     start_new_session=True)
        line = self._line(timeout)
        if not line.startswith(ready):
            self.stop()
            raise AssertionError(f"kb serve did not start: {line!r}\n{log.read_text()[-3000:] if log else ''}")
        self.url = line.split(" at ", 1)[1].split()[0]
        self.banner = line

    def _line(self, timeout: float) -> str:
        """The server's first line on stdout: it prints it once it listens and the index is loaded."""
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        if not sel.select(timeout):
            return f"(nothing printed in {timeout:.0f} s)"
        return self.proc.stdout.readline().strip()

    def stop(self) -> None:
        """SIGTERM the server's session (uvicorn, its writer process), then SIGKILL what is left."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)  # the writer process, if it outlived the server
        except ProcessLookupError:
            pass
        self.proc.wait()

    def call(self, method: str, path: str, params: dict | list | None = None, body: bytes | None = None,
             headers: dict[str, str] | None = None, timeout: float = 600) -> Reply:
        url = self.url + urllib.parse.quote(path, safe="/") + ("?" + urllib.parse.urlencode(params, doseq=True) if params else "")
        req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                status, hdrs, raw = r.status, dict(r.headers), r.read()
        except urllib.error.HTTPError as e:
            status, hdrs, raw = e.code, dict(e.headers), e.read()
        ctype = hdrs.get("content-type", "")
        data = json.loads(raw) if "json" in ctype else raw.decode("utf-8", "replace")
        return Reply(status, {k.lower(): v for k, v in hdrs.items()}, data, ctype)

    def get(self, path: str, **params) -> Reply:
        return self.call("GET", path, params or None)


def multipart(files: list[tuple[str, bytes]], field: str = "files") -> tuple[bytes, dict[str, str]]:
    boundary = uuid.uuid4().hex
    parts = []
    for name, data in files:
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{name}"\r\n'
                     f"Content-Type: application/octet-stream\r\n\r\n".encode() + data + b"\r\n")
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    return body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}


def wait_until(condition, timeout: float = 300, what: str = "") -> None:
    """For an event another process announces (a failpoint file): check often, fail after `timeout`."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for: {what}")
        time.sleep(0.01)
