"""LLM-written answers with the real packaged model (Qwen2.5-Coder-0.5B through llama.cpp):
in-process, behind llama-cpp-python's own OpenAI-compatible server, and with a server that is
down or never answers. `make test` installs the `llm` extra, so none of this is skipped."""

import json
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import replace

import pytest
from llama_index.core.llms import ChatMessage

from core.settings import Settings
from rag import article_text, ask, read, retrieve
from rag.ask import llm_sources, open_store
from rag.cli import main
from rag.llm import connect
from rag.local_model import model_path
from rag.retrieve import Filters
from rag.understand import resolve
from rag.write import FLAG, written
from tests.conftest import SMALL_LLM

QUESTION = "What did Hussein say about mediation?"
# one the 0.5B model answers in the articles' words (on the mediation question it writes about
# another of Hussein's sentences, and is rejected: see the scripted test for that path)
WRITTEN = "What will Iraq supply to Syria?"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def check_resolves(answer, store):
    for c in answer.citations:
        assert article_text(c.article, store=store)[c.start : c.end] == c.quote
    numbers = {c.n for c in answer.citations}
    for s in answer.sentences:
        assert set(s.citations) <= numbers and 0 <= s.support <= 1
    assert answer.text.count(FLAG) == sum(not s.supported for s in answer.sentences)


def test_the_local_model_writes_a_checked_answer_whose_citations_resolve(seed_store):
    answer = ask(WRITTEN, store=seed_store, llm="local")
    assert answer.mode == "llm", answer.note
    assert answer.model.startswith("qwen2.5-coder-0.5b")
    assert answer.sentences and any(s.supported for s in answer.sentences)
    assert any("grain and oil" in c.quote for c in answer.citations)
    check_resolves(answer, seed_store)


def test_rag_ask_json_carries_the_mode_and_each_sentences_check(seed_store, capsys):
    assert main(["ask", WRITTEN, "--store", str(seed_store), "--llm", "local", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["mode"] == "llm" and shown["model"]
    assert {"text", "citations", "support", "supported"} <= set(shown["sentences"][0])


def test_a_question_the_articles_do_not_cover_asks_no_model(seed_store):
    nobody = f"http://127.0.0.1:{free_port()}"  # were it asked, the note would say it is down
    answer = ask("What is the capital of France?", store=seed_store, llm=nobody)
    assert answer.abstained and answer.mode == "llm-fallback"
    assert answer.note == "Answered from the sentences: the articles do not cover the question."


def test_a_scripted_reply_citing_what_is_not_there_or_contradicting_its_source_is_flagged(
    seed_store,
):
    settings = Settings.from_env(llm="local", store=seed_store)
    llm, name = connect(settings)
    scripted = (  # the real model, told to repeat a reply with a [9] of 6 and a false sentence
        "Hussein cited Iraq's previous mediation between Saudi Arabia and Iran [1]. "
        "Iraq mediated between Turkey and Israel in 2019 [9]."
    )
    reply = llm.chat(
        [
            ChatMessage(
                role="system",
                content="Repeat the text between <text> tags exactly, without the tags.",
            ),
            ChatMessage(role="user", content=f"<text>{scripted}</text>"),
        ]
    ).message.content
    assert "[9]" in reply
    db = open_store(seed_store)
    query = resolve(QUESTION, None)
    found = retrieve.find(db, query, settings, Filters())
    reading = read.read(query, found, read.reader(), settings.max_citations)
    extractive = ask(QUESTION, store=seed_store)
    sources = llm_sources(db, reading, extractive, 6)
    assert "Saudi Arabia and Iran" in sources[0].quote
    answer = written(extractive, sources, reply, name)
    assert answer.mode == "llm"
    first, second = answer.sentences
    assert first.supported and first.citations == [1]
    assert not second.supported and 9 not in second.citations  # dropped: it points at nothing
    assert answer.text.endswith(f"in 2019. {FLAG}")
    check_resolves(answer, seed_store)


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory):
    """llama-cpp-python's OpenAI-compatible server with the packaged model, on 127.0.0.1."""
    port = free_port()
    log = (tmp_path_factory.mktemp("llama-server") / "log").open("w+")  # a pipe would fill
    server = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(model_path(SMALL_LLM)),
         "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "2048", "--n_threads", "2",
         "--model_alias", "qwen-0.5b"],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(240):
            try:
                urllib.request.urlopen(f"{url}/v1/models", timeout=1).read()
                break
            except OSError:
                assert server.poll() is None, log_tail(log)
                time.sleep(0.25)
        else:
            pytest.fail(f"the llama.cpp server did not start in a minute: {log_tail(log)}")
        yield url
    finally:
        server.terminate()
        server.wait(10)
        log.close()


def log_tail(log) -> str:
    log.seek(0)
    return log.read()[-2000:]


def test_the_same_model_behind_an_openai_compatible_server_answers_through_its_url(
    seed_store, llama_server, monkeypatch
):
    monkeypatch.setenv("RAG_LLM_MODEL", "qwen-0.5b")
    answer = ask(WRITTEN, store=seed_store, llm=llama_server)
    assert answer.mode == "llm", answer.note
    assert answer.model == f"qwen-0.5b at {llama_server}"
    assert any("grain and oil" in c.quote for c in answer.citations)
    check_resolves(answer, seed_store)


def test_a_server_that_is_down_is_one_line_and_the_answer_comes_from_the_sentences(seed_store):
    down = f"http://127.0.0.1:{free_port()}"
    answer = ask(QUESTION, store=seed_store, llm=down)
    extractive = ask(QUESTION, store=seed_store)
    assert answer.mode == "llm-fallback" and answer.text == extractive.text
    assert answer.note.startswith(f"Answered from the sentences: default at {down} did not answer")
    assert "\n" not in answer.note


def test_a_server_that_never_answers_is_given_up_on_at_the_timeout(seed_store):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    held = []
    threading.Thread(target=lambda: held.append(listener.accept()), daemon=True).start()
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    settings = replace(Settings.from_env(store=seed_store), llm_timeout=2.0)
    began = time.monotonic()
    answer = ask(QUESTION, settings=settings, llm=url)
    waited = time.monotonic() - began
    listener.close()
    assert held, "the request never reached the silent server"
    assert answer.mode == "llm-fallback" and "did not answer" in answer.note
    assert 2.0 <= waited < 30  # the timeout, not a hang (llama-index's default is 60 s)
