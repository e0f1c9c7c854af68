"""Answers with citations, on the demo index, with real search underneath."""

from __future__ import annotations

import csv
import io
import json

import pytest

from kb.answer.answers import extract_figures
from kb.answer.export import answer_csv, answer_markdown
from kb.cli import main
from kb.ingest.normalise import fold
from kb.models import Chunk
from kb.query.question import intent_of


def assert_citations_exact(kb, answer):
    cites = [c for e in answer.regions for c in e.citations] + [f.citation for f in answer.figures]
    for c in cites:
        doc = kb.document(c.doc_id)
        assert doc.text[c.start : c.end] == c.quote and c.quote
    return cites


def region_names(answer):
    return sorted(e.region for e in answer.regions)


@pytest.mark.parametrize(
    "question,intent",
    [
        ("哪些地区推行综合查一次", "regions"),
        ("哪些地方开展了一网通办", "regions"),
        ("对比海盐和密云的行政复议", "compare"),
        ("行政复议纠错率是多少", "figure"),
        ("综合行政执法改革", "general"),
    ],
)
def test_intents(question, intent):
    assert intent_of(fold(question)) == intent


def test_scaffolding_and_years_are_not_the_practice(demo_index):
    a = demo_index.ask("2023年哪些地方开展了综合查一次")
    assert a.practice.asked == "综合查一次" and a.filters.year_from == 2023
    assert [e.region for e in a.regions] == ["海盐县"]


def test_which_regions_综合查一次(demo_index):
    a = demo_index.ask("哪些地区推行综合查一次")
    assert a.intent == "regions" and a.term == "综合查一次"
    assert region_names(a) == ["海盐县", "阳城镇"]
    assert a.answer.startswith("共 2 个地区提及“综合查一次”：") and "海盐县（2023）" in a.answer and "阳城镇（2024）" in a.answer
    for c in assert_citations_exact(demo_index, a):
        assert "综合查一次" in fold(c.quote)


def test_which_regions_一网通办(demo_index):
    a = demo_index.ask("哪些地区推行一网通办")
    assert region_names(a) == ["密云区", "海盐县"]
    entry = next(e for e in a.regions if e.region == "密云区")
    assert entry.province.startswith("北京") and entry.year == 2020 and entry.mentions >= 1
    assert_citations_exact(demo_index, a)


@pytest.mark.parametrize("question, listed, scope", [
    ("哪些乡镇推行综合查一次", ["阳城镇"], "乡镇报告"),
    ("哪些县推行综合查一次", ["海盐县"], "县级报告"),
    ("哪些区域推行综合查一次", ["海盐县", "阳城镇"], None),  # 区域 names no level
    ("哪些省份推行综合查一次", ["海盐县", "阳城镇"], None),  # no provincial report here: no filter
])
def test_a_level_named_in_the_question_scopes_the_answer(demo_index, question, listed, scope):
    a = demo_index.ask(question)
    assert region_names(a) == listed
    if scope:
        assert a.answer.startswith(f"（范围：{scope}）") and a.to_dict()["filters"]["level"]
    else:
        assert not a.filters.level and not a.answer.startswith("（范围")


def test_traditional_question_works_the_same(demo_index):
    a = demo_index.ask("哪些地區推行綜合查一次")
    assert region_names(a) == ["海盐县", "阳城镇"]


def test_no_match_is_said_plainly(demo_index):
    a = demo_index.ask("哪些地区推行量子执法区块链")
    assert a.regions == [] and a.answer.startswith("没有报告提及")


def test_figures_come_with_citations_that_contain_them(demo_index):
    a = demo_index.ask("各地败诉率是多少")
    assert a.intent == "figure" and a.term == "败诉率"
    values = {(f.region, f.value) for f in a.figures}
    assert any(v == "8.1%" for _, v in values) and any(v == "1.64%" for _, v in values)
    for f in a.figures:
        assert f.value in f.citation.quote
    assert_citations_exact(demo_index, a)


def test_figure_extraction_by_hand():
    text = "全年審結行政訴訟案件198件,敗訴16件,敗訴率為8.1%,行政首長出庭應訴率為97%。"
    chunk = Chunk(1, "d", 0, (), 0, len(text), text, fold(text))
    assert [(n, v) for n, v, _, _ in extract_figures(chunk, "败诉率")] == [("敗訴率", "8.1%")]
    assert [(n, v) for n, v, _, _ in extract_figures(chunk, "出庭应诉率")] == [("行政首長出庭應訴率", "97%")]


