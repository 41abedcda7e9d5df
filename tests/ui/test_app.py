"""The app through Gradio's own API client, against a live `rag serve`."""

import pytest

from tests.ui.conftest import XSS_ID, XSS_QUESTION, start_server, stop
from ui.app import message_text

QUESTION = "What did Hussein say about mediation?"
WRITTEN = "What will Iraq supply to Syria?"  # see test_llm


@pytest.fixture(scope="module")
def client(live_server):
    from gradio_client import Client

    return Client(live_server, verbose=False)


def test_answer_endpoint_returns_citations(client):
    answer = client.predict(QUESTION, None, api_name="/answer")
    assert not answer["abstained"]
    assert "previous mediation between Saudi Arabia and Iran" in answer["text"]
    assert "[1]" in answer["text"]
    first = answer["citations"][0]
    assert first["quote"] and first["end"] > first["start"]


def test_chat_endpoint_streams_into_chat_and_sources(client):
    chat, sources, copy_text, box = client.predict(QUESTION, [], [], "", "", [], 8, api_name="/ask")
    assert box == ""
    assert [m["role"] for m in chat] == ["user", "assistant"]
    reply = message_text(chat[1])
    assert "previous mediation between Saudi Arabia and Iran" in reply and r"\[1\]" in reply
    assert '<mark class="cited">' in sources and "bne IntelliNews" in sources
    assert copy_text.startswith("Hussein cited") and "\n\nSources:\n[1] " in copy_text


def test_filters_and_top_k_reach_ask(client):
    chat, sources, _, _ = client.predict(XSS_QUESTION, [], [], "", "", [XSS_ID], 3, api_name="/ask")
    assert "lantern parade" in message_text(chat[1])
    assert "&lt;script&gt;" in sources and "<script>" not in sources


def login(url: str, password: str, source: str = "127.0.0.1") -> tuple[int, dict]:
    """POST the login form from a source address (any of 127.0.0.0/8 reaches the server)."""
    import http.client
    from urllib.parse import urlencode, urlparse

    where = urlparse(url)
    connection = http.client.HTTPConnection(where.hostname, where.port, source_address=(source, 0))
    body = urlencode({"username": "ann", "password": password})
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    connection.request("POST", "/login", body, headers)
    response = connection.getresponse()
    response.read()
    return response.status, dict(response.getheaders())


@pytest.fixture(scope="module")
def guarded(hostile_store, tmp_path_factory):
    home = tmp_path_factory.mktemp("auth")
    url, process = start_server(hostile_store, home, "--auth", "ann:s3cret")
    yield url
    stop(process)


def test_auth_guards_the_app_and_shows_nothing_of_the_library_before_login(guarded):
    import urllib.request

    from gradio_client import Client

    with pytest.raises(Exception):  # noqa: B017  (the client raises a plain error on 401)
        Client(guarded, verbose=False)
    with urllib.request.urlopen(guarded) as response:
        front = response.read().decode()
    # The login page used to embed the API description, with every article id as a choice.
    for name in (XSS_ID, "000_87edc770511311a0", "Iraq seeks", "bne IntelliNews"):
        assert name not in front
    answer = Client(guarded, auth=("ann", "s3cret"), verbose=False).predict(
        QUESTION, None, api_name="/answer"
    )
    assert answer["citations"]


def test_failed_logins_are_slowed_down_per_client(guarded):
    source = "127.0.0.3"  # a client of its own: the other tests log in from 127.0.0.1
    codes = [login(guarded, "wrong", source)[0] for _ in range(6)]
    assert codes == [400] * 6  # five free failures, and the sixth closes the door a while
    status, headers = login(guarded, "s3cret", source)  # even the right password waits
    assert status == 429 and int(headers["retry-after"]) >= 1
    assert login(guarded, "s3cret", "127.0.0.4")[0] == 200  # other clients are not slowed


