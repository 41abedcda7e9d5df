"""Ingest a folder: load -> clean -> split -> embed -> write, incrementally and crash-safely."""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from dataclasses import replace as with_fields
from pathlib import Path

import numpy as np

from core.errors import IngestSourceError
from core.settings import Settings
from index import lock
from index.clean import clean
from index.embed import MODEL_NAME, Encoder
from index.lexical import LexicalIndex, saved_stamp, stamp
from index.load import discover, read
from index.records import Article, Passage, Skip, Source
from index.snapshot import DIM, Snapshot
from index.speakers import with_speakers_all
from index.split import passages as group_passages
from index.split import split, title_line
from index.store import ArticleState, Store, lexical_folder, snapshot_folder
from index.worker import SpeakerProcess

log = logging.getLogger("index")

# Part of every article's fingerprint: bump it when cleaning, splitting or what is read of the
# sentences (speakers, entities) changes, and the next ingest redoes every article instead of
# keeping ones made by the old code.
PIPELINE = "9"
# Passages embedded at once (see `_embed`): 256 of at most 254 word pieces hold 100 MB of token
# vectors; a chunk of 64 news articles has about 300 passages.
EMBED_SLICE = 256
# An ingest of this many articles or more reads them with spaCy in a process of its own
# (index/worker.py); fewer are read in this process, where spaCy loads once and stays.
SPACY_PROCESS_AT = 64


@dataclass(frozen=True)
class IngestReport:
    """What one ingest did, per article id."""

    root: str
    store: str
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    skipped: list[Skip] = field(default_factory=list)
    passages: int = 0  # passages written
    reused: int = 0  # of which the store already held the vectors (same text): not embedded
    seconds: float = 0.0

    def summary(self) -> str:
        reasons = "; ".join(f"{s.id}: {s.reason}" for s in self.skipped[:5])
        more = f"; {len(self.skipped) - 5} more" if len(self.skipped) > 5 else ""
        skipped = f"{len(self.skipped)} skipped" + (f" ({reasons}{more})" if reasons else "")
        return (
            f"{self.root}: {len(self.added)} added, {len(self.updated)} updated, "
            f"{len(self.unchanged)} unchanged, {len(self.removed)} removed, {skipped}; "
            f"{self.passages} passages ({self.reused} with vectors reused) in {self.seconds:.1f} s "
            f"-> {self.store}"
        )


def ingest(
    path: str | Path,
    store: str | Path | None = None,
    *,
    settings: Settings | None = None,
    progress: bool | Callable[[int, int], None] = False,
    replace: bool = False,
    wait: bool = True,
) -> IngestReport:
    """Bring the store in line with the articles under path.

    New and changed files are embedded, unchanged ones (same content hash) are left alone, and
    articles whose file is gone are removed. Killed part-way, a rerun finishes the job. One
    ingest writes to a store at a time (index/lock.py); questions meanwhile read what the last
    complete one left.

    Args:
        path: folder of .txt, .md and .html articles, searched recursively.
        store: store folder; defaults to settings.store (RAG_STORE, else the documented default).
        settings: overrides Settings.from_env().
        progress: show a progress bar on stderr (True), or call progress(done, total) with the
            articles embedded so far.
        replace: allow a folder that shares no article with the store to replace its contents
            (without it, that is refused as a likely mistake).
        wait: when another ingest is writing to the store, wait for it (saying so on the
            "index" logger); with False, raise StoreBusyError instead.

    Returns:
        An IngestReport; its summary() is the one line the CLI prints.
    """
    began = time.perf_counter()
    settings = (settings or Settings.from_env()).with_store(store)
    root = Path(path).expanduser()
    files, skipped = discover(root)
    if not files:
        raise IngestSourceError(f"no .txt, .md or .html files under {root}; nothing to ingest")
    sources: list[Source] = []
    for file in files:
        result = read(file, root, settings.max_article_bytes)
        (skipped if isinstance(result, Skip) else sources).append(result)
    for skip in skipped:
        log.warning("skipped %s: %s", skip.id, skip.reason)
    if not sources:
        raise IngestSourceError(
            f"none of the {len(files)} files under {root} could be read as text "
            f"(first: {skipped[0].id}: {skipped[0].reason})"
        )
    with lock.writing(settings.store, wait=wait):
        return _ingest(root, sources, skipped, settings, progress, replace, began)


