"""Metadata of the kinds of files people keep, through the real pipeline: small reports written for
each class of issue 18 (tests/fixtures/metadata/raw) → `kb ingest --no-dense` → `kb docs --json`,
compared with tests/fixtures/metadata/truth.jsonl field by field.

The classes: a place name inside a common word (和平发展, 长治久安, 新华社, 朝阳产业, 前景光明); special
zones with their parent (a listed zone, a zone named after a district, a zone only the body names,
a zone co-issuing with its city); a portal page's key-value header block; a crawler's file name; a
proposal reply; a 公文 (版头, 文号, a wrapped title) dated by its number; a 规章 dated by its latest
amendment; a statistical bulletin; a department budget; a budget report given at the congress; an
attachment; a portal page put online a year after it was written.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "metadata"
TRUTH = {row["file"]: row for row in map(json.loads, (FIXTURES / "truth.jsonl").read_text(encoding="utf-8").splitlines())}
FIELDS = ("title", "region", "city", "province", "level", "year", "doc_type")


def kb(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    return subprocess.run([sys.executable, "-m", "kb.cli", *args], cwd=ROOT, env=env, capture_output=True,
                          encoding="utf-8", timeout=600, check=False)


@pytest.fixture(scope="module")
def docs_json(tmp_path_factory) -> Path:
    index = tmp_path_factory.mktemp("classes") / "index"
    p = kb("ingest", str(FIXTURES / "raw"), "--index", str(index), "--no-dense")
    assert p.returncode == 0, p.stderr
    p = kb("docs", "--json", "--index", str(index))
    assert p.returncode == 0, p.stderr
    out = index.parent / "docs.jsonl"
    out.write_text(p.stdout, encoding="utf-8")
    return out


@pytest.fixture(scope="module")
def docs(docs_json) -> dict[str, dict]:
    rows = [json.loads(line) for line in docs_json.read_text(encoding="utf-8").splitlines() if line.strip()]
    return {Path(d["source"]).name: d for d in rows}


def test_every_fixture_is_one_document(docs):
    assert sorted(docs) == sorted(TRUTH)


@pytest.mark.parametrize("name", sorted(TRUTH))
def test_metadata_of_each_class(docs, name):
    got, want = docs[name], TRUTH[name]
    wrong = {f: (got.get(f), want[f]) for f in FIELDS if got.get(f) != want[f]}
    if "issued_year" in want and got.get("issued_year") != want["issued_year"]:
        wrong["issued_year"] = (got.get("issued_year"), want["issued_year"])
    assert not wrong, f"{name} ({want['note']}): got/want {wrong}; evidence: {got.get('region_evidence')}"


def test_place_names_inside_common_words_are_no_evidence(docs):
    for name in ("横琴合作区_政策解读.txt", "report_2024.txt", "光明新区2015年管委会工作报告_2015.txt"):
        evidence = docs[name]["region_evidence"]
        assert "zone " in evidence or "前海" in evidence, evidence
        for word in ("和平", "长治", "新华", "朝阳", "光明区", "合作市"):
            assert word not in evidence, (name, evidence)


def test_portal_header_block_is_read_as_fields(docs):
    d = docs["横琴合作区_政策解读.txt"]
    assert d["issuer"] == "横琴粤澳深度合作区经济发展局"  # 发布机构
    assert d["published"] == "2025-01-20"  # 发布时间
    assert "栏目" not in d["title"] and "通知公告" not in d["title"]
    assert "web host" not in (d["region_evidence"] or "")  # www.hengqin.gov.cn is in no host list


def test_co_issuers_sign_together(docs):
    d = docs["联合发文.txt"]
    assert d["issuer"] == "杭州市司法局、杭州高新技术产业开发区管理委员会"


def test_the_checker_reads_kb_docs_json(docs_json):
    """scripts/check_metadata.py scores saved `kb docs --json` output against a truth file."""
    p = subprocess.run([sys.executable, str(ROOT / "scripts" / "check_metadata.py"), str(FIXTURES / "raw"),
                        str(FIXTURES / "truth.jsonl"), "--docs-json", str(docs_json)],
                       cwd=ROOT, capture_output=True, encoding="utf-8", timeout=120, check=False)
    assert p.returncode == 0, p.stdout + p.stderr
    assert f"all right: {len(TRUTH)}/{len(TRUTH)}" in p.stdout
    broken = docs_json.parent / "broken.jsonl"
    rows = [json.loads(line) for line in docs_json.read_text(encoding="utf-8").splitlines()]
    for row in rows:
        row["region"] = "和平区"
    broken.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    p = subprocess.run([sys.executable, str(ROOT / "scripts" / "check_metadata.py"), str(FIXTURES / "raw"),
                        str(FIXTURES / "truth.jsonl"), "--docs-json", str(broken)],
                       cwd=ROOT, capture_output=True, encoding="utf-8", timeout=120, check=False)
    assert p.returncode == 1 and re.search(r"^region +0/13 ", p.stdout, re.MULTILINE), p.stdout
