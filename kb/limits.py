"""Limits on what one input may expand to, one upload may cost and one query may ask.

Why: the file-size limit checks bytes on disk, and those say little about cost. Measured on kb 0.2:
a 2.9 MB DOCX inflated to 1 GB of XML and took `kb ingest` past 8 GB; 50 MB of empty `<w:p/>`
elements (a 77 KB DOCX) cost python-docx 2.8 GB and 49 s; 6.9 MB of numbered headings made 980,199
passages (≈ 2 days of embedding under the write lock); a 20k-character query ran for 20 s.

So each axis has its limit — uncompressed bytes, archive members, XML/HTML elements, nesting depth,
characters and passages of a document, characters of a query — and each is checked *while*
reading: archives are inflated member by member in 1 MiB pieces and their XML is pull-parsed and
discarded as it goes, so a bomb is refused after at most `limit` bytes of work and never held in
memory whole. The first limit crossed stops that input with one line naming the file and the limit
(`LimitExceeded`); the other inputs go in.

Two sets of defaults, both in `kb/settings.py` (`LimitSettings`): the CLI's, for a user's own
files, and the upload page's, stricter, with a budget of new passages per upload.

Loaders read the limits in force with `current()`; `applied(limits)` sets them for one ingest.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, fields, replace
from typing import Literal

from kb.errors import EmptyQuery, LimitExceeded, QueryTooLong  # noqa: F401 (re-exported)
from kb.settings import LimitSettings, settings

MB = 1024 * 1024
CHUNK = 1 << 20  # bytes inflated (and parsed) at a time
Scope = Literal["cli", "upload"]


@dataclass(frozen=True)
class Limits:
    """The limits one ingest runs under (see LimitSettings for the why of each default)."""

    file_mb: float
    expanded_mb: float
    elements: int
    nesting: int
    archive_members: int
    chars: int
    passages: int
    budget_passages: int | None = None  # new passages one ingest may embed; None: no budget
    scope: Scope = "cli"

    @classmethod
    def cli(cls, s: LimitSettings | None = None) -> Limits:
        s = s or settings().limits
        return cls(s.max_file_mb, s.max_expanded_mb, s.max_elements, s.max_nesting, s.max_archive_members,
                   s.max_chars, s.max_passages)

    @classmethod
    def upload(cls, s: LimitSettings | None = None) -> Limits:
        """The upload page's: each at most the CLI's, and a budget per upload."""
        s = s or settings().limits
        return cls(min(s.upload_max_file_mb, s.max_file_mb), min(s.upload_max_expanded_mb, s.max_expanded_mb),
                   min(s.upload_max_elements, s.max_elements), s.max_nesting, s.max_archive_members,
                   min(s.upload_max_chars, s.max_chars), min(s.upload_max_passages, s.max_passages),
                   s.upload_budget_passages, "upload")

    def with_file_mb(self, file_mb: float | None) -> Limits:
        return self if file_mb is None else replace(self, file_mb=file_mb)

    # ---- one refusal, one line ----------------------------------------------------------
    def refuse(self, source: str, what: str, field: str, shown: str) -> LimitExceeded:
        """`what` happened in `source`; `field` is the LimitSettings name of the limit crossed."""
        if self.scope == "upload":
            how = "the upload page's limit; larger inputs go in with `kb ingest`"
        else:
            flag = " --max-file-mb or" if field == "max_file_mb" else ""
            how = f"raise it with{flag} KB_{field.upper()}"
        return LimitExceeded(source, f"{what} (limit {shown}; {how})", field)

    def check_chars(self, source: str, chars: int) -> None:
        if chars > self.chars:
            raise self.refuse(source, f"text of {chars:,} characters", "max_chars", f"{self.chars:,}")

    def check_passages(self, source: str, passages: int) -> None:
        if passages > self.passages:
            raise self.refuse(source, f"splits into {passages:,} passages", "max_passages", f"{self.passages:,}")

    def check_file_size(self, source: str, size: int) -> None:
        if size > self.file_mb * MB:
            raise self.refuse(source, f"file too large: {_size(size)}", "max_file_mb", f"{self.file_mb:g} MB")

    @property
    def expanded_bytes(self) -> int:
        return int(self.expanded_mb * MB)

    def expanded(self, source: str, where: str = "") -> LimitExceeded:
        inside = f" ({where})" if where else ""
        return self.refuse(source, f"expands to more than {self.expanded_mb:g} MB uncompressed{inside} — a "
                                   "decompression bomb?", "max_expanded_mb", f"{self.expanded_mb:g} MB")

    def too_deep(self, source: str, where: str) -> LimitExceeded:
        return self.refuse(source, f"{where} nested more than {self.nesting} levels deep", "max_nesting",
                           f"{self.nesting} levels")

    def too_many_elements(self, source: str, where: str) -> LimitExceeded:
        return self.refuse(source, f"more than {self.elements:,} elements in {where}", "max_elements",
                           f"{self.elements:,}")


_active: ContextVar[Limits | None] = ContextVar("kb_limits", default=None)


def current() -> Limits:
    """The limits in force (those of the running ingest, else the CLI's)."""
    return _active.get() or Limits.cli()


@contextmanager
def applied(limits: Limits | None) -> Iterator[Limits]:
    """Run the block (one ingest, one load) under `limits` (None: those already in force)."""
    token = _active.set(limits or current())
    try:
        yield _active.get()
    finally:
        _active.reset(token)


def check_query(text: str, limit: int | None = None) -> None:
    """Refuse an empty query, or one over the limit, before any work is spent on it."""
    if not text or not text.strip():
        raise EmptyQuery()
    limit = settings().limits.max_query_chars if limit is None else limit
    if len(text) > limit:
        raise QueryTooLong(len(text), limit)


def _size(n: int) -> str:
    return f"{n / MB:.1f} MB" if n >= MB else f"{n / 1024:.1f} KB"


# ---- archives (DOCX today; XLSX, ODS, OFD … are zips too) -------------------------------------
def open_archive(data: bytes, source: str) -> zipfile.ZipFile:
    """The zip in `data`, after every member was inflated once under the limits (and discarded).

    Declared sizes are checked first (cheap), then the real ones: a zip may lie about them. XML
    members are pull-parsed on the way, counting elements and depth. Raises LimitExceeded; a
    broken zip raises zipfile.BadZipFile for the loader to name as unreadable.
    """
    lim = current()
    archive = zipfile.ZipFile(io.BytesIO(data))
    members = [m for m in archive.infolist() if not m.is_dir()]
    if len(members) > lim.archive_members:
        raise lim.refuse(source, f"archive of {len(members):,} files", "max_archive_members", f"{lim.archive_members:,}")
    if sum(m.file_size for m in members) > lim.expanded_bytes:
        raise lim.expanded(source, "declared sizes")
    total, elements = 0, 0
    for member in members:
        scan = _XmlScan(source, member.filename, lim, elements) if _is_xml(member.filename) else None
        with archive.open(member) as stream:
            while piece := stream.read(CHUNK):
                total += len(piece)
                if total > lim.expanded_bytes:
                    raise lim.expanded(source, member.filename)
                if scan is not None and not scan.feed(piece):
                    scan = None  # malformed XML: the loader will say so
        if scan is not None and scan.close():
            elements = scan.elements
    return archive


def check_archive(data: bytes, source: str) -> None:
    """`open_archive`'s checks for loaders whose own reader names a broken zip best (OFD, XLSX, ODS)."""
    try:
        open_archive(data, source)
    except (zipfile.BadZipFile, NotImplementedError, RuntimeError, EOFError):
        pass  # not a zip we can read: the format's reader says why


def _is_xml(name: str) -> bool:
    return name.lower().endswith((".xml", ".rels", ".vml"))


class _XmlScan:
    """Counts elements and depth of one XML member as it streams in, keeping no tree."""

    def __init__(self, source: str, where: str, lim: Limits, elements: int) -> None:
        from lxml import etree

        self.source, self.where, self.lim = source, where, lim
        self.elements, self.depth = elements, 0
        self._syntax_error = etree.XMLSyntaxError
        self._parser = etree.XMLPullParser(events=("start", "end"), resolve_entities=False, no_network=True,
                                           load_dtd=False, huge_tree=False)

    def feed(self, piece: bytes) -> bool:
        try:
            self._parser.feed(piece)
        except self._syntax_error as e:
            return self._failed(e)
        self._drain()
        return True

    def close(self) -> bool:
        try:
            self._parser.close()
        except self._syntax_error as e:
            return self._failed(e)
        self._drain()
        return True

    def _failed(self, error: Exception) -> bool:
        if "depth" in str(error).lower():  # libxml2 stops at 256 levels: "Excessive depth in document"
            raise self.lim.too_deep(self.source, self.where)
        return False

    def _drain(self) -> None:
        for event, element in self._parser.read_events():
            if event == "start":
                self.depth += 1
                self.elements += 1
                if self.depth > self.lim.nesting:
                    raise self.lim.too_deep(self.source, self.where)
                if self.elements > self.lim.elements:
                    raise self.lim.too_many_elements(self.source, self.where)
            else:
                self.depth -= 1
                element.clear()
                parent = element.getparent()
                if parent is not None:
                    while element.getprevious() is not None:
                        del parent[0]  # finished siblings: nothing of the tree is kept


# ---- HTML --------------------------------------------------------------------------------------
def scan_html(text: str, source: str) -> None:
    """Count the elements and depth of an HTML page as a pull parser sees it, keeping no tree.

    libxml2 (under lxml and trafilatura) silently drops everything below depth 256, so a page
    nested deeper came out as an "empty document"; now it is named for what it is.
    """
    from lxml import etree

    lim = current()
    parser = etree.HTMLPullParser(events=("start", "end"), no_network=True)
    depth = elements = 0
    for i in range(0, len(text), CHUNK):
        parser.feed(text[i : i + CHUNK])
        for event, element in parser.read_events():
            if event == "start":
                depth += 1
                elements += 1
                if depth > lim.nesting:
                    raise lim.too_deep(source, "HTML")
                if elements > lim.elements:
                    raise lim.too_many_elements(source, "HTML")
            else:
                depth -= 1
                element.clear()
                parent = element.getparent()
                if parent is not None:
                    while element.getprevious() is not None:
                        del parent[0]
    try:
        parser.close()
    except etree.XMLSyntaxError:
        pass  # junk HTML: the loader decides
    if any("depth" in e.message.lower() for e in parser.error_log):
        raise lim.too_deep(source, "HTML")


# ---- JSON --------------------------------------------------------------------------------------
def check_json_line(line: str, where: str) -> None:
    """A JSONL row: no longer than a document may be (escapes included), no deeper than the limit."""
    lim = current()
    if len(line) > 6 * lim.chars + 65536:  # \\uXXXX takes 6 characters per character
        raise lim.refuse(where, f"row of {len(line):,} characters", "max_chars", f"{lim.chars:,} characters of text")
    if line.count("[") + line.count("{") > lim.nesting and _json_depth(line) > lim.nesting:
        raise lim.too_deep(where, "JSON")


def _json_depth(line: str) -> int:
    depth = deepest = 0
    in_string = escaped = False
    for c in line:
        if in_string:
            if escaped:
                escaped = False
            elif c == "\\":
                escaped = True
            elif c == '"':
                in_string = False
        elif c == '"':
            in_string = True
        elif c in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif c in "]}":
            depth -= 1
    return deepest


# ---- PDF ---------------------------------------------------------------------------------------
_PYPDF_OUTPUT_LIMITS = (
    "zlib_maximum_output_length", "lzw_maximum_output_length", "run_length_maximum_output_length",
    "jbig2_maximum_output_length", "brotli_maximum_output_length", "array_based_stream_maximum_output_length",
    "maximum_declared_stream_length", "image_maximum_buffer_size",
)  # fmt: skip


@contextmanager
def pdf_limits() -> Iterator[None]:
    """pypdf decodes each stream under our expanded-bytes limit (its own default is 75 MB a stream)."""
    import pypdf

    apply = getattr(pypdf, "apply_configuration", None)
    if apply is None:  # an older pypdf keeps its own fixed limits (75 MB a stream)
        yield
        return
    known = {f.name for f in fields(pypdf.Configuration)}
    cap = current().expanded_bytes
    with apply(**{name: cap for name in _PYPDF_OUTPUT_LIMITS if name in known}):
        yield


def is_pdf_limit(error: Exception) -> bool:
    """Did pypdf stop because a stream crossed a limit (rather than because it is broken)?"""
    return type(error).__name__ == "LimitReachedError"


class TextBudget:
    """Characters of a document counted as its parts are extracted (pages, paragraphs)."""

    def __init__(self, source: str) -> None:
        self.source, self.lim, self.chars = source, current(), 0

    def add(self, text: str) -> str:
        self.chars += len(text)
        self.lim.check_chars(self.source, self.chars)
        return text
