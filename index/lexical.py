"""The lexical half of hybrid retrieval: a BM25 index (bm25s) over passages, kept in the store.

It is rebuilt after any ingest that changed the store, from the passages of the store's snapshot
(index/snapshot.py), and stamped with a digest of the articles it covers, so an index left
stale by a killed run is noticed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import re
import shutil
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np

STOPWORDS = frozenset(
    """
    a about above after again against all am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for
    from further had has have having he her here hers herself him himself his how i if in
    into is it its itself just me more most my myself no nor not now of off on once only or
    other our ours ourselves out over own same she should so some such than that the their
    theirs them themselves then there these they this those through to too under until up
    very was we were what when where which while who whom why will with would you your yours
    yourself yourselves say said says tell told according article articles news report
    reported mention mentioned think view
    """.split()  # noqa: SIM905
)
STEM = 6  # words are cut to 6 letters: "mediation", "mediate", "mediator" meet


def terms(text: str) -> list[str]:
    """Content words, lower-cased and cut to a stem."""
    words = re.findall(r"[a-z0-9]+(?:'[a-z]+)?", text.lower().replace("’", "'"))
    return [
        word.removesuffix("'s")[:STEM]
        for word in words
        if word not in STOPWORDS and len(word.removesuffix("'s")) > 1
    ]


def stamp(manifest: dict[str, str]) -> str:
    """A digest of the article ids and hashes an index covers."""
    return hashlib.sha256(json.dumps(sorted(manifest.items())).encode()).hexdigest()[:16]


def saved_stamp(folder: Path) -> str:
    """The stamp of the index saved in folder (or of a snapshot: see index/snapshot.py); "" if
    there is none."""
    try:
        return (folder / "stamp").read_text()
    except OSError:
        return ""


class LexicalIndex:
    """BM25 over passage texts; `search` returns (passage id, score) pairs, best first."""

    def __init__(self, retriever, ids: list[str], frequency: dict[str, int], stamp: str):
        self.retriever, self.ids, self.frequency, self.stamp = retriever, ids, frequency, stamp

    @property
    def vocabulary(self):
        return self.frequency.keys()

    def idf(self, term: str) -> float:
        """BM25's inverse document frequency over passages; an unseen term weighs most."""
        n, df = len(self.ids), self.frequency.get(term, 0)
        return math.log(1 + (n - df + 0.5) / (df + 0.5))

    @classmethod
    def build(cls, ids: Sequence[str], texts: Sequence[str], stamp: str) -> LexicalIndex:
        import bm25s

        logging.getLogger("bm25s").setLevel(logging.WARNING)  # it sets DEBUG on itself

        retriever = bm25s.BM25()
        corpus = [terms(text) for text in texts]
        retriever.index(corpus, show_progress=False)
        frequency = Counter(term for doc in corpus for term in set(doc))
        return cls(retriever, list(ids), dict(frequency), stamp)

    def save(self, folder: Path) -> None:
        partial = folder.with_name(folder.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        self.retriever.save(str(partial))
        saved = {"stamp": self.stamp, "ids": self.ids, "frequency": self.frequency}
        (partial / "passages.json").write_text(json.dumps(saved))
        (partial / "stamp").write_text(self.stamp)
        shutil.rmtree(folder, ignore_errors=True)
        partial.rename(folder)  # a reader sees the old index or the new one, never half of one

    @classmethod
    def load(cls, folder: Path) -> LexicalIndex | None:
        import bm25s

        meta = folder / "passages.json"
        if not meta.exists():
            return None
        saved = json.loads(meta.read_text())
        if "frequency" not in saved:
            return None  # written by an older version: rebuilt by the next ingest
        retriever = bm25s.BM25.load(str(folder))
        return cls(retriever, saved["ids"], saved["frequency"], saved["stamp"])

    def search(self, query: str, k: int) -> list[tuple[str, float]]:
        words = [t for t in terms(query) if t in self.vocabulary]
        if not words or not self.ids:
            return []
        scores = self.retriever.get_scores(words)
        k = min(k, len(self.ids))
        top = np.argpartition(-scores, k - 1)[:k]  # linear, where a full sort is n log n
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(self.ids[i], float(scores[i])) for i in top if scores[i] > 0]
