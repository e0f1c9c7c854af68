"""The daily work, in real Chromium against `streamlit run ui/app.py` on a real index.

From a quote to the report and back, a shared/reloaded URL, fixing and deleting a document, an
upload that partly fails, the practice atlas, a region page, exports opened and checked, and the
same pages at 420 px. Screenshots go to artifacts/; KB_UPDATE_DOCS=1 also copies them to docs/.
The index is the demo corpus plus tests/fixtures/ui/ (青田县 2023 and 2024: a figure in both years
and a passage that starts with =HYPERLINK(…)).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import re
import shutil
from pathlib import Path
from urllib.parse import parse_qs, quote, urlparse

import pytest
from test_ui_browser import (  # noqa: F401 (browser_tools is a fixture) — tests/ is on sys.path
    ARTIFACTS,
    ROOT,
    browser_tools,
    chromium_page,
    streamlit_server,
    wait_idle,
)

from kb import KnowledgeBase

try:  # auto-waiting checks (a widget's value arrives a moment after the elements around it)
    from playwright.sync_api import expect
except ImportError:  # without playwright the browser_tools fixture skips (or fails when KB_BROWSER_REQUIRED=1)
    expect = None

pytestmark = pytest.mark.browser
QUESTION = "哪些地区推行综合查一次"
DOCS = ROOT / "docs"
TIMEOUT_MS = 180_000  # per wait: generous, the machine may be shared (event-based waits, never sleeps)


@pytest.fixture(scope="module")
def ui_index(browser_tools, ui_index_path) -> Path:
    """The shared UI index (conftest), after the browser check: a machine without one skips at once."""
    return ui_index_path


@pytest.fixture(scope="module")
def server(browser_tools, ui_index):
    with streamlit_server(ui_index, ARTIFACTS / "streamlit-workflows.log") as (url, _):
        yield url


@pytest.fixture
def page(browser_tools, server):
    with chromium_page(browser_tools, server) as pg:
        pg.set_default_timeout(TIMEOUT_MS)
        wait_idle(pg)
        yield pg


@pytest.fixture
def private_server(browser_tools, ui_index, tmp_path):
    """A server on a copy of its own: for tests that change the index."""
    index = tmp_path / "index"
    shutil.copytree(ui_index, index)
    with streamlit_server(index, ARTIFACTS / f"streamlit-{tmp_path.name}.log") as (url, _):
        yield url, index


# ---- helpers ---------------------------------------------------------------------------------------
# The page draws `.kb-results-done` (data-query, data-chunks, data-run) after the last passage of a
# query's results (ui/render.py results_marker). Drawn by a run other than `after`, not stale (no element
# of an earlier run left on the page), and the passages on the page exactly the ones it lists: that
# query's results are shown in full. Tests wait on that event, never on time.
RESULTS_SHOWN = """([query, after]) => {
    const done = [...document.querySelectorAll('.kb-results-done')].filter(m => m.dataset.query === query);
    if (done.length !== 1 || done[0].dataset.run === after || document.querySelector('[data-stale="true"]')) return null;
    const ids = [...document.querySelectorAll('.kb-passage')]  // results only: not the answer card's, not 类似做法
        .filter(p => p.closest('.st-key-passage-' + p.id.replace('kb-passage-', '')));
    const shown = ids.map(p => p.id.replace('kb-passage-', '')).join(',');
    return shown === done[0].dataset.chunks ? done[0].dataset.chunks : null;
}"""
LAST_RUN = "() => document.querySelector('.kb-results-done')?.dataset.run ?? null"


def shown_results(page, query: str, after: str | None = None) -> list[int]:
    """The chunk ids of `query`'s passages once the page has drawn them all (see RESULTS_SHOWN)."""
    chunks = page.wait_for_function(RESULTS_SHOWN, arg=[query, after]).json_value()
    wait_idle(page)
    return [int(c) for c in chunks.split(",") if c]


def ask(page, text: str) -> list[int]:
    """Search for `text`; the chunk ids of the passages shown, once all are drawn."""
    before = page.evaluate(LAST_RUN)  # a marker already on the page (the same query asked again) does not count
    page.get_by_label("检索词或问题").fill(text)
    page.get_by_role("button", name="检索", exact=True).click()
    return shown_results(page, text, after=before)


def choose(page, label: str, option: str) -> None:
    """Pick `option` in the sidebar selectbox labelled `label`."""
    page.locator('[data-testid="stSidebar"]').get_by_label(label, exact=True).click()
    page.get_by_role("option", name=option, exact=True).click()
    wait_idle(page)


