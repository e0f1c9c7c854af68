"""JSONL: one document a line — `title`, `content` or `text`, optional `url`, `year`, `region`,
`published`. A bad line is one LoadError naming `file:line`; the good lines go in."""

from __future__ import annotations

import json

from kb import limits
from kb.ingest.dates import as_year, iso_date
from kb.ingest.decode import decode_counting, tidy
from kb.ingest.problems import LoadError, replaced_warning
from kb.limits import LimitExceeded
from kb.models import RawDocument


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
    return RawDocument(source=source, text=tidy(content), title=title, hints=hints)


def load_jsonl(path: str, data: bytes) -> list[RawDocument | LoadError]:
    text, replaced = decode_counting(data, path)
    out = [_jsonl_line(path, n, line) for n, line in enumerate(text.lstrip("\ufeff").splitlines(), 1) if line.strip()]
    return (out or [LoadError(path, "empty document")]) + replaced_warning(path, replaced)

