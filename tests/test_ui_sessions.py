"""Two real browser sessions on one `streamlit run ui/app.py`: a read held in one session does not
hold up the other, and a 20,000-character query gets a message at once instead of 20 s of work.

kb 0.2 served every read through one lock: a 20k query in one session made another session's
short query wait 49 s. Here session A's search is held *inside* its database snapshot by a
failpoint (KB_FAILPOINTS=read.query=pause in the server: the first query of the server pauses
until the test releases it), so the test knows, without timing, that A is mid-read while
session B asks a 20k query (refused with a message) and then a short one (answered). Only then
is A released, and it answers too.

Needs what tests/test_ui_browser.py needs; skips without it unless KB_BROWSER_REQUIRED=1.
"""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from test_ui_browser import (
    ARTIFACTS,
    CHROMIUM_ARGS,
    require_browser,
    streamlit_server,
    wait_idle,
)

from kb import failpoints

pytestmark = pytest.mark.browser

HELD_QUERY = "行政复议"
SHORT_QUERY = "综合查一次"
LONG_QUERY = "综合查一次" * 4000  # 20,000 characters
PASSAGES_WITH = (
    "([term]) => [...document.querySelectorAll('.kb-passage')].some(p => p.innerText.includes(term))"
)
TOO_LONG = "() => [...document.querySelectorAll('[data-testid=\"stAlertContentWarning\"]')]" \
           ".some(a => a.innerText.includes('检索词太长：20,000 字，上限 1,000 字'))"


@pytest.fixture(scope="module")
def browser_tools():
    return require_browser()


@pytest.fixture(scope="module")
def held_server(browser_tools, demo_index_path, tmp_path_factory):
    """The UI on the demo index, its first query armed to pause inside its read."""
    pauses = tmp_path_factory.mktemp("pauses")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("KB_FAILPOINTS", "read.query=pause")
        env.setenv("KB_FAILPOINT_DIR", str(pauses))
        with streamlit_server(demo_index_path, ARTIFACTS / "streamlit-sessions.log") as (url, proc):
            yield url, proc, pauses


@contextmanager
def two_sessions(browser_tools, url: str):
    """Two pages in two browser contexts: two Streamlit sessions, as two people would have."""
    sync_playwright, chromium = browser_tools
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            pages = []
            for _ in range(2):
                context = browser.new_context(viewport={"width": 1440, "height": 1100}, locale="zh-CN")
                page = context.new_page()
                page.set_default_timeout(60_000)
                page.goto(url, wait_until="domcontentloaded")
                page.get_by_label("检索词或问题").wait_for()
                pages.append(page)
            yield pages
        finally:
            browser.close()


def submit(page, query: str) -> None:
    page.get_by_label("检索词或问题").fill(query)
    page.get_by_role("button", name="检索", exact=True).click()


def no_errors(page) -> None:
    for testid in ("stException", "stAlertContentError"):
        assert page.locator(f'[data-testid="{testid}"]').count() == 0, page.locator("body").inner_text()[:1500]


def test_a_held_read_in_one_session_does_not_hold_up_another_and_a_20k_query_gets_a_message(
        browser_tools, held_server):
    url, server, pauses = held_server
    with two_sessions(browser_tools, url) as (a, b):
        wait_idle(a)
        wait_idle(b)
        submit(a, HELD_QUERY)
        for _ in range(1200):  # until the server says A's question is inside its read (≤ 120 s)
            if failpoints.reached(pauses, "read.query") is not None:
                break
            a.wait_for_timeout(100)
        assert failpoints.reached(pauses, "read.query") == server.pid, "session A's query never reached its read"

        submit(b, LONG_QUERY)
        b.wait_for_function(TOO_LONG)
        wait_idle(b)
        no_errors(b)
        assert b.locator(".kb-passage").count() == 0

        submit(b, SHORT_QUERY)
        b.wait_for_function(PASSAGES_WITH, arg=[SHORT_QUERY])  # answered while A is still held
        wait_idle(b)
        no_errors(b)
        assert a.locator(".kb-passage").count() == 0  # A is still waiting inside its read
        b.screenshot(path=str(ARTIFACTS / "sessions-b-answered-while-a-held.png"), full_page=True)

        failpoints.release(pauses, "read.query")
        a.wait_for_function(PASSAGES_WITH, arg=[HELD_QUERY])
        wait_idle(a)
        no_errors(a)
        a.screenshot(path=str(ARTIFACTS / "sessions-a-after-release.png"), full_page=True)
    assert server.poll() is None
    assert "Traceback" not in (ARTIFACTS / "streamlit-sessions.log").read_text(encoding="utf-8")
