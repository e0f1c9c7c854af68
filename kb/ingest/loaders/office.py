"""Legacy Word `.doc` and WPS `.wps` files, whatever they really contain.

What arrives under these names varies: Word 97–2003 binaries and WPS Office's own (both OLE
compound files), WPS and Word documents saved in the newer zip format (DOCX inside), web pages
saved "as Word", RTF. The bytes decide: zip → the DOCX reader; HTML or plain text → those
readers, with a warning naming what the file really was; OLE and RTF → LibreOffice, headless.

Why LibreOffice: it reads both Word and WPS binaries (antiword refuses WPS files and small
documents; catdoc drops characters), it is packaged by Debian (`libreoffice-writer-nogui`, MPL),
and it runs as a separate process, so a hostile file cannot crash kb. It costs ~2–4 s a file on
two cores — small next to embedding the text. Each kb process keeps its own LibreOffice profile, so
two ingests never fight over one.
"""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import subprocess
import tempfile
import threading
from pathlib import Path

CONVERT_TIMEOUT_S = 180
_INSTALL_HINT = "apt-get install libreoffice-writer-nogui (or run scripts/test.sh / scripts/run.sh, which install it)"

_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_profile: Path | None = None
_profile_lock = threading.Lock()


class ConvertError(Exception):
    """LibreOffice is missing, failed, or timed out; str() is the one-line reason."""


def sniff(data: bytes) -> str:
    """What a .doc/.wps file really is: ole, zip, rtf, html, text."""
    head = data[:2048].lstrip()
    if data.startswith(_OLE):
        return "ole"
    if data.startswith(b"PK\x03\x04"):
        return "zip"
    if head.startswith(b"{\\rtf"):
        return "rtf"
    low = head.lower()
    if low.startswith((b"<!doctype html", b"<html", b"<?xml")) or b"<html" in low[:1024] or b"<body" in low:
        return "html"
    if b"MIME-Version:" in data[:1024] and b"multipart/related" in data[:4096]:
        return "mht"
    return "text"


def _soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def _profile_dir() -> Path:
    """This process's LibreOffice profile (created once, removed at exit)."""
    global _profile
    with _profile_lock:
        if _profile is None:
            _profile = Path(tempfile.mkdtemp(prefix="kb-libreoffice-"))
            atexit.register(shutil.rmtree, _profile, True)
        return _profile


def convert_to_text(data: bytes, suffix: str) -> str:
    """Text of a Word/WPS/RTF document, converted by LibreOffice headless."""
    soffice = _soffice()
    if soffice is None:
        raise ConvertError(f"reading {suffix} files needs LibreOffice, which is not installed: {_INSTALL_HINT}")
    with tempfile.TemporaryDirectory(prefix="kb-convert-") as tmp:
        src = Path(tmp) / f"document{suffix}"
        src.write_bytes(data)
        cmd = [soffice, f"-env:UserInstallation={_profile_dir().as_uri()}", "--headless", "--norestore",
               "--nologo", "--nodefault", "--nolockcheck", "--convert-to", "txt:Text (encoded):UTF8",
               "--outdir", tmp, str(src)]
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                start_new_session=True, env={**os.environ, "SAL_USE_VCLPLUGIN": "svp"})
        try:
            out, _ = proc.communicate(timeout=CONVERT_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            raise ConvertError(f"LibreOffice did not finish converting in {CONVERT_TIMEOUT_S} s") from None
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
        result = Path(tmp) / "document.txt"
        if proc.returncode != 0 or not result.exists():
            said = " ".join(out.decode("utf-8", "replace").split())[-160:]
            raise ConvertError(f"LibreOffice could not read it ({said or f'exit code {proc.returncode}'})")
        return result.read_text(encoding="utf-8", errors="replace").lstrip("\ufeff")
