"""Find what may answer: passages by dense and BM25 search fused, the sentences inside them
(and, for a question about what someone said, that person's sentences), ranked for the reader."""

from __future__ import annotations

import bisect
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from core.settings import Settings
from index.lexical import LexicalIndex, terms
from index.names import plain_name
from index.records import Article
from index.store import PassageHit, SentenceRecord, Store, day_number
from rag.understand import Query, entities, people_in

RRF_K = 60  # the constant of reciprocal rank fusion (Cormack et al. 2009)
DEPTH = 20  # candidates each retriever hands to fusion
SPEAKER_DEPTH = 12  # sentences of the asked-about speaker among the candidates
# How the first stage ranks candidate sentences for the reader: their own vector against the
# question's, and the share of the question's IDF-weighted words they hold.
DENSE, LEXICAL = 0.7, 0.15


@dataclass(frozen=True)
class Filters:
    """Restrict answers to some articles: by outlet, publication date range, or id."""

    outlets: tuple[str, ...] = ()
    date_from: str = ""  # ISO dates, inclusive
    date_to: str = ""
    articles: tuple[str, ...] = ()

    def where(self) -> dict | None:
        """The same restriction as a Chroma where clause over passage metadata."""
        clauses = []
        if self.outlets:
            clauses.append({"outlet": {"$in": list(self.outlets)}})
        if self.articles:
            # the article id, under the name llama-index's ChromaVectorStore gives it
            clauses.append({"document_id": {"$in": list(self.articles)}})
        if self.date_from:
            clauses.append({"day": {"$gte": day_number(self.date_from)}})
        if self.date_to:
            clauses.append({"day": {"$lte": day_number(self.date_to)}})
        if self.date_from or self.date_to:
            clauses.append({"day": {"$gt": 0}})  # undated articles match no date range
        if not clauses:
            return None
        return clauses[0] if len(clauses) == 1 else {"$and": clauses}

    def accepts(self, hit: PassageHit) -> bool:
        return self.admits(hit.article, hit.outlet, hit.date)

    def admits(self, article: str, outlet: str, date: str) -> bool:
        """Whether an article with this id, outlet and date passes (as `where` decides)."""
        day = day_number(date)
        return (
            (not self.outlets or outlet in self.outlets)
            and (not self.articles or article in self.articles)
            and (not self.date_from or day >= day_number(self.date_from))
            and (not self.date_to or 0 < day <= day_number(self.date_to))
            and (not (self.date_from or self.date_to) or day > 0)
        )

    def chosen(self, catalog: Iterable[Article]) -> set[str] | None:
        """The ids of the articles that pass, or None when nothing is filtered."""
        if self == Filters():
            return None
        return {a.id for a in catalog if self.admits(a.id, a.outlet, a.date)}


def fuse(rankings: Sequence[Sequence[str]], k: int = RRF_K) -> list[str]:
    """Reciprocal rank fusion: ids ordered by the sum of 1 / (k + rank) over the rankings."""
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
    return sorted(scores, key=lambda item: -scores[item])


@lru_cache(maxsize=8)
def _lexical(path: Path, modified: float) -> LexicalIndex | None:
    return LexicalIndex.load(path)


def lexical_index(db: Store) -> LexicalIndex | None:
    """The store's BM25 index, reloaded when an ingest has replaced it."""
    meta = db.lexical_path / "passages.json"
    return _lexical(db.lexical_path, meta.stat().st_mtime) if meta.exists() else None


def passages(
    db: Store, vector: np.ndarray, text: str, top_k: int, filters: Filters | None = None
) -> list[PassageHit]:
    """The top_k passages for a query: dense and BM25 rankings fused, best first."""
    filters = filters or Filters()
    dense = db.search(vector, DEPTH, filters.where())
    lexical = lexical_index(db)
    lexical_ids = [id_ for id_, _ in lexical.search(text, DEPTH)] if lexical else []
    order = fuse([[hit.id for hit in dense], lexical_ids])
    found = {hit.id: hit for hit in dense}
    missing = [id_ for id_ in order[: top_k * 2] if id_ not in found]
    extra = db.passages_by_id(missing, vector)
    found.update({hit.id: hit for hit in extra if filters.accepts(hit)})
    return [found[id_] for id_ in order if id_ in found][:top_k]


