"""Shared fixtures: the sample articles ingested once into a real Chroma store in a temp folder."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "data" / "articles"
FOX = "000_87edc770511311a0.txt"
BNE = "003_849fec6e9732e218.txt"


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch, tmp_path):
    """No test reads or writes the user's default store."""
    for name in list(os.environ):
        if name.startswith("RAG_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("RAG_LLM_LOCAL", SMALL_LLM)


# The tests run the smaller packaged LLM (the default), whatever the environment names.
SMALL_LLM = "qwen2.5-coder-0.5b"


@pytest.fixture(scope="session")
def seed_store(tmp_path_factory) -> Path:
    from index import ingest

    store = tmp_path_factory.mktemp("seed-store")
    ingest(SEEDS, store)
    return store


@pytest.fixture
def articles(tmp_path) -> Path:
    """A writable copy of the sample articles."""
    folder = tmp_path / "articles"
    shutil.copytree(SEEDS, folder)
    return folder
