"""The one module that talks to Chroma: passages, sentences and articles, written crash-safely.

Three collections share a store:
- passages: one llama-index TextNode per passage (in the layout of llama-index's
  ChromaVectorStore, so `VectorStoreIndex.from_vector_store` can read it). The node's JSON
  holds its text and metadata (article, title, outlet, date, sentence range and character
  range); of the metadata only what is filtered on is also a Chroma key (`FILTERED`);
- sentences: one vector per sentence (late-chunked from its passage), for picking sentences,
  named `<passage>/s<k>` for the passage's k-th sentence, with no metadata: its text, offsets
  and speaker are in its article's record, and its passage's record says how many there are;
- articles: the cleaned text, metadata, sentence offsets, speakers, entities and content hash of
  each article. Its `complete` flag is set last, so an article whose write was cut short is
  redone by the next ingest.
"""

from __future__ import annotations

import datetime
import json
import os
import re
import shutil
import threading
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import numpy as np

from core.errors import (
    ArticleNotFoundError,
    FilterError,
    StoreBusyError,
    StoreMismatchError,
    StoreNotFoundError,
    StoreUnavailableError,
)
from index import lock
from index.lexical import saved_stamp
from index.records import Article, Passage, passage_id
from index.snapshot import (
    DIM,
    PASSAGE_NUMBERS,
    PASSAGE_TEXT,
    SENTENCE_NUMBERS,
    SENTENCE_TEXT,
    Snapshot,
)
from index.snapshot import (
    FORMAT as SNAPSHOT_FORMAT,
)

os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

FORMAT = 2  # bump when what is stored changes shape; old stores are then refused with a message
# (stores from before sentences lost their metadata and passages their unfiltered keys are read
# and written alike: nothing reads those keys now)
PASSAGES, SENTENCES, ARTICLES = "passages", "sentences", "articles"
SENTENCE_GRAPH = {"ef_construction": 10, "max_neighbors": 4}  # Chroma's defaults: 100 and 16
# The passage metadata kept as Chroma keys, beside the node's JSON: what is filtered on (the
# article, as llama-index's "document_id", outlet, day) and what vectors are reused by (key).
# Chroma writes a row per key and record: the other ten keys took 12-20% of a passage's write.
FILTERED = ("document_id", "outlet", "day", "key")
INDEXES = "indexes"  # a folder per generation of the snapshot and BM25 index (see `publish`)


@dataclass(frozen=True)
class ArticleState:
    hash: str
    complete: bool


@dataclass(frozen=True)
class PassageHit:
    id: str
    article: str
    score: float  # cosine similarity to the query
    text: str
    start: int
    end: int
    first: int
    last: int
    title: str
    outlet: str
    date: str


@dataclass(frozen=True)
class SentenceRecord:
    article: str
    index: int  # position of the sentence in its article
    start: int
    end: int
    passage: str
    text: str
    vector: np.ndarray
    speaker: str = ""


