"""Loading: one input file → its RawDocuments (or LoadError values naming file and reason).

The stages of reading an input, a module each: which files the inputs name (walk.py), bytes →
text (decode.py), and here reading one file under the size limit and dispatching on its suffix
to the format's loader — text, PDF (text layer), DOCX and OFD below; HTML, JSONL, spreadsheets and
legacy Word/WPS in `kb/ingest/loaders/`, with the page-furniture removal shared by PDF, OFD and
text exports with form feeds (loaders/pdf.py). A bad file, or a bad JSONL line or spreadsheet row,
becomes a LoadError value instead of an exception so one broken input never stops a batch.
Parsers (trafilatura, pypdf, python-docx, python-calamine, ofdkit, LibreOffice for .doc/.wps) are
imported or started on first use, keeping `import kb` cheap.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

from kb import limits
from kb.ingest.dates import iso_date  # noqa: F401 - importable from here, as before the split
from kb.ingest.decode import decode, decode_counting, tidy  # noqa: F401
from kb.ingest.loaders import quiet
from kb.ingest.loaders.html import load_html
from kb.ingest.loaders.jsonl import load_jsonl
from kb.ingest.problems import LoadError, LoadWarning, Skipped, replaced_warning  # noqa: F401
from kb.ingest.walk import SUPPORTED, iter_files  # noqa: F401
from kb.limits import LimitExceeded, Limits
from kb.models import RawDocument

# ---------------------------------------------------------------------------------------------
# formats (text, PDF, DOCX, OFD here; the others in loaders/)


def _text_document(source: str, data: bytes) -> tuple[RawDocument, int]:
    text, replaced = decode_counting(data, source)
    if text.count("\f") >= 1:  # a text-layer export (pdftotext …): pages with their furniture
        from kb.ingest.loaders.pdf import rejoin

        text = rejoin(text.split("\f"))
    return RawDocument(source=source, text=tidy(text)), replaced


def _load_pdf(source: str, data: bytes) -> tuple[RawDocument, int]:
    import pypdf

    quiet("pypdf")
    from pypdf.errors import PyPdfError

    from kb.ingest.loaders.pdf import rejoin

    budget, texts, broken = limits.TextBudget(source), [], []
    with limits.pdf_limits():  # every stream decoded under the expanded-bytes limit
        try:
            reader = pypdf.PdfReader(io.BytesIO(data))
            if reader.is_encrypted and not reader.decrypt(""):
                raise LoadError(source, "encrypted PDF (password required)")
            pages = list(reader.pages)
        except LoadError:
            raise
        except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError, OSError) as e:
            if limits.is_pdf_limit(e):
                raise limits.current().expanded(source, f"pypdf: {str(e)[:100]}") from None
            raise LoadError(source, f"unreadable PDF ({type(e).__name__}: {str(e)[:120]})") from None
        for number, page in enumerate(pages, 1):
            try:
                texts.append(budget.add(page.extract_text() or ""))
            except LimitExceeded:
                raise
            except Exception as e:  # noqa: BLE001 - one broken page must not lose the others
                if limits.is_pdf_limit(e):  # a bomb is not a scanned page
                    raise limits.current().expanded(source, f"page {number}") from None
                broken.append(f"page {number}: {type(e).__name__}")
                texts.append("")
    text = tidy(rejoin(texts))  # page numbers, running headers, wrapped lines
    if not text and broken:
        raise LoadError(source, f"unreadable PDF: no page's text could be extracted ({len(broken)} of {len(pages)} "
                                f"failed; {broken[0]})")
    if not text:
        raise LoadError(source, "no text layer — a scanned PDF? kb does no OCR; run OCR first (e.g. ocrmypdf)")
    return RawDocument(source=source, text=text), 0


def _docx_blocks(document) -> Iterator[str]:
    """Paragraphs and table rows in reading order; a row's cells joined by tabs."""
    from docx.table import Table

    for block in document.iter_inner_content():
        if isinstance(block, Table):
            for row in block.rows:
                cells, last = [], None
                for cell in row.cells:
                    if cell._tc is not last:  # merged cells repeat the same element
                        cells.append(" ".join(cell.text.split()))
                        last = cell._tc
                if any(cells):
                    yield "\t".join(cells)
        else:
            yield block.text


def _load_docx(source: str, data: bytes) -> tuple[RawDocument, int]:
    import zipfile

    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        limits.open_archive(data, source)  # inflated once under the limits, streamed, before python-docx
        budget = limits.TextBudget(source)
        text = "\n".join(budget.add(block) for block in _docx_blocks(docx.Document(io.BytesIO(data))))
    except LimitExceeded:
        raise
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError, AttributeError) as e:
        raise LoadError(source, f"unreadable DOCX ({type(e).__name__}: {str(e)[:120]})") from None
    except Exception as e:  # noqa: BLE001 - lxml syntax errors inside the package
        raise LoadError(source, f"unreadable DOCX ({type(e).__name__})") from None
    return RawDocument(source=source, text=tidy(text)), 0


def _load_ofd(source: str, data: bytes) -> tuple[RawDocument, int]:
    from kb.ingest.loaders.ofd import OFDUnreadable, ofd_text

    limits.check_archive(data, source)  # an OFD is a zip: inflated once under the limits, streamed
    try:
        text = ofd_text(data)
    except OFDUnreadable as e:
        raise LoadError(source, str(e)) from None
    if not text.strip():
        raise LoadError(source, "no text in this OFD — a scanned document? kb does no OCR")
    return RawDocument(source=source, text=tidy(text)), 0