def _ingest(root, sources, skipped, settings, progress, replace, began) -> IngestReport:
    """`ingest`, from the sources read, under the store's lock."""
    db = Store(settings.store, MODEL_NAME, create=True, chroma_url=settings.chroma_url)
    metadata = db.article_metadata()
    manifest = db.manifest(metadata)
    present = {source.id for source in sources}
    if manifest and not replace and not present & set(manifest):
        raise IngestSourceError(
            f"{settings.store} holds {len(manifest)} articles and none of them is under {root}: "
            "this looks like another folder, and ingesting it would remove them all; "
            "use another --store, or --replace to replace them"
        )
    removed = sorted(set(manifest) - present)
    # int8 vectors are not float32 ones: a store that changes precision is embedded again.
    version = PIPELINE if settings.precision == "fp32" else f"{PIPELINE}:{settings.precision}"
    todo, unchanged = [], []
    for source in sources:
        fingerprint = f"{version}:{source.hash}"
        if manifest.get(source.id) == ArticleState(fingerprint, True):
            unchanged.append(source.id)
        else:
            todo.append(with_fields(source, hash=fingerprint))
    added = [s.id for s in todo if s.id not in manifest]
    updated = [s.id for s in todo if s.id in manifest]
    if todo or removed:
        db.begin_changes()  # until end_changes, answers say the store is unfinished
    db.remove(removed)

    count = reused = 0
    written: list[Snapshot | None] = []  # what was written, for the snapshot (see refresh_indexes)
    if todo:
        encoder = settings.encoder()
        bar = _progress(len(todo), progress)
        chunks = _chunks(todo, settings.chunk_articles)
        # A worker thread prepares the next chunk (clean, split, look up stored vectors) and
        # writes the last one while this thread embeds: the encoder releases the GIL, so that
        # Python work fills what the encoder leaves of the CPU. Every store call is on the
        # worker, in order, so each chunk is still written whole before the next one.
        with (
            _speaker_reader(len(todo)) as attribute,
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="ingest") as worker,
        ):
            prepared = worker.submit(_prepare, db, encoder, chunks[0], attribute)
            encoder.warm()
            writing = None
            for number in range(len(chunks)):
                batch = prepared.result()
                if number + 1 < len(chunks):
                    prepared = worker.submit(_prepare, db, encoder, chunks[number + 1], attribute)
                vectors = _embed(encoder, batch)
                if writing:
                    written.append(writing.result())  # a failed write stops the ingest here
                writing = worker.submit(db.write, *vectors)
                skipped.extend(batch.skips)
                count += len(batch.passages)
                reused += len(batch.keys) - len(batch.fresh)
                bar.update(len(chunks[number]))
            written.append(writing.result())
        bar.close()
        encoder.prepare_queries()  # once per machine: the first question need not wait for it
    # With nothing written or removed, the metadata read above is still the store's.
    refresh_indexes(db, [part for part in written if part], None if todo or removed else metadata)
    db.end_changes()
    empty = {s.id for s in skipped}
    return IngestReport(
        root=str(root),
        store=str(settings.store),
        added=[i for i in added if i not in empty],
        updated=[i for i in updated if i not in empty],
        unchanged=unchanged,
        removed=removed,
        skipped=skipped,
        passages=count,
        reused=reused,
        seconds=time.perf_counter() - began,
    )


