import importlib
import logging
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from core.errors import IngestSourceError, StoreIncompleteError
from index import ingest
from index.embed import MODEL_NAME
from index.snapshot import Snapshot
from index.store import Store, _node_fields
from rag import ask
from tests.conftest import BNE, FOX, ROOT
from tests.index.test_snapshot import assert_same


def stored(store: Path) -> Store:
    return Store(store, MODEL_NAME)


def sentence_keys(db: Store) -> list[tuple[str, int | None]]:
    """(article, sentence index) of every sentence record in Chroma; the index is None for a
    record whose passage ("<article>#p<n>/s<k>" names the passage's k-th sentence) is not
    there."""
    passages = db.passages.get(include=["metadatas"])
    first = {
        id_: _node_fields(m)["first"]
        for id_, m in zip(passages["ids"], passages["metadatas"], strict=True)
    }
    keys = []
    for id_ in db.sentences.get(include=[])["ids"]:
        passage, offset = id_.rsplit("/s", 1)
        article = passage.rsplit("#p", 1)[0]
        keys.append((article, first[passage] + int(offset) if passage in first else None))
    return keys


def in_order(ids: list[str]) -> list[int]:
    """Positions of sentence record ids ("<article>#p<n>/s<k>") in article order."""
    place = [tuple(map(int, id_.rsplit("#p", 1)[1].split("/s"))) for id_ in ids]
    return sorted(range(len(ids)), key=place.__getitem__)


def test_the_first_chunks_are_smaller_and_all_of_them_cover_every_article_once():
    from index.ingest import _chunks

    chunks = _chunks(list(range(200)), 64)
    assert [len(chunk) for chunk in chunks] == [8, 32, 64, 64, 32]
    assert [n for chunk in chunks for n in chunk] == list(range(200))
    assert _chunks(list(range(3)), 1) == [[0], [1], [2]]
    assert _chunks([], 64) == []


def test_reingest_of_an_unchanged_folder_embeds_nothing(articles, tmp_path):
    first = ingest(articles, tmp_path / "store")
    assert sorted(first.added) == [FOX, BNE] and first.passages > 0
    second = ingest(articles, tmp_path / "store")
    assert sorted(second.unchanged) == [FOX, BNE]
    assert (second.added, second.updated, second.removed, second.passages) == ([], [], [], 0)
    assert "0 added, 0 updated, 2 unchanged, 0 removed, 0 skipped" in second.summary()


def test_speakers_and_entities_are_stored_and_reach_the_candidates(articles, tmp_path):
    from rag.ask import open_store
    from rag.retrieve import _with_context

    ingest(articles, tmp_path / "store")
    article = stored(tmp_path / "store").article(BNE)
    assert "Fuad Hussein" in article.speakers and "Fuad Hussein" in article.people
    spans = {(article.text[s:e], label) for s, e, label in article.entities}
    assert ("Fuad Hussein", "PERSON") in spans
    db = open_store(tmp_path / "store")
    assert db.catalog()[BNE].entities == article.entities  # the snapshot keeps them too
    record = next(r for r in db.sentences_between(BNE, 0, 50) if "Fuad Hussein" in r.text)
    (candidate,) = _with_context(db, [(record, 1.0)])
    assert ("Fuad Hussein", "PERSON") in candidate.entities
    assert all(text in record.text for text, _ in candidate.entities)


def test_spacy_in_a_process_of_its_own_reads_articles_as_in_this_one(
    articles, tmp_path, monkeypatch
):
    ingesting = importlib.import_module("index.ingest")  # the module: index.ingest is the function

    ingest(articles, tmp_path / "here")
    monkeypatch.setattr(ingesting, "SPACY_PROCESS_AT", 1)  # the path large ingests take
    ingest(articles, tmp_path / "there")
    for article in (BNE, FOX):
        here, there = (
            stored(tmp_path / "here").article(article),
            stored(tmp_path / "there").article(article),
        )
        assert (here.speakers, here.people, here.named, here.entities) == (
            there.speakers,
            there.people,
            there.named,
            there.entities,
        )
        assert here.entities and any(here.speakers)


def older_layout(db: Store) -> None:
    """Turn a store into what earlier versions wrote: each sentence names its article in its
    metadata, and every field of a passage is a Chroma key too."""
    ids = db.sentences.get(include=[])["ids"]
    db.sentences.update(ids=ids, metadatas=[{"article": i.rsplit("#p", 1)[0]} for i in ids])
    rows = db.passages.get(include=["metadatas"])
    db.passages.update(
        ids=rows["ids"],
        metadatas=[{**_node_fields(m), **m} for m in rows["metadatas"]],
    )


