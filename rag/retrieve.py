"""Find what may answer: passages by dense and BM25 search fused, sentences inside them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from index.lexical import LexicalIndex
from index.records import Article
from index.store import PassageHit, Store, day_number

RRF_K = 60  # the constant of reciprocal rank fusion (Cormack et al. 2009)
DEPTH = 20  # candidates each retriever hands to fusion


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
