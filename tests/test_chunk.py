"""Section detection and chunking on hand-written strings and on the five sample reports."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kb.ingest.chunk import chunk, cn_number, sections
from kb.models import ChunkSpan

SAMPLES = Path(__file__).resolve().parent.parent / "data" / "samples"
SAMPLE = {p.name[:3]: p for p in sorted(SAMPLES.glob("*.txt"))}


def text_of(key: str) -> str:
    return SAMPLE[key].read_text(encoding="utf-8")


def heading_paths(text: str) -> list[tuple[str, ...]]:
    return [s.path for s in sections(text) if s.path]


def path_at(chunks: list[ChunkSpan], text: str, needle: str) -> tuple[str, ...]:
    pos = text.find(needle)
    assert pos >= 0, needle
    hits = [c for c in chunks if c.start <= pos < c.end]
    assert len(hits) == 1, needle
    assert needle in text[hits[0].start : hits[0].end], "passage split across chunks"
    return hits[0].section


# --- heading detector on short strings ----------------------------------------------------------


def test_cn_number():
    assert [cn_number(s) for s in ("一", "九", "十", "十一", "二十", "二十三")] == [1, 9, 10, 11, 20, 23]
    assert cn_number("十四五") is None and cn_number("一二") is None and cn_number("") is None


def test_line_headings_all_levels():
    text = "前言。\n一、总体情况\n（一）职能转变\n1．依法防控。内容。\n（1）细项。内容。\n（2）细项二。\n2、第二点\n正文。\n（二）决策\n二、问题\n(一)不足。"
    assert heading_paths(text) == [
        ("一、总体情况",),
        ("一、总体情况", "（一）职能转变"),
        ("一、总体情况", "（一）职能转变", "1．依法防控"),
        ("一、总体情况", "（一）职能转变", "1．依法防控", "（1）细项"),
        ("一、总体情况", "（一）职能转变", "1．依法防控", "（2）细项二"),
        ("一、总体情况", "（一）职能转变", "2、第二点"),
        ("一、总体情况", "（二）决策"),
        ("二、问题",),
        ("二、问题", "(一)不足"),
    ]
    assert sections(text)[0].path == ()


def test_inline_headings_and_heading_text_end():
    text = (
        "报告如下: 一、2020年度基本情况 (一)堅持統籌協調,凝聚法治建設合力。一是高度重視。"
        "二是以身作則。 (二)笃学践行习近平法治思想,方向更加明确清晰 一是加强学习宣传。"
    )
    assert heading_paths(text) == [
        ("一、2020年度基本情况",),
        ("一、2020年度基本情况", "(一)堅持統籌協調,凝聚法治建設合力"),
        ("一、2020年度基本情况", "(二)笃学践行习近平法治思想,方向更加明确清晰"),
    ]


@pytest.mark.parametrize(
    "text",
    [
        "一、概况\n对第一、二批试点单位开展评估。",
        "一、概况\n依据第（一）项规定。按照（二）类标准办理。",
        "一、概况\n共培训1.5万人次,增长2.3%。2021.3出台办法。第1、2项已完成。",
        "一、概况\n谋划“十四五”规划。一是加强学习。二是加强宣传。三是加强督察。",
        "一、概况\n完成（1）号文件清理。",
        "一、概况\n一季度、二季度增长。3、4月份开展。",
    ],
)
def test_cross_references_and_points_are_not_headings(text):
    assert heading_paths(text) == [("一、概况",)]


def test_numbering_must_be_sequential_and_restarts_under_new_parent():
    text = "一、甲\n（一）子甲。\n（三）跳号。\n二、乙\n（一）子乙。\n四、跳号\n三、丙"
    assert heading_paths(text) == [
        ("一、甲",),
        ("一、甲", "（一）子甲"),
        ("二、乙",),
        ("二、乙", "（一）子乙"),
        ("三、丙",),
    ]


def test_skipped_level_and_tens():
    body = "".join(f"{'一二三四五六七八九'[i]}、第{i + 1}节。\n" for i in range(9))
    text = body + "十、第十节。\n十一、第十一节。\n1、直接三级。2、第二项。"
    assert heading_paths(text)[-4:] == [
        ("十、第十节",),
        ("十一、第十一节",),
        ("十一、第十一节", "1、直接三级"),
        ("十一、第十一节", "2、第二项"),
    ]


def test_long_numbered_paragraph_heading_is_capped():
    lead = "1、严格规范性文件备案审查"
    text = "一、文件\n" + lead + ",根据《" + "某" * 80 + "》的要求,严格审查。"
    assert heading_paths(text)[-1] == ("一、文件", lead)


def test_sections_tile_text():
    text = "序言。\n一、甲\n正文。\n（一）乙。正文。"
    secs = sections(text)
    assert secs[0].start == 0 and secs[-1].end == len(text)
    assert all(a.end == b.start for a, b in zip(secs, secs[1:]))
    assert text[secs[1].start :].startswith("一、甲")
    assert sections("") == [] and sections("没有标题的文字。")[0].path == ()


# --- chunking on short strings ------------------------------------------------------------------


def test_chunks_trimmed_capped_and_split_at_sentences():
    sentence = "依法行政工作稳步推进" * 5 + "。"  # 51 chars
    text = "一、甲\n" + " ".join([sentence] * 30) + " |\n二、乙\n短。"
    chunks = chunk(text, max_chars=300, min_chars=80)
    for c in chunks:
        piece = text[c.start : c.end]
        assert piece == piece.strip(" \n|") and len(piece) <= 300
        assert piece.endswith(("。", "甲", "乙")) or piece == "二、乙\n短。"
    assert chunks[-1].section == ("二、乙",) and text[chunks[-1].start : chunks[-1].end] == "二、乙\n短。"


def test_overlong_sentence_split_at_commas_then_hard():
    text = "，".join(["规范行政执法行为"] * 100) + "。" + "字" * 1200
    chunks = chunk(text, max_chars=200, min_chars=20)
    assert all(c.end - c.start <= 200 for c in chunks)
    assert "".join(text[c.start : c.end] for c in chunks) == text


def test_tiny_fragment_merges_within_section_only():
    text = "一、甲\n" + "内容很长。" * 30 + "尾。\n二、乙\n" + "短句。" * 3
    chunks = chunk(text, max_chars=100, min_chars=40)
    assert all(len(text[c.start : c.end]) >= 40 for c in chunks if c.section == ("一、甲",))
    assert chunks[-1].section == ("二、乙",)


# --- the five samples ---------------------------------------------------------------------------

NAMED: dict[str, list[tuple[str, tuple[str, ...]]]] = {
    "000": [
        ("正法直度", ("一、2020年度法治政府建設基本情況", "(二)加強執法監督,推動公正文明執法")),
        ("府院聯席會議", ("一、2020年度法治政府建設基本情況", "(一)堅持統籌協調,凝聚法治建設合力")),
        ("五是抓好法治政府示范創建", ("二、下一步工作安排",)),
    ],
    "001": [
        (
            "制定52条惠企措施",
            (
                "一、2020年推进法治政府建设情况",
                "(一)持续深入推进政府职能转变",
                "1.依法开展疫情防控,加快经济社会恢复发展",
            ),
        ),
        (
            "清退钓鱼",
            (
                "一、2020年推进法治政府建设情况",
                "(一)持续深入推进政府职能转变",
                "2.高标准履行保水首要政治责任,强化依法保水",
            ),
        ),
        ("少数领导干部习惯于", ("二、法治政府建设中存在的不足及原因", "(一)领导干部法治意识和程序意识还需进一步加强")),
        ("由区长任密云区推进依法行政工作协调小组组长", ("三、2020年政府主要负责人履行推进法治建设第一责任人职责,加强法治政府建设情况",)),
    ],
    "002": [
        ("综合查一次”616次", ("一、我县法治政府建设工作现况", "(二)持续深化法治保障,营商环境更加优质高效")),
        ("首批178个事项", ("一、我县法治政府建设工作现况", "(二)持续深化法治保障,营商环境更加优质高效")),
        ("一是切实加强党的领导", ("二、下一步工作举措",)),
    ],
    "003": [
        ("合法性建议5条", ("三、坚持依法行政,落实工作职责",)),
        ("镇党政主要负责人切实履行", ("一、强化法治宣传教育,推动法治建设责任落实",)),
    ],
    "004": [
        ("“跨省通办”事项已办理1698件", ("一、依法全面履行政府职能", "(二)创新政务服务,提升政务服务标准化、协同化、集成化、智能化水平")),
        ("2、开展政府规范性文件", ("二、加强规范性文件管理", "2、开展政府规范性文件涉及行政处罚内容专项清理工作")),
        ("法律专业人才匮乏", ("九、主要问题和不足",)),
    ],
}


def cleaned(text: str) -> str:
    """Roughly what the cleaner hands over: header rows gone, no pipes, one paragraph per line."""
    lines = (line.replace("|", " ").strip() for line in text.splitlines())
    body = "\n".join(line for line in lines if len(line) > 80 or (line and "|" not in text))
    return re.sub(r"(?<=[。:])[ \u3000]+", "\n", body)


@pytest.mark.parametrize("key", sorted(NAMED))
@pytest.mark.parametrize("prep", [lambda t: t, cleaned], ids=["raw", "cleaned"])
def test_named_passages(key, prep):
    text = prep(text_of(key))
    chunks = chunk(text)
    for needle, path in NAMED[key]:
        assert path_at(chunks, text, needle) == path


@pytest.mark.parametrize("key", sorted(SAMPLE))
def test_invariants_on_samples(key):
    text = text_of(key)
    secs = sections(text)
    assert secs[0].start == 0 and secs[-1].end == len(text)
    assert all(a.end == b.start and a.start < a.end for a, b in zip(secs, secs[1:]))
    assert all(not re.match(r"[一二三四五六七八九十]是", h) for s in secs for h in s.path)

    chunks = chunk(text, max_chars=500, min_chars=80)
    assert chunks
    covered = bytearray(len(text))
    prev_end = 0
    for c in chunks:
        assert 0 <= prev_end <= c.start < c.end <= len(text)
        prev_end = c.end
        piece = text[c.start : c.end]
        assert piece == piece.strip() and piece.strip("| ")
        assert c.end - c.start <= 500
        owner = [s for s in secs if s.start <= c.start and c.end <= s.end]
        assert len(owner) == 1 and owner[0].path == c.section, "chunk mixes sections"
        covered[c.start : c.end] = b"\1" * (c.end - c.start)
    missing = [ch for i, ch in enumerate(text) if not covered[i] and not ch.isspace() and ch != "|"]
    assert missing == []
    assert sum(c.end - c.start for c in chunks) / len(chunks) >= 150


def test_sample_heading_counts():
    assert len(heading_paths(text_of("001"))) == 42
    assert len(heading_paths(text_of("002"))) == 10
    assert [p for p in heading_paths(text_of("003"))] == [
        (h,)
        for h in (
            "一、强化法治宣传教育,推动法治建设责任落实",
            "二、统一指导思想,强化组织领导",
            "三、坚持依法行政,落实工作职责",
            "四、深化依法治理,推进法治政府建设",
            "五、加强机构队伍建设,进一步规范行政执法行为",
            "六、存在的问题和不足",
            "七、下一步工作计划",
        )
    ]
    assert [p[-1][:2] for p in heading_paths(text_of("004")) if len(p) == 1] == [
        "一、", "二、", "三、", "四、", "五、", "六、", "七、", "八、", "九、", "十、"
    ]


def test_weak_boundary_only_continues_open_numbering():
    assert heading_paths("一、甲。（一）乙。内容 （二）丙。") == [("一、甲",), ("一、甲", "（一）乙"), ("一、甲", "（二）丙")]
    assert heading_paths("一、甲。内容 （一）丙。") == [("一、甲",)]


def test_full_width_digits_and_heading_alone_on_line_with_space():
    assert heading_paths("一、甲\n１．第一 项\n正文。\n２．第二项。") == [
        ("一、甲",),
        ("一、甲", "１．第一 项"),
        ("一、甲", "２．第二项"),
    ]
