"""The chat in a real browser (Debian's Chromium, driven by Playwright): typed question, streamed
answer, highlighted source, hostile article inert, no request leaves 127.0.0.1."""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import urlparse

import pytest

from tests.conftest import SEEDS
from tests.ui.conftest import PAYLOADS, XSS_QUESTION, start_server, stop

QUESTION = "What did Hussein say about mediation?"

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


@pytest.fixture(scope="module")
def library_server(tmp_path_factory):
    """The URL and folder of a `rag serve --library` over a copy of the sample articles."""
    import shutil

    from index import ingest

    root = tmp_path_factory.mktemp("library")
    folder = root / "articles"
    shutil.copytree(SEEDS, folder)
    ingest(folder, root / "store")
    url, process = start_server(root / "store", root / "home", "--library", str(folder))
    yield url, folder, root / "store"
    stop(process)


def open_page(browser, url: str):
    """A page on the app at url that records dialogs and every request leaving loopback."""
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
    page.goto(url, wait_until="domcontentloaded")
    page.wait_for_selector("#question textarea", timeout=60_000)
    return page


@pytest.fixture
def page(browser, live_server):
    page = open_page(browser, live_server)
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
    assert page.locator("#sources #source-1 .speaker").inner_text() == "Said by Fuad Hussein"
    page.locator("#chat a[href='#source-1']").first.click()
    page.wait_for_selector("#sources #source-1.flash", timeout=2_000)
    assert "#source" not in page.url  # the link scrolled the card; the page stayed
    page.locator("#sources details.article summary").first.click()
    page.wait_for_timeout(300)
    assert page.locator("#sources details.article[open] mark.cited").first.is_visible()
    page.wait_for_selector("#sources #source-1:not(.flash)", timeout=3_000)
    page.evaluate("window.scrollTo(0, 0)")
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


def test_uploaded_article_is_listed_in_the_library(browser, library_server, tmp_path):
    url, folder, _ = library_server
    upload = tmp_path / "harbour news.txt"
    upload.write_text(
        "Harbour reopens after storm\n\nThe harbour reopened on Monday after the storm, "
        "the port authority said.\n",
        encoding="utf-8",
    )
    page = open_page(browser, url)
    try:
        page.get_by_role("tab", name="Library").click()
        page.wait_for_selector("#library-table", timeout=30_000)
        assert "harbour_news.txt" not in page.inner_text("#library-table")
        page.locator("#library-files input[type=file]").set_input_files(str(upload))
        page.wait_for_timeout(1000)  # the file reaches the server before the button acts on it
        page.click("#library-add")
        page.wait_for_function(
            "document.querySelector('#library-table').innerText.includes('harbour_news.txt')",
            timeout=120_000,
        )
        page.wait_for_timeout(500)
        assert "Added harbour news.txt as harbour_news.txt" in page.inner_text("#library-status")
        assert (folder / "harbour_news.txt").exists()
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "ui-library-1280x800.png"))
        assert page.dialogs == [] and page.outside == []
    finally:
        page.close()


MOORINGS = "The harbour committee approved 7,311 new moorings on Tuesday."


def large_article(path: Path, size: int) -> None:
    """An article of about size bytes whose passages all differ (none is embedded once for
    many), from the sample articles' sentences, with one sentence only it holds."""
    from index.clean import clean
    from index.load import read
    from index.split import split

    sentences = []
    for name in sorted(p.name for p in SEEDS.iterdir()):
        article = split(clean(read(SEEDS / name, SEEDS)))
        sentences += [article.text[s:e] for s, e in article.sentences]
    paragraphs, length, n = [MOORINGS], 0, 0
    while length < size:
        chosen = [sentences[(n * 5 + k) % len(sentences)] for k in range(4)]
        paragraph = f"Record {n}: " + " ".join(chosen)
        paragraphs.append(paragraph)
        length += len(paragraph) + 2
        n += 1
    path.write_text("Harbour records\n\n" + "\n\n".join(paragraphs) + "\n", encoding="utf-8")


def test_chats_answer_while_a_large_upload_is_ingested(browser, library_server, tmp_path):
    """The upload is ingested in a process of its own: 40 chats at once, while it runs, are all
    answered with citations from the store as it was; then its article is in the store."""
    from concurrent.futures import ThreadPoolExecutor

    from gradio_client import Client

    from index import lock
    from ui.app import message_text

    url, folder, store = library_server
    upload = tmp_path / "harbour records.txt"
    large_article(upload, 1_200_000)  # minutes of ingest here: it outlasts the chats
    page = open_page(browser, url)
    try:
        page.get_by_role("tab", name="Library").click()
        page.wait_for_selector("#library-table", timeout=30_000)
        page.locator("#library-files input[type=file]").set_input_files(str(upload))
        page.wait_for_timeout(1000)
        page.click("#library-add")
        deadline = time.monotonic() + 120
        while not lock.held(store):
            assert time.monotonic() < deadline, "the upload's ingest did not start"
            time.sleep(0.1)

        def chat(i: int) -> int:
            client = Client(url, verbose=False)
            if i % 2:
                return len(client.predict(QUESTION, None, api_name="/answer")["citations"])
            chat, *_ = client.predict(QUESTION, [], [], "", "", [], 8, api_name="/ask")
            return message_text(chat[1]).count(r"\[1\]")

        with ThreadPoolExecutor(max_workers=40) as pool:
            cited = list(pool.map(chat, range(40)))
        assert lock.held(store), "the ingest ended before the chats did: upload a larger file"
        assert len(cited) == 40 and all(cited)

        page.wait_for_function(
            "document.querySelector('#library-table').innerText.includes('harbour_records.txt')",
            timeout=900_000,
        )
        assert "Added harbour records.txt as harbour_records.txt" in page.inner_text(
            "#library-status"
        )
        answer = Client(url, verbose=False).predict(
            "How many new moorings did the harbour committee approve?", None, api_name="/answer"
        )
        shown = answer["citations"] or answer["related"]  # the closest, if the reader abstains
        assert shown[0]["quote"] == MOORINGS
        assert page.dialogs == [] and page.outside == []
    finally:
        page.close()


def test_an_answer_written_by_the_local_model_streams_in_and_is_checked(page):
    page.get_by_label("Local model (in-process)").check()
    question = "What will Iraq supply to Syria?"  # as tests/rag/test_llm.py
    page.fill("#question textarea", question)
    page.press("#question textarea", "Enter")
    page.wait_for_function(
        "(() => { const chat = document.querySelector('#chat');"
        " return chat && chat.innerText.includes('Written by'); })()",
        timeout=120_000,
    )
    chat = page.inner_text("#chat")
    assert "supported by the sentences they cite" in chat and "[1]" in chat
    assert "grain and oil" in page.inner_text("#sources")
    assert page.dialogs == [] and page.outside == []
