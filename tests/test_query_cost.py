"""Bounded cost for every query (issue 19): the work a query does is bounded by its caps, not by
the square of its length, and a query that reaches a cap or the deadline answers with the best
found so far and a notice.

Assertions are on outputs and counted work (phrase look-ups, spans, traced memory), never on
wall-clock time; speed and memory targets live in scripts/bench_query_cost.py.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import tracemalloc
from itertools import count
from pathlib import Path

import pytest

from kb.index.tokenize import collapse_repeats
from kb.ingest.normalise import fold
from kb.query import budget, question
from kb.query.budget import Budget
from kb.query.question import _bounded, _collapsed, practice_of
from kb.settings import QuerySettings, Settings

ROOT = Path(__file__).resolve().parents[1]
CAPS = QuerySettings()
NOTICE = "限定工作量"  # what every budget notice says


def kb(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    full = {k: v for k, v in os.environ.items() if not k.startswith(("KB_FAILPOINT", "KB_MAX", "KB_SETTINGS"))}
    full.update({"HF_HUB_OFFLINE": "1", **(env or {})})
    return subprocess.run([sys.executable, "-m", "kb.cli", *args], cwd=ROOT, env=full, capture_output=True, text=True,
                          timeout=600, check=False)


def queries(n: int = 1000) -> dict[str, str]:
    """The four kinds of long query the benchmark measures (random characters from the samples)."""
    text = "".join(p.read_text(encoding="utf-8") for p in sorted((ROOT / "data" / "samples").glob("*.txt")))
    han = sorted({c for c in text if "\u4e00" <= c <= "\u9fff"})
    rng = random.Random(19)
    flat = "".join(text.split())
    return {"char": "法" * n, "word": ("一网通办" * n)[:n], "random": "".join(rng.choice(han) for _ in range(n)),
            "paragraph": flat[flat.find("一、") :][:n]}


# ---- pure parts -------------------------------------------------------------------------------
def test_repeats_collapse_to_two_copies_and_nothing_else_changes():
    assert collapse_repeats("法" * 1000) == "法法"
    assert collapse_repeats("一网通办" * 250) == "一网通办一网通办"
    assert collapse_repeats("法治政府法治政府法治政府建设") == "法治政府法治政府建设"
    for kept in ("天天向上", "常常", "100000元", "综合查一次", "一一对应", "哪些地区推行一网通办"):
        assert collapse_repeats(kept) == kept


def test_question_runs_are_collapsed_cut_and_counted():
    assert _collapsed(["法"] * 500) == ["法"]
    assert _collapsed(["法治", "政府"] * 100 + ["建设"]) == ["法治", "政府", "建设"]
    assert _collapsed(["综合", "查", "一次"]) == ["综合", "查", "一次"]
    spent = Budget.start(CAPS)
    with budget.applied(spent):
        long_run = [f"词{i}" for i in range(35)]
        runs = _bounded([long_run, ["行政", "复议"], ["行政", "复议"]] + [[f"甲{i}"] for i in range(20)], CAPS)
    assert all(len(r) <= CAPS.max_span_tokens for r in runs)
    assert len(runs) == CAPS.max_spans and runs[0] == long_run[: CAPS.max_span_tokens]
    assert runs.count(["行政", "复议"]) == 1  # the same span is resolved once
    assert list(spent.cut) == ["span_tokens", "spans"] and NOTICE in spent.notice


def test_the_deadline_counts_work_and_says_so():
    ticks = count()
    spent = Budget.start(QuerySettings(deadline_ms=1500), clock=lambda: next(ticks), wall=lambda: 0.0)
    assert not spent.expired()  # 1 s of work so far
    assert spent.expired() and spent.expired()  # 2 s, 3 s: past it, and stays past it
    assert "计算时间超过 1500 ms" in spent.notice
    assert not spent.lookup()  # past the deadline nothing more is looked up


def test_lookups_stop_at_their_cap():
    spent = Budget.start(QuerySettings(max_phrase_lookups=3, deadline_ms=0))
    assert [spent.lookup() for _ in range(5)] == [True, True, True, False, False]
    assert spent.phrase_lookups == 3 and "核对原文措辞的次数超过 3 次" in spent.notice


def test_the_query_section_is_a_machine_setting_and_overridable():
    s = Settings().with_overrides({"query.deadline_ms": "200", "query.max_spans": "4"})
    assert (s.query.deadline_ms, s.query.max_spans) == (200, 4)
    assert "query" not in Settings().index_dict()  # this machine's, never read from an index built elsewhere


# ---- a real index ---------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["char", "word", "random", "paragraph"])
def test_a_1000_character_query_does_bounded_work(demo_index, kind):
    q = queries()[kind]
    demo_index.search("法治建设", k=1, mode="bm25")  # what every process loads once (jieba, its dictionary)
    tracemalloc.start()
    try:
        hits = demo_index.search(q, k=5, mode="bm25")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    if kind == "char":  # read as 法法: the same hits (none here: no passage has that word)
        assert [h.chunk.chunk_id for h in hits] == [h.chunk.chunk_id for h in demo_index.search("法法", k=5, mode="bm25")]
    elif kind != "paragraph":  # (its five quoted terms must all occur in one passage: none has them all)
        assert hits, kind
    assert hits.work["phrase_lookups"] <= CAPS.max_phrase_lookups
    # Before the caps, `法`×1,000 grew past 3 GB (24 GB on the real reports) reading the question.
    assert peak < 64 * 2**20, f"{kind}: {peak / 2**20:.0f} MB traced"
    if kind == "random":  # no punctuation, no stop words: one long run, cut and capped — and said so
        assert hits.notice and NOTICE in hits.notice and "span_tokens" in hits.work["cut"]
    if kind in ("char", "word"):  # a repeat says nothing more than two copies: nothing to cut
        assert hits.notice is None


def test_a_repeated_word_weighs_as_one_mention(demo_index):
    once = [(h.chunk.chunk_id) for h in demo_index.search("综合查一次", k=10, mode="bm25")]
    thrice = [(h.chunk.chunk_id) for h in demo_index.search("综合查一次 综合查一次 综合查一次", k=10, mode="bm25")]
    assert once and thrice == once


def test_past_the_deadline_reading_stops_after_the_first_span_and_answers(demo_index, monkeypatch):
    """The first span's resolution takes 5 s of (fake) work: the deadline passes, the other spans
    are not resolved, and the reading still comes back — with the cut recorded for the notice."""
    s = demo_index.searcher()
    now = [0.0]
    spent = Budget.start(QuerySettings(deadline_ms=1000), clock=lambda: now[0], wall=lambda: 0.0)
    resolved = []

    def slow_practice_of(run, corpus):
        resolved.append(run)
        now[0] += 5.0
        return practice_of(run, corpus)

    monkeypatch.setattr(question, "practice_of", slow_practice_of)
    text = fold("哪些地区推行综合查一次，开展府院联动，建设公共法律服务中心？")  # read by no other test (cached)
    with budget.applied(spent):
        reading = s.read(text)
    assert len(resolved) == 1 and "deadline" in spent.cut
    assert reading.intent == "regions" and "计算时间超过 1000 ms" in spent.notice


def test_cli_1000_character_queries_return_with_their_notice(demo_index_path):
    q = queries()["random"]
    p = kb("search", q, "--mode", "hybrid", "--json", "--index", str(demo_index_path))
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["hits"] and NOTICE in out["notice"]
    a = kb("ask", queries()["char"], queries()["paragraph"], "--json", "--index", str(demo_index_path))
    assert a.returncode == 0, a.stderr
    answers = [json.loads(line) for line in a.stdout.splitlines()]
    assert len(answers) == 2 and all(x["answer"] for x in answers)


def test_cli_a_deadline_reached_answers_with_the_best_so_far(demo_index_path):
    """1 ms of work: reading 1,000 characters (jieba alone) takes more, so the deadline passes."""
    p = kb("ask", queries()["paragraph"], "--json", "--index", str(demo_index_path),
           env={"KB_SETTINGS": "query.deadline_ms=1"})
    assert p.returncode == 0, p.stderr
    answer = json.loads(p.stdout)
    assert "计算时间超过 1 ms" in answer["notice"] and answer["answer"]
