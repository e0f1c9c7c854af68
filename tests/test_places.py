"""Places, zones, titles and dates of ingest, function by function (the pipeline test is
test_metadata_classes.py): special zones with their parent, short names that are ordinary words,
co-issuers, headings under a 公文's 版头, crawler file names, dates in the text, header blocks, the
place-fields type and the rule files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kb.ingest.dates import text_year
from kb.ingest.normalise import clean
from kb.ingest.places import inside_a_word, needs_corroboration, place_of_host, scan
from kb.ingest.region import resolve_region
from kb.ingest.statements import Evidence, signature
from kb.ingest.titles import file_title, heading
from kb.ingest.zones import find_zones
from kb.models import Document, Filters, Metadata, PlaceFields, doc_type_name, with_corrections

ROOT = Path(__file__).resolve().parents[1]


# --- zones -----------------------------------------------------------------------------------

@pytest.mark.parametrize("text, name, parent", [
    ("深圳市深汕特别合作区党政办公室关于2025年法治政府建设情况的报告", "深汕特别合作区", "深圳市"),  # listed
    ("深圳市大鹏新区2024年管理委员会工作报告", "大鹏新区", "深圳市"),  # the parent written before it
    ("2015年光明新区管委会工作报告", "光明新区", "深圳市"),  # named after 光明区: in its city
    ("北京经济技术开发区管理委员会关于印发", "北京经济技术开发区", "北京市"),  # the place in its name
    ("南昌高新区管委会", "南昌高新区", "南昌市"),
    ("推进两江新区建设", "两江新区", "重庆市"),
])
def test_zones_are_places_with_a_parent(text, name, parent):
    (zone,) = find_zones(text)
    assert zone.name == name and {u.city or u.province for u in zone.units} == {parent}


@pytest.mark.parametrize("text", ["国家级新区", "高新区", "苏州工业园区", "浦东新区"])
def test_kinds_of_zone_and_listed_divisions_are_no_new_zone(text):
    assert find_zones(text) == []  # 苏州工业园区 and 浦东新区 are divisions the gazetteer lists


def test_a_zone_without_its_parent_keeps_its_name():
    (zone,) = find_zones("坚持推进大鹏新区建设")
    assert zone.name == "大鹏新区" and zone.units == ()


def test_a_zone_not_its_look_alike_district():
    r = resolve_region([Evidence("title", "2014年坪山新区管委会工作报告", 3)], "我区……深圳……", {}, "")
    assert (r.place.region, r.place.city, r.place.level) == ("坪山新区", "深圳市", "county")
    assert "坪山区" not in (r.summary or "")


# --- short names -----------------------------------------------------------------------------

@pytest.mark.parametrize("text, start, end", [("新华社报道", 0, 2), ("长治久安", 0, 2)])
def test_a_short_name_at_the_start_of_a_longer_word(text, start, end):
    assert inside_a_word(text, start, end)
    assert not scan(text, aliases=True, prose=False)


def test_a_short_name_going_on_with_its_kind_is_whole():
    assert not inside_a_word("长治市", 0, 2)
    assert [m.name for m in scan("长治市人民政府", aliases=True, prose=False)] == ["长治市"]


@pytest.mark.parametrize("alias, weak", [("和平", True), ("朝阳", True), ("长安", True), ("光明", True),
                                         ("新华", True), ("深圳", False), ("海盐", False), ("上虞", False)])
def test_short_names_that_say_little_alone(alias, weak):
    assert needs_corroboration(alias) is weak


def test_a_weak_short_name_needs_backing():
    evidence = [Evidence("title", "坚持和平发展推进依法行政工作报告", 3)]
    assert resolve_region(evidence, "全文……", {}, "").place.region is None
    evidence.append(Evidence("issuer field", "天津市", 2))  # another source names 和平区's city
    r = resolve_region(evidence, "全文……", {}, "")
    assert (r.place.region, r.place.province) == ("和平区", "天津市")


def test_a_place_outside_the_province_of_the_other_evidence_loses():
    # a file name (2) names a county of 浙江; the issuer (2) and the web host (2) two cities of 广东:
    # 广东 has more evidence, so the deeper county loses
    evidence = [Evidence("file name", "海盐县工作报告", 2), Evidence("issuer field", "深圳市司法局", 2),
                Evidence("web host", "广州市", 2)]
    r = resolve_region(evidence, "", {}, "")
    assert r.place.province == "广东省" and r.place.region in ("深圳市", "广州市")
    evidence = evidence[:2]  # without the host: one piece each, the deeper one wins
    assert resolve_region(evidence, "", {}, "").place.region == "海盐县"


def test_co_issuers_speak_for_the_place_around_both():
    r = resolve_region([Evidence("title", "杭州市司法局、杭州高新技术产业开发区管理委员会关于印发清单的通知", 3)], "", {}, "")
    assert r.place.region == "杭州市"
    org, iso = signature("请遵照执行。\n杭州市司法局\n杭州高新技术产业开发区管理委员会\n2024年3月5日")
    assert (org, iso) == ("杭州市司法局、杭州高新技术产业开发区管理委员会", "2024-03-05")


def test_a_date_inside_a_sentence_is_no_signature():
    assert signature("本办法自2024年1月1日起施行。1998年5月4日市人民政府发布的规定同时废止。") == (None, None)
    # a 公文's imprint dates it; a one-line scrape signs at its end
    assert signature("抄送：县委办。\n明溪县人民政府办公室 2022年4月3日印发") == ("明溪县人民政府办公室", "2022-04-03")
    assert signature("人才队伍。 海盐县司法局 2023年6月5日 |") == ("海盐县司法局", "2023-06-05")


def test_web_hosts():
    assert place_of_host("https://www.sz.gov.cn/zwgk/a.html") == "深圳市"
    assert place_of_host("fgw.beijing.gov.cn") == "北京市"
    assert place_of_host("https://example.com/sz.gov.cn") is None


# --- titles ------------------------------------------------------------------------------------

@pytest.mark.parametrize("stem, title", [
    ("site_12345_关于印发某市行政执法公示办法的通知_page", "关于印发某市行政执法公示办法的通知"),
    ("12345_关于某区2023年法治政府建设情况的报告_detail", "关于某区2023年法治政府建设情况的报告"),
    ("a3f9c0d2e1b4_某县2024年政府工作报告", "某县2024年政府工作报告"),
    ("广东省政府工作报告_2022年", "2022年广东省政府工作报告"),  # a place and the kind: year first
    ("045d3056380539c514219c6a2e3ed7792895691b8c6d6c478b0ea217029d9cb3", None),
])
def test_crawler_file_names(stem, title):
    assert file_title(stem)[0] == title


@pytest.mark.parametrize("text, title", [
    ("某市人民政府办公室文件\n某政办发〔2023〕12号\n关于印发某市行政执法公示办法的通知\n各区人民政府：\n现将…",
     "某市人民政府办公室关于印发某市行政执法公示办法的通知"),
    ("2024年某市国民经济和社会发展\n统计公报\n某市统计局", "2024年某市国民经济和社会发展统计公报"),
    ("关于某市2024年预算执行情况\n和2025年预算草案的报告\n（书面）\n各位代表：", "关于某市2024年预算执行情况和2025年预算草案的报告"),
    ("附件1\n某市首次违法不予处罚清单\n序号", "某市首次违法不予处罚清单"),
    ("某区2025年区级部门预算\n预算主管部门：某区司法局\n目录", "某区2025年区级部门预算（某区司法局）"),
    ("某市行政执法监督办法\n（2015年3月2日某市人民政府令第120号发布）\n第一条", "某市行政执法监督办法"),
    ("某市行政执法监督办法\n（2023年修订）\n第一条", "某市行政执法监督办法（2023年修订）"),
    ("各位代表：\n现在，我代表区人民政府向大会报告工作。", None),
])
def test_headings(text, title):
    assert heading(text) == title


# --- dates -------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, year", [
    ("某市人民政府办公室\n某政办发〔2022〕25号\n关于印发…的通知", 2022),
    ("某市办法\n（1996年9月23日市政府令第15号发布 根据2023年11月15日市政府令第311号第二次修改）", 2023),
    ("某市办法\n（2024年12月24日市政府令第314号发布 自2025年3月1日起施行）", 2024),  # taking effect is no date
    ("关于印发的通知\n各单位：\n现印发给你们。\n某县人民政府\n2022年4月2日\n附件", 2022),
    ("没有日期的清单", None),
])
def test_the_year_a_text_dates_itself_by(text, year):
    assert text_year(text) == year


# --- page header blocks ------------------------------------------------------------------------

def test_a_header_block_is_fields_and_never_the_title():
    page = ("标题：某区关于优化营商环境的实施意见\n发布时间：2024-05-06\n发布机构：某区人民政府\n栏目：通知公告\n"
            "原文链接：https://www.sz.gov.cn/a.html\n\n为进一步优化营商环境，现提出如下意见。")
    c = clean(page)
    assert c.fields["标题"] == "某区关于优化营商环境的实施意见" and c.fields["栏目"] == "通知公告"
    assert c.fields["原文链接"].startswith("https://") and c.title is None
    assert c.text.startswith("为进一步优化营商环境")


def test_an_inline_header_block_and_english_keys():
    c = clean("标题: 关于某事的通知  发布时间: 2024-05-06  来源: 某市司法局\n正文第一段。")
    assert (c.fields["标题"], c.fields["发布时间"], c.fields["来源"]) == ("关于某事的通知", "2024-05-06", "某市司法局")
    c = clean("title: 关于某事的通知\nurl: http://www.gd.gov.cn/x\ncategory: 政策\n正文第一段。")
    assert c.fields["title"] == "关于某事的通知" and c.text == "正文第一段。"


# --- the place-fields type and document types ------------------------------------------------

def test_one_place_fields_type():
    m = Metadata(title="t", region="光明区", city="深圳市", province="广东省", county="光明区", level="county")
    assert m.place == PlaceFields("光明区", "广东省", "深圳市", "光明区", None, "county")
    assert PlaceFields.of(m.place.as_dict()) == m.place and m.place.names() == ("光明区", "广东省", "深圳市", "光明区")
    fixed = with_corrections(m, {"region": "宝安区"})
    assert fixed.region_evidence == "corrected by a user" and fixed.place.region == "宝安区"
    doc = Document("d", "s", "x", m, "h")
    assert {k: doc.to_dict()[k] for k in ("region", "province", "city", "county", "town", "level")} == m.place.as_dict()


@pytest.mark.parametrize("name, canonical", [("实施方案/意见", "通知/意见/办法"), ("实施方案", "通知/意见/办法"),
                                             ("通知", "通知/意见/办法"), ("部门预算", "部门预算/决算"),
                                             ("公报", "统计公报"), ("工作计划", "工作总结/计划")])
def test_old_and_short_type_names_still_work(name, canonical):
    assert doc_type_name(name) == canonical
    stored = Document("d", "s", "x", Metadata(title="t", doc_type="实施方案/意见"), "h")  # stored by kb 0.3
    assert Filters(doc_type="意见").accepts(stored)


# --- rule files --------------------------------------------------------------------------------

INGEST_RULES = ("page_chrome.txt", "header_fields.txt", "titles.txt", "organisations.txt", "places.txt",
                "zones.txt", "hosts.txt", "dates.txt", "doc_types.txt")


@pytest.mark.parametrize("name", INGEST_RULES)
def test_each_rule_file_says_what_it_is_for(name):
    first = (ROOT / "kb" / "data" / name).read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("# ") and "ingest/" in "".join(
        (ROOT / "kb" / "data" / name).read_text(encoding="utf-8").splitlines()[:8])


def test_a_user_teaches_kb_a_zone_and_a_host(tmp_path):
    (tmp_path / "zones.txt").write_text("[zones]\n滨江智造园区 杭州市\n", encoding="utf-8")
    (tmp_path / "hosts.txt").write_text("hzbj.gov.cn 杭州市\n", encoding="utf-8")
    code = ("import json; from kb.ingest.zones import find_zones; from kb.ingest.places import place_of_host;"
            "z = find_zones('滨江智造园区管委会'); print(json.dumps([[x.name, [u.city for u in x.units]] for x in z]"
            " + [place_of_host('www.hzbj.gov.cn')], ensure_ascii=False))")
    env = {**os.environ, "KB_RULES_DIR": str(tmp_path), "PYTHONPATH": str(ROOT)}
    p = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, encoding="utf-8", check=True)
    assert json.loads(p.stdout) == [["滨江智造园区", ["杭州市"]], "杭州市"]
