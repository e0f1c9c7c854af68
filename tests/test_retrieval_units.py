"""Hand-checked units of the retrieval stack: tokens, BM25 parity with rank_bm25, fusion, FAISS."""

from __future__ import annotations

import numpy as np
import pytest

from kb.index.bm25 import BM25Index
from kb.index.dense import DenseIndex
from kb.index.tokenize import Tokenizer, harvest_terms
from kb.ingest.normalise import fold
from kb.query.fusion import rrf
from kb.query.search import parse_year_range, quoted_phrases


@pytest.fixture(scope="module")
def tokenizer():
    return Tokenizer()


def test_lexicon_terms_are_single_tokens(tokenizer):
    assert tokenizer.tokens("推行综合查一次改革") == ["综合查一次", "改革"]
    assert "一网通办" in tokenizer.tokens("推进一网通办")
    assert "首违不罚" in tokenizer.tokens("全面实行首违不罚清单")


def test_compound_terms_also_yield_the_terms_inside_them(tokenizer):
    assert tokenizer.tokens("出庭应诉率") == ["出庭应诉率", "出庭应诉"]
    assert "三项制度" in tokenizer.tokens("推行行政执法三项制度")


def test_question_scaffolding_is_not_a_token(tokenizer):
    assert tokenizer.tokens("哪些地区推行综合查一次") == ["综合查一次"]


def test_traditional_folds_to_the_same_tokens(tokenizer):
    assert tokenizer.tokens(fold("綜合查一次")) == tokenizer.tokens("综合查一次")


def test_harvested_quoted_phrases_become_tokens():
    terms = harvest_terms(["开展“八进”活动，推行“一件事一次办”改革。", "“关键少数”"])
    assert {"八进", "一件事一次办", "关键少数"} <= terms
    tk = Tokenizer(terms)
    assert "一件事一次办" in tk.tokens("深化一件事一次办")
    assert tk.hash != Tokenizer().hash


def test_quoted_query_phrases():
    assert quoted_phrases("“综合查一次”在哪里") == ("综合查一次",)
    assert quoted_phrases('"一网通办" 地区') == ("一网通办",)
    assert quoted_phrases("综合查一次") == ()


def test_year_ranges():
    assert parse_year_range("2020") == (2020, 2020)
    assert parse_year_range("2020-2022") == (2020, 2022)
    assert parse_year_range("2020-") == (2020, None)
    assert parse_year_range("-2022") == (None, 2022)
    with pytest.raises(ValueError):
        parse_year_range("twenty")


def test_rrf_by_hand():
    fused = rrf([[1, 2, 3], [3, 1]], k=60)
    scores = dict(fused)
    assert scores[1] == pytest.approx(1 / 61 + 1 / 62)
    assert scores[3] == pytest.approx(1 / 63 + 1 / 61)
    assert scores[2] == pytest.approx(1 / 62)
    assert [i for i, _ in fused] == [1, 3, 2]


CORPUS = [
    "推行综合查一次联合执法检查，减少对企业的干扰",
    "深化放管服改革，优化营商环境，推进一网通办",
    "行政复议案件办结，直接纠错率为百分之二十",
    "开展法治宣传教育，推进八五普法规划实施",
    "行政机关负责人出庭应诉率达到百分之百",
    "推进跨省通办，建立政务服务跨省通办运行机制",
    "实行首违不罚清单制度，推行柔性执法",
    "规范重大行政决策程序，开展合法性审查",
    "推行行政执法三项制度，落实行政执法公示",
    "加强公共法律服务体系建设，办理法律援助案件",
    "推进综合行政执法改革，执法权下放乡镇街道",
    "完善行政争议实质性化解机制，降低败诉率",
]


def test_bm25_rankings_match_rank_bm25(tokenizer):
    """The served index (bm25s, lucene IDF) ranks like the reference rank_bm25.BM25Okapi."""
    from rank_bm25 import BM25Okapi

    corpus_tokens = [tokenizer.tokens(fold(t)) for t in CORPUS]
    index = BM25Index.build(np.arange(len(CORPUS)) + 100, corpus_tokens)
    reference = BM25Okapi(corpus_tokens)
    for query in ["综合查一次", "跨省通办 政务服务", "行政复议纠错率", "法律援助案件", "执法权下放乡镇", "营商环境 一网通办"]:
        q = tokenizer.tokens(query)
        rows, scores = index.top(q, 5)
        ref = np.asarray(reference.get_scores(q))
        ref_order = [i for i in np.argsort(-ref, kind="stable") if ref[i] > 0][:5]
        assert rows.tolist()[: len(ref_order)] == ref_order, query
        assert index.chunk_ids[rows[0]] == ref_order[0] + 100


def test_bm25_mask_restricts_before_cut(tokenizer):
    corpus_tokens = [tokenizer.tokens(fold(t)) for t in CORPUS]
    index = BM25Index.build(np.arange(len(CORPUS)), corpus_tokens)
    q = tokenizer.tokens("首违不罚 三项制度 行政复议")
    assert 2 in index.top(q, 3)[0].tolist()
    mask = np.zeros(len(CORPUS), bool)
    mask[[6, 8]] = True
    rows, _ = index.top(q, 3, mask)
    assert sorted(rows.tolist()) == [6, 8]


def test_bm25_save_load_roundtrip(tmp_path, tokenizer):
    corpus_tokens = [tokenizer.tokens(fold(t)) for t in CORPUS]
    index = BM25Index.build(np.arange(len(CORPUS)) * 3, corpus_tokens)
    index.save(tmp_path / "bm25")
    loaded = BM25Index.load(tmp_path / "bm25")
    q = tokenizer.tokens("出庭应诉率")
    assert loaded.top(q, 3)[0].tolist() == index.top(q, 3)[0].tolist()
    assert loaded.chunk_ids.tolist() == index.chunk_ids.tolist()


def test_faiss_flat_and_hnsw_return_chunk_ids_and_honour_filters(tmp_path):
    rng = np.random.default_rng(0)
    vecs = rng.normal(size=(300, 16)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    ids = np.arange(300, dtype=np.int64) * 7 + 5
    for flat_max, kind in [(1000, "flat"), (100, "hnsw")]:
        index = DenseIndex.build(ids, vecs, 16, flat_max=flat_max)
        assert index.kind == kind
        found, sims = index.search(vecs[42], 5)
        assert found[0] == ids[42] and sims[0] == pytest.approx(1.0, abs=1e-4)
        allowed = ids[100:110]
        found, _ = index.search(vecs[42], 5, allowed=allowed)
        assert len(found) == 5 and set(found.tolist()) <= set(allowed.tolist())
        index.save(tmp_path / kind)
        again = DenseIndex.load(tmp_path / kind, 16)
        assert again.search(vecs[7], 1)[0][0] == ids[7]


def test_weighted_rrf():
    fused = dict(rrf([[1, 2], [2, 1]], k=60, weights=[1.0, 0.5]))
    assert fused[1] == pytest.approx(1 / 61 + 0.5 / 62)
    assert fused[1] > fused[2]
