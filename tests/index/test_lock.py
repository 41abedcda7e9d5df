"""One writer at a time, many readers: real `rag ingest` processes against one store, and
questions asked from this process while they run."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from core.errors import StoreBusyError
from index import ingest, lock
from index.embed import MODEL_NAME
from index.store import Store
from rag import ask
from rag.ask import _open
from tests.conftest import ROOT, SEEDS
from tests.index.test_ingest import make_corpus
from tests.index.test_snapshot import assert_same

LANTERN = (
    "Harbour lanterns\n\nThe harbour festival will float four thousand paper lanterns on "
    "the estuary on Saturday, its organisers announced.\n"
)
LANTERN_QUESTION = "How many paper lanterns will the harbour festival float?"


def start_ingest(folder: Path, store: Path, *extra: str) -> subprocess.Popen:
    env = {**os.environ, "RAG_CHUNK_ARTICLES": "8"}
    return subprocess.Popen(
        [sys.executable, "-m", "rag.cli", "ingest", str(folder), "--store", str(store),
         "--quiet", *extra],
        env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def wait_until(condition, process: subprocess.Popen, what: str, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if process.poll() is not None:
            pytest.fail(f"the ingest ended before {what}: {process.stderr.read()}")
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"the ingest did not get to {what} in {timeout:.0f} s")
        time.sleep(0.05)


def finish(process: subprocess.Popen) -> tuple[str, str]:
    out, err = process.communicate(timeout=600)
    assert process.returncode == 0, err
    return out, err


def assert_whole(store: Path) -> None:
    """What two interleaved ingests broke: every passage is found by its own vector, every
    sentence vector can be read, and the snapshot is what Chroma holds."""
    db = Store(store, MODEL_NAME)
    rows = db.passages.get(include=["embeddings"])
    for id_, vector in zip(rows["ids"], rows["embeddings"], strict=True):
        found = db.passages.query(query_embeddings=[vector], n_results=1, include=[])
        assert found["ids"][0] == [id_]
    sentences = db.sentences.get(include=["embeddings"])
    assert len(sentences["ids"]) == sum(len(a.sentences) for a in db.list_articles())
    assert np.isfinite(np.asarray(sentences["embeddings"])).all()
    saved = db.snapshot()
    assert_same(saved, db.read_snapshot(saved.stamp))


def test_a_second_ingest_waits_for_the_first_or_refuses(tmp_path):
    corpus, store = tmp_path / "corpus", tmp_path / "store"
    make_corpus(corpus, 160)
    first = start_ingest(corpus, store)
    wait_until(lambda: lock.held(store), first, "taking the lock")
    refused = subprocess.run(
        [sys.executable, "-m", "rag.cli", "ingest", str(corpus), "--store", str(store),
         "--no-wait"],
        cwd=ROOT, capture_output=True, text=True,
    )  # fmt: skip
    assert lock.held(store), "the first ingest ended before the second was refused"
    assert refused.returncode == 2
    line = refused.stderr.strip()
    assert "\n" not in line and line.startswith("rag ingest: another ingest (pid ")
    assert f"pid {first.pid}," in line and "--no-wait" in line

    second = start_ingest(corpus, store)
    _, first_err = finish(first)
    out, err = finish(second)
    assert "another ingest" not in first_err
    assert f"warning: another ingest (pid {first.pid}, since " in err and "waiting" in err
    # It waited, then found the store as the first left it: nothing interleaved, nothing redone.
    assert "0 added, 0 updated, 160 unchanged" in out
    assert_whole(store)


def test_the_lock_is_released_when_its_holder_is_killed(tmp_path):
    corpus, store = tmp_path / "corpus", tmp_path / "store"
    make_corpus(corpus, 40)
    process = start_ingest(corpus, store)
    wait_until(lambda: lock.held(store), process, "taking the lock")
    process.kill()
    process.wait()
    assert not lock.held(store)
    report = ingest(corpus, store)  # no wait: the kernel dropped the dead process's lock
    assert len(report.added) + len(report.updated) + len(report.unchanged) == 40
    assert_whole(store)


def test_in_one_process_a_second_writer_is_refused_while_the_first_holds_the_lock(tmp_path):
    store = tmp_path / "store"
    with lock.writing(store):
        assert lock.held(store)
        with pytest.raises(StoreBusyError, match=rf"pid {os.getpid()}, since .* --no-wait"):
            ingest(SEEDS, store, wait=False)
    assert not lock.held(store)


def test_questions_read_the_last_complete_store_while_an_ingest_runs(tmp_path):
    """This process is the reader a server is: its store stays open across the ingest another
    process makes. While that runs, answers are those of the store before it (not "an ingest
    stopped part-way"); once it has finished, the new articles are found, by their vectors too."""
    folder, store = tmp_path / "articles", tmp_path / "store"
    shutil.copytree(SEEDS, folder)
    ingest(folder, store)
    question = "What did Hussein say about mediation?"
    before = ask(question, store=store)
    assert before.citations
    unknown = ask(LANTERN_QUESTION, store=store)  # the reader may abstain or not; no lanterns
    assert all(c.article != "more/lanterns.txt" for c in unknown.citations + unknown.related)

    make_corpus(folder / "more", 120)
    (folder / "more" / "lanterns.txt").write_text(LANTERN, encoding="utf-8")
    process = start_ingest(folder, store)
    db = Store(store, MODEL_NAME)
    wait_until(lambda: db._marker.exists() and db.count() > 2, process, "writing articles")
    during = ask(question, store=store)
    assert db._marker.exists() and lock.held(store), "the ingest finished before the question"
    assert during.text == before.text and during.citations == before.citations
    finish(process)

    after = ask(LANTERN_QUESTION, store=store)
    shown = after.citations or after.related  # cited, or the closest if the reader abstains
    assert shown[0].article == "more/lanterns.txt"
    reader = _open(store.resolve(), None)  # the store ask() has kept open all along
    snapshot = reader.snapshot()
    row = snapshot.rows_of_article["more/lanterns.txt"][0]
    # Chroma's own vector index, opened again for the new generation, finds the new passage.
    found = reader.passages.query(
        query_embeddings=[snapshot.passage_vectors[row].tolist()], n_results=1, include=[]
    )
    assert found["ids"][0] == [snapshot.passages["id"][row]]


def test_a_question_during_the_first_ingest_says_to_wait_for_it(tmp_path):
    """Nothing is complete before the first ingest into a store has finished: a question then
    says so (not "an ingest stopped part-way", not "no articles"), and is answered after it."""
    from core.errors import StoreBusyError

    corpus, store = tmp_path / "corpus", tmp_path / "store"
    make_corpus(corpus, 40)
    shutil.copytree(SEEDS, corpus / "seeds")
    process = start_ingest(corpus, store)
    wait_until(lambda: (store / "INGEST-UNFINISHED").exists(), process, "writing")
    with pytest.raises(StoreBusyError, match="the first ingest into .* is still running"):
        ask("What did Hussein say about mediation?", store=store)
    assert lock.held(store), "the ingest finished before the question"
    finish(process)
    assert ask("What did Hussein say about mediation?", store=store).citations