def test_errors_are_said_in_the_chat_and_to_api_callers(client):
    chat, *_ = client.predict(QUESTION, [], [], "2005/01/01", "", [], 8, api_name="/ask")
    reply = message_text(chat[1])
    assert reply.startswith("**Error:**") and "is not a date as YYYY\\-MM\\-DD" in reply
    with pytest.raises(Exception, match="the question is empty"):
        client.predict("   ", None, api_name="/answer")


def test_an_upload_over_the_size_limit_is_refused(hostile_store, tmp_path):
    import httpx

    url, process = start_server(
        hostile_store, tmp_path, "--library", str(tmp_path / "library"),
        env={"RAG_MAX_ARTICLE_BYTES": "10000"},
    )  # fmt: skip
    try:
        small = httpx.post(f"{url}gradio_api/upload", files={"files": ("a.txt", b"x" * 9_000)})
        big = httpx.post(f"{url}gradio_api/upload", files={"files": ("b.txt", b"x" * 20_000)})
    finally:
        stop(process)
    assert small.status_code == 200
    assert big.status_code == 413


def test_twenty_simultaneous_chats_all_get_cited_answers(live_server):
    from concurrent.futures import ThreadPoolExecutor

    from gradio_client import Client

    def chat(i: int):
        client = Client(live_server, verbose=False)
        if i % 2:
            return client.predict(QUESTION, None, api_name="/answer")["citations"]
        chat, sources, copy_text, _ = client.predict(
            QUESTION, [], [], "", "", [], 8, api_name="/ask"
        )
        assert r"\[1\]" in message_text(chat[1]) and "\n\nSources:\n[1] " in copy_text
        return sources.count('<mark class="cited">')

    with ThreadPoolExecutor(max_workers=20) as pool:
        replies = list(pool.map(chat, range(20)))
    assert len(replies) == 20 and all(replies)


def test_library_without_a_folder_says_it_is_read_only(hostile_store):
    from core.settings import Settings
    from ui.app import build

    settings = Settings.from_env(store=hostile_store)
    shown = str(build(settings).config)
    assert "The library is read-only" in shown and "Delete the article" not in shown
    writable = str(build(settings, library=hostile_store.parent / "articles").config)
    assert "Delete the article" in writable and "Re-index the folder" in writable


def test_answer_endpoint_with_the_local_model_carries_each_sentences_check(client):
    answer = client.predict(WRITTEN, None, "local", api_name="/answer")
    assert answer["mode"] == "llm" and answer["model"].startswith("qwen2.5-coder-0.5b")
    assert answer["sentences"] and all(
        set(s) == {"text", "citations", "support", "supported"} for s in answer["sentences"]
    )


def test_chat_written_by_the_local_model_says_who_wrote_it_and_what_held_up(client):
    chat, sources, _, _ = client.predict(WRITTEN, [], [], "", "", [], 8, "local", api_name="/ask")
    reply = message_text(chat[1])
    assert r"Written by qwen2.5\-coder\-0.5b" in reply  # Markdown-escaped
    assert "1 of 1 sentences supported by the sentences they cite" in reply
    assert r"\[1\]" in reply and '<mark class="cited">' in sources and "grain and oil" in sources


def test_the_local_models_reply_reaches_the_chat_token_by_token_before_it_is_checked(client):
    job = client.submit(WRITTEN, [], [], "", "", [], 8, "local", api_name="/ask")
    final = message_text(job.result()[0][1])
    replies = [message_text(chat[1]) for chat, *_ in job.outputs()[:-1] if len(chat) > 1]
    partial = [r for r in replies if r.endswith(" …") and r != "…"]
    # the reply grows in pieces while the model writes, before the checked answer replaces it
    assert len(partial) >= 3, replies
    assert all(len(a) <= len(b) for a, b in zip(partial, partial[1:], strict=False))
    assert all("Written by" not in r for r in partial) and "Written by" in final
