"""Spreadsheets of reports: CSV/TSV and workbooks (XLSX, XLS, ODS), one report per row.

Columns are found by their header names, in Chinese or English (标题/title, 正文/content/full_text,
年份/year, 地区/region, 省份/province, 链接/url, 发布日期/publish_date …); a sheet without a content
column is one error line naming the columns it has. Each row becomes one document whose source is
`FILE#rowN` (N as a spreadsheet shows it: the header is row 1), its columns container hints that
win over anything guessed from the text.

Workbooks are read with python-calamine (Rust's calamine: XLSX, XLS and ODS in one MIT-licensed
reader, several times faster than openpyxl and without its memory appetite); CSV with the
standard library, after kb's encoding detection (UTF-8 with BOM, GBK exports of Excel …).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterable

from kb.ingest.normalise import fold
from kb.models import RawDocument

# field → header names (compared folded, lower-cased, without spaces and punctuation)
COLUMNS: dict[str, tuple[str, ...]] = {
    "content": ("正文", "内容", "全文", "文本", "正文内容", "文章内容", "报告全文", "报告内容", "全文内容",
                "content", "fulltext", "text", "body", "article", "maintext"),
    "title": ("标题", "题目", "名称", "文件名称", "文章标题", "报告标题", "文件标题", "报告名称", "title", "name", "headline"),
    "year": ("年份", "年度", "年", "报告年度", "year"),
    "region": ("地区", "区域", "地区名称", "行政区", "行政区划", "地方", "所属地区", "region", "area", "place", "location"),
    "province": ("省份", "省", "省级", "省区市", "所属省份", "province"),
    "city": ("城市", "市", "地市", "所属城市", "city"),
    "county": ("区县", "县区", "县", "区", "县市区", "county", "district"),
    "url": ("链接", "网址", "原文链接", "来源链接", "原文地址", "url", "link", "sourceurl", "href"),
    "published": ("发布日期", "发布时间", "日期", "成文日期", "公开日期", "发文日期", "publishdate", "published",
                  "date", "pubdate", "publishtime", "publishedat"),
    "issuer": ("发布机构", "发文机关", "发布单位", "发文单位", "issuer", "publisher", "agency"),
    "doc_type": ("类型", "文种", "文档类型", "文件类型", "报告类型", "doctype", "type", "category"),
}
_HEADER_ROWS = 5  # a title row or two may sit above the header


class SheetError(Exception):
    """What is wrong with a whole sheet (no content column); the caller names the file."""


def _key(header: object) -> str:
    return re.sub(r"[\s_\-:：()（）\[\]【】/\\|.#*]+", "", fold(str(header or "")).lower().lstrip("\ufeff"))


def map_columns(header: list[object]) -> dict[str, int]:
    """field → column index for a header row; exact names first, then names that contain one."""
    keys = [_key(h) for h in header]
    found: dict[str, int] = {}
    for field, names in COLUMNS.items():
        for i, k in enumerate(keys):
            if k and k in names and i not in found.values():
                found[field] = i
                break
    for field, names in COLUMNS.items():
        if field in found:
            continue
        for i, k in enumerate(keys):
            if i not in found.values() and any(len(n) >= 2 and n in k for n in names if not n.isascii()):
                found[field] = i
                break
    return found


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (dt.datetime, dt.date)):
        return value.strftime("%Y-%m-%d")
    return str(value).strip()


def rows_to_documents(path: str, sheets: Iterable[tuple[str, list[list[object]]]], stem: str):
    """Documents (or error values) from the rows of each sheet; see the module docstring."""
    from kb.ingest.problems import LoadError

    out: list[RawDocument | LoadError] = []
    sheets = list(sheets)
    many = sum(1 for _, rows in sheets if any(any(_cell(c) for c in r) for r in rows)) > 1
    problems: list[str] = []
    for name, rows in sheets:
        header_at, columns = None, {}
        for i, row in enumerate(rows[:_HEADER_ROWS]):
            columns = map_columns(row)
            if "content" in columns:
                header_at = i
                break
        if header_at is None:
            first = next((r for r in rows if any(_cell(c) for c in r)), None)
            if first is not None:
                where = f" (sheet {name})" if many else ""
                names = ", ".join(_cell(c) for c in first if _cell(c))[:120] or "none"
                problems.append(f"no content column{where} — name one 正文, 内容, 全文, content, full_text or text; "
                                f"columns found: {names}")
            continue
        data = [(header_at + 2 + j, r) for j, r in enumerate(rows[header_at + 1 :]) if any(_cell(c) for c in r)]
        for rownum, row in data:
            where = f"{path}#{name}!row{rownum}" if many else f"{path}#row{rownum}"
            values = {f: _cell(row[i]) if i < len(row) else "" for f, i in columns.items()}
            content = values.pop("content").replace("\r\n", "\n").replace("\r", "\n").strip()
            if not content:
                out.append(LoadError(where, "empty content"))
                continue
            hints: dict[str, object] = {k: v for k, v in values.items() if v and k != "title"}
            if len(data) == 1 and not many:
                hints["file_title"] = stem  # the file holds this one report: its name is evidence too
            out.append(RawDocument(source=where, text=content.lstrip("\ufeff"), title=values.get("title") or None,
                                   hints=hints))
    if not out:
        reason = "; ".join(problems) if problems else "no rows with a report (the sheet is empty)"
        return [LoadError(path, reason)]
    return out + [LoadError(path, p) for p in problems if out]


# ---------------------------------------------------------------------------------------------
# CSV / TSV


def read_delimited(path: str, text: str, suffix: str) -> list[tuple[str, list[list[object]]]]:
    if suffix == ".tsv":
        delimiter = "\t"
    else:
        try:
            delimiter = csv.Sniffer().sniff(text[:4096].split("\n", 1)[0] + "\n", delimiters=",\t;|").delimiter
        except csv.Error:
            delimiter = ","
    csv.field_size_limit(max(csv.field_size_limit(), 1 << 30))  # one cell may hold a whole report
    try:
        rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=delimiter))
    except csv.Error as e:
        raise SheetError(f"unreadable CSV ({e})") from None
    return [("", rows)]


# ---------------------------------------------------------------------------------------------
# workbooks


def read_workbook(data: bytes) -> list[tuple[str, list[list[object]]]]:
    """Every sheet's rows (XLSX, XLS, ODS alike); SheetError for encrypted or broken workbooks."""
    import python_calamine as pc

    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" and b"E\x00n\x00c\x00r\x00y\x00p\x00t\x00e\x00d\x00P\x00a\x00c\x00k\x00a\x00g\x00e" in data[:65536 * 4]:
        raise SheetError("encrypted workbook (password-protected); save it without a password and ingest it again")
    try:
        book = pc.CalamineWorkbook.from_filelike(io.BytesIO(data))
        return [(name, book.get_sheet_by_name(name).to_python(skip_empty_area=False)) for name in book.sheet_names]
    except pc.PasswordError:
        raise SheetError("encrypted workbook (password-protected); save it without a password and ingest it again") from None
    except (pc.CalamineError, pc.ZipError, pc.XmlError, ValueError, OSError) as e:
        raise SheetError(f"unreadable workbook ({type(e).__name__}: {' '.join(str(e).split())[:120]})") from None
