"""The formats people hand over, each through the real reader: spreadsheets (python-calamine, csv),
.doc/.wps (LibreOffice, or what the bytes really are), OFD (ofdkit), and PDF page furniture.
Fixtures: tests/fixtures/folder and tests/fixtures/bad (see tests/fixtures/make_folder.py)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from kb.ingest.chunk import chunk
from kb.ingest.load import LoadError, LoadWarning, load_bytes, load_file
from kb.ingest.loaders.pdf import rejoin
from kb.ingest.loaders.sheets import map_columns
from kb.ingest.pipeline import prepare
from kb.models import RawDocument

ROOT = Path(__file__).resolve().parents[1]
FOLDER = ROOT / "tests" / "fixtures" / "folder"
BAD = ROOT / "tests" / "fixtures" / "bad"

needs_soffice = pytest.mark.skipif(
    not (shutil.which("soffice") or shutil.which("libreoffice")) and os.environ.get("KB_CONVERTERS_REQUIRED") != "1",
    reason="LibreOffice not installed (scripts/test.sh installs it)",
)


def docs_and_problems(path: Path) -> tuple[list[RawDocument], list[LoadError]]:
    items = load_file(path)
    return [i for i in items if isinstance(i, RawDocument)], [i for i in items if isinstance(i, LoadError)]


# ---------------------------------------------------------------------------------------------
# spreadsheets


def test_columns_by_chinese_or_english_header_names():
    cols = map_columns(["\ufeffprovince", "Year", "Title", "source_url", "publish_date", "full_text"])
    assert cols == {"content": 5, "title": 2, "year": 1, "province": 0, "url": 3, "published": 4}
    cols = map_columns(["序号", "文件标题", "正文内容（全文）", "所属地区", "发布时间"])
    assert (cols["title"], cols["content"], cols["region"], cols["published"]) == (1, 2, 3, 4)


def test_xlsx_one_report_per_row_with_columns_as_hints():
    docs, problems = docs_and_problems(FOLDER / "reports.xlsx")
    assert not problems
    assert [d.source for d in docs] == [f"{FOLDER / 'reports.xlsx'}#row{n}" for n in (2, 3, 4)]
    first = docs[0]
    assert first.title == "2024年安徽省政府工作报告"
    assert first.hints["province"] == "安徽省" and first.hints["year"] == "2024" and first.hints["published"] == "2024-01-30"
    assert first.text.startswith("各位代表：\n现在，我代表省人民政府") and "\n一、2023年工作回顾\n" in first.text
    assert "file_title" not in first.hints  # a file of many reports: its name says nothing about one of them


def test_xls_and_ods_read_like_xlsx():
    for name in ("rows.xls", "rows.ods"):
        docs, problems = docs_and_problems(FOLDER / name)
        assert not problems and len(docs) == 2, name
        assert all(d.text and d.title for d in docs)
    (ods_first, _), _ = docs_and_problems(FOLDER / "rows.ods")
    assert ods_first.hints["region"] == "鄞州区" and ods_first.hints["year"] == "2023"


def test_csv_export_with_bom_and_multiline_field():
    (doc,), problems = docs_and_problems(FOLDER / "2026_浙江省_政府工作报告.csv")
    assert not problems
    assert doc.title == "2026年浙江省政府工作报告" and doc.hints["province"] == "浙江省"
    assert doc.hints["file_title"] == "2026_浙江省_政府工作报告"  # one report in the file: its name is evidence
    assert doc.text.count("\n") > 10


def test_gbk_tsv():
    (doc,), problems = docs_and_problems(FOLDER / "法治报告.tsv")
    assert not problems and doc.hints["region"] == "龙泉市" and "综合查一次" in doc.text


def test_sheet_problems_are_one_line_each(tmp_path):
    no_content = tmp_path / "list.csv"
    no_content.write_text("标题,年份\n甲,2023\n", encoding="utf-8")
    (err,) = load_file(no_content)
    assert isinstance(err, LoadError) and err.source == str(no_content)
    assert "no content column" in err.reason and "columns found: 标题, 年份" in err.reason

    some_empty = tmp_path / "rows.csv"
    some_empty.write_text("title,content\n甲报告,正文甲\n乙报告,\n,\n丙报告,正文丙\n", encoding="utf-8")
    items = load_file(some_empty)
    assert [i.source for i in items if isinstance(i, RawDocument)] == [f"{some_empty}#row2", f"{some_empty}#row5"]
    (bad_row,) = [i for i in items if isinstance(i, LoadError)]
    assert (bad_row.source, bad_row.reason) == (f"{some_empty}#row3", "empty content")  # the blank row 4 is no row

    titled = tmp_path / "titled.csv"  # a title row above the header
    titled.write_text("2023年各地报告汇总,,\n标题,正文,地区\n甲,正文甲,某县\n", encoding="utf-8")
    (doc,) = load_file(titled)
    assert doc.source == f"{titled}#row3" and doc.hints["region"] == "某县"


def test_encrypted_and_broken_workbooks():
    (err,) = load_file(BAD / "encrypted.xlsx")
    assert "encrypted workbook (password-protected)" in err.reason
    data = (FOLDER / "reports.xlsx").read_bytes()
    (err,) = load_bytes(Path("cut.xlsx"), data[: len(data) // 2])
    assert err.source == "cut.xlsx" and err.reason.startswith("unreadable workbook")


# ---------------------------------------------------------------------------------------------
# legacy Word and WPS


@needs_soffice
def test_word_97_doc_through_libreoffice():
    (doc,), problems = docs_and_problems(FOLDER / "武侯区法治政府建设报告.doc")
    assert not problems
    assert doc.text.startswith("成都市武侯区人民政府关于2022年度法治政府建设情况的报告")
    assert "“三项制度”" in doc.text and doc.text.rstrip().endswith("2023年1月16日")


@needs_soffice
def test_wps_binary_through_libreoffice():
    (doc,), _ = docs_and_problems(FOLDER / "述法报告.wps")
    assert doc.text.startswith("海宁市司法局局长2023年度述法报告") and "第一责任人职责" in doc.text


def test_wps_that_is_a_docx_inside():
    (doc,), problems = docs_and_problems(FOLDER / "通知.wps")
    assert not problems and doc.text.startswith("长兴县人民政府办公室关于印发")


def test_doc_that_is_a_web_page_or_text_says_so(tmp_path):
    items = load_file(FOLDER / "平湖市信息公开年报.doc")
    (doc,) = [i for i in items if isinstance(i, RawDocument)]
    (warning,) = [i for i in items if isinstance(i, LoadWarning)]
    assert warning.reason == "a web page saved as .doc; read as HTML"
    assert "首页" not in doc.text and "主动公开政府信息3120条" in doc.text
    plain = tmp_path / "x.doc"
    plain.write_text("某县2023年法治政府建设年度报告\n正文。", encoding="utf-8")
    doc, warning = load_file(plain)
    assert doc.text.startswith("某县2023年") and warning.reason == "plain text named .doc; read as text"


def test_missing_converter_is_one_line_saying_what_to_install(monkeypatch):
    monkeypatch.setattr("kb.ingest.loaders.office.shutil.which", lambda name: None)
    (err,) = load_file(FOLDER / "武侯区法治政府建设报告.doc")
    assert "needs LibreOffice" in err.reason and "apt-get install libreoffice-writer-nogui" in err.reason


@needs_soffice
def test_converter_failure_is_one_line(tmp_path):
    junk = tmp_path / "broken.doc"
    junk.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600)  # an OLE header and nothing inside
    (err,) = load_file(junk)
    assert isinstance(err, LoadError) and err.source == str(junk) and "\n" not in err.reason


# ---------------------------------------------------------------------------------------------
# OFD


def test_ofd_text_in_reading_order_without_page_number():
    (doc,), problems = docs_and_problems(FOLDER / "jiaxing_decision.ofd")
    assert not problems
    lines = doc.text.splitlines()
    assert lines[0] == "嘉兴市人民代表大会常务委员会关于加强法治政府建设的决定"
    assert "- 1 -" not in doc.text
    # a line broken where the printed line was full is one sentence again
    assert "向本级人民代表大会常务委员会报告法治政府建设情况。" in doc.text


def test_corrupt_ofd_is_one_line(tmp_path):
    for data in (b"PK\x03\x04" + bytes(range(200)), b"not a zip at all" * 20):
        path = tmp_path / "x.ofd"
        path.write_bytes(data)
        (err,) = load_file(path)
        assert "OFD" in err.reason and err.source == str(path)


# ---------------------------------------------------------------------------------------------
# page furniture


def test_pdf_furniture_goes_and_citation_spans_stay_exact():
    (raw,), _ = docs_and_problems(FOLDER / "gov_open_2023.pdf")
    assert "- 1 -" not in raw.text and "- 2 -" not in raw.text
    assert "吴江区政府信息公开年度报告" not in raw.text  # the running header on every page
    # a sentence broken by the line end and by the page break reads as one
    sentence = "依申请公开办理答复率100%，政府信息公开行政复议案件纠错率为零。"
    assert sentence in raw.text and "《中华人民共和国政府信息公开条例》" in raw.text
    assert raw.text.splitlines()[:2] == ["苏州市吴江区人民政府", "2023年政府信息公开工作年度报告"]
    doc, rows = prepare(raw)
    for span, text, _folded, _key in rows:  # what a citation quotes is exactly the stored text
        assert doc.text[span.start : span.end] == text
    assert any(sentence in text for _span, text, _f, _k in rows)
    assert any(s.section for s in chunk(doc.text))  # sections still found after the rejoin


def test_rejoin_rules():
    pages = [
        "- 1 -\n某某县人民政府文件\n一、总体情况\n本县全面推进依法行政工作，行政复议案件纠错率下降到百分之\n三以下。\n（一）主动公开\n短行\n",
        "- 2 -\n某某县人民政府文件\n邮 编 ： 223100 ， 电 话 ： 0517\n三\n、\n本\n年\n度\n信息内容 本年制发件数 本年废止件数\n",
    ]
    text = rejoin(pages)
    assert "某某县人民政府文件" not in text and "- 2 -" not in text
    assert "行政复议案件纠错率下降到百分之三以下。" in text  # joined: the line was full and unfinished
    assert "（一）主动公开\n短行" in text  # a heading, a short line: left alone
    assert "邮编：223100，电话：0517" in text  # letter-spacing gone
    assert "三、本年度" in text  # a cell printed one character a line
    assert "信息内容 本年制发件数 本年废止件数" in text  # table cells keep their gaps


def test_text_export_with_form_feeds_is_rejoined(tmp_path):
    path = tmp_path / "export.txt"
    path.write_text("- 1 -\n某县人民政府2023年政府信息公开工作年度报告\n本县坚持把政务公开作为建设法治政府的重要内容，\n"
                    "全年主动公开政府信息一千余条，依申请公开答\f- 2 -\n复率百分之百。\n", encoding="utf-8")
    (doc,) = load_file(path)
    assert "- 1 -" not in doc.text and "- 2 -" not in doc.text
    assert "重要内容，全年主动公开政府信息一千余条，依申请公开答复率百分之百。" in doc.text
