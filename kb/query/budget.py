"""A query's work budget: a deadline, and caps on the work whose amount the query's text decides.

Why: a query's cost must not grow with the square (or worse) of its length. Measured before this
budget on the sample+national index (2,774 passages, 2 cores): `kb search 法×1000 --mode bm25`
was killed at 3 GB after 21 s (24 GB and 94 s on the real-reports index), `法×100` took 14.6 s and
100 random characters did not answer in 30 s in any mode — all of it in question reading, which
enumerated every window of a token run and every swap of every window, each a phrase look-up
(scripts/bench_query_cost.py). What bounds it:

- caps that make the work a function of the caps, not of the text: spans (token runs) resolved,
  tokens of a span, tokens of a window, phrase look-ups against the index (a cached answer is free),
  distinct BM25 query tokens. A cap only cuts what no real question needs (their numbers come from
  the eval sets, see `QuerySettings`), and a query that reaches one says so;
- a deadline on the query's own work (and a later one in wall time): work checks it between steps
  and, once it has passed, skips what is optional
  (further spans, further look-ups, the related-regions stage), so the best answer so far comes
  back with a notice — never a hang.

The budget of the query running in this thread (or task) is found with `current()`, so the stages
deep inside question reading need no extra parameter; outside a query (ingest, tests of a stage
alone) `current()` is an unlimited budget that counts but never refuses.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from kb.settings import QuerySettings

# What a notice says for each thing that was cut short (Chinese: what the UI and CLI show).
_CUT_TEXT = {
    "deadline": "查询的计算时间超过 {deadline_ms} ms 的时限",
    "wall_deadline": "查询用时超过 {wall_deadline_ms} ms（机器繁忙）",
    "spans": "问题中可能的做法名称超过 {max_spans} 段",
    "phrase_lookups": "核对原文措辞的次数超过 {max_phrase_lookups} 次",
    "span_tokens": "一段连续文字超过 {max_span_tokens} 个词",
    "query_tokens": "检索词超过 {max_query_tokens} 个不同的词",
    "embed_chars": "语义检索只用了前 {max_embed_chars} 个字",
}


@dataclass
class Budget:
    """What one query may still spend, and what it spent (counts, for tests and benchmarks)."""

    limits: QuerySettings = field(default_factory=QuerySettings)
    clock: Callable[[], float] = time.thread_time  # the work clock: CPU seconds of the serving thread
    wall: Callable[[], float] = time.monotonic
    started: float = 0.0
    wall_started: float = 0.0
    phrase_lookups: int = 0  # phrase/pattern counts sent to the index (cache hits are not counted)
    cut: dict[str, None] = field(default_factory=dict)  # what was cut short, in order (a set that keeps order)

    @classmethod
    def start(cls, limits: QuerySettings | None = None, clock: Callable[[], float] = time.thread_time,
              wall: Callable[[], float] = time.monotonic) -> Budget:
        return cls(limits or QuerySettings(), clock, wall, clock(), wall())

    # ---- the deadline ------------------------------------------------------------------------
    def restart(self) -> None:
        """Start the clocks now: the deadline counts the query's own work, not the loading (jieba,
        its dictionary, the embedder: seconds, once per process) its first query set off."""
        self.started, self.wall_started = self.clock(), self.wall()

    @property
    def elapsed_ms(self) -> float:
        """The query's work so far: CPU milliseconds of the thread serving it."""
        return (self.clock() - self.started) * 1000

    @property
    def wall_ms(self) -> float:
        return (self.wall() - self.wall_started) * 1000

    def expired(self) -> bool:
        """Has the deadline passed? (Then say so in the notice.) A deadline of 0 is none.

        Two clocks: `deadline_ms` counts the query's own work (the CPU time of its thread), so a
        machine busy with other people's jobs does not cut a normal query short — measured under a
        load average of 10 on 2 cores, real questions took 5× their work in wall time;
        `wall_deadline_ms` is the backstop in wall time, for work the thread does not do itself."""
        lim = self.limits
        if lim.deadline_ms and self.elapsed_ms > lim.deadline_ms:
            self.cut.setdefault("deadline")
            return True
        if lim.wall_deadline_ms and self.wall_ms > lim.wall_deadline_ms:
            self.cut.setdefault("wall_deadline")
            return True
        return False

    # ---- counted work --------------------------------------------------------------------------
    def lookup(self) -> bool:
        """May one more phrase look-up go to the index? Counts it when it may."""
        if self.phrase_lookups >= self.limits.max_phrase_lookups:
            self.cut.setdefault("phrase_lookups")
            return False
        if self.expired():
            return False
        self.phrase_lookups += 1
        return True

    def exhausted(self) -> bool:
        """Is nothing left to spend (look-ups all used, or past the deadline)? Then stages stop
        producing work that could only be refused."""
        return self.phrase_lookups >= self.limits.max_phrase_lookups or self.expired()

    def note(self, what: str) -> None:
        """Record that `what` (a key of the notice texts) was cut short by its cap."""
        self.cut.setdefault(what)

    # ---- what the user is told -------------------------------------------------------------
    @property
    def notice(self) -> str | None:
        """One line saying the answer is the best found within the budget, and why; None when
        nothing was cut short."""
        if not self.cut:
            return None
        values = {name: getattr(self.limits, name) for name in QuerySettings.__dataclass_fields__}
        why = "；".join(_CUT_TEXT[c].format(**values) for c in self.cut)
        return f"查询过长或过于复杂（{why}），以下是在限定工作量内得到的最佳结果，可能不完整；请只保留关键的词语或问题。"


_active: ContextVar[Budget | None] = ContextVar("kb_query_budget", default=None)


def current() -> Budget:
    """The budget of the query running here; outside a query (an atlas, an evaluation, a test of
    one stage), a fresh budget with no deadline and no cap on look-ups, kept by nobody. The
    structural caps (spans, tokens of a span, of a window, of a query) are read from the settings
    by the stages themselves and hold everywhere."""
    found = _active.get()
    return found if found is not None else Budget.start(QuerySettings(deadline_ms=0, wall_deadline_ms=0,
                                                                      max_phrase_lookups=2**62))


@contextmanager
def applied(budget: Budget) -> Iterator[Budget]:
    """Run one query (its reading, legs and answer stages) under `budget`."""
    token = _active.set(budget)
    try:
        yield budget
    finally:
        _active.reset(token)


@contextmanager
def outside() -> Iterator[None]:
    """Work that is not the query's own (loading and warming what every first query needs) runs
    outside its budget: nothing it does is counted or noted, and the query's clock starts after."""
    token = _active.set(None)
    try:
        yield
    finally:
        _active.reset(token)