def test_figure_qualifier_stops_at_verbs_and_function_words():
    from kb.answer.figures import qualifier_start

    for text, indicator, written in [
        ("区政府全年共受理行政复议案件153件", "行政复议案件", "行政复议案件"),  # 受理 is a verb, 共 a function word
        ("高度重视,主要负责人出庭应诉率100%", "出庭应诉率", "主要负责人出庭应诉率"),
        ("全市行政机关负责人出庭应诉率达到100%", "出庭应诉率", "行政机关负责人出庭应诉率"),
    ]:
        at = text.index(indicator)
        assert text[qualifier_start(text, at) : at + len(indicator)] == written


def test_two_regions_named_in_a_figure_question_are_two_sides(demo_index):
    """No compare word, two regions: each side searched with its own region, a side without a value said."""
    a = demo_index.ask("上虞区和密云区的行政复议案件数量")
    assert a.intent == "figure" and a.term == "行政复议案件"
    assert [(f.region, f.indicator, f.value) for f in a.figures] == [("密云区", "行政复议案件", "153件")]
    assert "未找到：上虞区" in a.answer
    assert_citations_exact(demo_index, a)


def test_an_indicator_not_stated_as_asked_backs_off_to_its_indicator_part(demo_index):
    """对比各地 names nobody: figures from every region; 行政诉讼败诉率 is written 败诉率 here, and the answer says so."""
    a = demo_index.ask("对比各地的行政诉讼败诉率")
    assert a.intent == "figure" and a.term == "败诉率"
    assert {(f.region, f.value) for f in a.figures} >= {("上虞区", "8.1%"), ("海盐县", "1.64%")}
    assert "按“败诉率”匹配" in a.answer
    assert demo_index.ask("对比各地的综合查一次做法").intent == "regions"  # no figure asked: who states it


def test_compare_regions_side_by_side(demo_index):
    a = demo_index.ask("对比海盐和密云的法律援助")
    assert a.intent == "compare"
    assert [e.region for e in a.regions] == ["海盐县", "密云区"]
    assert all(e.citations for e in a.regions)
    assert_citations_exact(demo_index, a)


def test_similar_practices_come_from_other_regions(demo_index):
    a = demo_index.ask("哪些地区推行综合查一次")
    cid = next(e for e in a.regions if e.region == "海盐县").citations[0].chunk_id
    similar = demo_index.similar(cid, k=3)
    assert similar and all(h.doc.meta.region != "海盐县" for h in similar)
    assert len({h.doc.meta.region for h in similar}) == len(similar)


def test_cli_ask_json_and_exports(env_index, capsys):
    assert main(["ask", "哪些地区推行综合查一次", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) >= {"question", "intent", "term", "answer", "regions", "figures", "hits"}
    r = out["regions"][0]
    assert set(r) >= {"region", "province", "level", "year", "mentions", "citations"}
    assert set(r["citations"][0]) >= {"doc_id", "chunk_id", "title", "source", "year", "section", "quote", "start", "end"}
    assert main(["ask", "哪些地区推行综合查一次", "--format", "csv"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("\ufeff")  # Excel reads UTF-8 CSV only with a BOM
    rows = list(csv.DictReader(io.StringIO(out.lstrip("\ufeff"))))
    assert {row["地区"] for row in rows} == {"海盐县", "阳城镇"} and all(row["原文引用"] for row in rows)
    assert all(row["层级"] == {"海盐县": "县级", "阳城镇": "乡镇"}[row["地区"]] for row in rows)
    assert all(row["来源"].endswith(".txt") and "/" not in row["来源"] for row in rows)  # a name, not a server path
    assert main(["ask", "哪些地区推行综合查一次", "--format", "md"]) == 0
    md = capsys.readouterr().out
    assert "### 海盐县" in md and "> " in md


def test_exports_from_the_library(demo_index):
    a = demo_index.ask("哪些地区推行一网通办")
    assert "密云区" in answer_markdown(a)
    assert answer_csv(a).splitlines()[0] == "\ufeff地区,省份,层级,年份,标题,章节,原文引用,来源,起始位置,结束位置"