@dataclass(frozen=True)
class Candidate:
    """A sentence that may answer, with what the reader reads beside it.

    Attributes:
        sentence: the sentence, its offsets and vector.
        title: its article's title.
        before, after: the sentences next to it in its article ("" at an edge).
        prior: the first stage's score (DENSE x cosine + LEXICAL x word share), which orders
            candidates before the reader scores them.
        entities: spaCy's named entities of the sentence, as ingest stored them.
    """

    sentence: SentenceRecord
    title: str
    before: str
    after: str
    prior: float
    entities: tuple[tuple[str, str], ...] = ()  # (text, label) of its named entities


@dataclass(frozen=True)
class Found:
    """What retrieval found for a question.

    Attributes:
        candidates: the sentences the reader scores, best first by prior.
        pool: every retrieved sentence record, for merging neighbours into spans.
        speaker: the person the question asks about, as the store names them, or "".
        vector: the query's embedding.
        topic_vector: the embedding of what is asked (`Query.topic`), the same when it is the
            whole query.
        said: the (article, index) of the candidates that are the asked-about speaker's.
        idf: the store's inverse document frequency of a term, when it has a BM25 index.
        missing: why the articles cannot answer (a person they name but never quote, a name
            they never use), or "".
    """

    candidates: list[Candidate]
    pool: list[SentenceRecord]
    speaker: str = ""
    vector: np.ndarray | None = None
    topic_vector: np.ndarray | None = None
    said: frozenset[tuple[str, int]] = frozenset()
    idf: Callable[[str], float] | None = None
    missing: str = ""


def find(db: Store, query: Query, settings: Settings, filters: Filters | None = None) -> Found:
    """The candidate sentences for a query: those of the top passages and, for a question about
    what someone said, that person's nearest sentences; the `settings.read_depth` best by prior."""
    filters = filters or Filters()
    vector = settings.encoder().embed_query(query.text)
    lexical = lexical_index(db)
    pool = db.sentences_of(passages(db, vector, query.text, settings.top_k, filters))
    speaker, said = "", []
    quoted, named = db.people() if query.speaker else ({}, {})
    if query.speaker:
        speaker, names = find_people(query.speaker, quoted)
        if speaker:
            chosen = filters.chosen(db.catalog().values())
            said = db.speaker_sentences(vector, names, SPEAKER_DEPTH, chosen)
    ranked = rank(query.text, vector, said + pool, lexical.idf if lexical else None)
    theirs = {(r.article, r.index) for r in said}
    # A speaker's own sentences are read first: the question is about them.
    ranked.sort(key=lambda pair: (-((pair[0].article, pair[0].index) in theirs), -pair[1]))
    kept = ranked[: settings.read_depth]
    kept.sort(key=lambda pair: -pair[1])
    idf = lexical.idf if lexical else None
    missing = not_in_articles(query, speaker, named, lexical)
    same = query.topic == query.text or not query.topic
    topic_vector = vector if same else settings.encoder().embed_query(query.topic)
    return Found(
        _with_context(db, kept), said + pool, speaker, vector, topic_vector,
        frozenset(theirs), idf, missing,
    )  # fmt: skip


def not_in_articles(query: Query, speaker: str, named: dict[str, int], lexical) -> str:
    """Why the articles cannot answer: a person asked about (and not found among the quoted,
    `speaker`) who is named (`named`) but never quoted, or a name the articles never use; ""
    when neither."""
    asked = query.speaker if query.speaker[:1].isupper() else ""
    if asked and not speaker:
        person = find_people(asked, named)[0]
        if person:
            return f"The articles mention {person} but do not quote them."
        if len(_plain_name(asked).split()) > 1 or asked in people_in(query.text):
            return f"The articles don't quote {asked}."  # a person (by spaCy) nobody quotes
    vocabulary = lexical.vocabulary if lexical else ()
    for name in entities(query.question or query.text):
        if vocabulary and not set(terms(name)) & vocabulary:
            shown = re.sub(r"['’]s$", "", name)
            return f"The articles don't mention {shown}."
    return ""


def rank(
    text: str, vector: np.ndarray, records: Sequence[SentenceRecord], idf=None
) -> list[tuple[SentenceRecord, float]]:
    """Each distinct sentence once (a sentence cut into windows has a record per window, the
    best kept) with its first-stage score, best first."""
    if not records:
        return []
    dense = np.stack([r.vector for r in records]) @ vector
    share = lexical_scores(terms(text), [r.text for r in records], idf)
    best: dict[tuple[str, int], tuple[SentenceRecord, float]] = {}
    for record, d, w in zip(records, dense, share, strict=True):
        score = DENSE * float(d) + LEXICAL * w
        key = (record.article, record.index)
        if key not in best or score > best[key][1]:
            best[key] = (record, score)
    return sorted(best.values(), key=lambda pair: -pair[1])


