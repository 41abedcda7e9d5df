"""The app through Gradio's own API client, against a live `rag serve`."""

import pytest

from tests.ui.conftest import XSS_ID, XSS_QUESTION, start_server, stop
from ui.app import message_text

QUESTION = "What did Hussein say about mediation?"


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


def test_auth_guards_the_app(hostile_store, tmp_path):
    from gradio_client import Client

    url, process = start_server(hostile_store, tmp_path, "--auth", "ann:s3cret")
    try:
        with pytest.raises(Exception):  # noqa: B017  (the client raises a plain error on 401)
            Client(url, verbose=False)
        answer = Client(url, auth=("ann", "s3cret"), verbose=False).predict(
            QUESTION, None, api_name="/answer"
        )
        assert answer["citations"]
    finally:
        stop(process)


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
