"""The chat in a real browser (Debian's Chromium, driven by Playwright): typed question, streamed
answer, highlighted source, hostile article inert, no request leaves 127.0.0.1."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

import pytest

from tests.ui.conftest import PAYLOADS, XSS_QUESTION

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="no browser at /usr/bin/chromium; install it with `apt-get install chromium`",
)


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):
    """A page on the live app that records dialogs and every request leaving loopback."""
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.dialogs, page.outside = [], []

    def on_dialog(dialog):
        page.dialogs.append(dialog.message)
        dialog.dismiss()

    def on_request(request):
        host = urlparse(request.url).hostname
        if request.url.startswith(("http", "ws")) and host not in ("127.0.0.1", "localhost"):
            page.outside.append(request.url)

    page.on("dialog", on_dialog)
    page.on("request", on_request)
    page.goto(live_server, wait_until="domcontentloaded")
    page.wait_for_selector("#question textarea", timeout=60_000)
    yield page
    page.close()


def ask_in_page(page, question: str) -> None:
    page.fill("#question textarea", question)
    page.press("#question textarea", "Enter")
    page.wait_for_selector("#sources mark.cited", timeout=60_000)
    # the stream ends when the placeholder reply is gone and the sources are all there
    page.wait_for_function(
        "(() => { const chat = document.querySelector('#chat');"
        " return chat && /\\[\\d+\\]/.test(chat.innerText) && !chat.innerText.includes('…'); })()",
        timeout=60_000,
    )
    page.wait_for_timeout(500)


def test_question_typed_in_the_page_gets_a_cited_answer(page):
    ask_in_page(page, "What did Hussein say about mediation?")
    chat = page.inner_text("#chat")
    assert "previous mediation between Saudi Arabia and Iran" in chat and "[1]" in chat
    mark = page.locator("#sources mark.cited").first
    assert "previous mediation" in mark.inner_text()
    assert "bne IntelliNews" in page.inner_text("#sources")
    page.locator("#sources details.article summary").first.click()
    page.wait_for_timeout(300)
    assert page.locator("#sources details.article[open] mark.cited").first.is_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "ui-answer-1280x800.png"))
    page.set_viewport_size({"width": 390, "height": 844})
    page.wait_for_timeout(300)
    page.screenshot(path=str(ARTIFACTS / "ui-answer-390x844.png"), full_page=True)
    assert page.dialogs == [] and page.outside == []


def test_hostile_article_renders_as_text_and_runs_nothing(page):
    ask_in_page(page, XSS_QUESTION)
    page.wait_for_timeout(500)
    page.locator("#sources details.article summary").first.click()
    page.wait_for_timeout(300)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "ui-hostile-1280x800.png"), full_page=True)
    shown = page.inner_text("#sources") + page.inner_text("#chat")
    for payload in PAYLOADS:
        assert payload.split(" ")[0].split("(")[0] in shown
    assert "<script>alert('script')</script>" in shown
    assert "<img src=x onerror=alert('img')>" in shown
    assert page.locator("#sources img, #chat img[src='x'], #sources script").count() == 0
    assert page.locator("a[href^='javascript']").count() == 0
    assert page.dialogs == [], f"the page ran article code: {page.dialogs}"
    assert page.outside == [], f"requests left 127.0.0.1: {page.outside}"
