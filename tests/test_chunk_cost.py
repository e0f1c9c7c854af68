"""Heading-dense text costs linear work, the passage limit stops chunking as soon as it is passed,
and the write lock is free again for the next ingest (issue 19).

Work is counted (characters folded, sections cut), never timed: times are in
scripts/bench_chunking.py. The lock test is event-based (failpoints, the lock file's holder).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from kb import failpoints
from kb.errors import LimitExceeded
from kb.ingest import chunk as chunking
from kb.ingest import normalise
from kb.ingest.load import RawDocument
from kb.ingest.pipeline import prepare
from kb.limits import Limits, applied

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
from bench_chunking import heading_only


def test_cleaning_heading_only_text_folds_each_character_a_bounded_number_of_times(monkeypatch):
    """Every line of headings is short: kb 0.3 joined and folded the rest of the run from every
    line on — n²/2 characters for n lines. Now each character is folded a few times at most."""
    folded = [0]
    real = normalise.fold

    def counting(text: str) -> str:
        folded[0] += len(text)
        return real(text)

    monkeypatch.setattr(normalise, "fold", counting)
    for size in (20_000, 80_000):
        folded[0] = 0
        cleaned = normalise.clean(heading_only(chars=size))
        assert cleaned.text.count("\n") > size // 12  # the headings are all still there
        assert folded[0] < 6 * size, (size, folded[0])


def test_chunking_stops_at_the_first_passage_over_the_limit(monkeypatch):
    text = heading_only(chars=300_000)  # ≈ 34,000 headings, each its own passage
    seen: list[int] = []
    sections_cut = [0]
    real = chunking.iter_sections

    def counted(t):
        for section in real(t):
            sections_cut[0] += 1
            yield section

    def check(n: int) -> None:
        seen.append(n)
        if n > 1_000:
            raise LimitExceeded("headings.txt", f"splits into {n:,} passages", "max_passages")

    monkeypatch.setattr(chunking, "iter_sections", counted)
    with pytest.raises(LimitExceeded):
        chunking.chunk(text, check=check)
    assert seen[-1] == 1_001 and sections_cut[0] <= 1_002  # not the 34,000 sections of the whole text


def test_a_document_over_the_passage_limit_is_refused_while_it_is_cut():
    limits = replace(Limits.cli(), passages=500)
    with applied(limits), pytest.raises(LimitExceeded) as refused:
        prepare(RawDocument("headings.txt", heading_only(chars=500_000)))
    assert str(refused.value).startswith("headings.txt: splits into 501 passages (limit 500; raise it with "
                                         "KB_MAX_PASSAGES)")


def test_a_second_ingest_gets_the_lock_once_a_huge_heading_file_is_refused(tmp_path):
    """A: `kb ingest` of 3M characters of headings (the CLI's character limit) — refused at its
    10,001st passage while it is cut. B, a small report, started while A holds the lock, waits and
    goes in as soon as A is done: A reaches the end of its reading (failpoint) instead of cutting
    300,000 passages under the lock for minutes."""
    huge = tmp_path / "in" / "headings.txt"
    huge.parent.mkdir()
    huge.write_text(heading_only(chars=3_000_000), encoding="utf-8")
    small = tmp_path / "small" / "乙县2024年法治政府建设年度报告.txt"
    small.parent.mkdir()
    small.write_text("乙县2024年法治政府建设年度报告\n一、推行府院联动\n开展联合执法检查12次，办理行政复议案件30件。\n",
                     encoding="utf-8")
    index, pauses = tmp_path / "index", tmp_path / "pauses"
    pauses.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KB_FAILPOINT", "KB_MAX", "KB_SETTINGS"))}
    env.update({"HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1"})

    def ingest(path: Path, armed: str = "") -> subprocess.Popen:
        extra = {"KB_FAILPOINTS": armed, "KB_FAILPOINT_DIR": str(pauses)} if armed else {}
        return subprocess.Popen([sys.executable, "-m", "kb.cli", "ingest", str(path), "--index", str(index),
                                 "--no-dense", "--quiet"], cwd=ROOT, env={**env, **extra}, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    first = ingest(huge, "ingest.parsed=pause")
    give_up = time.monotonic() + 600  # a hang fails the test; nothing here asserts a duration
    try:
        while failpoints.reached(pauses, "ingest.parsed") != first.pid:  # A has cut (and refused) the file
            assert first.poll() is None, first.communicate()
            assert time.monotonic() < give_up, "the 3M-character file was never done with"
            time.sleep(0.01)
        second = ingest(small)
        while "waiting" not in (line := second.stderr.readline()):  # B found A holding the lock
            assert line or second.poll() is None, second.communicate()
        failpoints.release(pauses, "ingest.parsed")
        out_a, err_a = first.communicate(timeout=300)
        out_b, err_b = second.communicate(timeout=300)
    finally:
        for proc in (first, *([second] if "second" in locals() else [])):
            if proc.poll() is None:
                proc.kill()
    assert first.returncode == 2, (out_a, err_a)
    assert "splits into 10,001 passages (limit 10,000" in err_a, err_a
    assert second.returncode == 0, (out_b, err_b)
    assert "added 1" in out_b
