"""The Streamlit page, driven headless through `streamlit.testing` (no browser).

Uses the session-scoped demo index from conftest.py (`demo_index_path`: the five sample reports,
built once per session with `build_demo_index`) and points the app at it through $KB_INDEX — the
same rule the CLI uses.
"""

from __future__ import annotations

import csv
import io
import re
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.ui  # the Streamlit page in-process on the demo index (tiers: docs/testing.md)

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402
from streamlit.testing.v1 import app_test as _app_test_mod  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "ui" / "app.py"
if str(APP.parent) not in sys.path:
    sys.path.insert(0, str(APP.parent))  # ui/render.py: the page's pure render helpers
TIMEOUT = 60
QUESTION = "哪些地区推行综合查一次"


# ---- helpers -----------------------------------------------------------------------------------
class _RecordingStorage(_app_test_mod.MemoryMediaFileStorage):
    """AppTest's in-memory media storage, remembered so a test can read download-button data."""

    last: _RecordingStorage | None = None

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        _RecordingStorage.last = self


@pytest.fixture
def app(monkeypatch, demo_index_path) -> AppTest:
    monkeypatch.setenv("KB_INDEX", str(demo_index_path))
    monkeypatch.setattr(_app_test_mod, "MemoryMediaFileStorage", _RecordingStorage)
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def ask(at: AppTest, query: str) -> AppTest:
    at.text_input(key="w_q_input").input(query)
    next(b for b in at.button if b.label == "检索").click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def html_blocks(at: AppTest) -> list[str]:
    return [h.value for h in at.html]


def regions_table(at: AppTest) -> str:
    tables = [h for h in html_blocks(at) if "kb-regions" in h]
    assert len(tables) == 1, "expected one answer card with a regions table"
    return tables[0]


def passage_blocks(at: AppTest) -> list[str]:
    return [h for h in html_blocks(at) if "kb-passage" in h]


def download_text(at: AppTest, key: str) -> str:
    button = at.download_button(key=key)
    url = button.proto.url
    assert url, f"download button {key} has no data"
    data = _RecordingStorage.last.get_file(url.rsplit("/", 1)[-1]).content
    return data.decode("utf-8-sig")


# ---- render helpers (pure) -----------------------------------------------------------------------
def test_highlight_marks_traditional_text_at_folded_positions():
    from render import esc, highlight, highlight_terms

    terms = highlight_terms(["综合查一次", "查"])  # single characters are not marked
    assert terms == ["综合查一次"]
    assert highlight("推行「綜合查一次」改革", terms) == "推行「<mark>綜合查一次</mark>」改革"
    assert highlight("<script>alert(1)</script>综合查一次", terms) == (
        "&lt;script&gt;alert(1)&lt;/script&gt;<mark>综合查一次</mark>"
    )
    assert esc('"&<>') == "&quot;&amp;&lt;&gt;"


def test_source_is_a_file_name_or_a_link():
    from render import source_html

    assert source_html("/data/samples/002_x.txt") == '<span title="/data/samples/002_x.txt">002_x.txt</span>'
    assert source_html("https://example.gov.cn/a?b=1&c=2").startswith('<a href="https://example.gov.cn/a?b=1&amp;c=2"')
    assert "<a" not in source_html("javascript:alert(1)")


# ---- the page -------------------------------------------------------------------------------------
def test_which_regions_question_gets_an_answer_card(app):
    ask(app, QUESTION)
    table = regions_table(app)
    assert "海盐" in table and "阳城" in table
    assert "2023" in table and "2024" in table
    assert "<mark>综合查一次</mark>" in table  # the quotes, with the practice highlighted
    answer_line = next(h for h in html_blocks(app) if "kb-answer" in h)
    assert "个地区" in answer_line and "海盐县" in answer_line and "阳城镇" in answer_line
    assert app.get("vega_lite_chart"), "the answer card has a chart of regions"
    hits = passage_blocks(app)
    assert hits and all("BM25" in h and "来源" in h for h in hits)
    assert any("<mark>综合查一次</mark>" in h for h in hits)
    took = next(c.value for c in app.caption if "用时" in c.value)
    assert re.search(r"用时 \d+ ms", took)


