"""Speaker attribution against hand labels: precision and recall on evals/datasets/speakers.jsonl
(222 sentences, read while the attribution was written), speakers_wide.jsonl (every sentence of
141 training articles, 2,823 in all, labelled by helpers to a written guide and read to change
the attribution: a second dev set) and speakers_test.jsonl (207 sentences of 50 other articles,
labelled after it, never read to change it: held out).

Each labelled sentence names the person who says it (their fullest name in the article) or no
one. The article is cleaned, split and attributed as ingest does; a prediction is right when it
names the same person: the same words, titles aside ("Mr", "Sir", "Lord" ...). A surname alone
("Blair" for "Tony Blair") is wrong: attribution should resolve it.

    .venv/bin/python -m evals.speakers
"""

from __future__ import annotations

import json
import re
from collections import Counter

from evals.devset import load
from evals.trainset import DATASETS, article

LABELS = DATASETS / "speakers.jsonl"
WIDE = DATASETS / "speakers_wide.jsonl"
HELD_OUT = DATASETS / "speakers_test.jsonl"
_TITLE = re.compile(r"^(?:mr|mrs|ms|miss|dr|sir|lord|lady|dame|professor|prof)\.?$")


def plain(name: str) -> tuple[str, ...]:
    """A name's words, lower-cased, titles off: "Sir Menzies Campbell" -> ("menzies",
    "campbell")."""
    words = re.findall(r"[\w'’-]+", name.lower().replace("’", "'"))
    return tuple(w for w in words if not _TITLE.match(w))


def predictions(rows: list[dict], attribute) -> list[str]:
    """The speaker `attribute` gives each labelled sentence (attribute: an Article -> an Article
    with `speakers`, as ingest's step), each article read as ingest reads it
    (`trainset.article`)."""
    by_article: dict[str, list[str]] = {}
    for article_id in sorted({row["article"] for row in rows}):
        attributed = attribute(article(article_id))
        by_article[article_id] = list(attributed.speakers) or [""] * len(attributed.sentences)
    return [by_article[row["article"]][row["index"]] for row in rows]


def score(rows: list[dict], predicted: list[str]) -> dict:
    """Precision, recall and F1 over people; per kind of sentence, how many were right."""
    said = right = guessed = 0
    kinds: Counter = Counter()
    totals: Counter = Counter()
    for row, guess in zip(rows, predicted, strict=True):
        gold = plain(row["speaker"])
        guess_words = plain(guess)
        totals[row["kind"]] += 1
        said += bool(gold)
        guessed += bool(guess_words)
        correct = bool(gold) and guess_words == gold
        right += correct
        kinds[row["kind"]] += correct if gold else not guess_words
    precision = right / guessed if guessed else 0.0
    recall = right / said if said else 0.0
    return {
        "precision": round(precision, 3),
        "recall": round(recall, 3),
        "f1": round(2 * precision * recall / (precision + recall), 3) if right else 0.0,
        "sentences": len(rows),
        "right_by_kind": {k: f"{kinds[k]}/{totals[k]}" for k in sorted(totals)},
    }


def main() -> None:
    from index.speakers import with_speakers

    for name, path in (("speakers", LABELS), ("wide", WIDE), ("held out", HELD_OUT)):
        rows = load(path)
        print(f"{name}:", json.dumps(score(rows, predictions(rows, with_speakers))))


if __name__ == "__main__":
    main()
