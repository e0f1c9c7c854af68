"""Loaders: files of any supported format → RawDocument (or a LoadError naming file and reason).

A bad file, or a bad JSONL line or spreadsheet row, becomes a LoadError value instead of an
exception so one broken input never stops a batch. Parsers (trafilatura, pypdf, python-docx,
python-calamine, ofdkit, LibreOffice for .doc/.wps) are imported or started on first use, keeping
`import kb` cheap. The newer formats live in `kb/loaders/`: spreadsheets (sheets.py), legacy Word
and WPS (office.py), OFD (ofd.py) and the page-furniture removal shared by PDF, OFD and text
exports with form feeds (pdf.py).
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import replace
from pathlib import Path

from kb import limits
from kb.ingest.dates import as_year, iso_date
from kb.limits import LimitExceeded, Limits
from kb.models import RawDocument

SUPPORTED = {
    ".txt", ".md", ".html", ".htm", ".pdf", ".docx", ".doc", ".wps", ".ofd", ".jsonl",
    ".csv", ".tsv", ".xlsx", ".xls", ".ods",
}


class LoadError(Exception):
    """A file (or `file:line`) that could not be turned into a document; str() is one line."""

    def __init__(self, source: str | os.PathLike[str], reason: str) -> None:
        self.source = str(source)
        self.reason = " ".join(str(reason).split()) or "unknown error"
        super().__init__(f"{self.source}: {self.reason}")

    def __str__(self) -> str:
        return f"{self.source}: {self.reason}"

    def __reduce__(self):  # picklable across worker processes despite the two-argument __init__
        return (type(self), (self.source, self.reason))


# ---------------------------------------------------------------------------------------------
# files


class LoadWarning(LoadError):
    """Something the user should hear about that is not a failed input (a skipped symlink loop)."""


class Skipped(LoadError):
    """A file in a folder that kb does not read (its type): named and counted, never silent."""


def _hidden(name: str) -> bool:
    return name.startswith(".")


def _walk(root: Path) -> Iterator[Path | LoadError]:
    """Supported files under `root`, following symlinked folders but never into a loop."""
    seen_dirs = {os.path.realpath(root)}
    errors: list[OSError] = []
    for folder, dirs, files in os.walk(root, followlinks=True, onerror=errors.append):
        keep = []
        for d in sorted(dirs):
            if _hidden(d):
                continue
            real = os.path.realpath(os.path.join(folder, d))
            if real in seen_dirs:
                yield LoadWarning(os.path.join(folder, d), "symlink loop (or a folder already walked), skipped")
                continue
            seen_dirs.add(real)
            keep.append(d)
        dirs[:] = keep
        for f in sorted(files):
            path = Path(folder, f)
            if _hidden(f):
                continue
            if path.suffix.lower() not in SUPPORTED:
                yield Skipped(path, f"unsupported type {path.suffix.lower() or '(no extension)'}")
                continue
            yield path if path.exists() else LoadError(path, f"broken symlink (points to {os.readlink(path)})")
    for e in errors:  # an unreadable folder
        yield LoadError(e.filename or root, e.strerror or type(e).__name__)


def iter_files(paths: Iterable[str | os.PathLike[str]]) -> Iterator[Path | LoadError]:
    """Files named, and supported files under folders named (recursive, sorted, no hidden ones).

    A file named explicitly is yielded whatever its suffix, so `load_file` can say why it fails
    rather than it silently vanishing. Each file is yielded once. Problems (a missing path, a broken
    symlink, a symlink loop) come back as LoadError values in place, so the other inputs still go in.
    """
    seen: set[Path] = set()
    for given in paths:
        path = Path(given)
        if not path.exists():
            reason = "broken symlink" if path.is_symlink() else "no such file or directory"
            yield LoadError(str(given), reason)
            continue
        found = False
        for item in _walk(path) if path.is_dir() else [path]:
            if isinstance(item, LoadError):
                yield item
                continue
            found = True
            key = item.resolve()
            if key not in seen:
                seen.add(key)
                yield item
        if not found:
            yield LoadError(str(given), f"no supported files in this folder ({', '.join(sorted(SUPPORTED))})")


# ---------------------------------------------------------------------------------------------
# bytes → str

_BOMS = (
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)
_MAGIC = (
    (b"%PDF-", "PDF"),
    (b"PK\x03\x04", "ZIP/Office"),
    (b"\xd0\xcf\x11\xe0", "legacy Office (.doc/.xls)"),
    (b"\x89PNG", "PNG image"),
    (b"\xff\xd8\xff", "JPEG image"),
    (b"GIF8", "GIF image"),
    (b"\x1f\x8b", "gzip"),
)
_GB = {"gb2312", "gbk", "gb18030", "hz", "hz_gb_2312", "cp936", "euc_cn"}
_BIG5 = {"big5", "big5hkscs", "cp950"}
_CJKISH = re.compile(
    r"[\u2000-\u206f\u2e80-\u2fdf\u3000-\u303f\u3400-\u9fff\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef\u00b7\u00d7]"
)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


def _strict(data: bytes, encoding: str) -> str | None:
    try:
        return data.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return None


def _mostly_cjk(text: str) -> bool:
    """Do the non-ASCII characters read as Chinese text (ideographs, CJK punctuation)?"""
    wide = [c for c in text if ord(c) > 0x7F]
    return bool(wide) and sum(1 for c in wide if _CJKISH.match(c)) >= 0.9 * len(wide)


def _outside_gb2312(data: bytes) -> bool:
    """Any double-byte pair with a trail byte below 0xA1: GBK extension or, more likely, Big5."""
    i = 0
    while i < len(data) - 1:
        if data[i] >= 0x81:
            if data[i + 1] < 0xA1:
                return True
            i += 2
        else:
            i += 1
    return False


def _bomless_utf16(data: bytes) -> str | None:
    """UTF-16 without a BOM shows as NULs in every other byte (for ASCII-heavy text)."""
    if len(data) < 4 or len(data) % 2:
        return None
    even, odd = data[0::2].count(0), data[1::2].count(0)
    half = len(data) // 2
    if odd > 0.3 * half and even == 0:
        return _strict(data, "utf-16-le")
    if even > 0.3 * half and odd == 0:
        return _strict(data, "utf-16-be")
    return None


def _guess(data: bytes) -> str | None:
    """charset-normalizer, overruled by GB18030 for Chinese bytes it misreads (short GBK texts
    come back as Big5, cp949 or UTF-16). Big5 stands only when the bytes cannot be GB2312."""
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    encoding = (best.encoding or "").lower() if best else ""
    gb = _strict(data, "gb18030")
    if encoding in _GB and gb is not None:
        return gb
    if encoding in _BIG5 and best is not None and _outside_gb2312(data):
        return str(best)
    if gb is not None and _mostly_cjk(gb):
        return gb
    return str(best) if best is not None else None


MAX_REPLACED_SHARE = 0.01  # undecodable characters a text may have and still go in (with a warning)


def _replaced(text: str) -> int:
    return text.count("\ufffd")


def _lenient(data: bytes, encoding: str) -> tuple[str, int] | None:
    """Decode what can be decoded; None when too much cannot (then it is not text in this encoding)."""
    text = data.decode(encoding, errors="replace")
    bad = _replaced(text) - data.count("\ufffd".encode(encoding))  # genuine U+FFFD in the file do not count
    decoded_wide = sum(1 for c in text if ord(c) > 0x7F) - _replaced(text)
    if bad > max(8, MAX_REPLACED_SHARE * len(text)) or decoded_wide < 10 * bad:
        return None  # mostly-ASCII bytes of another encoding would pass the share test alone
    return text, bad


def _looks_like_text(text: str) -> bool:
    return len(_CONTROL.findall(text)) <= max(2, len(text) // 100)


def decode(data: bytes, source: str) -> str:
    """Bytes → text (see `decode_counting`); the replacement count is dropped."""
    return decode_counting(data, source)[0]


def decode_counting(data: bytes, source: str) -> tuple[str, int]:
    """Bytes → (text, characters replaced): BOMs first, then strict UTF-8, GB18030/charset-normalizer,
    and last a lenient UTF-8 or GB18030 reading for text with a few bad bytes (spliced files,
    truncated downloads) — those come back with the number of U+FFFD replacements to report.

    Raises LoadError for binary data or bytes no encoding explains.
    """
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            encoding = encoding.replace("-sig", "")
            text = _strict(data[len(bom) :], encoding)
            if text is not None:
                return text, 0
            lenient = _lenient(data[len(bom) :], encoding)
            if lenient is None:
                raise LoadError(source, f"invalid {encoding.upper()} despite its byte-order mark")
            return lenient
    for magic, kind in _MAGIC:
        if data.startswith(magic):
            raise LoadError(source, f"binary data ({kind} file), not text")
    text = _strict(data, "utf-8")
    if text is not None:
        return _checked(text, source), 0
    if b"\x00" in data:
        text = _bomless_utf16(data)
        if text is None:
            raise LoadError(source, "binary data, not text")
        return _checked(text, source), 0
    mostly_utf8 = _lenient(data, "utf-8")  # before guessing: UTF-8 bytes also "decode" as GB18030 mojibake
    if mostly_utf8 is not None and _looks_like_text(mostly_utf8[0]):
        return mostly_utf8
    text = _guess(data)
    if text is not None and _looks_like_text(text):
        return text, 0
    lenient = _lenient(data, "gb18030")
    if lenient is not None and _looks_like_text(lenient[0]):
        return lenient
    raise LoadError(source, "binary data or unknown text encoding")


def _checked(text: str, source: str) -> str:
    if not _looks_like_text(text):
        raise LoadError(source, "binary data or unknown text encoding")
    return text


def _tidy(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff").strip()


# ---------------------------------------------------------------------------------------------
# formats


def _text_document(source: str, data: bytes) -> tuple[RawDocument, int]:
    text, replaced = decode_counting(data, source)
    if text.count("\f") >= 1:  # a text-layer export (pdftotext …): pages with their furniture
        from kb.ingest.loaders.pdf import rejoin

        text = rejoin(text.split("\f"))
    return RawDocument(source=source, text=_tidy(text)), replaced


_META_TITLE = ("articletitle", "og:title", "dc.title", "title")
_META_DATE = (
    "pubdate", "publishdate", "publish_date", "publishtime", "firstpublishedtime", "article:published_time",
    "dc.date.issued", "dc.date", "dcterms.issued", "date", "og:published_time", "weibo:article:create_at",
)  # fmt: skip
_HTML_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([\w-]+)""", re.IGNORECASE)


