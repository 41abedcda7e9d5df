"""The reader's training questions: well formed, on the articles training may use and never on
those the dev and test sets measure, worded unlike their gold sentences."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from evals import trainset
from tests.evals.test_datasets import (
    BBC,
    BBC_ARTICLE,
    BBC_ROOT,
    DESC,
    LONG,
    SEED,
    TEST,
    TYPES,
    load,
    schema_problems,
    sentences,
)

TRAIN = [row for path in sorted(trainset.TRAIN.glob("train-*.jsonl")) for row in load(path)]
ALLOWED = trainset.allowed_articles()


def test_schema_and_size():
    problems = [p for row in TRAIN for p in schema_problems(row, optional={"about"})]
    assert not problems, "\n".join(problems[:20])
    assert len(TRAIN) >= 3000
    types = Counter(row["type"] for row in TRAIN)
    assert set(types) == TYPES, f"missing types: {TYPES - set(types)}"
    assert types["unanswerable"] >= 0.2 * len(TRAIN)
    assert all(row["id"].startswith("train-") for row in TRAIN)


def test_ids_and_questions_unique_across_every_set():
    ids = Counter(row["id"] for row in TRAIN + SEED + BBC + TEST + LONG + DESC)
    assert not [i for i, n in ids.items() if n > 1], "duplicate ids"
    asked = Counter((row["question"], tuple(row.get("history", []))) for row in TRAIN)
    assert not [q for q, n in asked.items() if n > 1], "duplicate questions"


def test_every_question_names_the_article_it_is_about_and_stays_in_its_category():
    for row in TRAIN:
        match = BBC_ARTICLE.match(row.get("about", ""))
        assert match and match["category"] == row["corpus"], row["id"]
        if row["evidence"]:
            assert row["about"] in {a["article"] for item in row["evidence"] for a in item}


def test_no_test_range_or_measured_article_is_used():
    """Articles 001-300 stay for testing, and the dev and test sets' articles are never trained
    on: every article cited or asked about is one `articles.json` allows."""
    measured = trainset.measured_articles()
    used = {row["about"] for row in TRAIN}
    used |= {alt["article"] for row in TRAIN for item in row["evidence"] for alt in item}
    assert all(trainset.number(article) >= 301 for article in used)
    assert not used & measured
    assert used <= ALLOWED
    assert not ALLOWED & measured
    assert all(trainset.number(article) >= 301 for article in ALLOWED)


def test_questions_are_worded_unlike_their_gold_sentences():
    shares = [
        trainset.overlap(row["question"], [item[0]["sentence"] for item in row["evidence"]])
        for row in TRAIN
        if row["evidence"]
    ]
    assert max(shares) <= trainset.MAX_OVERLAP
    assert sorted(shares)[len(shares) // 2] <= 0.35  # the median question is far from it


def test_cross_article_and_list_questions_need_several_items():
    for row in TRAIN:
        if row["type"] in ("list", "cross-article"):
            assert len(row["evidence"]) >= 2, row["id"]
        if row["type"] == "cross-article":
            shared = set.intersection(*({a["article"] for a in item} for item in row["evidence"]))
            assert not shared, row["id"]


@pytest.mark.skipif(not BBC_ROOT.is_dir(), reason="BBC corpus not found; not checked")
def test_gold_sentences_are_split_sentences():
    problems = [
        f"{row['id']}: not a sentence of {alt['article']}: {alt['sentence']!r}"
        for row in TRAIN
        for item in row["evidence"]
        for alt in item
        if alt["sentence"] not in sentences(BBC_ROOT, alt["article"])
    ]
    assert not problems, "\n".join(problems[:20])


@pytest.mark.skipif(not BBC_ROOT.is_dir(), reason="BBC corpus not found; not checked")
def test_the_allowed_articles_are_what_the_rule_chooses():
    saved = json.loads((trainset.TRAIN / "articles.json").read_text())
    assert trainset.choose_articles() == saved