def params(page) -> dict[str, list[str]]:
    return parse_qs(urlparse(page.url).query)


def no_errors(page) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0
    assert page.locator('[data-testid="stAlertContentError"]').count() == 0


def passage_texts(page) -> list[str]:
    return [p.inner_text() for p in page.locator(".kb-passage").all()]


SETTLED = """() => !document.querySelector('[data-testid="stSkeleton"]')
    && [...document.querySelectorAll('[data-testid="stDataFrame"]')].every(d => d.querySelector('canvas'))
    && [...document.querySelectorAll('[data-testid="stVegaLiteChart"], .vega-embed')].every(c => c.querySelector('canvas, svg'))"""


def shot(page, name: str) -> None:
    """Screenshot to artifacts/, and to docs/ when KB_UPDATE_DOCS=1 (the README shows those);
    taken once tables and charts have drawn (no loading skeletons left)."""
    page.wait_for_function(SETTLED)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))
    if os.environ.get("KB_UPDATE_DOCS") == "1":
        DOCS.mkdir(exist_ok=True)
        shutil.copyfile(ARTIFACTS / f"{name}.png", DOCS / f"{name}.png")


# ---- from a quote to the report and back -----------------------------------------------------------
def test_quote_opens_the_report_at_its_span_and_back_to_the_same_results(page):
    choose(page, "省份", "浙江省")
    chunks_before = ask(page, QUESTION)
    card = page.locator(".st-key-answer-card")
    table_before = card.locator(".kb-regions").inner_text()
    passages_before = passage_texts(page)
    assert chunks_before and len(passages_before) == len(chunks_before)
    assert "海盐县" in table_before and "阳城镇" not in table_before  # the province filter applies

    link = card.locator("tr", has_text="海盐县").locator(".kb-quote-link").first
    quote = link.inner_text().strip("「」")
    link.click()
    page.wait_for_url(re.compile(r"page=docs"))
    target = page.locator("mark.kb-target")
    target.wait_for()
    wait_idle(page)
    no_errors(page)
    assert target.inner_text() == quote  # exactly the quoted span is marked
    assert target.is_visible()  # scrolled to, inside open sections
    sections = target.locator("xpath=ancestor::details")
    assert sections.count() >= 1 and all(d.get_attribute("open") is not None for d in sections.all())
    heading = sections.last.locator(":scope > summary").inner_text()
    assert heading.startswith("(二)持续深化法治保障")
    closed = page.locator(".kb-report details:not([open])").first.element_handle()  # the rest is folded
    closed.query_selector(":scope > summary").click()
    assert closed.get_attribute("open") is not None  # … one click away
    q = params(page)
    assert q["doc"] and q["passage"] and q["span"][0] == f"{906}-{958}" and q["province"] == ["浙江省"]
    shot(page, "report-view")

    page.locator(".st-key-back-to-results button").click()
    assert shown_results(page, QUESTION) == chunks_before  # the same passages, in the same order
    expect(page.get_by_label("检索词或问题")).to_have_value(QUESTION)
    expect(page.locator('[data-testid="stSidebar"]').get_by_label("省份", exact=True)).to_have_value("浙江省")
    assert card.locator(".kb-regions").inner_text() == table_before
    assert passage_texts(page) == passages_before
    no_errors(page)


def test_passage_opens_its_report_and_ranks_are_behind_a_toggle(page):
    ask(page, "府院联动")
    first = page.locator(".kb-passage").first
    details = first.locator("details.kb-details")
    assert details.get_attribute("open") is None  # ranks and score folded away
    details.locator("summary").click()
    assert details.get_attribute("open") is not None and details.get_by_text("BM25").is_visible()
    text = first.locator(".kb-text").inner_text()
    first.locator(".kb-open").click()
    page.wait_for_url(re.compile(r"page=docs"))
    page.locator("mark.kb-target").wait_for()
    assert page.locator("mark.kb-target").inner_text().replace("\n", "") in text.replace("\n", "")
    no_errors(page)


