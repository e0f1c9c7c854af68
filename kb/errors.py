"""Errors a user can cause and fix, raised where the problem is known; the CLI prints them as one
line, the HTTP API as `application/problem+json` with the same message, `code` and `status`.

Every error here is a `KbError`: `code` is stable (clients may branch on it), `status` is the HTTP
status the API answers with, `title` the short Chinese heading a problem document carries (the
message itself, `str(e)`, is the one line the CLI prints). Anything else that escapes the library is
a bug, not a user error.
"""

from __future__ import annotations


class KbError(Exception):
    """Base of the errors a user can cause; str() is one line."""

    code = "kb_error"
    status = 400
    title = "请求无法完成"


class BadRequest(KbError, ValueError):
    """A request kb cannot run as asked: an empty query, k below 1, an unknown mode or filter value."""

    code = "bad_request"
    title = "请求有误"


class UnknownFilter(BadRequest):
    """A filter value kb does not know (a level, a document type) or a parameter no endpoint takes."""

    code = "unknown_filter"
    title = "未知的筛选条件"


class UnknownRegion(KbError, LookupError):
    """A region no document is filed under."""

    code = "unknown_region"
    status = 404
    title = "没有该地区的报告"

    def __init__(self, region: str) -> None:
        self.region = region
        super().__init__(f"no documents filed under region {region!r} (`kb region` lists them)")


class NotAuthorised(KbError):
    """A write without the API token, or with a wrong one."""

    code = "unauthorised"
    status = 401
    title = "需要有效的访问令牌"


class WritesDisabled(KbError):
    """A write to a server started without KB_API_TOKEN: writes are off, never open by default."""

    code = "writes_disabled"
    status = 403
    title = "写操作未开启"


class UnknownDocument(KbError, LookupError):
    """A document id that is not in the index."""

    code = "unknown_document"
    status = 404
    title = "文档不存在"

    def __init__(self, doc_id: str, where: str) -> None:
        self.doc_id = doc_id
        super().__init__(f"no document {doc_id!r} in {where} (see `kb docs`)")

    def __str__(self) -> str:
        return str(self.args[0])


class UnknownChunk(KbError, ValueError):
    """A passage (chunk) id that is not in the index."""

    code = "unknown_chunk"
    status = 404
    title = "段落不存在"

    def __init__(self, chunk_id: object) -> None:
        self.chunk_id = chunk_id
        super().__init__(f"no passage {chunk_id} in this index")


class SettingError(KbError, ValueError):
    """An unknown setting, or a value of the wrong kind (`--set`, KB_SETTINGS, `overrides=`)."""

    code = "bad_setting"
    title = "设置有误"


class NeedsRebuild(SettingError):
    """A setting whose change takes effect only when the index is rebuilt, given where it cannot be."""

    code = "needs_rebuild"
    status = 409
    title = "该设置需要重建索引"


class IndexUnusable(KbError):
    """An index that cannot be used as asked (missing, newer format, other embedder, damaged)."""

    code = "index_unusable"
    status = 503
    title = "索引不可用"


class EmbedderMismatch(IndexUnusable):
    code = "embedder_mismatch"
    status = 409


class UnknownEmbedder(KbError, ValueError):
    """An embedder spec kb cannot load here (a tuned model this machine has not made, a bad id)."""

    code = "unknown_embedder"


class SegmentMissing(IndexUnusable):
    """The segment a manifest names is gone (pruned after a newer one was published): read again."""

    code = "segment_missing"


class DatabaseRefused(IndexUnusable):
    """kb.sqlite is not a kb database kb may open (empty where an index was, foreign, not SQLite).

    Raised before anything is written, so nothing more is lost: in kb 0.2 a 0-byte kb.sqlite was
    quietly made into a new, empty database and `kb reindex` then built an empty index on it."""

    code = "database_refused"


class StorageError(KbError):
    """A write the disk refused (full, failing, read-only), named with the path and the space
    needed; raised before the switch, so the index is as it was."""

    code = "storage"
    status = 507
    title = "磁盘写入失败"


class IndexBusy(KbError, RuntimeError):
    """Another process is writing this index and the caller chose not to wait."""

    code = "index_busy"
    status = 409
    title = "索引正在被写入"


class LimitExceeded(KbError):
    """One input refused by a limit; str() is one line: `source: what (limit …)`."""

    code = "limit_exceeded"
    status = 413
    title = "超出限制"

    def __init__(self, source: str, reason: str, limit: str = "") -> None:
        self.source, self.reason, self.limit = str(source), reason, limit
        super().__init__(f"{self.source}: {reason}")

    def __reduce__(self):  # picklable across worker processes
        return (type(self), (self.source, self.reason, self.limit))


class EmptyQuery(BadRequest):
    """A query or question with no words in it (it would return arbitrary passages)."""

    code = "empty_query"
    title = "查询为空"

    def __init__(self) -> None:
        super().__init__("empty query: type the words or the question to search for")

    def __reduce__(self):
        return (type(self), ())


class QueryTooLong(KbError, ValueError):
    """A query or question over `max_query_chars` (its cost grows with its length)."""

    code = "query_too_long"
    status = 413
    title = "查询过长"

    def __init__(self, chars: int, limit: int) -> None:
        self.chars, self.limit = chars, limit
        super().__init__(f"query too long: {chars:,} characters, the limit is {limit:,} "
                         "(KB_MAX_QUERY_CHARS); keep the words that matter")

    def __reduce__(self):
        return (type(self), (self.chars, self.limit))
