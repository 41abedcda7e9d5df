"""`ask()`: a question in, a cited answer (or a plain "the articles don't say") out."""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

from index.embed import MODEL_NAME, encoder_for
from index.store import Store
from rag import compose, select
from rag.answer import Answer
from rag.errors import EmptyQuestionError, StoreIncompleteError, StoreNotFoundError
from rag.settings import Settings

_FOLLOW_UP = re.compile(
    r"^(and|but|also|what about|how about)\b|\b(he|she|they|him|her|them|it|his|its|their)\b", re.I
)


@lru_cache(maxsize=8)
def _open(path: Path) -> Store:
    return Store(path, MODEL_NAME)


def open_store(path: str | Path) -> Store:
    """The store at path, opened once per process; a missing or empty store is an error."""
    db = _open(Path(path).expanduser().resolve())
    if db.count() == 0:
        raise StoreNotFoundError(
            f"the store at {db.path} holds no articles; run `rag ingest FOLDER --store {db.path}`"
        )
    return db


def rewrite(question: str, history: Sequence[str] | None) -> str:
    """The retrieval query: a short follow-up ("What about Syria?") carries the last question."""
    if not history:
        return question
    earlier = [h for h in history if isinstance(h, str) and h.strip()]
    if earlier and (_FOLLOW_UP.search(question) or len(select.terms(question)) <= 2):
        return f"{earlier[-1].strip()} {question}"
    return question


def ask(
    question: str,
    *,
    history: Sequence[str] | None = None,
    store: str | Path | None = None,
    settings: Settings | None = None,
) -> Answer:
    """Answer a question from the ingested articles, citing the sentences the answer came from.

    Args:
        question: what the user asked.
        history: earlier questions of the same chat, oldest first, for follow-ups.
        store: store folder; defaults to settings.store (RAG_STORE, else the documented default).
        settings: overrides Settings.from_env().

    Returns:
        An Answer. When the articles do not answer, `abstained` is True and `related` lists the
        closest sentences.

    Raises:
        EmptyQuestionError: the question is empty or whitespace (also a ValueError).
        StoreNotFoundError: no store, or an empty one, at the location.
        StoreIncompleteError: an ingest into the store stopped part-way.
    """
    if not isinstance(question, str) or not question.strip():
        raise EmptyQuestionError(
            f"the question is empty ({question!r}); ask something about the articles"
        )
    question = question.strip()
    settings = (settings or Settings.from_env()).with_store(store)
    db = open_store(settings.store)
    unfinished = db.incomplete()
    if unfinished:
        raise StoreIncompleteError(
            f"an ingest into {db.path} stopped part-way ({len(unfinished)} articles unfinished, "
            f"e.g. {unfinished[0]}); run `rag ingest FOLDER --store {db.path}` again to finish it"
        )
    query = rewrite(question, history)
    encoder = encoder_for(settings.threads, settings.ingest_threads, settings.batch_size)
    vector = encoder.embed_query(query)
    hits = db.search(vector, settings.top_k)
    scored = select.score(query, vector, hits, db.sentences_of([h.id for h in hits]))
    picked = select.pick(scored, settings.max_citations)
    cited = compose.citations(picked, hits)
    related = [] if cited else compose.citations(scored[:3], hits)
    return compose.answer(question, query, cited, related)


def article_text(article_id: str, *, store: str | Path | None = None) -> str:
    """The stored, cleaned text of an article: every citation's quote is `text[start:end]`."""
    settings = Settings.from_env().with_store(store)
    return open_store(settings.store).article(article_id).text