def test_second_query_answers_well_under_a_second(app):
    ask(app, QUESTION)  # the first query may wait for loading and the background warm-up
    ask(app, "哪些地区推行一网通办")
    took = next(c.value for c in app.caption if "用时" in c.value)
    ms = int(re.search(r"用时 (\d+) ms", took).group(1))
    assert ms < 1000, took


def test_year_filter_changes_the_results(app):
    ask(app, QUESTION)
    assert "海盐" in regions_table(app)
    app.slider(key="w_years").set_value((2024, 2024)).run()
    table = regions_table(app)
    assert "阳城" in table and "海盐" not in table
    hits = passage_blocks(app)
    assert hits and all("2024年" in h for h in hits)


def test_province_filter_options_come_from_metadata(app):
    options = app.selectbox(key="w_province").options
    assert options[0] == "全部" and "浙江省" in options


def test_query_matching_nothing_says_so(app):
    ask(app, "“量子纠缠通信卫星”")
    assert not passage_blocks(app)
    assert any("没有找到" in i.value for i in app.info)


def test_export_answer_and_results(app):
    ask(app, QUESTION)
    quote = re.search(r'<div class="kb-quote"><a [^>]*>「(.*?)」</a></div>', regions_table(app)).group(1)
    quote = re.sub(r"</?mark>", "", quote)
    rows = list(csv.DictReader(io.StringIO(download_text(app, "dl-answer-csv"))))
    assert {r["地区"] for r in rows} >= {"海盐县", "阳城镇"}
    assert any(r["原文引用"] == quote for r in rows)
    assert all(r["标题"] and r["层级"] and r["来源"].endswith(".txt") for r in rows)
    md = download_text(app, "dl-answer-md")
    assert quote in md and "海盐县" in md
    assert "综合查一次" in download_text(app, "dl-results-csv")
    assert "来源：" in download_text(app, "dl-results-md")


def test_passage_context_and_similar_practices(app):
    ask(app, QUESTION)
    assert app.expander and app.expander[0].label == "本节上下文"
    assert any("kb-current" in h for h in html_blocks(app))
    similar = next(b for b in app.button if b.label == "其他地区的类似做法")
    similar.click().run()
    assert not app.exception
    assert any(m.value == "**其他地区的类似做法**" for m in app.markdown)


def test_figure_question_gets_a_table_and_traditional_text_is_highlighted(app):
    ask(app, "出庭应诉率是多少")
    table = next(h for h in html_blocks(app) if "kb-figures" in h)
    assert "上虞区" in table and "97%" in table
    # the quote stays in its original (Traditional) script, the Simplified term still marks it
    assert "<mark>出庭應訴率</mark>" in table
    assert any("<mark>出庭應訴率</mark>" in h for h in passage_blocks(app))


def test_compare_question_gets_side_by_side_columns(app):
    ask(app, "对比海盐和密云的行政复议")
    columns = [h for h in html_blocks(app) if "kb-compare" in h]
    assert len(columns) == 2
    assert "海盐县" in columns[0] and "密云区" in columns[1]
    assert all("<mark>行政复议</mark>" in c for c in columns)


def test_documents_page_lists_reports_and_reads_one(app):
    app.segmented_control(key="w_page").set_value("docs").run()
    assert not app.exception
    table = app.dataframe[0].value
    assert len(table) == 5 and {"标题", "地区", "市", "省份", "层级", "类型", "年份", "段落数", "来源"} <= set(table.columns)
    assert not table[["标题", "地区", "省份", "层级", "类型", "来源"]].isna().any().any()  # "—", never None
    assert all("/" not in s for s in table["来源"])  # file names, not the server's paths
    doc_id = table[table["地区"] == "海盐县"]["ID"].iloc[0]
    app.session_state["doc"] = doc_id  # what selecting the row does
    app.run()
    tree = next(h for h in html_blocks(app) if "kb-card kb-report\"" in h)
    assert tree.count("<details") >= 3 and "kb-target" not in tree  # no passage asked for: nothing marked