def _chunks(todo: list[Source], size: int) -> list[list[Source]]:
    """todo in chunks of size articles, the first two smaller (an eighth, then half): the
    encoder waits for the first chunk to be split, and then splitting a chunk takes about a
    fifth of the time of embedding one as large."""
    sizes = [max(1, size // 8), max(1, size // 2)]
    chunks, start = [], 0
    while start < len(todo):
        step = sizes[len(chunks)] if len(chunks) < len(sizes) else size
        chunks.append(todo[start : start + step])
        start += step
    return chunks


@dataclass(frozen=True)
class _Batch:
    """A chunk of articles ready to embed: passages, what their vectors depend on (keys), the
    vectors the store already holds, and the rows still to embed, in word pieces."""

    articles: list[Article]
    passages: list[Passage]
    spans: list[tuple[tuple[int, int], ...]]
    keys: list[str]
    known: dict[str, tuple[np.ndarray, np.ndarray]]
    fresh: dict[str, int]  # key -> row of the first passage with it
    encodings: list  # the word pieces of each fresh row (Encoder.window)
    skips: list[Skip]


def _prepare(db: Store, encoder: Encoder, sources: list[Source], attribute) -> _Batch:
    """Clean, split and attribute a chunk's articles (attribute: see `_speaker_reader`), and
    find which passages need embedding."""
    return _plan(db, encoder, *_articles(sources, attribute))


@contextmanager
def _speaker_reader(count: int) -> Iterator[Callable[[list[Article]], list[Article]]]:
    """What reads articles with spaCy (speakers, entities) for an ingest of count articles:
    from SPACY_PROCESS_AT on, a process of its own beside the encoder (started now, so that it
    has loaded spaCy by the time the first chunk is split); for fewer, this process."""
    if count < SPACY_PROCESS_AT:
        yield with_speakers_all
        return
    with SpeakerProcess() as read:
        yield read


def _articles(sources: list[Source], attribute) -> tuple[list[Article], list[Skip]]:
    """The sources cleaned, split and attributed; those with no text left, as skips."""
    articles, skips = [], []
    for source in sources:
        article = split(clean(source))
        if not article.sentences:
            skips.append(Skip(source.id, "no article text left after cleaning"))
            log.warning("skipped %s: no article text left after cleaning", source.id)
            continue
        articles.append(article)
    return (attribute(articles) if articles else []), skips


def _plan(db: Store, encoder: Encoder, articles: list[Article], skips: list[Skip]) -> _Batch:
    """Cut articles into passages, and find which of them need embedding.

    A passage's vectors depend only on what the encoder sees, so a renamed file, a copy, or the
    unchanged paragraphs of an edited article cost no encoder time.
    """
    # Each article and title line is tokenized once; sentences are counted and passages'
    # encoder input is cut from those pieces (see embed.Pieces).
    texts = encoder.pieces([a.text for a in articles])
    titles = encoder.pieces([title_line(a) for a in articles])
    pieces_of = {
        a.id: (text, title) for a, text, title in zip(articles, texts, titles, strict=True)
    }
    passages = []
    for article in articles:
        sizes = pieces_of[article.id][0].counts(article.sentences)
        passages.extend(
            group_passages(article, encoder.count_tokens, encoder.hard_limit, sizes=sizes)
        )
    # Sentence spans relative to what the encoder sees (the title line, then the passage).
    spans = []
    for passage in passages:
        offset = len(passage.embed_text) - len(passage.text) - passage.start
        spans.append(tuple((s + offset, e + offset) for s, e in passage.sentence_spans))
    keys = [
        embedding_key(p.embed_text, s, encoder.precision)
        for p, s in zip(passages, spans, strict=True)
    ]
    known = db.vectors_for(keys)
    fresh: dict[str, int] = {}
    for row, key in enumerate(keys):
        if key not in known:
            fresh.setdefault(key, row)
    encodings = []
    for row in fresh.values():
        passage = passages[row]
        text, title = pieces_of[passage.article]
        shift = len(passage.embed_text) - len(passage.text)
        encodings.append(encoder.window(text, passage.start, passage.end, title, shift))
    return _Batch(articles, passages, spans, keys, known, fresh, encodings, skips)


def _embed(encoder: Encoder, batch: _Batch) -> tuple:
    """The arguments of Store.write for a batch: its passages embedded where not known.

    They are embedded EMBED_SLICE at a time: the encoder holds every token vector of what it
    is given until it has pooled them (1.5 KB a word piece). A 4 MB article's embedding
    peaked at 810 MB given whole, 612 MB in slices (benchmarks/large_article.py).
    """
    rows = list(batch.fresh.values())
    vectors, sentences = [np.zeros((0, DIM), dtype=np.float32)], []
    for start in range(0, len(rows), EMBED_SLICE):
        part = rows[start : start + EMBED_SLICE]
        pooled, said = encoder.embed_passages(
            [batch.passages[row].embed_text for row in part],
            [batch.spans[row] for row in part],
            batch.encodings[start : start + EMBED_SLICE],
        )
        vectors.append(pooled)
        sentences.extend(said)
    vectors = np.concatenate(vectors)
    known = dict(batch.known)
    known.update(zip(batch.fresh, zip(vectors, sentences, strict=True), strict=True))
    passage_vectors = np.stack([known[k][0] for k in batch.keys]) if batch.keys else vectors
    sentence_vectors = [known[k][1] for k in batch.keys]
    return batch.articles, batch.passages, passage_vectors, sentence_vectors, batch.keys


def embedding_key(text: str, spans, precision: str = "fp32") -> str:
    """What a passage's vectors depend on: the text the encoder sees, the sentence spans, and
    the precision of the batches (float32 keys name no precision, as before there was one)."""
    named = [text, spans] if precision == "fp32" else [text, spans, precision]
    return hashlib.sha256(json.dumps(named).encode()).hexdigest()[:32]


def refresh_indexes(
    db: Store, written: Sequence[Snapshot] = (), metadata: dict[str, dict] | None = None
) -> None:
    """Rebuild the snapshot of passages and sentences that questions read, and the BM25 index,
    when the articles they cover are not those in the store: the snapshot from the last one and
    the rows this ingest wrote (written), the BM25 index whole (bm25s indexes 10,000 passages in
    a second). metadata: the store's `article_metadata()`, read here when not given."""
    metadata = db.article_metadata() if metadata is None else metadata
    current = stamp({id_: s.hash for id_, s in db.manifest(metadata).items() if s.complete})
    last = db.indexes()
    if (
        saved_stamp(snapshot_folder(last)) == current
        and saved_stamp(lexical_folder(last)) == current
    ):
        return  # nothing changed since they were made: re-ingest of an unchanged corpus
    # Both are written into a new generation, which questions switch to at once when it is
    # whole (Store.publish): until then they read the last one.
    snapshot = Snapshot.load(snapshot_folder(last))
    folder = db.next_indexes()
    reusable = ([snapshot] if snapshot else []) + list(written)
    snapshot = db.read_snapshot(current, reusable, snapshot_folder(folder), metadata)
    columns = snapshot.passages
    texts = [f"{t}\n{x}" for t, x in zip(columns["title"], columns["text"], strict=True)]
    LexicalIndex.build(columns["id"], texts, current).save(lexical_folder(folder))
    db.publish(folder)


class _Callback:
    """A progress bar's update and close, calling progress(done, total)."""

    def __init__(self, total: int, progress: Callable[[int, int], None]):
        self.done, self.total, self.progress = 0, total, progress
        progress(0, total)

    def update(self, count: int) -> None:
        self.done += count
        self.progress(self.done, self.total)

    def close(self) -> None:
        pass


def _progress(total: int, progress: bool | Callable[[int, int], None]):
    if callable(progress):
        return _Callback(total, progress)
    from tqdm import tqdm

    return tqdm(total=total, unit="article", desc="ingest", disable=not progress or total < 2)