def _html_text(data: bytes, source: str) -> tuple[str, int]:
    """Honour a declared charset when it decodes cleanly (GB2312/GBK read as GB18030)."""
    m = _HTML_CHARSET.search(data[:4096])
    if m:
        declared = m[1].decode("ascii").lower()
        declared = "gb18030" if declared in _GB else declared
        text = _strict(data, declared)
        if text is not None:
            return text, 0
    return decode_counting(data, source)


def _meta_tags(tree) -> dict[str, str]:
    """<meta name|property=… content=…> keyed by lower-cased name; first occurrence wins."""
    out: dict[str, str] = {}
    for el in tree.iter("meta"):
        key = (el.get("name") or el.get("property") or el.get("itemprop") or "").strip().lower()
        value = (el.get("content") or "").strip()
        if key and value:
            out.setdefault(key, value)
    return out


def _without_site(title: str | None) -> str | None:
    """Portals append the site name: 标题_某市人民政府门户网站 / 标题 - 站名 / 标题|站名."""
    title = " ".join((title or "").split())
    return re.split(r"\s*(?:_|\s-\s|\||--)\s*", title)[0].strip() or None


def _page_title(tree) -> str | None:
    node = tree.find(".//title")
    return _without_site(node.text_content() if node is not None else None)


def _load_html(source: str, data: bytes) -> tuple[RawDocument, int]:
    import lxml.html
    import trafilatura

    _quiet("trafilatura", "htmldate", "courlan")
    html, replaced = _html_text(data, source)
    limits.scan_html(html, source)  # depth and element count, streamed, before any tree is built
    try:
        tree = lxml.html.fromstring(html)
    except Exception as e:  # noqa: BLE001 - lxml raises a zoo of types on junk
        raise LoadError(source, f"unreadable HTML ({type(e).__name__})") from None
    meta, page_title = _meta_tags(tree), _page_title(tree)
    doc = trafilatura.bare_extraction(
        html, include_tables=True, include_comments=False, with_metadata=True,
        date_extraction_params={"extensive_search": False, "original_date": True},
    )  # fmt: skip
    text = (doc.text if doc is not None else None) or trafilatura.html2txt(html) or ""
    title = meta.get("articletitle") or _without_site(doc.title if doc is not None else None)
    title = title or _without_site(next((meta[k] for k in _META_TITLE[1:] if meta.get(k)), None)) or page_title
    published = next((d for k in _META_DATE if (d := iso_date(meta.get(k)))), None)
    published = published or iso_date(doc.date if doc is not None else None)
    hints: dict[str, object] = {"published": published} if published else {}
    return RawDocument(source=source, text=_tidy(text), title=title, hints=hints), replaced