class Store:
    """A Chroma store: embedded on disk, or on a Chroma server.

    Args:
        path: the store's folder (with a server, it holds only the BM25 index).
        model: name of the encoder; a store built with another is refused.
        create: make the store if missing (ingest); otherwise a missing store is an error.
        chroma_url: a Chroma server, "http://host:port", instead of the embedded database.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        model: str,
        *,
        create: bool = False,
        chroma_url: str | None = None,
    ):
        self.path = Path(path).expanduser()
        self.model = model
        self.chroma_url = chroma_url
        where = chroma_url or str(self.path)
        if self.path.exists() and not self.path.is_dir():
            raise StoreNotFoundError(
                f"{self.path} is a file, not a store folder; give --store the folder "
                "`rag ingest` made (or a new one to ingest into)"
            )
        if not create and not chroma_url and not (self.path / "chroma.sqlite3").exists():
            raise StoreNotFoundError(
                f"no store at {self.path}; run `rag ingest FOLDER --store {self.path}` first"
            )
        lock.store_folder(self.path)
        self.client = _client(self.path, chroma_url)
        names = {c if isinstance(c, str) else c.name for c in self.client.list_collections()}
        if not create and not {PASSAGES, SENTENCES, ARTICLES} <= names:
            raise StoreNotFoundError(
                f"{where} is not a complete news-rag store; "
                f"run `rag ingest FOLDER --store {self.path}`"
                + (f" --chroma-url {chroma_url}" if chroma_url else "")
            )
        self._collections()
        self._catalog: tuple[Snapshot, dict[str, Article]] | None = None
        self._snapshot: tuple[str, Snapshot] | None = None
        self._loading = threading.Lock()  # concurrent questions load a new generation once
        self._retired = None  # the Chroma client the last `_reopen` replaced
        self._filtered: tuple[Snapshot, dict[str, np.ndarray]] | None = None
        self._speakers: tuple[dict, dict[str, dict[str, set[int]]]] | None = None
        self._people: tuple[dict, dict[str, int], dict[str, int]] | None = None
        found = self.passages.metadata or {}
        if found.get("model") != model or found.get("format") != FORMAT:
            raise StoreMismatchError(
                f"{where} was built with {found.get('model')} (format {found.get('format')}), "
                f"not {model} (format {FORMAT}); ingest into a new --store folder"
            )

    def _collections(self) -> None:
        info = {"hnsw:space": "cosine", "model": self.model, "format": FORMAT}
        self.passages, self.articles = (
            self.client.get_or_create_collection(name, metadata=info, embedding_function=None)
            for name in (PASSAGES, ARTICLES)
        )
        # Sentences are read by passage, article or speaker and scored exactly, never searched
        # by their HNSW graph, so the graph is built cheaply: it was most of ingest's write time.
        self.sentences = self.client.get_or_create_collection(
            SENTENCES,
            metadata={"model": self.model, "format": FORMAT},
            configuration={"hnsw": {"space": "cosine", **SENTENCE_GRAPH}},
            embedding_function=None,
        )

    def _reopen(self) -> None:
        """Open the embedded database again, for what another process wrote to it: Chroma keeps
        one client per folder per process, whose vector index in memory never sees another
        process's writes (a passage it added is not found, one it deleted still is)."""
        if self.chroma_url:
            return  # a server is one process: every client sees all of it
        from chromadb.api.shared_system_client import SharedSystemClient

        # Forget the shared client so that _client makes a new one, which reads the database
        # as it is now. Questions still running on the old one finish on it; it is stopped at
        # the next reopen, as the one before it is now (kept, each cost 1.3 MB: stopped, 200
        # reopens held 36 MB in all).
        systems = SharedSystemClient._identifier_to_system
        retired, self._retired = self._retired, systems.pop(str(self.path), None)
        if retired is not None and retired is not self._retired:
            retired.stop()
        self.client = _client(self.path, None)
        self._collections()

    # ---- ingest side -------------------------------------------------------------------------

    def article_metadata(self) -> dict[str, dict]:
        """Every article's metadata as Chroma holds it now (0.3 s at 2,225 articles)."""
        rows = _read_all(self.articles, ["metadatas"])
        return dict(zip(rows["ids"], rows["metadatas"], strict=True))

    def manifest(self, metadata: dict[str, dict] | None = None) -> dict[str, ArticleState]:
        """Every article in the store with its content hash and whether its write completed,
        from `article_metadata` (read now when not given)."""
        metadata = self.article_metadata() if metadata is None else metadata
        return {
            id_: ArticleState(meta.get("hash", ""), bool(meta.get("complete")))
            for id_, meta in metadata.items()
        }

    def write(
        self,
        articles: Sequence[Article],
        passages: Sequence[Passage],
        passage_vectors: np.ndarray,
        sentence_vectors: Sequence[np.ndarray],
        keys: Sequence[str] = (),
    ) -> Snapshot | None:
        """Replace these articles and their passages and sentences, completing each article last.

        keys: per passage, what its vectors were computed from (see `vectors_for`).

        Returns:
            What was written, as snapshot rows (for `read_snapshot`, which then need not read
            them back).
        """
        if not articles:
            return None
        ids = [article.id for article in articles]
        rows_of: dict[str, list[int]] = {}
        for row, passage in enumerate(passages):
            rows_of.setdefault(passage.article, []).append(row)
        counts = [len(rows_of.get(article.id, [])) for article in articles]
        article_vectors = []
        for article in articles:
            rows = rows_of.get(article.id, [])
            mean = (
                passage_vectors[rows].mean(axis=0) if rows else np.zeros(passage_vectors.shape[1])
            )
            article_vectors.append(mean / (np.linalg.norm(mean) or 1.0))
        metadata = [
            _article_metadata(a, n, complete=False) for a, n in zip(articles, counts, strict=True)
        ]
        # 1. Articles first, marked incomplete: a crash from here on leaves them to be redone.
        # Their text is written with step 4: Chroma indexes every document for full-text
        # search, and a long one in that index slows every add after it, in any collection
        # (an 8 MB article's text written first made adding its 15,700 passages take 50 s, not
        # 12). Until then a changed article keeps its old text, as the snapshot questions read.
        self._batched(
            self.articles.upsert,
            ids=ids,
            embeddings=[v.tolist() for v in article_vectors],
            metadatas=metadata,
        )
        # 2. Whatever an earlier version (or a cut-short run) left of these articles goes.
        self._delete_parts(ids)
        # 3. Passages as llama-index writes them, then sentences. A sentence too
        # long for one passage has a vector per window; each record still names the whole sentence.
        # Sentences carry no document and no metadata: their text, offsets and speaker are in
        # the article's record, their number in their passage's. Chroma indexes every document
        # for full-text search and writes a row per metadata key; with none, sentences are
        # written in 60-70% of the time that one key (their article) took.
        by_id = {article.id: article for article in articles}
        self._add_passages(passages, passage_vectors, by_id, keys or [""] * len(passages))
        sentence_ids = []
        columns = {name: [] for name in SENTENCE_TEXT + SENTENCE_NUMBERS}
        for passage, vectors in zip(passages, sentence_vectors, strict=True):
            article = by_id[passage.article]
            sentence_ids.extend(sentence_ids_of(passage.id, len(vectors)))
            for index in range(passage.first, passage.first + len(vectors)):
                _add_sentence(columns, article.text, article.sentences, article.speakers, index)
        embeddings = np.concatenate(sentence_vectors).astype(np.float32)
        self._batched(self.sentences.add, ids=sentence_ids, embeddings=embeddings)
        # 4. Only now are the articles complete, with their text (an update merges this key
        # into the rest of their metadata).
        # (Chroma embeds documents given without vectors, with a model it would download.)
        self._batched(
            self.articles.update,
            ids=ids,
            embeddings=[v.tolist() for v in article_vectors],
            documents=[a.text for a in articles],
            metadatas=[{"complete": True}] * len(ids),
        )
        return Snapshot(
            stamp="",
            articles={i: {**m, "complete": True} for i, m in zip(ids, metadata, strict=True)},
            passages={
                "id": [p.id for p in passages], "article": [p.article for p in passages],
                "text": [p.text for p in passages],
                **{name: [getattr(by_id[p.article], name) for p in passages]
                   for name in ("title", "outlet", "date")},
                **{name: [getattr(p, name) for p in passages] for name in PASSAGE_NUMBERS},
            },
            sentences=columns,
            bounds=np.concatenate([[0], np.cumsum([len(v) for v in sentence_vectors])]),
            passage_vectors=np.asarray(passage_vectors, dtype=np.float32),
            sentence_vectors=embeddings,
        )  # fmt: skip

    def remove(self, article_ids: Iterable[str]) -> None:
        ids = list(article_ids)
        if ids:
            self._delete_parts(ids)
            self.articles.delete(ids=ids)

    def _delete_parts(self, ids: list[str]) -> None:
        """Delete these articles' passages and sentences: the sentences first, by the ids their
        passages give, so a crash in between never leaves a sentence no passage accounts for."""
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            # "document_id" is where llama-index's ChromaVectorStore keeps a node's ref_doc_id.
            where = {"document_id": {"$in": chunk}}
            old = self.passages.get(where=where, include=["metadatas"])
            sentences = [
                s
                for id_, meta in zip(old["ids"], old["metadatas"], strict=True)
                for s in sentence_ids_of(id_, _sentence_count(_node_fields(meta)))
            ]
            for first in range(0, len(sentences), 5000):
                self.sentences.delete(ids=sentences[first : first + 5000])
            # Older versions named each sentence's article in its metadata, and deleted
            # passages first: what a crash left of theirs goes by that name.
            self.sentences.delete(where={"article": {"$in": chunk}})
            self.passages.delete(where=where)

    def vectors_for(self, keys: Sequence[str]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Stored passage vectors and sentence vectors, by the key they were written with, for
        the keys the store holds."""
        if not keys:
            return {}
        rows = self.passages.get(
            where={"key": {"$in": sorted(set(keys))}}, include=["metadatas", "embeddings"]
        )
        first = {}  # key -> (passage id, vector), one passage per key
        sizes = {}  # passage id -> sentences
        columns = (rows["ids"], rows["metadatas"], rows["embeddings"])
        for id_, meta, vector in zip(*columns, strict=True):
            if meta["key"] not in first:
                first[meta["key"]] = (id_, np.asarray(vector, dtype=np.float32))
                sizes[id_] = _sentence_count(_node_fields(meta))
        if not first:
            return {}
        wanted = {id_: sentence_ids_of(id_, size) for id_, size in sizes.items()}
        said = self.sentences.get(
            ids=[s for group in wanted.values() for s in group], include=["embeddings"]
        )
        vector_of = dict(zip(said["ids"], said["embeddings"], strict=True))
        found = {}
        for key, (id_, vector) in first.items():
            if all(s in vector_of for s in wanted[id_]):  # a passage without them is not reused
                sentences = np.asarray([vector_of[s] for s in wanted[id_]], dtype=np.float32)
                found[key] = (vector, sentences)
        return found

    def _add_passages(
        self,
        passages: Sequence[Passage],
        vectors: np.ndarray,
        articles: dict[str, Article],
        keys: Sequence[str],
    ) -> None:
        """Write passages as llama-index writes TextNodes to Chroma (its `node_to_metadata_dict`),
        except that the text is kept in the node's JSON rather than as a Chroma document
        (Chroma indexes every document for full-text search, which took a third of the time of
        writing passages), and of the node's metadata only `FILTERED` keys are Chroma keys too.
        llama-index's ChromaVectorStore reads text and metadata back from the JSON."""
        from llama_index.core.schema import NodeRelationship, RelatedNodeInfo, TextNode
        from llama_index.core.vector_stores.utils import node_to_metadata_dict

        nodes = [
            TextNode(
                id_=p.id,
                text=p.text,
                start_char_idx=p.start,
                end_char_idx=p.end,
                metadata={
                    "article": p.article,
                    "n": p.n,
                    "first": p.first,
                    "last": p.last,
                    "start": p.start,
                    "end": p.end,
                    "title": articles[p.article].title,
                    "outlet": articles[p.article].outlet,
                    "date": articles[p.article].date,
                    "day": day_number(articles[p.article].date),
                    "key": key,
                },
                relationships={NodeRelationship.SOURCE: RelatedNodeInfo(node_id=p.article)},
            )
            for p, key in zip(passages, keys, strict=True)
        ]
        self._batched(
            self.passages.add,
            ids=[node.node_id for node in nodes],
            embeddings=np.asarray(vectors, dtype=np.float32),
            metadatas=[_filtered(node_to_metadata_dict(n, flat_metadata=True)) for n in nodes],
        )

    def _batched(self, method, ids: list[str], **columns) -> None:
        size = self.client.get_max_batch_size()
        for start in range(0, len(ids), size):
            method(
                ids=ids[start : start + size],
                **{k: v[start : start + size] for k, v in columns.items()},
            )

    # ---- question side ------------------------------------------------------------------------

    def count(self) -> int:
        return self.articles.count()

    @property
    def _marker(self) -> Path:
        return self.path / "INGEST-UNFINISHED"

    def begin_changes(self) -> None:
        """Mark the store as being changed; `end_changes` clears the mark once all is written."""
        self._marker.touch()

    def end_changes(self) -> None:
        self._marker.unlink(missing_ok=True)

    def incomplete(self) -> list[str]:
        """Articles an ingest began but did not finish (a file stat when there are none).

        None while an ingest is running: it is still writing them, and until it has finished,
        questions read the last complete generation (see `snapshot`)."""
        if not self._marker.exists() or lock.held(self.path):
            return []
        return self.articles.get(where={"complete": False}, include=[])["ids"] or ["(the index)"]

    def search(self, vector: np.ndarray, k: int, where: dict | None = None) -> list[PassageHit]:
        """The k passages nearest to vector, best first."""
        if self._marker.exists():
            # An ingest is writing (or stopped part-way, which `incomplete` reports): Chroma
            # holds part of its work, so the passages are those of the last complete snapshot.
            return self._search_snapshot(vector, k, where)
        result = self.passages.query(
            query_embeddings=[vector.tolist()],
            n_results=max(1, k),
            where=where,
            include=["distances"],
        )  # what Chroma returns beside the ids costs it more than the search: read them here
        snapshot, scores = self.snapshot(), {}
        for id_, distance in zip(result["ids"][0], result["distances"][0], strict=True):
            scores[id_] = 1.0 - float(distance)
        return [self._hit(snapshot, snapshot.row_of[id_], s) for id_, s in scores.items()
                if id_ in snapshot.row_of]  # fmt: skip

    def _search_snapshot(
        self, vector: np.ndarray, k: int, where: dict | None = None
    ) -> list[PassageHit]:
        """`search` over the snapshot's passage vectors, exactly, with the same filters."""
        snapshot = self.snapshot()
        rows = np.flatnonzero(self._admitted(snapshot, where)) if where else None
        vectors = snapshot.passage_vectors if rows is None else snapshot.passage_vectors[rows]
        if not len(vectors):
            return []
        scores = np.asarray(vectors @ vector, dtype=np.float32)
        top = np.argsort(-scores, kind="stable")[: max(1, k)]
        return [
            self._hit(snapshot, int(row if rows is None else rows[row]), float(scores[row]))
            for row in top
        ]

    def _admitted(self, snapshot: Snapshot, where: dict) -> np.ndarray:
        """Which snapshot passages a Chroma where clause (as `rag.retrieve.Filters.where` makes
        it: $and of $in, $gt, $gte, $lt, $lte, $eq over article, outlet and day) lets through."""
        if self._filtered is None or self._filtered[0] is not snapshot:
            self._filtered = (
                snapshot,
                {
                    "document_id": np.array(snapshot.passages["article"], dtype=object),
                    "outlet": np.array(snapshot.passages["outlet"], dtype=object),
                    "day": np.array([day_number(d) for d in snapshot.passages["date"]]),
                },
            )
        columns = self._filtered[1]
        tests = {
            "$eq": lambda a, v: a == v, "$ne": lambda a, v: a != v,
            "$gt": lambda a, v: a > v, "$gte": lambda a, v: a >= v,
            "$lt": lambda a, v: a < v, "$lte": lambda a, v: a <= v,
            "$in": lambda a, v: np.isin(a, list(v)), "$nin": lambda a, v: ~np.isin(a, list(v)),
        }  # fmt: skip

        def admitted(clause: dict) -> np.ndarray:
            if "$and" in clause:
                return np.logical_and.reduce([admitted(part) for part in clause["$and"]])
            if "$or" in clause:
                return np.logical_or.reduce([admitted(part) for part in clause["$or"]])
            ((key, condition),) = clause.items()
            if not isinstance(condition, dict):
                condition = {"$eq": condition}
            ((operator, value),) = condition.items()
            return np.asarray(tests[operator](columns[key], value), dtype=bool)

        return admitted(where)

    @staticmethod
    def _hit(snapshot: Snapshot, row: int, score: float) -> PassageHit:
        columns = snapshot.passages
        return PassageHit(
            id=columns["id"][row], article=columns["article"][row], score=score,
            text=columns["text"][row], start=columns["start"][row], end=columns["end"][row],
            first=columns["first"][row], last=columns["last"][row], title=columns["title"][row],
            outlet=columns["outlet"][row], date=columns["date"][row],
        )  # fmt: skip

    # ---- index generations: the snapshot and BM25 index questions read, switched at once ------

    def generation(self) -> str:
        """The generation of indexes questions read now: the name of its folder under
        `indexes/`, which `indexes/current` holds; "" for a store from before generations,
        whose indexes are at the top of its folder."""
        try:
            return (self.path / INDEXES / "current").read_text().strip()
        except OSError:
            return ""

    def indexes(self, generation: str | None = None) -> Path:
        """The folder of a generation's indexes (the current one by default)."""
        generation = self.generation() if generation is None else generation
        return self.path / INDEXES / generation if generation else self.path

    @property
    def lexical_path(self) -> Path:
        return lexical_folder(self.indexes())

    @property
    def snapshot_path(self) -> Path:
        return snapshot_folder(self.indexes())

    def next_indexes(self) -> Path:
        """An empty folder for the next generation (see `publish`)."""
        current = self.generation()
        folder = self.path / INDEXES / str(int(current) + 1 if current.isdigit() else 1)
        shutil.rmtree(folder, ignore_errors=True)  # what a killed ingest left there
        folder.mkdir(parents=True)
        return folder

    def publish(self, folder: Path) -> None:
        """Make the indexes in folder the ones questions read, in one step (a rename of the
        pointer), and delete the generations before the one it replaces: a question that has
        just read the pointer can still open that one."""
        previous = self.generation()
        pointer = self.path / INDEXES / "current"
        partial = pointer.with_name("current.partial")
        partial.write_text(folder.name)
        os.replace(partial, pointer)
        for old in (self.path / INDEXES).iterdir():
            if old.is_dir() and old.name not in (folder.name, previous):
                shutil.rmtree(old, ignore_errors=True)
        if previous:  # a store from before generations: its indexes at the top are older
            shutil.rmtree(lexical_folder(self.path), ignore_errors=True)
            shutil.rmtree(snapshot_folder(self.path), ignore_errors=True)

    def passages_by_id(self, ids: Sequence[str], vector: np.ndarray) -> list[PassageHit]:
        """These passages, scored by cosine similarity to vector."""
        snapshot = self.snapshot()
        rows = [snapshot.row_of[id_] for id_ in ids if id_ in snapshot.row_of]
        scores = snapshot.passage_vectors[rows] @ vector if rows else []
        return [self._hit(snapshot, row, float(s)) for row, s in zip(rows, scores, strict=True)]

    def sentences_of(self, passages: Sequence[PassageHit | str]) -> list[SentenceRecord]:
        """Every sentence of these passages (hits, or passage ids), with its vector, in article
        order."""
        snapshot = self.snapshot()
        ids = [p if isinstance(p, str) else p.id for p in passages]
        rows = [
            sentence
            for id_ in dict.fromkeys(ids)
            if id_ in snapshot.row_of
            for sentence in snapshot.sentence_rows(snapshot.row_of[id_])
        ]
        return sorted(self._sentence_records(snapshot, rows), key=lambda r: (r.article, r.start))

    def sentences_between(self, article: str, first: int, last: int) -> list[SentenceRecord]:
        """An article's sentences first..last (inclusive), in order."""
        rows = self._sentence_rows({article: set(range(first, last + 1))})
        return sorted(self._sentence_records(self.snapshot(), rows), key=lambda r: r.start)

    def speaker_sentences(
        self,
        vector: np.ndarray,
        speakers: Sequence[str],
        k: int,
        articles: Collection[str] | None = None,
    ) -> list[SentenceRecord]:
        """The k sentences said by any of these speakers that are nearest to vector (exactly:
        one person's sentences are few), in these articles only when they are given.
        """
        positions: dict[str, set[int]] = {}  # who says each sentence is in the catalog
        for speaker in dict.fromkeys(speakers):
            for article, indexes in self._said_by().get(speaker, {}).items():
                if articles is None or article in articles:
                    positions.setdefault(article, set()).update(indexes)
        said = self._sentence_records(self.snapshot(), self._sentence_rows(positions))
        if not said:
            return []
        nearness = np.stack([record.vector for record in said]) @ vector
        return [said[i] for i in np.argsort(-nearness, kind="stable")[: max(1, k)]]

    def _said_by(self) -> dict[str, dict[str, set[int]]]:
        """Speaker -> article -> the indexes of the sentences they say, once per catalog (a
        scan of every article per question took 2 ms at 2,225 articles)."""
        catalog = self.catalog()
        if self._speakers is None or self._speakers[0] is not catalog:
            said: dict[str, dict[str, set[int]]] = {}
            for article in catalog.values():
                for index, who in enumerate(article.speakers):
                    if who:
                        said.setdefault(who, {}).setdefault(article.id, set()).add(index)
            self._speakers = (catalog, said)
        return self._speakers[1]

    def _sentence_rows(self, positions: dict[str, set[int]]) -> list[int]:
        """Snapshot rows of the sentence records at these (article -> sentence indexes)
        positions (a sentence cut into windows has a record per window)."""
        snapshot = self.snapshot()
        index = snapshot.sentences["index"]
        return [
            sentence
            for article, wanted in positions.items()
            for row in snapshot.rows_of_article.get(article, [])
            for sentence in snapshot.sentence_rows(row)
            if index[sentence] in wanted
        ]

    @staticmethod
    def _sentence_records(snapshot: Snapshot, rows: Sequence[int]) -> list[SentenceRecord]:
        columns, passages = snapshot.sentences, snapshot.passages
        owners = np.searchsorted(snapshot.bounds, rows, side="right") - 1 if len(rows) else []
        return [
            SentenceRecord(
                article=passages["article"][owner], index=columns["index"][row],
                start=columns["start"][row], end=columns["end"][row],
                passage=passages["id"][owner], text=columns["text"][row],
                vector=snapshot.sentence_vectors[row], speaker=columns["speaker"][row],
            )
            for row, owner in zip(rows, owners, strict=True)
        ]  # fmt: skip

    # ---- the snapshot: what questions read, beside the BM25 index --------------------------------

    def snapshot(self) -> Snapshot:
        """The store's passages and sentences as columns (see index/snapshot.py), loaded once per
        generation; where none was saved for this generation (a store from an older version),
        read from Chroma into memory.

        An ingest writes a new generation and switches to it only when it has finished, so
        while it runs, questions read the last complete one.

        Raises:
            StoreBusyError: an ingest is running and no generation is complete yet (the first
                ingest into the store).
        """
        generation = self.generation()
        if self._snapshot is None or self._snapshot[0] != generation:
            with self._loading:
                if self._snapshot is None or self._snapshot[0] != generation:
                    if self._snapshot is not None:
                        self._reopen()  # the new generation may be another process's work
                    self._snapshot = (generation, self._load_snapshot(generation))
        return self._snapshot[1]

    def _load_snapshot(self, generation: str) -> Snapshot:
        folder = self.indexes(generation)
        saved = Snapshot.load(snapshot_folder(folder))
        if saved is not None and saved.stamp == saved_stamp(lexical_folder(folder)):
            return saved
        if self._marker.exists() and lock.held(self.path):
            raise StoreBusyError(
                f"the first ingest into {self.path} is still running, and nothing of it can "
                "be read until it has finished; ask again then"
            )
        return self.read_snapshot("")

    def read_snapshot(
        self,
        stamp: str,
        reusable: Sequence[Snapshot] = (),
        folder: Path | None = None,
        metadata: dict[str, dict] | None = None,
    ) -> Snapshot:
        """A snapshot of every complete article, written to folder when one is given: an
        article's rows are taken from a reusable snapshot (the last one saved, what this ingest
        wrote) that holds them at its current content hash, and read from Chroma otherwise.

        metadata: `article_metadata()` when the caller has just read it (fresh: mid-ingest, the
        catalog lags).
        """
        metadata = self.article_metadata() if metadata is None else metadata
        articles = {id_: meta for id_, meta in metadata.items() if meta.get("complete")}
        source: dict[str, int] = {}  # article -> the reusable snapshot it is taken from
        for number, part in enumerate(reusable):
            for article, content in part.hashes.items():
                if article in articles and articles[article].get("hash", "") == content:
                    source[article] = number
        pieces = [
            (part, part.rows_of({a for a, n in source.items() if n == number}))
            for number, part in enumerate(reusable)
        ]
        fresh = [a for a in sorted(articles) if a not in source]
        for start in range(0, len(fresh), 500):
            chunk = fresh[start : start + 500]
            part = self._read_rows({a: articles[a] for a in chunk})
            pieces.append((part, range(len(part.passages["id"]))))
        return Snapshot.join(pieces, stamp, articles, folder)

    def _read_rows(self, metadata: dict[str, dict]) -> Snapshot:
        """The passages and sentence records of these articles (id -> their metadata, as
        `article_metadata` read it), from Chroma: vectors and passage metadata from their
        records, texts from the articles', sentence offsets and speakers from metadata."""
        ids = [
            passage_id(a, n)
            for a, meta in metadata.items()
            for n in range(int(meta.get("passages", 0)))
        ]
        got = self.passages.get(ids=ids, include=["metadatas", "embeddings"])
        columns = (got["ids"], got["metadatas"], got["embeddings"])
        found = {id_: (meta, vector) for id_, meta, vector in zip(*columns, strict=True)}
        ids = [id_ for id_ in ids if id_ in found]
        texts = self.articles.get(ids=list(metadata), include=["documents"])
        article_of = {
            id_: _article_from_row(id_, text, metadata[id_])
            for id_, text in zip(texts["ids"], texts["documents"], strict=True)
        }
        passages = {name: [] for name in PASSAGE_TEXT + PASSAGE_NUMBERS}
        sentences = {name: [] for name in SENTENCE_TEXT + SENTENCE_NUMBERS}
        sizes = []
        wanted: list[str] = []
        for id_ in ids:
            meta = _node_fields(found[id_][0])
            article = article_of[meta["article"]]
            text = article.text[int(meta["start"]) : int(meta["end"])]
            for name, value in (("id", id_), ("text", text), ("article", meta["article"])):
                passages[name].append(value)
            for name in ("title", "outlet", "date"):
                passages[name].append(meta.get(name, ""))
            for name in PASSAGE_NUMBERS:
                passages[name].append(int(meta[name]))
            first, count = int(meta["first"]), _sentence_count(meta)
            wanted.extend(sentence_ids_of(id_, count))
            sizes.append(count)
            for index in range(first, first + count):
                _add_sentence(sentences, article.text, article.sentences, article.speakers, index)
        vector_of = {}
        for start in range(0, len(wanted), 5000):
            rows = self.sentences.get(ids=wanted[start : start + 5000], include=["embeddings"])
            vectors = np.asarray(rows["embeddings"], np.float32).reshape(-1, DIM)
            vector_of.update(zip(rows["ids"], vectors, strict=True))
        present = [id_ in vector_of for id_ in wanted]
        if not all(present):  # never so in a store ingest wrote; kept readable if it happens
            sentences = {name: [v for v, p in zip(column, present, strict=True) if p]
                         for name, column in sentences.items()}  # fmt: skip
            ends = np.cumsum(sizes)
            sizes = [sum(present[end - size : end]) for size, end in zip(sizes, ends, strict=True)]
        vectors = [vector_of[id_] for id_ in wanted if id_ in vector_of]
        return Snapshot(
            stamp="",
            passages=passages,
            sentences=sentences,
            bounds=np.concatenate([[0], np.cumsum(sizes, dtype=np.int64)]),
            passage_vectors=np.asarray([found[i][1] for i in ids], np.float32).reshape(-1, DIM),
            sentence_vectors=np.asarray(vectors, np.float32).reshape(-1, DIM),
        )

    def catalog(self) -> dict[str, Article]:
        """Every article's metadata (no text), from the snapshot: read once per store
        generation (an ingest that changes the store, in this process or another, rebuilds the
        snapshot and the BM25 index)."""
        snapshot = self.snapshot()
        if self._catalog is None or self._catalog[0] is not snapshot:
            articles = {
                id_: _article_from_row(id_, "", meta) for id_, meta in snapshot.articles.items()
            }
            self._catalog = (snapshot, articles)
        return self._catalog[1]

    def people(self) -> tuple[dict[str, int], dict[str, int]]:
        """Everyone quoted in the store, and everyone named in it (quoted or not), each with
        the number of articles that do so; counted once per catalog."""
        catalog = self.catalog()
        if self._people is None or self._people[0] is not catalog:
            quoted: dict[str, int] = {}
            named: dict[str, int] = {}
            for article in catalog.values():
                for name in article.people:
                    quoted[name] = quoted.get(name, 0) + 1
                for name in article.named:
                    named[name] = named.get(name, 0) + 1
            self._people = (catalog, quoted, named)
        return self._people[1], self._people[2]

    def article(self, article_id: str) -> Article:
        rows = self.articles.get(ids=[article_id], include=["documents", "metadatas"])
        if not rows["ids"]:
            raise ArticleNotFoundError(
                f"no article {article_id!r} in {self.path}; `rag ask` lists cited article ids"
            )
        return _article_from_row(article_id, rows["documents"][0], rows["metadatas"][0])

    def articles_by_id(self, article_ids: Sequence[str]) -> list[Article]:
        """These articles' metadata, without their text."""
        catalog = self.catalog()
        return [catalog[id_] for id_ in article_ids if id_ in catalog]

    def list_articles(self) -> list[Article]:
        """All articles, without their text, ordered by id."""
        return sorted(self.catalog().values(), key=lambda a: a.id)


def snapshot_folder(indexes: Path) -> Path:
    """Where a generation's snapshot is saved; named after its format, so a snapshot in an
    older format is never read, and the next ingest writes one in this format."""
    return indexes / f"snapshot-{SNAPSHOT_FORMAT}"


def lexical_folder(indexes: Path) -> Path:
    """Where a generation's BM25 index is saved."""
    return indexes / "bm25"


def _client(path: Path, chroma_url: str | None):
    """An embedded client on path, or an HTTP client for a server, checked to answer."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    settings = ChromaSettings(anonymized_telemetry=False)
    if not chroma_url:
        return chromadb.PersistentClient(path=str(path), settings=settings)
    url = urlparse(chroma_url if "//" in chroma_url else f"http://{chroma_url}")
    if url.scheme not in ("http", "https") or not url.hostname:
        raise StoreUnavailableError(
            f"{chroma_url!r} is not a Chroma server URL; use http://HOST:PORT"
        )
    try:
        client = chromadb.HttpClient(
            host=url.hostname, port=url.port or 8000, ssl=url.scheme == "https", settings=settings
        )
        client.heartbeat()
    except Exception as error:  # chromadb raises ValueError, httpx errors, ... for a dead server
        raise StoreUnavailableError(
            f"cannot reach the Chroma server at {chroma_url} ({error}); start it "
            f"(`chroma run --path DIR --port {url.port or 8000}`) or leave out --chroma-url"
        ) from None
    return client


def _read_all(collection, include: list[str], page: int = 5000) -> dict:
    """Every row of a collection, read a page at a time: one get of them all fails in Chroma's
    SQLite ("too many SQL variables") past about 32,000 rows."""
    rows: dict[str, list] = {"ids": [], **{column: [] for column in include}}
    while True:
        got = collection.get(include=include, limit=page, offset=len(rows["ids"]))
        for column in rows:
            rows[column].extend(got[column])
        if len(got["ids"]) < page:
            return rows


def _filtered(metadata: dict) -> dict:
    """A passage's Chroma metadata as llama-index made it, less the keys nothing filters on
    (they stay in the node's JSON)."""
    return {k: v for k, v in metadata.items() if k in FILTERED or k.startswith("_node_")}


def _node_fields(metadata: dict) -> dict:
    """A passage's own fields (article, title, outlet, date, n, first, last, start, end), from
    the node's JSON in its Chroma metadata."""
    return json.loads(metadata["_node_content"])["metadata"]


def _sentence_count(fields: dict) -> int:
    return int(fields["last"]) - int(fields["first"]) + 1


def sentence_ids_of(passage: str, sentences: int) -> list[str]:
    """The store ids of a passage's sentence records."""
    return [f"{passage}/s{k}" for k in range(sentences)]


def _add_sentence(columns: dict[str, list], text: str, spans, speakers, index: int) -> None:
    """Append an article's sentence (by index) to snapshot columns."""
    start, end = spans[index]
    columns["text"].append(text[start:end])
    columns["speaker"].append(speakers[index] if speakers else "")
    columns["index"].append(index)
    columns["start"].append(start)
    columns["end"].append(end)


def _article_metadata(article: Article, passages: int, complete: bool) -> dict:
    return {
        "title": article.title,
        "outlet": article.outlet,
        "author": article.author,
        "date": article.date,
        "hash": article.hash,
        "complete": complete,
        "passages": passages,
        "sentences": json.dumps(article.sentences, separators=(",", ":")),
        "speakers": json.dumps(article.speakers, separators=(",", ":")),
        "people": json.dumps(article.people),
        "named": json.dumps(article.named),
        "entities": json.dumps(article.entities, separators=(",", ":")),
        "day": day_number(article.date),
    }


_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})", re.ASCII)


