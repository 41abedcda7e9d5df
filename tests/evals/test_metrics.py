"""Metrics against worked examples, and citation metrics against edited answers (metamorphic)."""

from __future__ import annotations

import re

import pytest

from evals import metrics
from evals.support import support_batch
from rag.answer import Answer, Citation


def test_token_f1_worked_example():
    # "cat sat on mat" vs "cat was sitting on mat": 3 shared tokens, P = 3/4, R = 3/5.
    assert metrics.token_f1("The cat sat on the mat.", "A cat was sitting on a mat") == (
        pytest.approx(2 * 0.75 * 0.6 / (0.75 + 0.6))
    )
    assert metrics.token_f1("Yes!", "yes") == 1.0
    assert metrics.token_f1("no", "yes") == 0.0
    assert metrics.normalize("The “U.S.” army, an ally") == "us army ally"


def test_gold_ranks_take_the_best_alternative():
    ranked = [("a", "one"), ("b", "two"), ("a", "three"), ("b", "two"), ("c", "four")]
    evidence = [[("a", "three"), ("c", "four")], [("b", "two")], [("z", "missing")]]
    assert metrics.gold_ranks(ranked, evidence) == [3, 2, None]


def test_mrr_hit_and_recall_on_a_hand_made_ranking():
    ranks = [None, 3, 7]
    assert metrics.reciprocal_rank(ranks) == pytest.approx(1 / 3)
    assert metrics.reciprocal_rank([None]) == 0.0
    assert metrics.hit_at_k(ranks, 2) == 0.0
    assert metrics.hit_at_k(ranks, 3) == 1.0
    assert metrics.recall_at_k(ranks, 3) == pytest.approx(1 / 3)
    assert metrics.recall_at_k(ranks, 7) == pytest.approx(2 / 3)
    assert metrics.recall_at_k(ranks, 100) == pytest.approx(2 / 3)
    assert metrics.recall_at_k([], 5) == 0.0


def test_percentile_interpolates():
    assert metrics.percentile([40, 10, 30, 20], 50) == 25
    assert metrics.percentile([10, 20, 30, 40], 95) == pytest.approx(38.5)
    assert metrics.percentile([], 50) == 0.0


def test_segments_split_at_markers_and_drop_reader_notes():
    text = "A said x. [1] He [Bob Smith] said y. [2][3] [Ann:] “Z.” [4] trailing words"
    assert metrics.segments(text) == [
        ("A said x.", (1,)),
        ("He said y.", (2, 3)),
        ("“Z.”", (4,)),
        ("trailing words", ()),
    ]


BUDGET = "The Riverside city council approved a budget of 42 million dollars on Tuesday."
PARKS = "Mayor Elena Ortiz said the money would pay for three new parks and a library."
VOTE = "The vote passed seven to two after a four-hour debate."
ANSWER = Answer(
    text=f"{BUDGET} [1] {PARKS} [2] {VOTE} [3]",
    citations=[
        Citation(n, "council.txt", "Budget", quote, 0, len(quote), 0.9)
        for n, quote in enumerate((BUDGET, PARKS, VOTE), start=1)
    ],
)


def judge(answer: Answer) -> dict[str, float | None]:
    judged = metrics.judge_segments(
        answer.text, {c.n: c.quote for c in answer.citations}, support_batch
    )
    return {
        "recall": metrics.citation_recall(judged),
        "precision": metrics.citation_precision(judged),
        "grounded": metrics.groundedness(judged),
        "unsupported": metrics.unsupported(judged),
    }


def edit(answer: Answer, old: str, new: str) -> Answer:
    assert old in answer.text
    return Answer(answer.text.replace(old, new, 1), answer.citations)


@pytest.fixture(scope="module")
def original():
    scores = judge(ANSWER)
    assert scores["recall"] == scores["precision"] == scores["grounded"] == 1.0
    return scores


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("42 million", "57 million"),  # a number changed
        ("Elena Ortiz", "Sofia Mendez"),  # a name swapped
        ("council approved a budget", "council did not approve a budget"),  # a verb negated
    ],
    ids=["number", "name", "negation"],
)
def test_a_corrupted_segment_loses_support(original, old, new):
    scores = judge(edit(ANSWER, old, new))
    assert scores["recall"] < original["recall"]
    assert scores["precision"] < original["precision"]
    assert scores["grounded"] < original["grounded"]
    assert any(new.split()[-1] in span for span in scores["unsupported"])


def test_a_fabricated_sentence_is_unsupported(original):
    fabricated = "The council also voted to close the public swimming pool next summer."
    scores = judge(edit(ANSWER, "[1] ", f"[1] {fabricated} [1] "))
    assert scores["recall"] < original["recall"]
    assert scores["precision"] < original["precision"]
    assert scores["grounded"] < original["grounded"]
    assert scores["unsupported"] == [fabricated]


def test_a_dropped_citation_marker_loses_citation_recall_only(original):
    scores = judge(edit(ANSWER, " [3]", ""))  # the last sentence now cites nothing
    assert scores["recall"] < original["recall"]
    assert scores["precision"] == original["precision"]  # the remaining citations still hold
    assert scores["grounded"] == original["grounded"]  # the text is still in what is cited


def test_a_dropped_citation_loses_groundedness(original):
    dropped = Answer(ANSWER.text.replace(" [3]", ""), ANSWER.citations[:2])
    scores = judge(dropped)
    assert scores["recall"] < original["recall"]
    assert scores["grounded"] < original["grounded"]
    assert scores["unsupported"] == [VOTE]


def test_swapped_citation_ids_lose_recall_and_precision_not_groundedness(original):
    swapped = Answer(
        re.sub(r"\[([12])\]", lambda m: "[2]" if m.group(1) == "1" else "[1]", ANSWER.text),
        ANSWER.citations,
    )
    scores = judge(swapped)
    assert scores["recall"] < original["recall"]
    assert scores["precision"] < original["precision"]
    assert scores["grounded"] == original["grounded"]
