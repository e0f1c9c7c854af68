"""What one query costs: time and peak memory of `kb search` (bm25, dense, hybrid) and `kb ask` for
queries of 10, 100 and 1,000 characters of four kinds, each in its own real CLI process.

    python scripts/bench_query_cost.py --index /tmp/idx_real [--index /tmp/idx_sample]
           [--lengths 10,100,1000] [--kinds random,char,word,paragraph] [--commands bm25,dense,hybrid,ask]
           [--timeout 60] [--rss-cap-mb 4000] [--json out.json]

Kinds of query (deterministic, seeded):
- random:    characters drawn at random from those the sample reports use (no words, no punctuation);
- char:      one character repeated (法法法…: the query that took `kb search --mode bm25` to 24 GB);
- word:      one word repeated (一网通办一网通办…: an attested practice, many phrase look-ups);
- paragraph: a pasted paragraph, consecutive text of a sample report with its punctuation.

How a cell is measured: the process runs three queries, two short warm-ups then the query, so
that the query's time (`took_ms` the CLI prints for it) excludes loading jieba, the indexes and
the embedder, which every process pays once (a process's wall time is in the --json output). Memory
is the process's peak RSS (wait4) minus the peak of the *idle* process of the same command: the
same run with a short query (营商环境) instead. Targets (issue 19): every cell ≤ 2 s and ≤ 500 MB above idle, on a 2-core machine.

A process over `--timeout` seconds or `--rss-cap-mb` of RSS is killed (the machine is shared) and
its cell shows what it reached (`> 60 s`, `killed at 4,000 MB`).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _bench_common import ROOT, SAMPLES, code_version, log  # noqa: E402

# The warm-up loads what every process loads once (jieba, its dictionary of word classes, the
# indexes, the embedder); a which-regions question reaches all of it.
WARM, IDLE = ("哪些地区推行综合查一次", "法治建设"), "营商环境"
COMMANDS = {"bm25": ["search", "--mode", "bm25"], "dense": ["search", "--mode", "dense"],
            "hybrid": ["search", "--mode", "hybrid"], "ask": ["ask"]}
KINDS = ("random", "char", "word", "paragraph")
TARGET_S, TARGET_MB = 2.0, 500.0


def sample_text() -> str:
    return "".join(p.read_text(encoding="utf-8") for p in sorted(SAMPLES.glob("*.txt")))


def make_query(kind: str, n: int) -> str:
    text = sample_text()
    if kind == "random":
        han = sorted(set(re.findall(r"[\u4e00-\u9fff]", text)))
        rng = random.Random(19 * n)
        return "".join(rng.choice(han) for _ in range(n))
    if kind == "char":
        return "法" * n
    if kind == "word":
        return ("一网通办" * n)[:n]
    if kind == "paragraph":
        flat = re.sub(r"\s+", "", text)
        start = flat.find("一、")  # the body of the first report, past its title lines
        return flat[max(start, 0) : max(start, 0) + n]
    raise ValueError(kind)


@dataclass
class Run:
    command: str
    kind: str
    chars: int
    took_s: float | None = None  # the query's own time (warm process), None when it never answered
    wall_s: float = 0.0  # the whole process
    cpu_s: float = 0.0  # the whole process: user + system CPU seconds
    peak_mb: float = 0.0
    status: str = "ok"  # ok | timeout | rss-cap | error
    notice: str | None = None
    hits: int | None = None
    error: str = ""
    extra_mb: float | None = field(default=None)  # peak above the idle process of the same command
    extra_cpu_s: float | None = None  # CPU above the idle process: the query's work, whatever the load


def run_one(index: Path, command: str, queries: list[str], timeout: float, rss_cap_mb: float,
            env: dict[str, str], root: Path) -> tuple[list[dict], float, float, float, str, str]:
    """(JSON lines printed, wall seconds, CPU seconds, peak RSS MB, status, stderr tail) of one CLI process."""
    argv = [sys.executable, "-m", "kb.cli", *COMMANDS[command], *queries, "--json", "--index", str(index)]
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=root, env=env, stdout=out, stderr=err)
        status = ["ok"]
        done = threading.Event()

        def watch() -> None:
            while not done.wait(0.05):
                if time.perf_counter() - t0 > timeout:
                    status[0] = "timeout"
                elif _rss_mb(proc.pid) > rss_cap_mb:
                    status[0] = "rss-cap"
                else:
                    continue
                proc.kill()
                return

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        _, code, usage = os.wait4(proc.pid, 0)
        proc.returncode = code
        done.set()
        watcher.join()
        wall = time.perf_counter() - t0
        out.seek(0)
        err.seek(0)
        lines = [json.loads(line) for line in out.read().decode("utf-8", "replace").splitlines() if line.startswith("{")]
        tail = err.read().decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
    if status[0] == "ok" and code != 0:
        status[0] = "error"
    return lines, wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, status[0], tail[0]


def _rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def measure(index: Path, commands: list[str], kinds: list[str], lengths: list[int], timeout: float,
            rss_cap_mb: float, root: Path = ROOT) -> tuple[dict[str, Run], list[Run]]:
    env = {**os.environ, "PYTHONPATH": str(root), "PYTHONUNBUFFERED": "1"}
    idle: dict[str, Run] = {}
    runs: list[Run] = []
    last = len(WARM)  # the measured query's line
    for command in commands:
        lines, wall, cpu, peak, status, tail = run_one(index, command, [*WARM, IDLE], timeout, rss_cap_mb, env, root)
        base = Run(command, "idle", len(IDLE), lines[last]["took_ms"] / 1000 if len(lines) > last else None, wall,
                   cpu, peak, status, error=tail if status != "ok" else "")
        idle[command] = base
        log(f"{index.name} {command} idle: query {base.took_s} s, peak {peak:.0f} MB, process {wall:.1f} s")
        for kind in kinds:
            for n in lengths:
                q = make_query(kind, n)
                lines, wall, cpu, peak, status, tail = run_one(index, command, [*WARM, q], timeout, rss_cap_mb, env,
                                                               root)
                r = Run(command, kind, n, None, wall, cpu, peak, status, error=tail if status != "ok" else "")
                if len(lines) > last:
                    r.took_s = lines[last]["took_ms"] / 1000
                    r.notice = lines[last].get("notice")
                    r.hits = len(lines[last].get("hits") or [])
                r.extra_mb = peak - base.peak_mb
                r.extra_cpu_s = cpu - base.cpu_s
                runs.append(r)
                log(f"{index.name} {command} {kind} {n}: {cell(r)} [{status}] {r.notice or ''}")
    return idle, runs


def cell(r: Run) -> str:
    if r.status == "timeout":
        return f"> {r.wall_s:.0f} s (killed)"
    if r.status == "rss-cap":
        return f"killed at {r.peak_mb:,.0f} MB ({r.wall_s:.0f} s)"
    if r.took_s is None:
        return f"error: {r.error[:60]}"
    flag = "" if r.took_s <= TARGET_S and (r.extra_mb or 0) <= TARGET_MB else " ✗"
    note = " ⓘ" if r.notice and "限定工作量" in r.notice else ""
    cpu = f" ({_t(max(r.extra_cpu_s or 0, 0))} CPU)" if r.extra_cpu_s is not None else ""
    return f"{_t(r.took_s)}{cpu} · +{max(r.extra_mb or 0, 0):,.0f} MB{note}{flag}"


def _t(s: float) -> str:
    return f"{s * 1000:.0f} ms" if s < 1 else f"{s:.2f} s"


def table(index: Path, commands: list[str], idle: dict[str, Run], runs: list[Run], version: str) -> str:
    head = ["query"] + [f"`kb {' '.join(COMMANDS[c])}`" for c in commands]
    rows = [head, ["---"] * len(head)]
    rows.append(["idle (warm query, peak RSS)"] + [
        f"{_t(idle[c].took_s)} · {idle[c].peak_mb:,.0f} MB" if idle[c].took_s is not None else cell(idle[c])
        for c in commands])
    keys = sorted({(r.kind, r.chars) for r in runs}, key=lambda k: (KINDS.index(k[0]), k[1]))
    by = {(r.command, r.kind, r.chars): r for r in runs}
    for kind, n in keys:
        rows.append([f"{kind} × {n:,}"] + [cell(by[(c, kind, n)]) if (c, kind, n) in by else "" for c in commands])
    over = [r for r in runs if r.took_s is None or r.took_s > TARGET_S or (r.extra_mb or 0) > TARGET_MB]
    lines = [f"### {index} — {version}, load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", "",
             ("Each cell: the query's time (wall, in a warm process), its CPU above the idle process, its peak "
              "memory above the idle process."), ""]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    lines += ["", (f"{len(runs) - len(over)} of {len(runs)} cells within {TARGET_S:g} s and +{TARGET_MB:g} MB"
                   " (ⓘ: answered with the work-budget notice).")]
    return "\n".join(lines)


DEFAULT_EVAL = [ROOT.parent / "shared" / "eval" / "dev_queries.jsonl", ROOT / "eval" / "sample_queries.jsonl",
                ROOT / "eval" / "realworld_queries.jsonl", ROOT / "eval" / "perturbations.jsonl"]


def eval_work(index: Path, files: list[Path]) -> None:
    """Per real question: spans and their longest run of tokens (question reading), and the phrase
    look-ups `kb ask` makes from a cold cache — the numbers the caps in QuerySettings sit above."""
    from kb.knowledgebase import KnowledgeBase
    from kb.query import budget, question

    questions = [json.loads(line)["query"] for f in files if f.exists()
                 for line in f.read_text(encoding="utf-8").splitlines() if line.strip()]
    kb = KnowledgeBase.open(index)
    read_runs: list[list[list[str]]] = []
    spans = question.spans

    def recording(*a, **k):
        runs = spans(*a, **k)
        read_runs.append(runs)
        return runs

    question.spans = recording  # instrumentation of this process only
    started: list[budget.Budget] = []
    start = budget.Budget.start.__func__

    def recorded(cls, *a, **k):
        b = start(cls, *a, **k)
        started.append(b)
        return b

    budget.Budget.start = classmethod(recorded)
    rows = []
    searcher = kb.searcher()
    for q in questions:
        for cache in (searcher._counts, searcher._readings, searcher._short_rows):
            cache.clear()  # a cold cache: every look-up counts
        read_runs.clear()
        started.clear()
        t = time.perf_counter()
        answer = kb.ask(q)
        rows.append((q, max((len(r) for r in read_runs[0]), default=0) if read_runs else 0,
                     len(read_runs[0]) if read_runs else 0, started[-1].phrase_lookups, time.perf_counter() - t,
                     ",".join(started[-1].cut), answer.intent, started[-1].elapsed_ms))
    rows.sort(key=lambda r: -r[3])
    print(f"{len(rows)} questions from {', '.join(f.name for f in files if f.exists())} — {code_version()}")
    print(f"spans per question: max {max(r[2] for r in rows)}; tokens in a span: max {max(r[1] for r in rows)}; "
          f"phrase look-ups per `kb ask` (cold): median {sorted(r[3] for r in rows)[len(rows) // 2]}, "
          f"max {rows[0][3]}; work (CPU) per `kb ask`: max {max(r[7] for r in rows):.0f} ms; "
          f"cut by a cap or the deadline: {sum(bool(r[5]) for r in rows)} {[r[0] + ': ' + r[5] for r in rows if r[5]]}")
    for q, tokens, n, lookups, took, cut, intent, work in rows[:8]:
        print(f"  {lookups:>4} look-ups  {n} spans  ≤{tokens} tokens  {work:>5.0f} ms work  {took * 1000:>6.0f} ms wall"
              f"  {intent:8}  {q}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--index", action="append", type=Path, required=True)
    ap.add_argument("--lengths", default="10,100,1000")
    ap.add_argument("--kinds", default=",".join(KINDS))
    ap.add_argument("--commands", default=",".join(COMMANDS))
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds before a process is killed")
    ap.add_argument("--rss-cap-mb", type=float, default=4000.0, help="RSS at which a process is killed")
    ap.add_argument("--json", type=Path, help="write every measurement here")
    ap.add_argument("--kb-root", type=Path, default=ROOT,
                    help="run the `kb` of another checkout (e.g. the commit before a change; its `kb ask --json` "
                         "must print took_ms)")
    ap.add_argument("--eval-work", nargs="*", type=Path, metavar="QUERIES.jsonl",
                    help="instead: the work question reading and answering spend on real questions (spans, "
                         "tokens, phrase look-ups), in this process, against the first --index")
    args = ap.parse_args()
    if args.eval_work is not None:
        eval_work(args.index[0], args.eval_work or DEFAULT_EVAL)
        return
    lengths = [int(x) for x in args.lengths.split(",")]
    kinds = [k for k in args.kinds.split(",") if k]
    commands = [c for c in args.commands.split(",") if c]
    for k in kinds:
        make_query(k, 10)
    version = code_version() if args.kb_root == ROOT else f"kb at {args.kb_root}"
    log(version, f"load average {os.getloadavg()[0]:.2f}")
    report, dump = [], {}
    for index in args.index:
        idle, runs = measure(index, commands, kinds, lengths, args.timeout, args.rss_cap_mb, args.kb_root)
        report.append(table(index, commands, idle, runs, version))
        dump[str(index)] = {"idle": {c: asdict(r) for c, r in idle.items()}, "runs": [asdict(r) for r in runs]}
    print("\n\n".join(report))
    if args.json:
        args.json.write_text(json.dumps(dump, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