# ---- the view in the URL -----------------------------------------------------------------------------
def test_reloaded_url_reproduces_a_filtered_search(page):
    ask(page, "行政复议")
    page.locator('[data-testid="stSidebar"]').get_by_text("BM25 关键词").click()
    wait_idle(page)
    choose(page, "省份", "浙江省")
    page.locator(".kb-passage").first.wait_for()
    page.wait_for_function("() => { const b = [...document.querySelectorAll('.kb-passage .kb-region')];"
                           " return b.length && b.every(e => ['海盐县', '上虞区', '青田县'].includes(e.innerText)); }")
    wait_idle(page)
    before = passage_texts(page)
    page.wait_for_url(re.compile(r"province="))
    q = params(page)
    assert q["q"] == ["行政复议"] and q["mode"] == ["bm25"] and q["province"] == ["浙江省"]

    page.reload()
    page.locator(".kb-passage").first.wait_for()
    wait_idle(page)
    assert passage_texts(page) == before
    expect(page.get_by_label("检索词或问题")).to_have_value("行政复议")
    expect(page.locator('[data-testid="stSidebar"]').get_by_label("省份", exact=True)).to_have_value("浙江省")
    expect(page.locator('[data-testid="stSidebar"]').get_by_role("radio", name="BM25 关键词")).to_be_checked()

    shared = page.url
    other = page.context.browser.new_context(locale="zh-CN").new_page()  # a colleague opens the shared link
    other.goto(shared)
    other.locator(".kb-passage").first.wait_for()
    wait_idle(other)
    assert passage_texts(other) == before
    other.context.close()

    # Moving between pages keeps the query and the filters.
    page.locator(".st-key-w_page").get_by_role("radio", name="文档").click()
    wait_idle(page)
    expect(page.locator('[data-testid="stSidebar"]').get_by_label("省份", exact=True)).to_have_value("浙江省")
    page.locator(".st-key-w_page").get_by_role("radio", name="检索问答").click()
    page.locator(".kb-passage").first.wait_for()
    wait_idle(page)
    expect(page.get_by_label("检索词或问题")).to_have_value("行政复议")
    assert passage_texts(page) == before


def test_example_questions_are_clickable(page):
    page.locator(".st-key-examples").get_by_role("button", name="各地败诉率是多少").click()
    page.locator(".st-key-answer-card .kb-figures").wait_for()
    wait_idle(page)
    expect(page.get_by_label("检索词或问题")).to_have_value("各地败诉率是多少")
    assert "败诉率" in page.locator(".st-key-answer-card").inner_text()


# ---- exports ----------------------------------------------------------------------------------------
def test_csv_and_xlsx_exports_open_with_chinese_headers_and_inert_formulas(page):
    from openpyxl import load_workbook

    ask(page, "哪些地区推行夜间联合查")
    card = page.locator(".st-key-answer-card")
    card.locator(".kb-regions").wait_for()
    with page.expect_download() as info:
        card.locator(".st-key-dl-answer-csv button").first.click()
    download = info.value
    today = dt.date.today().isoformat()
    assert download.suggested_filename == f"哪些地区推行夜间联合查_回答_{today}.csv"
    data = Path(download.path()).read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads it as UTF-8
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == ["地区", "省份", "层级", "年份", "标题", "章节", "原文引用", "来源", "起始位置", "结束位置"]
    evil = next(r for r in rows[1:] if "HYPERLINK" in r[6])
    assert evil[6].startswith("'=HYPERLINK(")  # neutralised: a spreadsheet shows it as text
    assert evil[:4] == ["青田县", "浙江省", "县级", "2024"] and evil[7] == "青田县2024年法治政府建设工作报告.txt"
    assert all(not cell.startswith(("=", "+", "-", "@")) for r in rows for cell in r)

    with page.expect_download() as info:
        card.locator(".st-key-dl-answer-xlsx button").first.click()
    ws = load_workbook(io.BytesIO(Path(info.value.path()).read_bytes())).active
    assert [c.value for c in ws[1]][:4] == ["地区", "省份", "层级", "年份"]
    cell = next(c for row in ws.iter_rows(min_row=2) for c in row if "HYPERLINK" in str(c.value))
    assert cell.data_type == "s" and cell.value.startswith("'=")


