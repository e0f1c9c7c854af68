"""`kb serve --ray` on a real two-node Ray cluster (127.0.0.1): the API as a Ray Serve deployment with
2 replicas answers as `kb serve` does; a sharded deployment (3 shards, legs as deployments of their
own) returns the same top-10 as the unsharded index for the judged queries of the fixture corpus."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from conftest import ROOT
from ray_cluster import free_port, two_nodes
from serving import Server

from kb import KnowledgeBase
from kb import serialise as js
from kb.shard.split import split

pytestmark = [pytest.mark.ray, pytest.mark.slow, pytest.mark.usefixtures("no_deadline")]
QUERIES = [json.loads(line)["query"] for line in (ROOT / "eval" / "sample_queries.jsonl").read_text(encoding="utf-8").splitlines()
           if line.strip()]


@pytest.fixture(scope="module")
def ray_cluster():
    with two_nodes() as address:
        yield address


@pytest.fixture(scope="module")
def index(demo_index_path, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("ray-serve") / "index"
    shutil.copytree(demo_index_path, path)
    return path


def ray_server(address: str, index: Path, log: Path, *extra: str) -> Server:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "KB_API_TOKEN"}
    return Server(["--index", str(index), "--ray", address, "--host", "127.0.0.1", "--port", str(port),
                   "--replica-cpus", "0.5", *extra], env=env, log=log, timeout=900)


def replica_states(address: str) -> dict:
    code = ("import ray, json\nfrom ray import serve\nray.init(address=%r, logging_level='ERROR')\n"
            "app = serve.status().applications['kb']\n"
            "print(json.dumps({name: {str(k): v for k, v in d.replica_states.items()} for name, d in app.deployments.items()}))"
            % address)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_two_replicas_answer_as_kb_serve_does(ray_cluster, index, tmp_path):
    server = ray_server(ray_cluster, index, tmp_path / "serve.log", "--replicas", "2")
    try:
        states = replica_states(ray_cluster)
        assert states["kb-api"] == {"RUNNING": 2}, states
        kb = KnowledgeBase.open(index)
        try:
            for q in QUERIES[:8]:
                r = server.get("/search", q=q)
                assert r.status == 200, r.body
                expected = js.search(q, kb.search(q, k=10), 0)
                assert {**r.body, "took_ms": 0} == {**expected, "took_ms": 0}, q
            health = server.get("/health").body
            assert health["segment"] == kb.status()["segment"]
        finally:
            kb.close()
        # 16 clients at once, spread by Ray Serve over the replicas (which one answers is Ray's choice)
        with ThreadPoolExecutor(16) as pool:
            replies = list(pool.map(lambda q: server.get("/search", q=q), QUERIES[:16]))
        assert all(r.status == 200 and r.body["hits"] for r in replies)
        assert replica_states(ray_cluster)["kb-api"] == {"RUNNING": 2}
        bad = server.get("/search", q="")
        assert (bad.status, bad.body["code"]) == (400, "empty_query")
    finally:
        server.stop()


def test_three_shards_on_ray_return_the_unsharded_top10(ray_cluster, index, tmp_path):
    written = split(index, tmp_path / "shards", 3, "province")
    assert sorted(w["shard"] for w in written) == [0, 1, 2] and all(w["chunks"] for w in written)
    server = ray_server(ray_cluster, index, tmp_path / "serve.log", "--shards", *(w["path"] for w in written))
    try:
        states = replica_states(ray_cluster)
        assert {name: s for name, s in states.items()} == {
            "kb-api": {"RUNNING": 1}, "kb-shard-0": {"RUNNING": 1}, "kb-shard-1": {"RUNNING": 1}, "kb-shard-2": {"RUNNING": 1}}
        health = server.get("/health").body
        assert health["shards_current"] is True and len(health["shards"]) == 3
        kb = KnowledgeBase.open(index)
        try:
            for q in QUERIES:
                for mode in ("hybrid", "bm25", "dense"):
                    got = [h["chunk_id"] for h in server.get("/search", q=q, mode=mode).body["hits"]]
                    assert got == [h.chunk.chunk_id for h in kb.search(q, k=10, mode=mode)], (q, mode)
            q = QUERIES[0]
            assert server.get("/ask", q=q).body == js.answer(kb.ask(q))
        finally:
            kb.close()
    finally:
        server.stop()