def _with_context(db: Store, ranked) -> list[Candidate]:
    catalog = db.catalog()
    candidates = []
    for record, prior in ranked:
        near = {r.index: r.text for r in db.sentences_between(
            record.article, record.index - 1, record.index + 1)}  # fmt: skip
        article = catalog.get(record.article)
        candidates.append(
            Candidate(
                sentence=record,
                title=article.title if article else "",
                before=near.get(record.index - 1, ""),
                after=near.get(record.index + 1, ""),
                prior=prior,
                entities=_entities_in(record, article),
            )
        )
    return candidates


def _entities_in(record: SentenceRecord, article) -> tuple[tuple[str, str], ...]:
    """The entities ingest found in a sentence, as (text, label)."""
    if article is None or not article.entities:
        return ()
    at = bisect.bisect_left(article.entities, (record.start,))
    found = []
    for start, end, label in article.entities[at:]:
        if start >= record.end:
            break
        if end <= record.end:
            found.append((record.text[start - record.start : end - record.start], label))
    return tuple(found)


def lexical_scores(
    query_terms: Sequence[str], sentences: Sequence[str], idf: Callable[[str], float] | None = None
) -> list[float]:
    """Share of the query's IDF weight that each sentence contains.

    IDF is the corpus's when given (the store's BM25 statistics), else over these sentences.
    """
    unique = set(query_terms)
    if not unique or not sentences:
        return [0.0] * len(sentences)
    bags = [set(terms(s)) for s in sentences]
    if idf is None:
        n = len(bags)
        weight = {t: math.log(1 + (n + 1) / (1 + sum(t in bag for bag in bags))) for t in unique}
    else:
        weight = {t: idf(t) for t in unique}
    total = sum(weight.values()) or 1.0
    return [sum(weight[t] for t in unique if t in bag) / total for bag in bags]


def find_people(who: str, people: dict[str, int]) -> tuple[str, list[str]]:
    """The person a name as asked means ("Hussein", "Prime Minister Sudani"), and every name
    the store records them under; ("", []) when nobody matches.

    Where several people match ("Blair": Tony, Ian), the one with the fullest name quoted in
    most articles is meant.
    """
    wanted = [w.lower().removesuffix("'s").removesuffix("’s") for w in _plain_name(who).split()]
    if not wanted:
        return "", []
    directory = _directory(people)
    found, rank = directory.found, directory.rank
    matching = set.intersection(*(directory.by_word.get(w, set()) for w in wanted))
    if not matching:
        return "", []
    best = max(sorted(matching, key=rank.get), key=lambda name: (len(name.split()), found[name][1]))
    # "Mr Blair said" in an article that never gives his first name is "Tony Blair" too
    words = best.lower().split()
    near = set().union(*(directory.by_word.get(w, set()) for w in words))
    same = [
        n
        for n in sorted(near, key=rank.get)
        if set(n.lower().split()) <= set(words) and words[-1] in n.lower()
    ]
    return best, [raw for name in same for raw in found[name][0]]


@dataclass(frozen=True)
class _Directory:
    """A store's people under their plain names (raw names, articles), in the order first
    met (rank), and the plain names each lower-case word is part of."""

    found: dict[str, tuple[list[str], int]]
    rank: dict[str, int]
    by_word: dict[str, set[str]]


_DIRECTORIES: dict[int, tuple[dict[str, int], _Directory]] = {}


def _directory(people: dict[str, int]) -> _Directory:
    """The directory of a people dict, made once per dict: scanning every name per question
    took 10 ms at 2,225 articles."""
    known = _DIRECTORIES.get(id(people))
    if known is not None and known[0] is people:
        return known[1]
    found: dict[str, tuple[list[str], int]] = {}
    for raw, count in people.items():
        name = _plain_name(raw)
        if name:
            names, total = found.get(name, ([], 0))
            found[name] = (names + [raw], total + count)
    by_word: dict[str, set[str]] = {}
    for name in found:
        for word in name.lower().split():
            by_word.setdefault(word, set()).add(name)
    directory = _Directory(found, {name: i for i, name in enumerate(found)}, by_word)
    if len(_DIRECTORIES) >= 8:  # one or two per store generation
        _DIRECTORIES.clear()
    _DIRECTORIES[id(people)] = (people, directory)
    return directory


@lru_cache(maxsize=1 << 16)
def _plain_name(raw: str) -> str:
    """A recorded name without titles or openers, worked out once per name per process."""
    return plain_name(raw)
