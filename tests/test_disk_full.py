"""A full disk named as what it is (issue 19): `磁盘空间不足：… 需要约 N MB`, never "database
unreadable, restore from a backup" for a healthy database, never "cannot commit - no transaction
is active".

On a real tmpfs when running as root (skipped cleanly where mounting is impossible); the parts
that need no full disk (a transaction SQLite rolled back itself, an I/O error) run everywhere.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest

from kb.errors import StorageError
from kb.index.storage import describe, storage_error
from kb.index.store import Store

ROOT = Path(__file__).resolve().parents[1]
TERM = "综合查一次"
DAMAGED = ("restore", "backup", "damaged", "unreadable", "损坏", "cannot commit")


def kb(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    full = {k: v for k, v in os.environ.items() if not k.startswith(("KB_FAILPOINT", "KB_MAX", "KB_SETTINGS"))}
    full.update({"HF_HUB_OFFLINE": "1", **(env or {})})
    return subprocess.run([sys.executable, "-m", "kb.cli", *args], cwd=ROOT, env=full, capture_output=True, text=True,
                          timeout=600, check=False)


def error_line(p: subprocess.CompletedProcess) -> str:
    lines = [line for line in p.stderr.splitlines() if line.startswith("kb: ")]
    assert len(lines) == 1 and "Traceback" not in p.stderr, p.stderr
    return lines[0]


def says_disk_full(line: str) -> None:
    assert line.startswith("kb: 磁盘空间不足："), line
    assert "需要约 " in line and " MB" in line and "数据库完好" in line, line
    # "不需要从备份恢复" says no restore is needed; nothing else may point to one
    assert not any(word in line.replace("不需要从备份恢复", "") for word in DAMAGED), line


def top(index: Path) -> list[tuple[str, int]]:
    p = kb("search", TERM, "--json", "--k", "5", "--mode", "bm25", "--index", str(index))
    assert p.returncode == 0, p.stderr
    return [(h["doc_id"], h["start"]) for h in json.loads(p.stdout)["hits"]]


def index_on(tmpfs: Path, demo_index_path: Path) -> Path:
    """A copy of the demo index with nothing beside its database (SQLite makes -wal/-shm on open)."""
    index = tmpfs / "index"
    shutil.copytree(demo_index_path, index)
    with closing(sqlite3.connect(index / "kb.sqlite")) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    for name in ("kb.sqlite-wal", "kb.sqlite-shm"):
        (index / name).unlink(missing_ok=True)
    return index


def fill(tmpfs: Path, leave: int) -> Path:
    filler = tmpfs / "filler"
    filler.write_bytes(b"\0" * max(0, shutil.disk_usage(tmpfs).free - leave))
    return filler


# ---- a real full disk -------------------------------------------------------------------------------
def test_16_kb_free_is_a_full_disk_for_every_command_not_a_damaged_database(demo_index_path, tmpfs):
    index = index_on(tmpfs, demo_index_path)
    expected = top(index)
    for name in ("kb.sqlite-wal", "kb.sqlite-shm"):
        (index / name).unlink(missing_ok=True)  # left by the search above; a clean close removes them
    filler = fill(tmpfs, 16 * 1024)  # less than SQLite's shared-memory file (32 KB)
    for command in (["search", TERM, "--mode", "bm25"], ["ask", TERM], ["check"], ["docs"],
                    ["ingest", str(ROOT / "tests" / "fixtures" / "practices"), "--no-dense", "--quiet"]):
        p = kb(*command, "--index", str(index))
        assert p.returncode in (1, 2), (command, p.stdout, p.stderr)
        says_disk_full(error_line(p))
    filler.unlink()
    assert top(index) == expected  # healthy all along
    check = kb("check", "--index", str(index))
    assert check.returncode == 0, check.stdout + check.stderr


def test_a_large_document_on_a_full_disk_says_so_not_cannot_commit(demo_index_path, tmpfs, tmp_path):
    """The document's rows spill out of SQLite's page cache mid-transaction; on a full disk SQLite
    then rolls the whole transaction back itself. kb 0.3 caught that error per document and went on
    to COMMIT: `database error: cannot commit - no transaction is active`."""
    index = index_on(tmpfs, demo_index_path)
    expected, docs = top(index), kb("docs", "--index", str(index)).stdout
    big = tmp_path / "in" / "大报告.txt"
    big.parent.mkdir()
    sections = "\n".join(f"{i}.推行府院联动第{i}项，开展联合执法检查{i * 7}次，办理行政复议案件{i * 3}件，"
                         f"化解行政争议{i * 5}起。" * 12 for i in range(1, 99))
    big.write_text(f"丙县2024年法治政府建设年度报告\n{sections * 9}\n", encoding="utf-8")
    fill(tmpfs, 1 << 20)  # 1 MB free: the document needs several
    p = kb("ingest", str(big), "--index", str(index), "--no-dense", "--quiet")
    assert p.returncode == 2, (p.stdout, p.stderr)
    line = error_line(p)
    says_disk_full(line)
    assert "写入" in line and "索引没有改动" in line, line
    (tmpfs / "filler").unlink()
    assert top(index) == expected and kb("docs", "--index", str(index)).stdout == docs


def test_a_transaction_sqlite_rolled_back_on_a_full_disk_is_named_disk_full(tmpfs):
    store = Store(tmpfs / "index", create=True)
    try:
        fill(tmpfs, 256 * 1024)
        with pytest.raises(StorageError, match="磁盘空间不足") as refused, store.transaction() as db:
            try:
                for i in range(10_000):  # more than the disk holds, in one transaction
                    db.execute("INSERT INTO state(key, value) VALUES (?, ?)", (f"k{i}", "x" * 10_000))
            except sqlite3.OperationalError as e:  # a caller that catches it (kb 0.3's per-document savepoint)
                assert "full" in str(e) and not db.in_transaction  # SQLite rolled it all back itself
        assert "需要约" in str(refused.value)
    finally:
        store.close()


# ---- everywhere ------------------------------------------------------------------------------------
def test_a_transaction_rolled_back_behind_our_back_is_not_cannot_commit(tmp_path):
    store = Store(tmp_path / "index", create=True)
    try:
        with pytest.raises(sqlite3.OperationalError) as refused, store.transaction() as db:
            db.execute("INSERT INTO state(key, value) VALUES ('a', 'b')")
            db.execute("ROLLBACK")  # as SQLite does itself after SQLITE_FULL / IOERR / NOMEM
        assert "rolled the write transaction back" in str(refused.value)
        assert "cannot commit" not in str(refused.value)
        assert store.get_state("a") is None
    finally:
        store.close()


@pytest.mark.parametrize(("error", "starts"), [
    (OSError(errno.ENOSPC, "No space left on device"), "磁盘空间不足：写入 "),
    (sqlite3.OperationalError("database or disk is full"), "磁盘空间不足：写入 "),
    (OSError(errno.EIO, "Input/output error"), "磁盘读写错误：写入 "),
    (OSError(errno.EROFS, "Read-only file system"), "只读文件系统：无法写入 "),
])
def test_disk_errors_are_named_chinese_first_then_path_and_numbers(tmp_path, error, starts):
    found = storage_error(error, tmp_path, need=5 << 20)
    assert isinstance(found, StorageError)
    text = str(found)
    assert text.startswith(starts + str(tmp_path)), text
    assert not any(word in text.replace("不需要从备份恢复", "") for word in DAMAGED), text
    if starts.startswith("磁盘空间不足"):
        assert "需要约 6.0 MB" in text and " MB free" in text  # the write's 5 MB and some room
    assert storage_error(ValueError("bad"), tmp_path) is None


def test_an_io_error_on_a_nearly_full_disk_is_a_full_disk(tmp_path, monkeypatch):
    """SQLite reports a shared-memory file it cannot grow on a full tmpfs as `disk I/O error`."""
    from kb.index import storage

    monkeypatch.setattr(storage, "free_bytes", lambda path: 16 * 1024)
    text = describe(storage.IO, sqlite3.OperationalError("disk I/O error"), tmp_path, reading=True)
    assert text.startswith(f"磁盘空间不足：打开 {tmp_path} 时磁盘已满（可用 0.0 MB，需要约 1.0 MB）"), text