# ---- atlas and region page --------------------------------------------------------------------------
def test_atlas_cell_opens_its_quotes_and_a_typed_practice_becomes_a_column(page):
    page.locator(".st-key-w_page").get_by_role("radio", name="实践图谱").click()
    page.locator(".kb-atlas").wait_for()
    wait_idle(page)
    no_errors(page)
    headers = page.locator(".kb-atlas th").all_inner_texts()
    assert "综合查一次" in headers  # named by three regions of six: it tells regions apart

    box = page.locator(".st-key-w_practices input")
    box.click()
    box.fill("夜间联合查")
    box.press("Enter")
    page.keyboard.press("Escape")
    page.wait_for_function("() => [...document.querySelectorAll('.kb-atlas th')].some(t => t.innerText === '夜间联合查')")
    page.wait_for_url(re.compile("practice=" + quote("夜间联合查")))  # the typed column is in the URL

    column = page.locator(".kb-atlas th").all_inner_texts().index("综合查一次")
    row = page.locator(".kb-atlas tbody tr", has_text="海盐县")
    cell = row.locator("td").nth(column)
    count = int(cell.inner_text())
    cell.locator("a").click()
    page.wait_for_url(re.compile(r"cell="))
    quotes = page.locator(".st-key-atlas-cell .kb-quote")
    quotes.first.wait_for()
    wait_idle(page)
    assert quotes.count() == count == 3
    assert all("综合查一次" in q for q in quotes.all_inner_texts())
    assert "夜间联合查" in page.locator(".kb-atlas th").all_inner_texts()  # the typed column survived the link
    shot(page, "atlas-cell")
    page.locator(".st-key-atlas-cell .kb-quote-link").first.click()
    page.wait_for_url(re.compile(r"page=docs"))
    page.locator("mark.kb-target", has_text="综合查一次").wait_for()
    wait_idle(page)
    page.locator(".st-key-back-to-page button", has_text="返回实践图谱").click()  # back where it came from
    page.locator(".st-key-atlas-cell .kb-quote").first.wait_for()
    wait_idle(page)
    assert page.locator(".st-key-atlas-cell .kb-quote").count() == 3


def test_region_page_with_figures_over_two_years(page, server):
    page.goto(server + "/?page=region&place=" + quote("青田县"))
    page.locator(".kb-region-figures").wait_for()
    wait_idle(page)
    no_errors(page)
    figures = page.locator(".kb-region-figures").inner_text()
    assert "4.9%" in figures and "2.7%" in figures
    page.locator(".st-key-region-chart").locator("canvas, svg").first.wait_for()
    docs = page.locator(".kb-region-docs").inner_text()
    assert "2023" in docs and "2024" in docs
    assert "夜间联合查" in page.locator(".kb-region-practices").inner_text()
    page.locator(".st-key-region-chart").scroll_into_view_if_needed()
    shot(page, "region-chart")


# ---- fix what is wrong ------------------------------------------------------------------------------
def test_metadata_edit_and_delete_through_the_documents_page(browser_tools, private_server):
    url, index = private_server
    with chromium_page(browser_tools, url + "/?page=docs") as page:
        page.set_default_timeout(TIMEOUT_MS)
        grid = page.locator(".st-key-docs-table-box")
        grid.wait_for()
        wait_idle(page)
        shot(page, "documents-table")
        kb = KnowledgeBase.open(index)
        order = [d.meta.region for d in kb.documents()]
        row = order.index("阳城镇")
        box = grid.locator('[data-testid="stDataFrameResizable"]').bounding_box()
        page.mouse.click(box["x"] + 12, box["y"] + 35 * (row + 1) + 17)  # the row's selection cell
        page.locator(".kb-report").wait_for()
        wait_idle(page)
        doc_id = params(page)["doc"][0]
        assert kb.document(doc_id).meta.region == "阳城镇"

        page.get_by_text("修改元数据 / 删除文档").click()
        form = page.locator('[data-testid="stForm"]')
        form.get_by_label("省份", exact=True).fill("山西省")
        form.get_by_label("市", exact=True).fill("晋城市")
        form.get_by_role("button", name="保存修改").click()
        page.get_by_text("已保存").wait_for()
        wait_idle(page)
        no_errors(page)
        assert kb.document(doc_id).meta.province == "山西省"
        assert kb.document(doc_id).meta.city == "晋城市"

        page.locator(".st-key-w_page").get_by_role("radio", name="检索问答").click()
        ask(page, QUESTION)
        row_text = page.locator(".st-key-answer-card .kb-regions tr", has_text="阳城镇").inner_text()
        assert "山西省" in row_text  # the answer shows the corrected province at once

        page.goto(url + f"/?page=docs&doc={doc_id}")
        page.get_by_text("修改元数据 / 删除文档").wait_for()
        wait_idle(page)
        page.get_by_text("修改元数据 / 删除文档").click()
        page.get_by_role("button", name="删除这份文档…").click()
        dialog = page.get_by_role("dialog")
        dialog.get_by_text("确定从索引中删除").wait_for()
        dialog.get_by_role("button", name="确定删除").click()
        page.get_by_text("已删除《关于2024年法治政府建设工作情况的报告》").wait_for()
        wait_idle(page)
        no_errors(page)
        assert kb.document(doc_id) is None
        assert all(d.meta.region != "阳城镇" for d in kb.documents())
        kb.close()


