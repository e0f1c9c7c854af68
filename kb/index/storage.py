"""A disk that refuses a write or a read — full, failing, read-only — named as what it is.

Why: on a full disk kb said `database error: cannot commit - no transaction is active` (SQLite
had rolled the transaction back on SQLITE_FULL, the error was caught per document, and the COMMIT
found nothing to commit), and with 16 KB free `kb search` said the database was unreadable and
advised a restore from backup — wrong advice for a healthy database: SQLite could not create its
shared-memory file beside it (WAL mode), which it reports as a disk I/O error. Measured on a real
4 MB tmpfs (tests/test_disk_full.py).

So every message says first, in Chinese, what happened and what to do, then the path and the
numbers: `磁盘空间不足：写入 /x/index 时磁盘已满（可用 0.0 MB，需要约 1.3 MB）…`. An I/O error on a
disk with almost no space left is a full disk (that is how SQLite reports a shared-memory file it
cannot grow). None of these messages calls the index damaged or points to a restore: the writes are
transactional, so the index is as it was.
"""

from __future__ import annotations

import errno
import shutil
import sqlite3
from pathlib import Path

from kb.errors import StorageError

FULL, IO, READONLY = "full", "io", "readonly"
NEARLY_FULL = 1 << 20  # bytes free below which an I/O error is the disk being full
READ_NEED = 1 << 20  # about what opening an index needs free: SQLite's -shm (32 KB) and -wal beside it


def storage_problem(error: BaseException) -> str | None:
    """FULL / IO / READONLY when `error` is the disk refusing a write (or a read), else None."""
    if isinstance(error, StorageError):
        return FULL if "磁盘空间不足" in str(error) else IO
    if isinstance(error, OSError) and error.errno is not None:
        return {errno.ENOSPC: FULL, errno.EDQUOT: FULL, errno.EIO: IO, errno.EROFS: READONLY}.get(error.errno)
    if isinstance(error, sqlite3.Error):
        code = (getattr(error, "sqlite_errorcode", None) or 0) & 0xFF
        text = str(error).lower()
        if code == 13 or "disk is full" in text:  # SQLITE_FULL
            return FULL
        if code == 10 or "disk i/o error" in text:  # SQLITE_IOERR
            return IO
        if code == 8 or "readonly" in text:  # SQLITE_READONLY
            return READONLY
        return None
    text = str(error)  # a short write without errno — numpy: "7246 requested and 7136 written"; FAISS: "fwrite …"
    if ("requested and" in text and "written" in text) or "fwrite" in text:
        return FULL if "requested and" in text else IO
    return None


def describe(kind: str, error: BaseException, where: Path, need: int = 0, reading: bool = False) -> str:
    """One line: what happened and what to do (Chinese), then the path, the space and the error."""
    path = Path(getattr(error, "filename", None) or where)
    free = free_bytes(path)
    if kind == IO and free < NEARLY_FULL:
        kind = FULL  # SQLite reports a -shm file it cannot grow on a full disk as an I/O error
    doing = "打开" if reading else "写入"
    if kind == FULL:
        need = max(need, READ_NEED) if reading else need + (1 << 20)  # a write: its data and some room
        again = "后重试" if reading else "（或用 --index 把索引建到其他磁盘）后重新运行同一命令"
        return (f"磁盘空间不足：{doing} {path} 时磁盘已满（可用 {_mb(free)}，需要约 {_mb(need)}）。请释放空间{again}；"
                f"索引没有改动，数据库完好，不需要从备份恢复。[no space left on device: {_mb(free)} free, about "
                f"{_mb(need)} needed]")
    detail = " ".join(str(error).split())[:120]
    if kind == READONLY:
        return (f"只读文件系统：无法{doing} {path}（{detail}）。请把索引放到可写的位置（--index），或以可写方式重新挂载后"
                f"重新运行同一命令；索引没有改动。[read-only file system]")
    return (f"磁盘读写错误：{doing} {path} 时出错（{detail}）。请检查磁盘（系统日志、dmesg）后重新运行同一命令；"
            f"写入是事务性的，索引没有改动。[disk I/O error]")


def storage_error(error: BaseException, where: Path, need: int = 0, reading: bool = False) -> StorageError | None:
    """The StorageError `error` is (None when it is not the disk's doing)."""
    if isinstance(error, StorageError):
        return error
    kind = storage_problem(error)
    return None if kind is None else StorageError(describe(kind, error, where, need, reading))


def rolled_back(where: Path) -> BaseException:
    """For a write transaction SQLite ended by itself before our COMMIT: it does so on a full disk,
    an I/O error or no memory, after the statement that failed — whose error someone caught. Said
    as a full disk when the disk is nearly full, else as what it is."""
    if free_bytes(where) < NEARLY_FULL:
        return StorageError(describe(FULL, OSError(errno.ENOSPC, "no space left"), where))
    return sqlite3.OperationalError(f"{where}: SQLite rolled the write transaction back after an earlier error "
                                    "(a full disk, an I/O error or no memory); nothing was written — run the same "
                                    "command again")


def free_bytes(path: Path) -> int:
    for candidate in (path, *path.parents):
        try:
            return shutil.disk_usage(candidate).free
        except OSError:
            continue
    return 0


def _mb(n: int) -> str:
    return f"{n / (1 << 20):.1f} MB"
