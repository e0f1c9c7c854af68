"""fold (search form, length-preserving) and clean (scrape noise out, body verbatim)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kb.ingest.normalise import clean, fold

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"


def sample(prefix: str) -> str:
    (path,) = SAMPLES.glob(f"{prefix}_*.txt")
    return path.read_text(encoding="utf-8")


ALL_SAMPLES = ["000", "001", "002", "003", "004"]

# ---------------------------------------------------------------------------------------------
# fold


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("綜合查一次", "综合查一次"),
        ("營商環境", "营商环境"),
        ("２０２０年", "2020年"),
        ("紹興市上虞區", "绍兴市上虞区"),
        ("ＡＢＣ＆ｘｙｚ！", "ABC&xyz!"),
        ("公開日期：2021", "公开日期:2021"),
        ("甲\u3000乙", "甲 乙"),
    ],
)
def test_fold_examples(text: str, folded: str) -> None:
    assert fold(text) == folded


def test_fold_keeps_chinese_punctuation() -> None:
    text = "一、依法行政,“放管服”改革。《条例》——完成!"
    assert fold(text) == text


def test_fold_empty_and_simplified_unchanged() -> None:
    assert fold("") == ""
    assert fold("北京市密云区人民政府") == "北京市密云区人民政府"


@pytest.mark.parametrize("prefix", ALL_SAMPLES)
def test_fold_preserves_length_and_positions(prefix: str) -> None:
    text = sample(prefix)
    folded = fold(text)
    assert len(folded) == len(text)
    # every newline, pipe and ASCII digit stays where it was, so spans map 1:1
    for i, ch in enumerate(text):
        if ch in "\n|0123456789":
            assert folded[i] == ch


def test_fold_position_maps_back_to_original() -> None:
    text = sample("000")
    start = fold(text).index("营商环境")
    assert text[start : start + 4] == "營商環境"


# ---------------------------------------------------------------------------------------------
# clean: the five samples


def test_clean_000_traditional_portal_table() -> None:
    c = clean(sample("000"))
    assert ">>" not in c.text and "|" not in c.text
    assert "信息公開目錄" not in c.text
    assert c.title == "紹興市上虞區2020年度法治政府建設工作情況"
    assert c.text.split("\n")[0] == c.title
    assert c.fields["公開日期"] == "2021-03-29 15:41"
    assert c.fields["公開方式"] == "主動公開"
    assert "索引號" not in c.fields and "發布單位" not in c.fields  # 無 is a placeholder
    assert "索引號" not in c.text and "公開日期" not in c.text
    assert "樹立“法治是最好的營商環境”理念" in c.text  # original script kept
    assert c.text.rstrip().endswith("全面提升法治政府建設質量和水平。")


def test_clean_001_portal_chrome() -> None:
    c = clean(sample("001"))
    for chrome in ("分享", "字号", "您访问的链接即将离开", "首都之窗", "是否继续", "已归档"):
        assert chrome not in c.text, chrome
    assert c.fields["来源"] == "北京市密云区人民政府"
    assert c.fields["日期"] == "2021-03-31 10:00"
    assert c.title == "北京市密云区人民政府2020年法治政府建设年度情况报告"
    assert c.text.startswith(c.title + "\n")
    assert "(一)持续深入推进政府职能转变" in c.text
    assert c.text.endswith("提高案件调解、和解结案比例。")
    assert "\n\n\n" not in c.text


def test_clean_002_fields_title_and_body() -> None:
    c = clean(sample("002"))
    assert c.fields["发布机构"] == "县司法局"
    assert c.fields["成文日期"] == "2023-06-05"
    assert c.fields["索引号"] == "113304240025560106/2023-74723"
    assert c.fields["文件编号"] == "盐司函〔2023〕2号"
    assert c.fields["组配分类"] == "建议提案"
    assert "有效性" not in c.fields  # empty value dropped
    assert c.title == "关于县政协十届二次会议第75号提案的答复函"
    assert c.text.split("\n")[0] == c.title
    assert "|" not in c.text and "索引号" not in c.text
    assert "一、我县法治政府建设工作现况 (一)笃学践行习近平法治思想" in c.text
    assert "(二)持续深化法治保障,营商环境更加优质高效" in c.text
    assert "“综合查一次”616次" in c.text
    assert c.text.endswith("海盐县司法局 2023年6月5日")


def test_clean_003_qr_prompt() -> None:
    c = clean(sample("003"))
    assert "扫一扫在手机打开当前页" not in c.text
    assert c.title == "关于2024年法治政府建设工作情况的报告"
    assert "积极推进行政执法“综合查一次”工作" in c.text
    assert c.text.endswith("确保公众意见得到充分重视。")


def test_clean_004_clean_input_untouched() -> None:
    raw = sample("004")
    c = clean(raw)
    assert c.text == raw.strip()
    assert c.title is None and c.fields == {}
    assert c.text.endswith("2021年12月31日")


@pytest.mark.parametrize("prefix", ALL_SAMPLES)
def test_clean_keeps_every_body_passage(prefix: str) -> None:
    """Noise removal never eats prose: every long cell of the scrape survives verbatim."""
    raw = sample(prefix)
    text = clean(raw).text
    for cell in re.split(r"[|\n]", raw.replace("\xa0", " ")):
        cell = re.sub(r" {2,}", " ", cell).strip()
        if len(cell) > 40 and not cell.startswith(">>"):
            assert cell in text


@pytest.mark.parametrize("prefix", ALL_SAMPLES)
def test_clean_is_idempotent(prefix: str) -> None:
    once = clean(sample(prefix))
    twice = clean(once.text)
    assert twice.text == once.text
    assert twice.title == once.title


# ---------------------------------------------------------------------------------------------
# clean: general patterns


def test_clean_table_rows_become_cells() -> None:
    raw = "一、主要指标\n| 指标 | 2020 | 2021 |\n|---|---|---|\n| 行政复议案件 | 153 | 160 |\n以上为主要数据。"
    c = clean(raw)
    assert c.text == "一、主要指标\n指标\t2020\t2021\n行政复议案件\t153\t160\n以上为主要数据。"


@pytest.mark.parametrize(
    "crumb",
    [
        "首页 > 信息公开 > 法治政府建设",
        "当前位置:首页 > 政务公开 > 法治政府",
        "您现在的位置:首页>>信息公开",
        ">> 信息公開 >> 法治政府工作報告",
        "網站首頁 » 政務公開 » 年度報告",
    ],
)
def test_clean_drops_breadcrumbs(crumb: str) -> None:
    c = clean(f"{crumb}\n一、基本情况\n全年办理行政复议案件153件。")
    assert c.text == "一、基本情况\n全年办理行政复议案件153件。"


@pytest.mark.parametrize(
    "chrome",
    [
        "分享:",
        "分享到: 微信 微博 QQ空间",
        "字号:大 中 小",
        "【字体:大 中 小】 【打印】 【关闭窗口】",
        "打印 | 关闭",
        "掃一掃在手機打開當前頁",
        "已歸檔",
        "您访问的链接即将离开“首都之窗”门户网站 是否继续?",
        "上一篇:关于某某工作的通知",
        "版权所有:某市人民政府办公室 京ICP备12345678号",
    ],
)
def test_clean_drops_portal_chrome(chrome: str) -> None:
    body = "一、基本情况\n全年办理行政复议案件153件。"
    assert clean(f"{body}\n{chrome}\n二、下一步计划\n继续推进。").text == f"{body}\n二、下一步计划\n继续推进。"


def test_clean_inline_prompts_removed_from_one_line_scrape() -> None:
    raw = "全年办理行政复议案件153件,依法审结135件。扫一扫在手机打开当前页"
    assert clean(raw).text == "全年办理行政复议案件153件,依法审结135件。"


def test_clean_header_fields_both_colons_and_spaced_labels() -> None:
    raw = (
        "某县2022年法治政府建设年度报告\n"
        "来  源:县司法局    发布时间:2023-01-05 09:00\n"
        "文號:某政〔2023〕1號 | 公開方式:主動公開 | 有效性:无\n"
        "2022年,我县坚持依法行政。\n"
        "责任编辑:张三"
    )
    c = clean(raw)
    assert c.fields == {
        "来源": "县司法局",
        "发布时间": "2023-01-05 09:00",
        "文號": "某政〔2023〕1號",
        "公開方式": "主動公開",
        "责任编辑": "张三",
    }
    assert c.text == "某县2022年法治政府建设年度报告\n2022年,我县坚持依法行政。"


def test_clean_label_lines_inside_body_are_body() -> None:
    """Field rows are parsed only around the page header/footer, not from the report itself."""
    raw = "关于召开法治政府建设推进会的通知\n各有关单位:\n日期:2023年3月1日\n地点:区政府三楼会议室\n请准时参加。"
    c = clean(raw)
    assert "日期:2023年3月1日" in c.text and "地点:区政府三楼会议室" in c.text
    assert c.fields == {}


def test_clean_title_first_and_not_repeated() -> None:
    raw = (
        "| 索引号: | 0001 | 发布机构: | 市政府 |\n"
        "某市2021年法治政府建设年度报告\n"
        "某市2021年法治政府建设年度报告\n\n\n\n"
        "2021年,我市坚持依法行政。"
    )
    c = clean(raw)
    assert c.title == "某市2021年法治政府建设年度报告"
    assert c.text == "某市2021年法治政府建设年度报告\n2021年,我市坚持依法行政。"
    assert c.fields == {"索引号": "0001", "发布机构": "市政府"}


def test_clean_never_reorders_lines_to_find_a_title() -> None:
    raw = "前言\n工作开展情况\n| 指标 | 2020 |\n全年办结案件12件。"
    c = clean(raw)
    assert c.title is None
    assert c.text == "前言\n工作开展情况\n指标\t2020\n全年办结案件12件。"


def test_clean_one_line_portal_export() -> None:
    raw = "| 索引號: | 123 | 發布機構: | 市政府 | 某市2021年法治政府建設年度報告 | 2021年,我市堅持依法行政。 | 打印 | 關閉 |"  # noqa: E501
    c = clean(raw)
    assert c.title == "某市2021年法治政府建設年度報告"
    assert c.text == "某市2021年法治政府建設年度報告\n2021年,我市堅持依法行政。"
    assert c.fields == {"索引號": "123", "發布機構": "市政府"}


def test_clean_collapses_blank_runs_but_keeps_paragraphs() -> None:
    raw = "\ufeff  一、基本情况\r\n\r\n\r\n\r\n  全年办结案件12件。\u200b  \n\n二、问题\n"
    assert clean(raw).text == "一、基本情况\n\n全年办结案件12件。\n\n二、问题"


def test_clean_empty() -> None:
    assert clean("").text == ""
    assert clean("| | |\n||\n分享:").text == ""