def _quiet(*loggers: str) -> None:
    """Parsers log their complaints to stderr; kb reports one line per file instead."""
    for name in loggers:
        logging.getLogger(name).setLevel(logging.ERROR)


def _load_pdf(source: str, data: bytes) -> tuple[RawDocument, int]:
    import pypdf

    _quiet("pypdf")
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
    text = _tidy(rejoin(texts))  # page numbers, running headers, wrapped lines
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
    return RawDocument(source=source, text=_tidy(text)), 0


def _jsonl_line(path: str, lineno: int, line: str) -> RawDocument | LoadError:
    where = f"{path}:{lineno}"
    try:
        limits.check_json_line(line, where)
        row = json.loads(line)
    except LimitExceeded as e:
        return LoadError(where, e.reason)
    except json.JSONDecodeError as e:
        return LoadError(where, f"malformed JSON ({e.msg} at column {e.colno})")
    if not isinstance(row, dict):
        return LoadError(where, "not a JSON object")
    content = row.get("content") if row.get("content") is not None else row.get("text")
    if not isinstance(content, str) or not content.strip():
        return LoadError(where, "no 'content' or 'text' field" if content is None else "empty document")
    try:
        limits.current().check_chars(where, len(content))
    except LimitExceeded as e:
        return LoadError(where, e.reason)
    url = row.get("url") if isinstance(row.get("url"), str) and row["url"].strip() else None
    hints: dict[str, object] = {}
    if url:
        hints["url"] = url.strip()
    year = as_year(row.get("year"))
    if year is not None:
        hints["year"] = year
    if isinstance(row.get("region"), str) and row["region"].strip():
        hints["region"] = row["region"].strip()
    published = iso_date(row.get("published"))
    if published:
        hints["published"] = published
    title = row.get("title").strip() if isinstance(row.get("title"), str) and row["title"].strip() else None
    source = url.strip() if url else f"{path}#L{lineno}"
    return RawDocument(source=source, text=_tidy(content), title=title, hints=hints)


