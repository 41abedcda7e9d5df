"""The snapshot questions read beside the BM25 index: always what Chroma holds, or not used."""

import shutil

import numpy as np
import pytest

from core.settings import Settings
from index import ingest
from index.embed import MODEL_NAME
from index.lexical import saved_stamp
from index.snapshot import Snapshot
from index.store import Store
from rag import ask
from rag.ask import _open, open_store
from tests.conftest import BNE, FOX


def assert_same(saved: Snapshot, fresh: Snapshot) -> None:
    """Two snapshots hold the same articles, passages and sentence records (rows may be in any
    order)."""
    assert saved.hashes == fresh.hashes and saved.articles == fresh.articles

    def rows(snapshot: Snapshot) -> dict:
        found = {}
        for row, id_ in enumerate(snapshot.passages["id"]):
            passage = tuple(column[row] for column in snapshot.passages.values())
            sentences = [
                tuple(column[s] for column in snapshot.sentences.values())
                for s in snapshot.sentence_rows(row)
            ]
            vectors = [snapshot.passage_vectors[row]] + [
                snapshot.sentence_vectors[s] for s in snapshot.sentence_rows(row)
            ]
            found[id_] = (passage, sentences, np.stack(vectors))
        return found

    mine, theirs = rows(saved), rows(fresh)
    assert mine.keys() == theirs.keys()
    for id_, (passage, sentences, vectors) in mine.items():
        assert (passage, sentences) == theirs[id_][:2]
        np.testing.assert_allclose(vectors, theirs[id_][2], atol=1e-6)


def test_snapshot_after_edits_copies_and_removals_matches_a_fresh_read(articles, tmp_path):
    store = tmp_path / "store"
    ingest(articles, store)
    (articles / "copy.txt").write_bytes((articles / BNE).read_bytes())
    text = (articles / FOX).read_text(encoding="utf-8")
    (articles / FOX).write_text(text.replace("Syria", "Lebanon", 1), encoding="utf-8")
    ingest(articles, store)
    (articles / BNE).unlink()
    ingest(articles, store)

    db = Store(store, MODEL_NAME)
    saved = Snapshot.load(db.snapshot_path)
    assert saved is not None and saved.stamp == saved_stamp(db.lexical_path)
    assert sorted(saved.hashes) == sorted([FOX, "copy.txt"])
    assert "Lebanon" in " ".join(saved.sentences["text"])
    assert_same(saved, db.read_snapshot(saved.stamp))  # every row as Chroma has it


def test_a_missing_or_stale_snapshot_is_read_from_chroma_instead(articles, tmp_path):
    store = tmp_path / "store"
    ingest(articles, store)
    question = "What did Hussein say about mediation?"
    expected = ask(question, store=store)
    assert expected.citations

    db = Store(store, MODEL_NAME)
    (db.snapshot_path / "stamp").write_text("stale")
    (db.snapshot_path / "columns.json").write_text('{"stamp": "stale"}')
    _open.cache_clear()  # as a new process would
    assert open_store(store).snapshot().stamp == ""  # not the saved one: read from Chroma
    assert ask(question, store=store).citations == expected.citations

    shutil.rmtree(db.snapshot_path)
    fresh = Store(store, MODEL_NAME)
    assert fresh.snapshot().hashes.keys() == {FOX, BNE}
    again = ingest(articles, store)  # an ingest puts it back, without embedding anything
    assert again.passages == 0 and Snapshot.load(db.snapshot_path) is not None


@pytest.mark.parametrize(
    "where",
    [
        None,
        {"outlet": {"$in": ["bne IntelliNews"]}},
        {"document_id": {"$in": [FOX]}},
        {"$and": [{"day": {"$gte": 20250101}}, {"day": {"$lte": 20251231}}, {"day": {"$gt": 0}}]},
        {"$and": [{"outlet": {"$in": ["nobody"]}}, {"document_id": {"$in": [FOX, BNE]}}]},
    ],
)
def test_the_snapshot_is_searched_as_chroma_searches_while_an_ingest_writes(seed_store, where):
    """While an ingest writes, passages are searched in the last snapshot, exactly: the same
    passages, in the same order, with the same scores and filters as Chroma's search."""
    db = Store(seed_store, MODEL_NAME)
    for question in ("What did Hussein say about mediation?", "Who attacked US bases?"):
        vector = Settings.from_env().encoder().embed_query(question)
        chroma = db.search(vector, 5, where)
        exact = db._search_snapshot(vector, 5, where)
        assert [h.id for h in exact] == [h.id for h in chroma]
        assert [h.score for h in exact] == pytest.approx([h.score for h in chroma], abs=1e-5)
    assert not db._marker.exists()  # (the seed store is not being written: Chroma answered)