# ---- uploads ----------------------------------------------------------------------------------------
def test_upload_with_a_failure_gives_a_chinese_reason_and_a_warning_summary(browser_tools, private_server, tmp_path):
    url, index = private_server
    good = tmp_path / "龙泉市2024年法治政府建设工作报告.txt"
    good.write_text("龙泉市2024年法治政府建设工作报告\n\n一、主要做法\n\n推行“山区执法联动”，全年联动执法 9 次。\n",
                    encoding="utf-8")
    empty = tmp_path / "空白.txt"
    empty.write_text("   \n", encoding="utf-8")
    broken = tmp_path / "损坏.pdf"
    broken.write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog >>\ngarbage")
    with chromium_page(browser_tools, url + "/?page=ingest") as page:
        page.set_default_timeout(TIMEOUT_MS)
        page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files([str(good), str(empty), str(broken)])
        page.get_by_text("损坏.pdf").wait_for()
        page.get_by_role("button", name="导入", exact=True).click()
        summary = page.locator('[data-testid="stAlertContentWarning"]')
        summary.wait_for(timeout=180_000)
        wait_idle(page)
        no_errors(page)
        assert page.locator('[data-testid="stAlertContentSuccess"]').count() == 0
        assert "2 个文件没有导入" in summary.inner_text()
        colour = page.evaluate("el => getComputedStyle(el.closest('[data-testid=stAlertContainer]')).backgroundColor",
                               summary.element_handle())
        r, g, b = (int(x) for x in re.findall(r"\d+", colour)[:3])
        assert r > b and g > b  # yellow/orange, not green or red
        outcomes = {row.locator("td").nth(0).inner_text(): row.locator("td").all_inner_texts()
                    for row in page.locator(".kb-outcomes tbody tr").all()}
        assert outcomes["空白.txt"][1:] == ["失败", "空文档：文件里没有文字"]
        assert outcomes["损坏.pdf"][1:] == ["失败", "PDF 文件损坏，无法读取（PdfStreamError）"]
        assert outcomes["龙泉市2024年法治政府建设工作报告.txt"][1:] == ["新增", "2 个段落"]
        new_docs = page.locator(".kb-new-docs").inner_text()
        assert "龙泉市" in new_docs and "浙江省" in new_docs and "2024" in new_docs
        shot(page, "ingest-result")
        # The reasons, in Chinese, in the outcome table (a canvas grid: read them from its CSV export).
        kb = KnowledgeBase.open(index)
        assert any(d.meta.region == "龙泉市" for d in kb.documents())
        kb.close()


# ---- 420 px -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("width", [1440, 420])
def test_every_page_at_desktop_and_phone_width(browser_tools, server, width):
    suffix = "" if width > 1000 else "-420"
    with chromium_page(browser_tools, server + "/?q=" + quote(QUESTION)) as page:
        page.set_default_timeout(TIMEOUT_MS)
        page.set_viewport_size({"width": width, "height": 1100 if width > 1000 else 900})
        shown_results(page, QUESTION)
        tabs = page.locator(".st-key-w_page").get_by_role("radio")
        expect(tabs).to_have_count(5)
        assert all(t.is_visible() for t in tabs.all())  # not hidden behind the sidebar
        box = page.locator(".st-key-w_page").bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= width
        assert page.locator('[data-testid="stAppDeployButton"]').count() == 0
        if width < 1000:
            scroller = page.locator(".st-key-answer-card .kb-scroll").first
            assert scroller.evaluate("el => el.scrollWidth > el.clientWidth")  # the table scrolls sideways
            name = page.locator(".kb-regions td .kb-region-link").first
            assert name.evaluate("el => el.getBoundingClientRect().height") < 30  # a region name on one line
        shot(page, f"page-search{suffix}")
        for name, ready, file in (("文档", ".st-key-docs-table-box", "documents"), ("实践图谱", ".kb-atlas", "atlas"),
                                  ("地区", ".kb-region-docs", "region"), ("导入", '[data-testid="stFileUploader"]', "ingest")):
            page.locator(".st-key-w_page").get_by_role("radio", name=name).click()
            page.locator(ready).first.wait_for()
            wait_idle(page)
            no_errors(page)
            shot(page, f"page-{file}{suffix}")
