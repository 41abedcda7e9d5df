"""`ask()`: a question in, a cited answer (or a plain "the articles don't say") out.

A question travels once through four steps, each a module with one job: understand
(rag/understand.py: follow-ups resolved, speaker and topic split), retrieve (rag/retrieve.py:
candidate sentences from dense and BM25 search and the speaker index), read (rag/read.py: the
trained reader's choice of the sentences that answer, or of none) and compose (rag/compose.py:
the cited answer). An LLM, when asked for, then writes from the reader's best sentences
(rag/write.py) and each of its sentences is checked against the ones it cites."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from functools import lru_cache
from pathlib import Path

from core.errors import EmptyQuestionError, StoreIncompleteError, StoreNotFoundError
from core.settings import Settings
from index.embed import MODEL_NAME
from index.store import Store
from rag import compose, read, retrieve, write
from rag.answer import Answer, Citation
from rag.llm import connect
from rag.retrieve import Filters
from rag.understand import resolve


@lru_cache(maxsize=8)
def _open(path: Path, chroma_url: str | None) -> Store:
    return Store(path, MODEL_NAME, chroma_url=chroma_url)


def open_store(path: str | Path, chroma_url: str | None = None) -> Store:
    """The store at path (or on a Chroma server), opened once per process; a missing or empty
    store is an error."""
    db = _open(Path(path).expanduser().resolve(), chroma_url)
    if not db.catalog() and not db.incomplete():  # cached until an ingest changes the store
        raise StoreNotFoundError(
            f"the store at {db.path} holds no articles; run `rag ingest FOLDER --store {db.path}`"
        )
    return db


def ask(
    question: str,
    *,
    history: Sequence[str] | None = None,
    store: str | Path | None = None,
    settings: Settings | None = None,
    outlets: Sequence[str] | str | None = None,
    date_from: str | None = None,
    date_to: str | None = None,
    articles: Sequence[str] | str | None = None,
    llm: str | None = None,
    on_token: Callable[[str], None] | None = None,
) -> Answer:
    """Answer a question from the ingested articles, citing the sentences the answer came from.

    Args:
        question: what the user asked.
        history: earlier questions of the same chat, oldest first, for follow-ups.
        store: store folder; defaults to settings.store (RAG_STORE, else the documented default).
        settings: overrides Settings.from_env().
        outlets, date_from, date_to, articles: answer only from these outlets, this publication
            date range (ISO dates, inclusive; undated articles are then left out), these ids.
        llm: who writes the answer: "none" (default: the sentences themselves), "local" (the
            packaged model) or an OpenAI-compatible server's URL; overrides settings.llm.
        on_token: called with each piece of the LLM's reply as it is written (the chat streams
            it); the Answer returned is the reply checked.

    Returns:
        An Answer. When the articles do not answer, `abstained` is True and `related` lists the
        closest sentences.

    Raises:
        EmptyQuestionError: the question is empty or whitespace (also a ValueError).
        StoreNotFoundError: no store, or an empty one, at the location.
        StoreIncompleteError: an ingest into the store stopped part-way.
        SettingsError: llm is none of those.
        ModelFileError: the local model's file is missing or not the published one.
    """
    if not isinstance(question, str) or not question.strip():
        raise EmptyQuestionError(
            f"the question is empty ({question!r}); ask something about the articles"
        )
    question = question.strip()
    settings = (settings or Settings.from_env()).with_store(store)
    if llm is not None:
        settings = replace(settings, llm=llm)
    db = open_store(settings.store, settings.chroma_url)
    unfinished = db.incomplete()
    if unfinished:
        raise StoreIncompleteError(
            f"an ingest into {db.path} stopped part-way ({len(unfinished)} articles unfinished, "
            f"e.g. {unfinished[0]}); run `rag ingest FOLDER --store {db.path}` again to finish it"
        )
    filters = Filters(
        outlets=_tuple(outlets), date_from=date_from or "", date_to=date_to or "",
        articles=_tuple(articles),
    )  # fmt: skip
    query = resolve(question, history)  # understand
    found = retrieve.find(db, query, settings, filters)  # retrieve
    reading = read.read(query, found, read.reader(), settings.max_citations)  # read
    extractive = compose.reply(db, query, found, reading)  # compose
    if settings.llm == "none":
        return extractive
    if extractive.abstained:  # the articles do not cover it: no model is asked
        return write.fallback(extractive, "the articles do not cover the question")
    sources = llm_sources(db, reading, extractive, settings.llm_sources)
    llm, name = connect(settings)
    try:
        reply = ""
        # a follow-up is asked as retrieval understood it ("Why?" joined to the question before)
        for piece in write.stream(llm, extractive.query or question, sources):
            reply += piece
            if on_token:
                on_token(piece)
    except Exception as error:  # any failure of the model or its server: answer without it
        return write.fallback(extractive, f"{name} did not answer ({_one_line(error)})")
    return write.written(extractive, sources, reply, name)


def llm_sources(db: Store, reading: read.Reading, extractive: Answer, limit: int) -> list[Citation]:
    """The sentences an LLM is given: the extractive answer's citations, then the reader's best
    other candidates, limit in all, each a Citation that resolves to its exact offsets."""
    sources = list(extractive.citations[:limit])
    spans = [(c.article, c.start, c.end) for c in sources]
    extra = [
        s.sentence
        for s in reading.scored
        if not any(a == s.sentence.article and b <= s.sentence.start < e for a, b, e in spans)
    ][: max(0, limit - len(sources))]
    found = [compose.Span(r.article, r.index, r.index, r.start, r.end, r.text, 0.0, r.speaker)
             for r in extra]  # fmt: skip
    sources += compose.citations(found, compose.sources(db, {r.article for r in extra}))
    return [replace(c, n=n) for n, c in enumerate(sources, start=1)]


def _one_line(error: Exception) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) < 200 else text[:197] + "..."


def _tuple(value: Sequence[str] | str | None) -> tuple[str, ...]:
    if not value:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


def article_text(
    article_id: str, *, store: str | Path | None = None, settings: Settings | None = None
) -> str:
    """The stored, cleaned text of an article: every citation's quote is `text[start:end]`."""
    settings = (settings or Settings.from_env()).with_store(store)
    return open_store(settings.store, settings.chroma_url).article(article_id).text
