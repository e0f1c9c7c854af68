"""`kb shard` and the sharded router, in one process (tests/test_api_ray.py runs them on Ray Serve):
the legs of 3 shards, merged, give the unsharded index's top-10 in every mode, and its answers."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT

from kb import KnowledgeBase
from kb import serialise as js
from kb.errors import IndexUnusable
from kb.index.bm25 import BM25Index
from kb.shard.legs import Legs
from kb.shard.router import ShardedKnowledgeBase, local_legs
from kb.shard.split import assign, slice_bm25, split

QUERIES = [json.loads(line)["query"] for line in (ROOT / "eval" / "sample_queries.jsonl").read_text(encoding="utf-8").splitlines()
           if line.strip()]

pytestmark = pytest.mark.usefixtures("no_deadline")  # conftest.py: sharded and unsharded answer alike


@pytest.fixture(scope="module")
def sharded(demo_index_path, tmp_path_factory):
    base = tmp_path_factory.mktemp("shard")
    index = base / "index"
    shutil.copytree(demo_index_path, index)
    written = split(index, base / "shards", 3, "province")
    whole = KnowledgeBase.open(index)
    router = ShardedKnowledgeBase.open(index, local_legs([Path(w["path"]) for w in written]))
    yield whole, router, written
    whole.close()
    router.close()


def test_assign_puts_whole_groups_on_the_lightest_shard():
    assert assign({"浙江": 50, "河南": 30, "北京": 20, "": 10}, 2) == [["浙江", ""], ["河南", "北京"]]
    assert assign({"a": 1}, 3) == [["a"], [], []]


def test_a_sliced_bm25_keeps_the_global_scores(demo_index):
    bm25 = demo_index.searcher().bm25
    rows = np.arange(0, len(bm25), 3)
    part = slice_bm25(bm25, rows)
    tokens = demo_index.searcher().tokenizer.tokens("综合查一次 营商环境")
    np.testing.assert_array_equal(part.scores(tokens), bm25.scores(tokens)[rows])  # bit for bit
    assert part.problems() == [] and list(part.chunk_ids) == list(bm25.chunk_ids[rows])
    assert BM25Index.build(part.chunk_ids, [["综合"]] * len(rows)).scores(["综合"]).max() > 0


def test_shards_partition_the_index_by_province(sharded):
    whole, _, written = sharded
    assert len(written) == 3 and sum(w["chunks"] for w in written) == whole.status()["chunks"]
    assert sum(w["documents"] for w in written) == whole.status()["documents"]
    by_doc = {}
    for w in written:
        legs = Legs(Path(w["path"]))
        for doc_id in {whole.chunk(int(c)).doc_id for c in legs.chunk_ids}:
            by_doc.setdefault(doc_id, set()).add(w["shard"])
        provinces = {whole.document(whole.chunk(int(c)).doc_id).meta.province or "" for c in legs.chunk_ids}
        assert provinces == set(w["values"])
    assert all(len(s) == 1 for s in by_doc.values())  # a document lives on one shard


@pytest.mark.parametrize("mode", ["hybrid", "bm25", "dense"])
def test_sharded_search_returns_the_unsharded_top10(sharded, mode):
    whole, router, _ = sharded
    for q in QUERIES:
        expected = [(h.chunk.chunk_id, h.bm25_rank, h.dense_rank) for h in whole.search(q, k=10, mode=mode)]
        got = [(h.chunk.chunk_id, h.bm25_rank, h.dense_rank) for h in router.search(q, k=10, mode=mode)]
        assert got == expected, q


def test_sharded_answers_filters_and_similar_are_the_unsharded_ones(sharded):
    whole, router, _ = sharded
    for q in QUERIES[:6]:
        assert js.answer(router.ask(q)) == js.answer(whole.ask(q)), q
    from kb.models import Filters

    f = Filters(province="浙江")
    assert [h.chunk.chunk_id for h in router.search("法治政府建设", filters=f)] == \
        [h.chunk.chunk_id for h in whole.search("法治政府建设", filters=f)]
    assert [h.chunk.chunk_id for h in router.search("“综合查一次”")] == [h.chunk.chunk_id for h in whole.search("“综合查一次”")]
    chunk_id = whole.search("综合查一次", k=1)[0].chunk.chunk_id
    assert js.similar(chunk_id, router.similar_practices(chunk_id)) == js.similar(chunk_id, whole.similar_practices(chunk_id))


def test_shards_of_another_index_or_of_two_cuts_are_refused(sharded, demo_index_path, tmp_path):
    _, _, written = sharded
    other = tmp_path / "other"
    shutil.copytree(demo_index_path, other)
    with pytest.raises(IndexUnusable, match="a shard of"):
        ShardedKnowledgeBase.open(other, local_legs([Path(w["path"]) for w in written]))
    index = Path(written[0]["index"])
    with pytest.raises(IndexUnusable, match="not cut together"):
        ShardedKnowledgeBase.open(index, local_legs([Path(w["path"]) for w in written[:2]]))