@pytest.mark.parametrize("layout", ["current", "older"])
def test_changed_file_replaces_its_passages_and_deleted_file_is_removed(articles, tmp_path, layout):
    """Also in a store an earlier version wrote, which is updated in place."""
    store = tmp_path / "store"
    ingest(articles, store)
    if layout == "older":
        older_layout(stored(store))
    (articles / BNE).write_text(
        "Grain deal signed\n\nThe ministers signed a grain deal in Baghdad on Monday. "
        "Prices of wheat fell by a tenth after the announcement.\n",
        encoding="utf-8",
    )
    (articles / FOX).unlink()
    report = ingest(articles, store)
    assert (report.updated, report.removed, report.added) == ([BNE], [FOX], [])
    db = stored(store)
    assert [a.id for a in db.list_articles()] == [BNE]
    assert db.passages.count() == 1
    keys = sentence_keys(db)
    assert sorted(keys) == [(BNE, 0), (BNE, 1)]
    answer = ask("How much did wheat prices fall?", store=store)
    shown = [c.quote for c in answer.citations + answer.related]  # cited, or related if none
    assert "Prices of wheat fell by a tenth after the announcement." in shown
    assert "mediation" not in db.article(BNE).text


def test_copied_or_edited_articles_reuse_the_vectors_of_unchanged_passages(articles, tmp_path):
    """Vectors depend only on the text the encoder sees: a copy under another name, and the
    paragraphs an edit left alone, are not embedded again, and get the same vectors."""
    store = tmp_path / "store"
    first = ingest(articles, store)
    assert first.reused == 0
    (articles / "copy.txt").write_bytes((articles / BNE).read_bytes())
    copied = ingest(articles, store)
    assert copied.added == ["copy.txt"] and copied.reused == copied.passages > 0
    db = stored(store)

    def vectors(article):
        ids = [i for i in db.sentences.get(include=[])["ids"] if i.startswith(f"{article}#p")]
        rows = db.sentences.get(ids=ids, include=["embeddings"])
        return [rows["embeddings"][i] for i in in_order(rows["ids"])]

    for original, copy in zip(vectors(BNE), vectors("copy.txt"), strict=True):
        np.testing.assert_allclose(original, copy, atol=1e-6)
    # An edit to one paragraph re-embeds the passage that changed, not the whole article.
    text = (articles / FOX).read_text(encoding="utf-8")
    assert "Syria" in text
    (articles / FOX).write_text(text.replace("Syria", "Lebanon", 1), encoding="utf-8")
    edited = ingest(articles, store)
    assert edited.updated == [FOX] and 0 < edited.reused < edited.passages
    answer = ask("What did Hussein say about mediation?", store=store)
    assert answer.citations and not answer.abstained


def test_another_precision_embeds_the_store_again(articles, tmp_path, monkeypatch):
    """int8 vectors are not float32 ones: ingesting at another RAG_PRECISION embeds every
    passage again instead of keeping vectors of the other precision, and answers as before."""
    store = tmp_path / "store"
    first = ingest(articles, store)
    monkeypatch.setenv("RAG_PRECISION", "int8")
    int8 = ingest(articles, store)
    assert sorted(int8.updated) == sorted([FOX, BNE])
    assert int8.passages == first.passages and int8.reused == 0
    assert ingest(articles, store).passages == 0  # unchanged, at int8
    answer = ask("What did Hussein say about mediation?", store=store)
    assert any("mediation between Saudi Arabia and Iran" in c.quote for c in answer.citations)
    monkeypatch.setenv("RAG_PRECISION", "fp32")
    back = ingest(articles, store)
    assert back.passages == first.passages and back.reused == 0


def test_binary_is_skipped_with_a_warning_and_cp1252_is_read(articles, tmp_path, caplog):
    (articles / "photo.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    (articles / "latin.txt").write_bytes(
        "Café reopens\n\nThe café in Zürich reopened, its owner said \u201cfinally\u201d.\n".encode(
            "cp1252"
        )
    )
    (articles / "notes.pdf").write_bytes(b"%PDF-1.4")
    with caplog.at_level(logging.WARNING, logger="index"):
        report = ingest(articles, tmp_path / "store")
    reasons = {skip.id: skip.reason for skip in report.skipped}
    assert reasons == {
        "photo.txt": "binary file, not text",
        "notes.pdf": "unsupported file type .pdf",
    }
    assert "photo.txt" in caplog.text
    assert "latin.txt" in report.added
    text = stored(tmp_path / "store").article("latin.txt").text
    assert text == "The café in Zürich reopened, its owner said \u201cfinally\u201d."