def _load_jsonl(path: str, data: bytes) -> list[RawDocument | LoadError]:
    text, replaced = decode_counting(data, path)
    out = [_jsonl_line(path, n, line) for n, line in enumerate(text.lstrip("\ufeff").splitlines(), 1) if line.strip()]
    return (out or [LoadError(path, "empty document")]) + _replaced_warning(path, replaced)


def _replaced_warning(source: str, replaced: int) -> list[LoadError]:
    if not replaced:
        return []
    return [LoadWarning(source, f"{replaced} undecodable byte sequence(s) replaced with U+FFFD; the rest of the text went in")]


def _load_ofd(source: str, data: bytes) -> tuple[RawDocument, int]:
    from kb.ingest.loaders.ofd import OFDUnreadable, ofd_text

    limits.check_archive(data, source)  # an OFD is a zip: inflated once under the limits, streamed
    try:
        text = ofd_text(data)
    except OFDUnreadable as e:
        raise LoadError(source, str(e)) from None
    if not text.strip():
        raise LoadError(source, "no text in this OFD — a scanned document? kb does no OCR")
    return RawDocument(source=source, text=_tidy(text)), 0


def _load_legacy_word(source: str, data: bytes, suffix: str) -> list[RawDocument | LoadError]:
    """.doc / .wps: by what the bytes are (see kb/loaders/office.py)."""
    from kb.ingest.loaders.office import ConvertError, convert_to_text, sniff

    kind = sniff(data)
    if kind == "zip":
        doc, _ = _load_docx(source, data)
        return [doc]
    if kind == "html":
        doc, replaced = _load_html(source, data)
        return [doc, LoadWarning(source, f"a web page saved as {suffix}; read as HTML"), *_replaced_warning(source, replaced)]
    if kind == "text":
        doc, replaced = _text_document(source, data)
        return [doc, LoadWarning(source, f"plain text named {suffix}; read as text"), *_replaced_warning(source, replaced)]
    try:
        text = convert_to_text(data, suffix)
    except ConvertError as e:
        return [LoadError(source, str(e))]
    if not text.strip():
        return [LoadError(source, f"no text in this {suffix} file")]
    return [RawDocument(source=source, text=_tidy(text))]


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
    return rows_to_documents(path, sheets, Path(path).stem) + _replaced_warning(path, replaced)


_LOADERS = {
    ".txt": _text_document,
    ".md": _text_document,
    ".html": _load_html,
    ".htm": _load_html,
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
            return _load_jsonl(source, data)
        if suffix in _SHEETS:
            return _load_sheet(source, data, suffix)
        if suffix in (".doc", ".wps"):
            items = _load_legacy_word(source, data, suffix)
        else:
            doc, replaced = _LOADERS[suffix](source, data)
            items = [doc, *_replaced_warning(source, replaced)]
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