def _load_legacy_word(source: str, data: bytes, suffix: str) -> list[RawDocument | LoadError]:
    """.doc / .wps: by what the bytes are (see kb/loaders/office.py)."""
    from kb.ingest.loaders.office import ConvertError, convert_to_text, sniff

    kind = sniff(data)
    if kind == "zip":
        doc, _ = _load_docx(source, data)
        return [doc]
    if kind == "html":
        doc, replaced = load_html(source, data)
        return [doc, LoadWarning(source, f"a web page saved as {suffix}; read as HTML"), *replaced_warning(source, replaced)]
    if kind == "text":
        doc, replaced = _text_document(source, data)
        return [doc, LoadWarning(source, f"plain text named {suffix}; read as text"), *replaced_warning(source, replaced)]
    try:
        text = convert_to_text(data, suffix)
    except ConvertError as e:
        return [LoadError(source, str(e))]
    if not text.strip():
        return [LoadError(source, f"no text in this {suffix} file")]
    return [RawDocument(source=source, text=tidy(text))]


def _load_sheet(path: str, data: bytes, suffix: str) -> list[RawDocument | LoadError]:
    """CSV/TSV/XLSX/XLS/ODS: one report per row (see kb/loaders/sheets.py)."""
    from kb.ingest.loaders.sheets import (
        SheetError,
        read_delimited,
        read_workbook,
        rows_to_documents,
    )

    replaced = 0
    try:
        if suffix in (".csv", ".tsv"):
            text, replaced = decode_counting(data, path)
            sheets = read_delimited(path, text, suffix)
        else:
            if suffix in (".xlsx", ".ods"):  # zips: inflated once under the limits, streamed, before calamine
                limits.check_archive(data, path)
            sheets = read_workbook(data)
    except SheetError as e:
        return [LoadError(path, str(e))]
    return rows_to_documents(path, sheets, Path(path).stem) + replaced_warning(path, replaced)


_LOADERS = {
    ".txt": _text_document,
    ".md": _text_document,
    ".html": load_html,
    ".htm": load_html,
    ".pdf": _load_pdf,
    ".docx": _load_docx,
    ".ofd": _load_ofd,
}
_SHEETS = (".csv", ".tsv", ".xlsx", ".xls", ".ods")


def read_file(path: Path, limit_mb: float | None = None) -> bytes:
    """The bytes of one input file, refusing files over the size limit before reading them.

    Reads at most limit + 1 bytes whatever stat says (a file that grows, a FIFO, /dev/zero), and
    only regular files."""
    import stat

    lim = limits.current().with_file_mb(limit_mb)
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise LoadError(path, "not a regular file (a device, FIFO or socket)")
        lim.check_file_size(str(path), info.st_size)
        with open(path, "rb") as f:
            data = f.read(int(lim.file_mb * 1024 * 1024) + 1)
        lim.check_file_size(str(path), len(data))
        return data
    except LimitExceeded as e:
        raise LoadError(path, e.reason) from None
    except OSError as e:
        raise LoadError(path, f"cannot read: {e.strerror or type(e).__name__}") from None


def load_bytes(path: Path, data: bytes, limits_: Limits | None = None) -> list[RawDocument | LoadError]:
    """One file's bytes → its documents (one, or one per JSONL line), failures and warnings as values.

    Parsed under `limits_` (default: those in force, see limits.py); a limit crossed is one LoadError."""
    with limits.applied(limits_):
        try:
            return _load_bytes(path, data)
        except LimitExceeded as e:
            return [LoadError(e.source, e.reason)]


def _load_bytes(path: Path, data: bytes) -> list[RawDocument | LoadError]:
    source = str(path)
    suffix = Path(path).suffix.lower()
    if suffix not in SUPPORTED:
        kinds = ", ".join(sorted(SUPPORTED))
        return [LoadError(source, f"unsupported file type {suffix or '(no suffix)'!r}; supported: {kinds}")]
    if not data.strip():
        return [LoadError(source, "empty document")]
    try:
        if suffix == ".jsonl":
            return load_jsonl(source, data)
        if suffix in _SHEETS:
            return _load_sheet(source, data, suffix)
        if suffix in (".doc", ".wps"):
            items = _load_legacy_word(source, data, suffix)
        else:
            doc, replaced = _LOADERS[suffix](source, data)
            items = [doc, *replaced_warning(source, replaced)]
    except LoadError as e:
        return [e]
    docs = [d for d in items if isinstance(d, RawDocument)]
    if docs and not docs[0].text.strip():
        return [LoadError(source, "empty document")]
    for doc in docs:
        limits.current().check_chars(doc.source, len(doc.text))
    # one document from this file: its name is evidence for its title and region
    items = [replace(d, hints={**d.hints, "file_title": Path(path).stem}) if isinstance(d, RawDocument) else d
             for d in items]
    if suffix == ".pdf" and not data.rstrip().endswith(b"%%EOF"):
        items.append(LoadWarning(source, "truncated PDF (no end-of-file marker); the text read so far went in"))
    return items


def load_file(path: Path, limit_mb: float | None = None) -> list[RawDocument | LoadError]:
    """One file → its documents; failures (unreadable, too large, broken) come back as LoadError values."""
    try:
        data = read_file(Path(path), limit_mb)
    except LoadError as e:
        return [e]
    return load_bytes(Path(path), data)