def test_empty_or_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(IngestSourceError, match="no such folder"):
        ingest(tmp_path / "nope", tmp_path / "store")
    (tmp_path / "empty").mkdir()
    with pytest.raises(IngestSourceError, match="no .txt, .md or .html files"):
        ingest(tmp_path / "empty", tmp_path / "store")
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "x.txt").write_bytes(b"\x00\x01\x02" * 100)
    with pytest.raises(IngestSourceError, match="could be read as text"):
        ingest(tmp_path / "bin", tmp_path / "store")


def test_another_folder_does_not_silently_replace_the_store(articles, tmp_path):
    store = tmp_path / "store"
    ingest(articles, store)
    other = tmp_path / "other"
    other.mkdir()
    (other / "x.txt").write_text("Other news\n\nSomething else happened today.\n")
    with pytest.raises(IngestSourceError, match="would remove them all.*--replace"):
        ingest(other, store)
    assert sorted(a.id for a in stored(store).list_articles()) == [FOX, BNE]
    report = ingest(other, store, replace=True)
    assert report.added == ["x.txt"] and sorted(report.removed) == [FOX, BNE]


def make_corpus(folder: Path, count: int) -> None:
    """Distinct articles built from the sample sentences, enough for a long ingest."""
    from index.clean import clean
    from index.load import read
    from index.split import split

    sentences = []
    for path in sorted((ROOT / "data" / "articles").iterdir()):
        article = split(clean(read(path, path.parent)))
        sentences += [article.text[s:e] for s, e in article.sentences]
    folder.mkdir()
    for i in range(count):
        body = " ".join(sentences[(i + j * 7) % len(sentences)] for j in range(12))
        (folder / f"a{i:03d}.txt").write_text(f"Story number {i}\n\n{body} Serial {i}.\n")


def stored_ids(store: Path) -> int:
    """Records Chroma has written so far, read straight from its SQLite file."""
    try:
        with sqlite3.connect(f"file:{store / 'chroma.sqlite3'}?mode=ro", uri=True, timeout=1) as db:
            return db.execute("select count(*) from embeddings").fetchone()[0]
    except sqlite3.Error:
        return 0


def test_sigkill_halfway_then_rerun_leaves_a_complete_store_without_duplicates(tmp_path):
    corpus, store = tmp_path / "corpus", tmp_path / "store"
    make_corpus(corpus, 160)
    env = {**os.environ, "RAG_CHUNK_ARTICLES": "8"}
    process = subprocess.Popen(
        [sys.executable, "-m", "rag.cli", "ingest", str(corpus), "--store", str(store), "--quiet"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while stored_ids(store) == 0 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL, "ingest ended before it could be killed"

    db = stored(store)
    complete = [a for a, state in db.manifest().items() if state.complete]
    assert len(complete) < 160  # it really stopped part-way
    if db.count():
        with pytest.raises(StoreIncompleteError, match="run `rag ingest"):
            ask("What did Hussein say about mediation?", store=store)

    report = ingest(corpus, store)
    assert len(report.added) + len(report.updated) + len(report.unchanged) == 160
    db = stored(store)
    manifest = db.manifest()
    assert len(manifest) == 160 and all(state.complete for state in manifest.values())
    keys = sentence_keys(db)
    assert len(keys) == len(set(keys))  # no sentence stored twice
    passage_ids = db.passages.get(include=[])["ids"]
    assert len(passage_ids) == len(set(passage_ids))
    assert sum(a.sentences.__len__() for a in db.list_articles()) == len(keys)
    saved = Snapshot.load(db.snapshot_path)  # articles the killed run finished are read back
    assert saved is not None and len(saved.hashes) == 160
    assert_same(saved, db.read_snapshot(saved.stamp))
    assert not ask("What did Hussein say about mediation?", store=store).abstained


def test_whole_collections_are_read_a_page_at_a_time(seed_store):
    """Reading every row pages through Chroma (one get of 32,000+ rows fails in its SQLite)."""
    from index.store import _read_all

    db = stored(seed_store)
    paged = _read_all(db.passages, ["metadatas"], page=3)
    whole = db.passages.get(include=["metadatas"])
    assert sorted(paged["ids"]) == sorted(whole["ids"]) and len(paged["ids"]) > 3
    nodes = dict(zip(paged["ids"], paged["metadatas"], strict=True))
    assert nodes == dict(zip(whole["ids"], whole["metadatas"], strict=True))
