"""Every passage and sentence of a store (text, metadata, vectors) in columns beside the BM25 index.

A question then reads Chroma once, for its dense search, and finds everything else here: reading
the sentences of eight passages from Chroma took 3 ms of a 20 ms answer at 500 articles. Vectors
are memory-mapped, so a process holds in memory only the rows it has read.

Chroma stays the record: a snapshot is rebuilt from it after every ingest that changed the store,
reusing the rows of articles whose content hash is unchanged, and is stamped like the BM25 index so
a stale one is noticed and not used.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np

FORMAT = 2  # bump when what is saved changes shape (see Store.snapshot_path)
DIM = 384  # all-MiniLM-L6-v2's vectors
PASSAGE_TEXT = ("id", "article", "text", "title", "outlet", "date")
PASSAGE_NUMBERS = ("start", "end", "first", "last")
SENTENCE_TEXT = ("text", "speaker")
SENTENCE_NUMBERS = ("index", "start", "end")


@dataclass(frozen=True)
class Snapshot:
    """Passages, and the sentence records of each passage in order, as columns.

    The sentence records of passage row p are rows `bounds[p]` to `bounds[p + 1]` of the sentence
    columns; a sentence cut into windows has one record per window, in each window's passage.
    """

    stamp: str
    passages: dict[str, list]  # PASSAGE_TEXT and PASSAGE_NUMBERS columns
    sentences: dict[str, list]  # SENTENCE_TEXT and SENTENCE_NUMBERS columns
    bounds: np.ndarray  # (passages + 1,) first sentence row of each passage
    passage_vectors: np.ndarray  # (passages, dim) float32
    sentence_vectors: np.ndarray  # (sentence records, dim) float32
    # Every article's metadata as the store holds it (no text): the store's catalog, which
    # took Chroma 0.4 s to read at 2,225 articles, the most of a cold start after imports.
    articles: dict[str, dict] = field(default_factory=dict)

    @cached_property
    def hashes(self) -> dict[str, str]:
        """Article id -> the content hash its rows were read at."""
        return {id_: meta.get("hash", "") for id_, meta in self.articles.items()}

    @cached_property
    def row_of(self) -> dict[str, int]:
        """Passage id -> passage row."""
        return {id_: row for row, id_ in enumerate(self.passages["id"])}

    @cached_property
    def rows_of_article(self) -> dict[str, list[int]]:
        """Article id -> its passage rows, in order."""
        rows: dict[str, list[int]] = {}
        for row, article in enumerate(self.passages["article"]):
            rows.setdefault(article, []).append(row)
        return rows

    def sentence_rows(self, passage_row: int) -> range:
        return range(int(self.bounds[passage_row]), int(self.bounds[passage_row + 1]))

    def rows_of(self, articles: set[str]) -> list[int]:
        """The passage rows of these articles."""
        return [row for article in articles for row in self.rows_of_article.get(article, [])]

    @staticmethod
    def join(
        pieces: Sequence[tuple[Snapshot, Sequence[int]]],
        stamp: str,
        articles: dict[str, dict],
        folder: Path | None = None,
    ) -> Snapshot:
        """One snapshot of these passage rows of several (with their sentence records).

        With a folder, it is written there, replacing what is there only once all of it is
        written, and returned memory-mapped: the joined vectors are never all in memory (a
        copy of them cost 500 MB at 8,900 articles).
        """
        sentence_rows = [[s for r in rows for s in part.sentence_rows(r)] for part, rows in pieces]
        sizes = [len(part.sentence_rows(r)) for part, rows in pieces for r in rows]
        passages = {
            name: [part.passages[name][r] for part, rows in pieces for r in rows]
            for name in PASSAGE_TEXT + PASSAGE_NUMBERS
        }
        owners = [part for part, _ in pieces]
        sentences = {
            name: [
                part.sentences[name][s]
                for part, own in zip(owners, sentence_rows, strict=True)
                for s in own
            ]
            for name in SENTENCE_TEXT + SENTENCE_NUMBERS
        }
        shapes = {"passage_vectors": (len(sizes), DIM), "sentence_vectors": (sum(sizes), DIM)}
        partial = folder.with_name(folder.name + ".partial") if folder else None
        if partial:
            shutil.rmtree(partial, ignore_errors=True)
            partial.mkdir(parents=True)
            vectors = {
                name: np.lib.format.open_memmap(partial / f"{name}.npy", "w+", np.float32, shape)
                for name, shape in shapes.items()
            }
        else:
            vectors = {name: np.empty(shape, np.float32) for name, shape in shapes.items()}
        at = {"passage_vectors": 0, "sentence_vectors": 0}
        for (part, rows), own in zip(pieces, sentence_rows, strict=True):
            for name, taken in (("passage_vectors", rows), ("sentence_vectors", own)):
                for start in range(0, len(taken), 4096):  # a bounded copy at a time
                    chunk = list(taken[start : start + 4096])
                    vectors[name][at[name] : at[name] + len(chunk)] = getattr(part, name)[chunk]
                    at[name] += len(chunk)
        joined = Snapshot(
            stamp=stamp,
            passages=passages,
            sentences=sentences,
            bounds=np.concatenate([[0], np.cumsum(sizes, dtype=np.int64)]).astype(np.int64),
            passage_vectors=vectors["passage_vectors"],
            sentence_vectors=vectors["sentence_vectors"],
            articles=articles,
        )
        if partial is None:
            return joined
        for array in vectors.values():
            array.flush()
        joined._write_columns(partial)
        shutil.rmtree(folder, ignore_errors=True)
        partial.rename(folder)
        return Snapshot.load(folder)

    def _write_columns(self, folder: Path) -> None:
        np.save(folder / "bounds.npy", self.bounds)
        columns = {
            "stamp": self.stamp,
            "articles": self.articles,
            "passages": {k: [_plain(v) for v in c] for k, c in self.passages.items()},
            "sentences": {k: [_plain(v) for v in c] for k, c in self.sentences.items()},
        }
        (folder / "columns.json").write_text(json.dumps(columns, separators=(",", ":")))
        (folder / "stamp").write_text(self.stamp)

    @classmethod
    def load(cls, folder: Path) -> Snapshot | None:
        """The snapshot in folder, or None if there is none (or one from another version)."""
        try:
            columns = json.loads((folder / "columns.json").read_text())
            return cls(
                stamp=columns["stamp"],
                articles=columns["articles"],
                passages=columns["passages"],
                sentences=columns["sentences"],
                bounds=np.load(folder / "bounds.npy"),
                passage_vectors=np.load(folder / "passage_vectors.npy", mmap_mode="r"),
                sentence_vectors=np.load(folder / "sentence_vectors.npy", mmap_mode="r"),
            )
        except (OSError, ValueError, KeyError):
            return None


def _plain(value):
    """A JSON-ready value: numpy integers become ints."""
    return int(value) if isinstance(value, np.integer) else value
