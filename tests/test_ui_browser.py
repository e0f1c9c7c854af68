"""End to end in a real browser: `streamlit run ui/app.py` on the demo index, driven by Chromium.

Needs the playwright Python package and a Chromium binary (Debian: `apt-get install chromium
fonts-noto-cjk`; `playwright install` is not needed). Without them the test skips — unless
KB_BROWSER_REQUIRED=1 (set it in CI), in which case it fails and says what is missing.

Screenshots go to artifacts/ (gitignored). KB_UPDATE_DOCS=1 also copies the answer card to
docs/answer-card.png for the README.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "artifacts"
QUESTION = "哪些地区推行综合查一次"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]

pytestmark = pytest.mark.browser


def chromium_path() -> str | None:
    for candidate in (os.environ.get("KB_CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser",
                      shutil.which("chromium"), shutil.which("chromium-browser")):
        if candidate and Path(candidate).exists():
            return candidate
    return None


def require_browser():
    """(sync_playwright, chromium path) or skip — or fail when KB_BROWSER_REQUIRED=1."""
    missing = []
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
        missing.append("the playwright Python package (pip install playwright)")
    chromium = chromium_path()
    if chromium is None:
        missing.append("a Chromium binary at /usr/bin/chromium (apt-get install chromium fonts-noto-cjk) or $KB_CHROMIUM")
    if missing:
        message = "browser test needs " + " and ".join(missing)
        if os.environ.get("KB_BROWSER_REQUIRED") == "1":
            pytest.fail(message + " — KB_BROWSER_REQUIRED=1 is set, so this is a failure, not a skip", pytrace=False)
        pytest.skip(message + " (set KB_BROWSER_REQUIRED=1 to make this a failure)")
    return sync_playwright, chromium


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def browser_tools():
    """Checked before the demo index is built, so a machine without a browser skips at once."""
    return require_browser()


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as resp:
            return resp.read().strip() == b"ok"
    except OSError:
        return False


@contextmanager
def running(cmd: list[str], log_path: Path, env: dict[str, str]) -> Iterator[subprocess.Popen]:
    """A subprocess in the repository root, its output in `log_path`; stopped (if need be) on exit."""
    with open(log_path, "w", encoding="utf-8") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT)
        try:
            yield proc
        finally:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=15)


@contextmanager
def streamlit_server(index: Path, log_path: Path) -> Iterator[tuple[str, subprocess.Popen]]:
    """`streamlit run ui/app.py` on a free port against `index`: (url, process) once healthy; always stopped."""
    log_path.parent.mkdir(exist_ok=True)
    port = free_port()
    cmd = [sys.executable, "-m", "streamlit", "run", "ui/app.py", "--server.port", str(port),
           "--server.address", "127.0.0.1", "--server.headless", "true", "--server.fileWatcherType", "none",
           "--browser.gatherUsageStats", "false"]
    url = f"http://127.0.0.1:{port}"
    with running(cmd, log_path, {"KB_INDEX": str(index), "PYTHONUNBUFFERED": "1"}) as proc:
        deadline = time.monotonic() + 90
        while not healthy(url):
            if proc.poll() is not None:
                pytest.fail(f"streamlit exited with {proc.returncode}; see {log_path}")
            if time.monotonic() > deadline:
                pytest.fail("streamlit did not answer /_stcore/health within 90 s")
            time.sleep(0.5)
        yield url, proc


@contextmanager
def chromium_page(browser_tools, url: str):
    """A Chromium page (Chinese locale, wide viewport) opened on `url`; the browser always closed."""
    sync_playwright, chromium = browser_tools
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1440, "height": 1100}, locale="zh-CN")
            pg = context.new_page()
            pg.set_default_timeout(60_000)
            pg.goto(url, wait_until="domcontentloaded")
            yield pg
        finally:
            browser.close()


@pytest.fixture(scope="module")
def server(browser_tools, demo_index_path):
    with streamlit_server(demo_index_path, ARTIFACTS / "streamlit-server.log") as (url, _):
        yield url


@pytest.fixture(scope="module")
def page(browser_tools, server):
    with chromium_page(browser_tools, server) as pg:
        yield pg


def wait_idle(page) -> None:
    """Until the script run the last interaction started has finished."""
    page.wait_for_timeout(300)
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="hidden", timeout=60_000)


def test_question_answer_card_then_year_filter(page):
    page.get_by_label("检索词或问题").fill(QUESTION)
    page.get_by_role("button", name="检索", exact=True).click()

    card = page.locator(".st-key-answer-card")
    card.wait_for(state="visible")
    card.locator(".kb-regions").wait_for(state="visible")
    wait_idle(page)
    table = card.locator(".kb-regions")
    text = table.inner_text()
    assert "海盐县" in text and "阳城镇" in text
    rows = {r.locator("td").first.locator("a, b").first.inner_text(): r.inner_text()
            for r in table.locator("tbody tr").all()}
    assert "2023" in rows["海盐县"] and "2024" in rows["阳城镇"]
    assert "原文用语“综合查一次”" in rows["海盐县"]  # which variant of the practice the region's passages use
    for region in ("海盐县", "阳城镇"):
        assert ".txt" in rows[region] and "综合查一次" in rows[region]  # the source file and the quote
    assert card.locator("mark", has_text="综合查一次").count() >= 2
    card.locator("canvas, svg").first.wait_for(state="visible")  # the regions chart
    assert page.locator(".kb-passage").count() >= 2
    assert page.locator('[data-testid="stException"]').count() == 0

    card.scroll_into_view_if_needed()
    card.screenshot(path=str(ARTIFACTS / "answer-card.png"))
    page.screenshot(path=str(ARTIFACTS / "search-page.png"), full_page=True)
    if os.environ.get("KB_UPDATE_DOCS") == "1":
        (ROOT / "docs").mkdir(exist_ok=True)
        shutil.copyfile(ARTIFACTS / "answer-card.png", ROOT / "docs" / "answer-card.png")

    # Year filter: 2024 only. The range slider's left thumb goes from 2020 to 2024 by keyboard.
    thumb = page.locator(".st-key-w_years input[type='range']").first
    thumb.focus()
    start = int(thumb.input_value())
    for _ in range(2024 - start):
        thumb.press("ArrowRight")
    page.wait_for_function(
        "() => { const t = document.querySelector('.st-key-answer-card .kb-regions');"
        " return t && !t.innerText.includes('海盐') && t.innerText.includes('阳城'); }",
        timeout=60_000,
    )
    wait_idle(page)
    text = page.locator(".st-key-answer-card .kb-regions").inner_text()
    assert "阳城镇" in text and "海盐县" not in text
    badges = [b.inner_text() for b in page.locator(".kb-passage .kb-year").all()]
    assert badges and set(badges) == {"2024年"}
    page.screenshot(path=str(ARTIFACTS / "search-2024.png"), full_page=True)
