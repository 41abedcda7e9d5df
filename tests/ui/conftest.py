"""A live `rag serve` on a free loopback port, over the sample articles plus a hostile one."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import SEEDS, SMALL_LLM

XSS_ID = "xss.txt"
XSS_QUESTION = "What did the harbour festival organisers announce about the lantern parade?"
# Every form an article could use to run code in the page, if it were ever treated as markup.
PAYLOADS = (
    "<script>alert('script')</script>",
    "<img src=x onerror=alert('img')>",
    "[click me](javascript:alert('link'))",
    "${alert('template')} {{constructor.constructor('alert(1)')()}}",
)
XSS_ARTICLE = f"""Harbour festival lantern parade announced

The harbour festival organisers announced that the lantern parade will start at the old pier \
on Saturday evening, with {PAYLOADS[0]} painted on the lead float.

Organisers said the lantern parade route passes {PAYLOADS[1]} the fish market and ends at the \
lighthouse, and tickets are listed at {PAYLOADS[2]} for residents.

A spokesperson added that the lantern parade banner reads {PAYLOADS[3]} this year.
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(url: str, process: subprocess.Popen, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"rag serve exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"rag serve did not answer at {url} within {timeout:.0f} s")


def start_server(
    store: Path, home: Path, *extra: str, env: dict[str, str] | None = None
) -> tuple[str, subprocess.Popen]:
    port = free_port()
    settings = env or {}
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RAG_", "GRADIO_"))}
    env.update(GRADIO_ANALYTICS_ENABLED="False", XDG_DATA_HOME=str(home), HOME=str(home))
    env.update(RAG_LLM_LOCAL=SMALL_LLM)
    env.update(settings)
    process = subprocess.Popen(
        [sys.executable, "-m", "rag.cli", "serve", "--store", str(store), "--port", str(port),
         *extra],
        env=env,
        cwd=Path(__file__).resolve().parents[2],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_for(url, process)
    except Exception:
        stop(process)
        raise
    return url, process


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="session")
def hostile_store(tmp_path_factory) -> Path:
    """The sample articles and one article full of markup, ingested into a real store."""
    from index import ingest

    root = tmp_path_factory.mktemp("ui")
    folder = root / "articles"
    shutil.copytree(SEEDS, folder)
    (folder / XSS_ID).write_text(XSS_ARTICLE, encoding="utf-8")
    ingest(folder, root / "store")
    return root / "store"


@pytest.fixture(scope="session")
def live_server(hostile_store, tmp_path_factory):
    """The URL of a `rag serve` over hostile_store; stopped after the session."""
    url, process = start_server(hostile_store, tmp_path_factory.mktemp("home"))
    yield url
    stop(process)