def day_number(date: str) -> int:
    """ "2025-01-18" -> 20250118, for range filters (Chroma compares numbers only); 0 if none.

    Raises:
        FilterError: date is not a real date as YYYY-MM-DD ("2005/01/01", "yesterday").
    """
    if not date:
        return 0
    match = _ISO_DATE.fullmatch(date)
    if match:
        try:
            datetime.date(*(int(part) for part in match.groups()))
        except ValueError:  # 2005-02-30
            match = None
    if not match:
        raise FilterError(
            f"{date!r} is not a date as YYYY-MM-DD; give dates to filter by like 2005-01-31"
        )
    return int(date.replace("-", ""))


def _article_from_row(article_id: str, text: str, meta: dict) -> Article:
    return Article(
        id=article_id,
        hash=meta.get("hash", ""),
        text=text or "",
        title=meta.get("title", ""),
        outlet=meta.get("outlet", ""),
        author=meta.get("author", ""),
        date=meta.get("date", ""),
        sentences=tuple(tuple(span) for span in json.loads(meta.get("sentences") or "[]")),
        speakers=tuple(json.loads(meta.get("speakers") or "[]")),
        people=tuple(json.loads(meta.get("people") or "[]")),
        named=tuple(json.loads(meta.get("named") or "[]")),
        entities=tuple(tuple(entity) for entity in json.loads(meta.get("entities") or "[]")),
        passages=int(meta.get("passages", 0)),
    )
