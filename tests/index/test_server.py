"""A real `chroma run` server on loopback holds the store as the embedded one does."""

import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.errors import StoreUnavailableError
from core.settings import Settings
from index import ingest
from rag import article_text, ask
from rag.cli import main
from tests.conftest import SEEDS

QUESTIONS = [
    "What did Hussein say about mediation?",
    "What will Iraq supply to Syria?",
    "Does Hussein think Iraq is the next target?",
    "What did Hussein say about Turkey?",
    "What is the capital of France?",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def chroma_url(tmp_path_factory):
    port = free_port()
    binary = Path(sys.executable).with_name("chroma")
    data = tmp_path_factory.mktemp("chroma-server")
    server = subprocess.Popen(
        [str(binary), "run", "--path", str(data), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.2)
    else:
        server.kill()
        pytest.fail("chroma run did not start listening")
    yield url
    server.terminate()
    server.wait(timeout=30)


def test_server_store_gives_the_same_answers_as_the_embedded_one(chroma_url, seed_store, tmp_path):
    settings = Settings.from_env(store=tmp_path / "local", chroma_url=chroma_url)
    report = ingest(SEEDS, settings=settings)
    assert len(report.added) == 2
    assert not (tmp_path / "local" / "chroma.sqlite3").exists()  # the passages live on the server
    for question in QUESTIONS:
        served = ask(question, settings=settings)
        embedded = ask(question, store=seed_store)
        assert served.text == embedded.text
        assert [(c.article, c.start, c.end) for c in served.citations] == [
            (c.article, c.start, c.end) for c in embedded.citations
        ]
        for c in served.citations:
            assert article_text(c.article, settings=settings)[c.start : c.end] == c.quote
    assert ingest(SEEDS, settings=settings).passages == 0  # incremental on the server too


def test_a_down_server_is_a_clear_error_not_a_hang(tmp_path, capsys):
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    settings = Settings.from_env(store=tmp_path / "local", chroma_url=url)
    with pytest.raises(StoreUnavailableError, match="cannot reach the Chroma server"):
        ask("What did Hussein say?", settings=settings)
    with pytest.raises(StoreUnavailableError, match="chroma run"):
        ingest(SEEDS, settings=settings)
    assert main(["ask", "Who?", "--store", str(tmp_path), "--chroma-url", url]) == 2
    assert "cannot reach the Chroma server" in capsys.readouterr().err


def test_a_malformed_url_is_refused(tmp_path):
    settings = Settings.from_env(store=tmp_path, chroma_url="ftp://")
    with pytest.raises(StoreUnavailableError, match="not a Chroma server URL"):
        ask("What did Hussein say?", settings=settings)
