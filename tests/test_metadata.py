"""Tests for kb.ingest.metadata.derive.

CleanText objects are built here by hand (title and header fields as a scrape shows them, plus a
minimal local cleanup of the sample text), so these tests do not depend on kb.ingest.normalise.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from kb.ingest.metadata import derive
from kb.models import CleanText, Metadata, RawDocument

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "data" / "samples"

_HEADER_MARKERS = ("索引號", "索引号", "文號", "文件编号", "發布單位", "发布机构", "公開日期", "成文日期",
                   "日期:", "来源:", "分享:", "字号:", "信息公開", ">>")


def _sample(prefix: str) -> str:
    (path,) = SAMPLES.glob(f"{prefix}_*.txt")
    return path.read_text(encoding="utf-8")


def _clean(text: str, title: str | None) -> str:
    """Minimal cleanup: drop header rows and the title line, strip table pipes."""
    out = []
    for line in text.splitlines():
        line = line.strip().strip("|").strip()
        if not line or any(m in line for m in _HEADER_MARKERS):
            continue
        if title and line.startswith(title):
            continue
        out.append(line)
    return "\n".join(out)


def _doc(text: str, title: str | None = None, fields: dict | None = None, hints: dict | None = None,
         source: str = "t.txt") -> Metadata:
    clean = CleanText(text=text, title=title, fields=fields or {})
    raw = RawDocument(source=source, text=text, hints=hints or {})
    return derive(clean, raw)


SAMPLE_SPECS = {
    "000": dict(title="紹興市上虞區2020年度法治政府建設工作情況",
                fields={"索引號": "無", "公開方式": "主動公開", "文號": "無", "公開日期": "2021-03-29 15:41", "發布單位": "無"}),
    "001": dict(title="北京市密云区人民政府2020年法治政府建设年度情况报告",
                fields={"日期": "2021-03-31 10:00", "来源": "北京市密云区人民政府"}),
    "002": dict(title="关于县政协十届二次会议第75号提案的答复函",
                fields={"索引号": "113304240025560106/2023-74723", "成文日期": "2023-06-05",
                        "文件编号": "盐司函〔2023〕2号", "组配分类": "建议提案", "发布机构": "县司法局"}),
    "003": dict(title="关于2024年法治政府建设工作情况的报告", fields={}),
    "004": dict(title=None, fields={}),
}


def _sample_meta(prefix: str) -> Metadata:
    spec = SAMPLE_SPECS[prefix]
    text = _clean(_sample(prefix), spec["title"])
    return _doc(text, spec["title"], spec["fields"], source=f"{prefix}.txt")


@pytest.mark.parametrize(
    "prefix, region, province, year, doc_type",
    [
        ("000", "上虞", "浙江", 2020, "法治政府建设年度报告"),
        ("001", "密云", "北京", 2020, "法治政府建设年度报告"),
        ("002", "海盐", "浙江", 2023, "提案/建议答复"),
        ("003", "阳城", None, 2024, "法治政府建设年度报告"),
        ("004", "安阳县", "河南", 2021, "法治政府建设年度报告"),
    ],
)
def test_samples(prefix, region, province, year, doc_type):
    m = _sample_meta(prefix)
    assert m.region and region in m.region
    if province is None:
        assert m.province is None
    else:
        assert m.province and province in m.province
    assert m.year == year
    assert m.doc_type == doc_type


def test_sample_000_traditional_title_kept_values_folded():
    m = _sample_meta("000")
    assert m.title == "紹興市上虞區2020年度法治政府建設工作情況"  # original script
    assert (m.region, m.province, m.city, m.county, m.level) == ("上虞区", "浙江省", "绍兴市", "上虞区", "county")
    assert m.published == "2021-03-29"
    assert m.issuer is None  # 發布單位: 無


def test_sample_001_beijing_district():
    m = _sample_meta("001")
    assert (m.region, m.province, m.county, m.level) == ("密云区", "北京市", "密云区", "county")
    assert m.published == "2021-03-31"
    assert m.issuer == "北京市密云区人民政府"


def test_sample_002_reply_letter():
    m = _sample_meta("002")
    assert (m.region, m.province, m.city, m.county, m.level) == ("海盐县", "浙江省", "嘉兴市", "海盐县", "county")
    assert m.published == "2023-06-05"
    assert m.issuer == "海盐县司法局"  # header 县司法局, completed by the signature


def test_sample_003_town_without_certain_parent():
    m = _sample_meta("003")
    assert (m.region, m.town, m.level) == ("阳城镇", "阳城镇", "town")
    assert m.province is None and m.city is None and m.county is None  # several 阳城镇 in China


def test_sample_004_no_title_line():
    m = _sample_meta("004")
    assert m.title == "安阳县2021年法治政府建设情况报告（原文无标题）"  # named by what was derived
    assert (m.region, m.province, m.city, m.county, m.level) == ("安阳县", "河南省", "安阳市", "安阳县", "county")
    assert m.published == "2021-12-31"
    assert m.issuer == "安阳县人民政府"


# --- national corpus -------------------------------------------------------------------------

@pytest.mark.parametrize(
    "title, year, doc_type",
    [
        ("第十四届全国人民代表大会第三次会议关于政府工作报告的决议", 2025, "决议/决定"),
        ("第十四届全国人民代表大会第一次会议关于政府工作报告的决议", 2023, "决议/决定"),
        ("第十三届全国人民代表大会第三次会议关于政府工作报告的决议", 2020, "决议/决定"),
        ("第十届全国人民代表大会第五次会议关于政府工作报告的决议", 2007, "决议/决定"),
        ("第一届全国人民代表大会第二次会议关于政府工作报告的决议", 1955, "决议/决定"),
        ("第二届全国人民代表大会第三次会议关于政府工作报告的决议", 1962, "决议/决定"),  # irregular
        ("第五届全国人民代表大会第五次会议关于政府工作报告的决议", 1982, "决议/决定"),
        ("第十四屆全國人民代表大會第二次會議關於政府工作報告的決議", 2024, "决议/决定"),  # Traditional
        # a 政府工作报告 is issued at the session of its title's year and covers the year before
        ("2025年中华人民共和国国务院政府工作报告", 2024, "政府工作报告"),
        ("2019年国务院政府工作报告", 2018, "政府工作报告"),
    ],
)
def test_national_titles(title, year, doc_type):
    m = _doc("各位代表：……在北京市、广东省、浙江省考察……", title=title, hints={"year": None})
    assert m.year == year
    assert m.issued_year == (year + 1 if doc_type == "政府工作报告" else year)
    assert m.doc_type == doc_type
    assert m.level == "national"
    assert m.region == "全国"
    assert m.province is None
    assert m.title == title


def test_national_year_from_body_when_title_has_none():
    body = "——2024年3月5日在第十四届全国人民代表大会第二次会议上\n国务院总理 李强\n各位代表："
    m = _doc(body, title="政府工作报告")
    assert (m.year, m.issued_year, m.doc_type, m.level) == (2023, 2024, "政府工作报告", "national")


def test_national_region_hint():
    m = _doc("正文", title="某文件", hints={"region": "全国"})
    assert (m.region, m.level, m.province) == ("全国", "national", None)


# --- precedence --------------------------------------------------------------------------------

def test_hints_beat_header_title_and_body():
    m = _doc(
        "2020年，我区法治政府建设……上虞区……\n上虞区人民政府\n2021年3月1日",
        title="绍兴市上虞区2020年度法治政府建设工作情况",
        fields={"公开日期": "2021-03-29", "发布单位": "绍兴市上虞区人民政府"},
        hints={"year": "2019", "region": "浙江省绍兴市柯桥区", "published": "2020-02-01 09:00",
               "title": "柯桥区2019年法治政府建设年度报告"},
    )
    assert m.title == "柯桥区2019年法治政府建设年度报告"
    assert m.year == 2019
    assert m.published == "2020-02-01"
    assert (m.region, m.province, m.city, m.county) == ("柯桥区", "浙江省", "绍兴市", "柯桥区")


def test_header_and_title_beat_body():
    body = "我区积极推进法治建设，学习借鉴杭州市西湖区经验。\n2020年12月31日"
    m = _doc(body, title="绍兴市上虞区2020年度法治政府建设工作情况", fields={"发布日期": "2021-01-05"})
    assert m.region == "上虞区"
    assert m.published == "2021-01-05"  # header date beats the closing date


def test_title_from_container_then_clean_then_first_line():
    text = "\n\n  第一行标题文字" + "长" * 100 + "\n正文"
    m = _doc(text)
    assert m.title.startswith("第一行标题文字") and len(m.title) == 41 and m.title.endswith("…")
    raw = RawDocument(source="x", text=text, title="页面标题")
    assert derive(CleanText(text=text), raw).title == "页面标题"
    # A title the container states (JSONL field, HTML article title) beats a line found in the text.
    assert derive(CleanText(text=text, title="清洗标题"), raw).title == "页面标题"
    assert derive(CleanText(text=text, title="清洗标题"), RawDocument(source="x", text=text)).title == "清洗标题"


# --- header values ---------------------------------------------------------------------------

def test_wu_header_value_means_nothing():
    body = "我县深入推进法治政府建设……安阳县……\n2021年12月31日"
    m = _doc(body, title="安阳县2021年法治政府建设年度报告",
             fields={"發布單位": "無", "来源": "无", "文號": "無"})
    assert m.issuer is None
    assert (m.region, m.province) == ("安阳县", "河南省")


def test_header_region_from_issuer_field():
    m = _doc("我区2022年法治政府建设情况如下……", title="2022年法治政府建设年度报告",
             fields={"发布机构": "北京市密云区人民政府"})
    assert (m.region, m.province, m.level) == ("密云区", "北京市", "county")
    assert m.issuer == "北京市密云区人民政府"


def test_traditional_header_and_body():
    body = "本縣深入推進法治政府建設。現將二〇二一年度法治政府建設情況報告如下：……\n海鹽縣人民政府\n二〇二二年一月十日"
    m = _doc(body, title="關於法治政府建設情況的報告", fields={"公開日期": "2022-01-12", "發布單位": "海鹽縣人民政府"})
    assert m.title == "關於法治政府建設情況的報告"
    assert (m.region, m.province, m.city) == ("海盐县", "浙江省", "嘉兴市")
    assert m.issuer == "海盐县人民政府"
    assert m.year == 2021
    assert m.doc_type == "法治政府建设年度报告"
    assert m.published == "2022-01-12"


# --- places found only in the body ----------------------------------------------------------

def test_town_only_in_body_stays_uncertain():
    body = "2023年，我镇坚持依法行政，全镇上下……阳城镇法治政府建设还存在不足。"
    m = _doc(body, title="关于2023年法治政府建设工作情况的报告")
    assert (m.region, m.town, m.level) == ("阳城镇", "阳城镇", "town")
    assert m.province is None and m.county is None


def test_town_with_stated_parent_is_certain():
    body = "我镇坚持依法行政……山西省芮城县阳城镇……"
    m = _doc(body, title="关于2023年法治政府建设工作情况的报告")
    assert (m.town, m.county, m.province) == ("阳城镇", "芮城县", "山西省")


def test_bare_county_short_name_resolves_when_unique():
    body = _clean(_sample("002"), SAMPLE_SPECS["002"]["title"]).replace("海盐县", "")
    assert "海盐县" not in body and "海盐" in body
    m = _doc(body, **SAMPLE_SPECS["002"])
    assert (m.region, m.province, m.city, m.county, m.level) == ("海盐县", "浙江省", "嘉兴市", "海盐县", "county")


def test_ambiguous_short_name_is_not_guessed():
    # 鼓楼区 exists in several cities: a bare 鼓楼 must not pick one.
    m = _doc("我区推进法治鼓楼建设……", title="2021年法治政府建设年度报告")
    assert m.region is None and m.province is None


def test_county_vs_city_of_same_short_name():
    m = _doc("2021年，安阳县人民政府……认真落实安阳市委市政府部署……我县……", title=None)
    assert (m.region, m.city, m.level) == ("安阳县", "安阳市", "county")


def test_words_that_look_like_places_are_ignored():
    m = _doc("各乡镇、街道、社区和开发区要形成县级示范镇……", title="关于加强社会合作和政府惠民工作的通知")
    assert m.region is None and m.level is None


# --- doc type, year, dates --------------------------------------------------------------------

@pytest.mark.parametrize(
    "title, doc_type",
    [
        ("关于县政协十届二次会议第75号提案的答复函", "提案/建议答复"),
        ("对市十六届人大三次会议第12号建议的答复", "提案/建议答复"),
        ("关于政府工作报告的决议", "决议/决定"),
        ("2024年政府工作报告", "政府工作报告"),
        ("北京市密云区人民政府2020年法治政府建设年度情况报告", "法治政府建设年度报告"),
        ("绍兴市上虞区2020年度法治政府建设工作情况", "法治政府建设年度报告"),
        ("关于2024年法治政府建设工作情况的报告", "法治政府建设年度报告"),
        ("关于印发2024年普法工作要点的通知", "通知/意见/办法"),
    ],
)
def test_doc_type(title, doc_type):
    assert _doc("正文", title=title).doc_type == doc_type


def test_reply_year_is_year_written():
    m = _doc("您提出的建议已收悉……", title="关于市政协第88号提案的答复", fields={"成文日期": "2022-07-15"})
    assert (m.doc_type, m.year, m.published) == ("提案/建议答复", 2022, "2022-07-15")


def test_year_from_closing_date_when_nothing_else():
    body = "一年来，本区法治政府建设取得新进展……\n某某区人民政府\n二〇二二年二月十五日"
    m = _doc(body, title="法治政府建设情况报告")
    assert m.published == "2022-02-15"
    assert m.year == 2021  # annual report published early in the following year


def test_published_forms():
    assert _doc("x", title="t", fields={"发布日期": "2021/3/9"}).published == "2021-03-09"
    assert _doc("x", title="t", fields={"公开日期": "2021年03月29日 15:41"}).published == "2021-03-29"
    assert _doc("x", title="t", hints={"published": "2020.12.01"}).published == "2020-12-01"


# --- performance and laziness ----------------------------------------------------------------

def test_import_is_lazy():
    code = ("import kb.ingest.metadata, kb.ingest.places as p, kb.ingest.normalise as n; "
            "assert p._gaz is None and n._t2s.cache_info().currsize == 0")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_derive_is_fast_on_long_documents():
    text = (_clean(_sample("001"), SAMPLE_SPECS["001"]["title"]) * 4)[:20000]
    _doc(text, **SAMPLE_SPECS["001"])  # warm: gazetteer + converter
    start = time.perf_counter()
    for _ in range(5):
        _doc(text, **SAMPLE_SPECS["001"])
    per_call = (time.perf_counter() - start) / 5
    assert per_call < 0.2  # typically ~5 ms; the bound only catches pathologies


def test_short_name_followed_by_its_kind_in_title():
    m = _doc("2020年……", title="恩施州2020年法治政府建设年度报告")
    assert (m.province, m.city, m.level) == ("湖北省", "恩施土家族苗族自治州", "city")


def test_unconfirmed_short_names_in_title_are_ignored():
    # 和政 (和政县) and 惠民 (惠民县) are county short names, here ordinary words.
    m = _doc("正文", title="关于加强社会合作和政府惠民工作的通知")
    assert m.region is None


def test_header_parent_refined_by_body_self_reference():
    body = "2020年，我区坚持依法行政……上虞区……我区……"
    m = _doc(body, title="2020年度法治政府建设工作情况", fields={"来源": "绍兴市人民政府"})
    assert (m.region, m.city, m.level) == ("上虞区", "绍兴市", "county")
    m = _doc("2020年，我区坚持依法行政……", title="2020年度法治政府建设工作情况", fields={"来源": "绍兴市人民政府"})
    assert (m.region, m.level) == ("绍兴市", "city")  # district not named: stay at the city


def test_unresolvable_region_hint_is_kept():
    m = _doc("x", title="x", hints={"region": "某某经济开发区"})
    assert m.region == "某某经济开发区" and m.province is None


def test_province_and_city_levels():
    assert _doc("我省……", title="浙江省人民政府2020年法治政府建设年度报告").level == "province"
    m = _doc("2020年我市……", title="杭州市2020年法治政府建设年度报告")
    assert (m.region, m.province, m.level) == ("杭州市", "浙江省", "city")


def test_chinese_numeral_report_year():
    m = _doc("现将二〇二一年度法治政府建设情况报告如下", title="关于法治政府建设情况的报告")
    assert m.year == 2021


def test_national_words_in_body_do_not_make_a_local_report_national():
    m = _doc("根据国务院《法治政府建设实施纲要》，我县……安阳县……", title=None)
    assert (m.region, m.level) == ("安阳县", "county")


# --- the document's own region (issue 12) ------------------------------------------------------

def test_own_region_beats_places_mentioned_more_often():
    body = ("各位代表：\n现在，我代表区人民政府向大会作工作报告。\n" + "在杭州市委、杭州市政府领导下，我们学习上城区、滨江区经验。" * 4
            + "\n全区经济稳中有进。\n杭州市西湖区人民政府\n2024年1月10日")
    m = _doc(body)
    assert (m.region, m.city, m.province, m.level) == ("西湖区", "杭州市", "浙江省", "county")  # the signature
    assert m.region_confidence >= 0.8 and "signature" in m.region_evidence
    m = _doc(body.replace("我代表区人民政府", "我代表西湖区人民政府").rsplit("\n", 2)[0])  # the speaker, no signature
    assert (m.region, m.city) == ("西湖区", "杭州市")  # 西湖区 is also in 南昌: 杭州市 settles it


def test_body_only_region_is_the_kind_it_speaks_as():
    body = "2023年，我区坚持依法行政。光明区全面推行综合查一次。深圳市、深圳市、深圳市要求……我区将继续努力。"
    m = _doc(body)
    assert (m.region, m.city, m.province) == ("光明区", "深圳市", "广东省")
    assert m.region_confidence < 0.8 and "speaks as a 区" in m.region_evidence


def test_places_listed_as_peers_count_for_less_than_the_place_itself():
    """No signature, no speaker: 宁波 and 温州 are named more often than 杭州, but always in lists of
    partners (与宁波、温州、湖州等地), each such mention counting 1/n; 杭州 speaks of itself."""
    body = ("各位代表：\n现在，我代表市人民政府，向大会报告工作。\n"
            "与宁波、温州、湖州、嘉兴、绍兴等地建立政务服务“跨省通办”合作，宁波、温州两地数据共享，宁波、温州企业办事更便利。\n"
            "全市地区生产总值增长5.6%。杭州将持续打造一流营商环境，奋力谱写中国式现代化杭州新篇章！")
    m = _doc(body)
    assert (m.region, m.province, m.level) == ("杭州市", "浙江省", "city")


def test_words_are_not_places():
    # 部分乡镇 is not the town 分乡镇 (湖北), 合作市场 not 合作市 (甘肃), 沿海城市 not 海城市 (辽宁)
    body = "我县部分乡镇推进国际合作市场建设，沿海城市经验值得借鉴。我县长兴县……长兴县……"
    m = _doc(body, title="关于2023年法治政府建设情况的报告")
    assert (m.region, m.city, m.province) == ("长兴县", "湖州市", "浙江省")
    from kb.ingest.places import scan

    assert [x.name for x in scan("部分乡镇推进国际合作市场，沿海城市")] == []
    assert [x.name for x in scan("夷陵区的分乡镇人民政府")] == ["夷陵区", "分乡镇"]
    assert [x.name for x in scan("深圳市委市政府、安阳县城")] == ["深圳市", "安阳县"]  # offices and parts continue a name


def test_query_region_matching_respects_word_boundaries():
    from kb.ingest.places import RegionGazetteer
    from kb.models import Document

    town = Document("d1", "a.txt", "", Metadata(title="t", region="分乡镇", town="分乡镇", county="夷陵区", level="town"), "h")
    g = RegionGazetteer([town])
    assert g.find("部分乡镇推行综合查一次") == (None, None)
    assert g.find("分乡镇推行综合查一次") == (None, "分乡镇")
    assert g.names_in("部分乡镇和夷陵区") == ["夷陵区"]


def test_autonomous_region_speaks_as_a_qu_and_is_not_its_prefectures():
    body = ("——2026年1月27日在新疆维吾尔自治区第十四届人民代表大会第四次会议上\n各位代表：\n现在，我代表自治区人民政府，向大会报告工作。\n"
            + "和田地区、喀什地区、乌鲁木齐高新区发展加快。全区经济增长。" * 5)
    m = _doc(body, title="2026年政府工作报告")
    assert (m.region, m.province, m.city, m.level) == ("新疆维吾尔自治区", "新疆维吾尔自治区", None, "province")
    m = _doc("各位代表：\n我代表自治区人民政府向大会报告工作。" + "和田地区、喀什地区建设加快，全区发展。" * 5 + "新疆各族人民……")
    assert m.region == "新疆维吾尔自治区"  # no session line: 全区 + the region's short name


def test_province_report_without_title_or_column():
    body = "各位代表：\n现在，我代表省人民政府，向大会报告工作。\n一、2023年工作回顾\n广东经济稳中向好，深圳市、广州市、深圳市引领。全省……"
    m = _doc(body)
    assert (m.region, m.province, m.level) == ("广东省", "广东省", "province")
    assert (m.year, m.issued_year, m.doc_type) == (2023, 2024, "政府工作报告")
    assert m.title == "广东省2024年政府工作报告（原文无标题）"  # never 各位代表：


def test_province_column_refined_by_how_the_text_speaks():
    body = "各位代表：\n我代表市人民政府向大会报告工作。深圳市全市……深圳市……我市……广州市合作……"
    m = _doc(body, title="2024年政府工作报告", hints={"province": "广东省"})
    assert (m.region, m.city, m.province, m.level) == ("深圳市", "深圳市", "广东省", "city")


def test_functional_zone_keeps_its_name_and_city():
    body = "各位代表：\n现在，我代表两江新区管理委员会向大会作工作报告。\n重庆全市……重庆……两江新区……"
    m = _doc(body, title="两江新区2023年工作报告")
    assert (m.region, m.province, m.level) == ("两江新区", "重庆市", "county")
    assert m.doc_type == "政府工作报告" and "zone 两江新区" in m.region_evidence
    m = _doc("我区……深圳……深圳……", title="深圳市大鹏新区2023年法治政府建设工作报告")
    assert (m.region, m.city, m.province) == ("大鹏新区", "深圳市", "广东省")


def test_ambiguous_district_settled_by_the_city_named():
    assert _doc("我区……深圳市……", title="龙华区2023年政府工作报告").city == "深圳市"
    assert _doc("我区……海口市……", title="龙华区2023年政府工作报告").city == "海口市"
    m = _doc("我区……", title="龙华区2023年政府工作报告")
    assert m.region == "龙华区" and m.city is None and m.province is None  # two 龙华区: no guess


# --- titles ------------------------------------------------------------------------------------

@pytest.mark.parametrize("stem, title, year", [
    ("2024年光明区政府工作报告_2024", "2024年光明区政府工作报告", 2024),
    ("深圳市政府工作报告_2026年", "2026年深圳市政府工作报告", 2026),  # a place and the kind: year first
    ("2026_云南省_政府工作报告", "2026年云南省政府工作报告", 2026),
    ("某县法治政府建设情况报告(1)", "某县法治政府建设情况报告", None),
    ("hzq2023_working", None, None),
])
def test_file_title(stem, title, year):
    from kb.ingest.metadata import file_title

    got, tag_year = file_title(stem)
    assert got == title
    if title:
        assert tag_year == year


def test_titles_from_heading_file_name_never_salutation_or_page_number():
    body = "各位代表：\n现在，我代表光明区人民政府向大会报告工作。\n一、2023年工作回顾\n我区……"
    assert _doc(body, hints={"file_title": "2024年光明区政府工作报告_2024"}).title == "2024年光明区政府工作报告"
    m = _doc(body)
    assert m.title == "光明区2024年政府工作报告（原文无标题）"
    pdf = "- 1 -\n洪泽区人民政府\n2023 年政府信息公开工作年度报告\n本报告由淮安市洪泽区人民政府办公室编制。"
    assert _doc(pdf, title="- 1 -", hints={"file_title": "hzq2023_working"}).title == "洪泽区人民政府2023年政府信息公开工作年度报告"
    assert _doc("现将有关情况报告如下：\n一、主要工作\n我县推进依法行政。", title="现将有关情况报告如下：").title != "现将有关情况报告如下："


def test_generic_printed_heading_says_whose():
    body = "政府工作报告\n——2026年1月26日在广东省第十四届人民代表大会第五次会议上\n各位代表：\n我代表省人民政府向大会报告工作。全省……"
    m = _doc(body)
    assert m.title == "2026年广东省政府工作报告" and (m.year, m.issued_year) == (2025, 2026)


# --- types and years ---------------------------------------------------------------------------

@pytest.mark.parametrize("title, body, doc_type", [
    ("海宁市司法局局长2023年度述法报告", "", "述法报告"),
    ("洪泽区人民政府2023年政府信息公开工作年度报告", "", "政府信息公开工作年度报告"),
    ("关于印发某县2024年普法依法治理工作实施方案的通知", "", "通知/意见/办法"),
    ("关于加强法治政府建设的实施意见", "", "通知/意见/办法"),
    ("嘉兴市人大常委会关于加强法治政府建设的决定", "", "决议/决定"),
    ("大鹏新区2024年管理委员会工作报告", "", "政府工作报告"),
    ("关于对市人大十六届二次会议第102号建议的答复", "", "提案/建议答复"),
    ("", "各位代表：\n现在，我代表区人民政府，向大会报告政府工作，请予审议。", "政府工作报告"),
    ("", "现将有关情况报告如下：\n一、推进法治政府建设\n全面推进法治政府建设……法治政府建设……", "法治政府建设年度报告"),
    ("", "本报告由某县人民政府办公室根据《中华人民共和国政府信息公开条例》要求编制此报告。", "政府信息公开工作年度报告"),
    ("", "现将本人2023年度履行推进法治建设第一责任人职责及述法情况报告如下：", "述法报告"),
    ("", "您提出的《关于加强社区矫正的建议》收悉，现答复如下：", "提案/建议答复"),
])
def test_issue_12_document_types(title, body, doc_type):
    assert _doc(body or "正文", title=title or None).doc_type == doc_type


def test_doc_type_cues_are_a_data_file(tmp_path):
    from kb.ingest.doctypes import CUES_FILE, classify, load_cues

    extra = tmp_path / "cues.txt"
    extra.write_text(CUES_FILE.read_text(encoding="utf-8") + "述法报告\ttitle\t述职述廉\n", encoding="utf-8")
    assert classify(["局长2023年述职述廉报告"], "", load_cues(extra))[0] == "述法报告"
    assert classify(["局长2023年述职述廉报告"], "")[0] == "其他"
    bad = tmp_path / "bad.txt"
    bad.write_text("诗歌\ttitle\t诗\n", encoding="utf-8")
    with pytest.raises(ValueError, match="bad.txt:1"):
        load_cues(bad)


@pytest.mark.parametrize("title, body, year, issued", [
    ("2024年光明区政府工作报告", "各位代表：\n一、2023年工作回顾\n……", 2023, 2024),  # reviews the year before
    ("深圳市政府工作报告", "——2026年1月20日在深圳市第八届人民代表大会第二次会议上\n一、“十四五”时期发展成就和2025年主要工作", 2025, 2026),
    ("深圳市光明区人民政府关于2021年度法治政府建设情况的报告", "……\n深圳市光明区人民政府\n2022年1月5日", 2021, 2022),
    ("深圳市龙华区2019年法治政府建设工作报告", "……\n深圳市龙华区人民政府\n2019年12月18日", 2019, 2019),
    ("洪泽区人民政府2023年政府信息公开工作年度报告", "本报告……", 2023, 2024),  # published by 31 January
])
def test_two_years(title, body, year, issued):
    m = _doc(body, title=title)
    assert (m.year, m.issued_year) == (year, issued)


def test_a_year_column_reads_like_a_title_year():
    m = _doc("各位代表：\n一、2025年工作回顾", title="政府工作报告", hints={"year": "2026", "province": "云南省"})
    assert (m.year, m.issued_year, m.region) == (2025, 2026, "云南省")