def test_view_comes_from_the_url(monkeypatch, demo_index_path):
    """A shared link: query, mode and filters from the URL, the answer within those filters."""
    monkeypatch.setenv("KB_INDEX", str(demo_index_path))
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.query_params.update({"q": QUESTION, "mode": "bm25", "years": "2024-2024", "province": "不存在省"})
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.text_input(key="w_q_input").value == QUESTION
    assert at.radio(key="w_mode").value == "bm25"
    assert at.slider(key="w_years").value == (2024, 2024)
    assert at.selectbox(key="w_province").value == "不存在省"  # kept visible, so it can be cleared
    assert not passage_blocks(at)
    at.selectbox(key="w_province").set_value("全部").run()
    table = regions_table(at)
    assert "阳城" in table and "海盐" not in table  # the year filter from the URL still applies


def test_upload_failure_is_in_chinese_and_the_summary_warns(monkeypatch, demo_copy):
    monkeypatch.setenv("KB_INDEX", str(demo_copy))
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT).run()
    at.segmented_control(key="w_page").set_value("ingest").run()
    good = "龙泉市2024年法治政府建设工作报告\n\n一、主要做法\n\n推行“山区执法联动”，全年联动执法 9 次。\n".encode()
    at.file_uploader(key="uploads").set_value([("good.txt", good, "text/plain"), ("empty.txt", b"  \n", "text/plain")])
    next(b for b in at.button if b.label == "导入").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.success and at.warning and "1 个文件没有导入" in at.warning[0].value
    outcomes = next(h for h in html_blocks(at) if "kb-outcomes" in h)
    assert "<td class=\"kb-nowrap\">empty.txt</td><td class=\"kb-nowrap\">失败</td><td>空文档：文件里没有文字</td>" in outcomes
    new_docs = next(h for h in html_blocks(at) if "kb-new-docs" in h)
    assert "龙泉市" in new_docs and "浙江省" in new_docs and "2024" in new_docs


def test_library_reasons_read_in_chinese():
    from messages import reason_zh

    assert reason_zh("empty document") == "空文档：文件里没有文字"
    assert reason_zh("unreadable PDF (PdfStreamError: Stream has ended unexpectedly)") == "PDF 文件损坏，无法读取（PdfStreamError）"
    assert reason_zh("file too large (120.5 MB; limit 100 MB, raise it with --max-file-mb or KB_MAX_FILE_MB)") == \
        "文件过大（120.5 MB，上限 100 MB）"
    assert reason_zh("something new") == "其他原因：something new"  # never hidden


def test_no_index_says_how_to_build_one(monkeypatch, tmp_path):
    monkeypatch.setenv("KB_INDEX", str(tmp_path / "nothing-here"))
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT).run()
    assert not at.exception
    assert any("没有找到索引" in w.value for w in at.warning)
    assert any("kb.cli ingest" in c.value for c in at.code)


def test_ingest_upload_refreshes_the_index_and_shows_markup_as_text(monkeypatch, demo_copy):
    monkeypatch.setenv("KB_INDEX", str(demo_copy))
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT).run()
    at.segmented_control(key="w_page").set_value("ingest").run()
    report = (
        "<script>alert('x')</script>青田县2024年法治政府建设年度报告\n\n"
        "一、主要做法\n\n今年我县推行<b>“跨部门联合夜查”</b>机制，联合夜查 12 次。\n"
    ).encode("utf-8")
    at.file_uploader(key="uploads").set_value([("evil.txt", report, "text/plain")])
    next(b for b in at.button if b.label == "导入").click().run()
    assert not at.exception, [e.value for e in at.exception]
    outcomes = next(h for h in html_blocks(at) if "kb-outcomes" in h)
    assert "<td class=\"kb-nowrap\">evil.txt</td><td class=\"kb-nowrap\">新增</td>" in outcomes

    at.segmented_control(key="w_page").set_value("search").run()
    assert at.sidebar.metric[0].value == "6"  # the new document, without restarting
    ask(at, "跨部门联合夜查")
    hits = passage_blocks(at)
    assert any("联合夜查" in h for h in hits)
    everything = "".join(html_blocks(at))
    assert "<script" not in everything and "<b>" not in everything
    assert "&lt;b&gt;" in everything


def test_related_regions_are_shown_apart_and_weak_results_are_flagged(app):
    ask(app, "哪些地区把执法权交给乡镇和街道")
    labels = [e.label for e in app.expander]
    assert any(label.startswith("语义相近、但未出现") for label in labels), labels
    ask(app, "量子纠缠猫咪跳舞")
    assert any("仅供参考" in w.value for w in app.warning), [w.value for w in app.warning]
