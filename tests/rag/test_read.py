"""The reader's choice of sentences and its training data (the model itself is `make train`'s)."""

import pytest

from evals.train_reader import HARD, _test_range, training_groups
from rag import read

CAL = read.Calibration(logit=1.0, prior=0.0, bias=0.0, answer=0.5, keep=0.4, relative=0.5)


@pytest.mark.parametrize(
    ("probabilities", "expected"),
    [
        ([0.3, 0.45, 0.1], []),  # the best is below `answer`: none answers
        ([0.2, 0.9, 0.6, 0.41], [1, 2]),  # best first, then those over keep and half the best
        ([0.95, 0.45], [0]),  # 0.45 reaches keep but not half of 0.95
        ([0.9, 0.8, 0.85, 0.7, 0.6, 0.55], [0, 2, 1, 3]),  # at most the limit
        ([], []),
    ],
)
def test_chosen_follows_the_thresholds(probabilities, expected):
    assert read.chosen(probabilities, CAL, limit=4) == expected


def test_the_sentence_comes_first_then_its_title_and_neighbours():
    text = read.join_context("It rose 5%.", "Shares up", "Markets opened.", "Trade was thin.")
    assert text == "It rose 5%. | Shares up | Markets opened. Trade was thin."


def _pair(text, label, rank):
    return {"text": text, "label": label, "rank": rank, "prior": 0.1, "article": "business/400.txt"}


def test_training_groups_put_each_gold_sentence_before_its_hard_negatives():
    answered = {
        "id": "a",
        "query": "q?",
        "calibration": False,
        "pairs": [
            _pair("gold", 1, 3),
            *[_pair(f"n{i}", 0, i) for i in range(6)],
            _pair("other", 0, -2),
        ],
    }
    unanswered = {"id": "b", "query": "u?", "calibration": False, "pairs": [
        _pair("x", 0, 0), _pair("other", 0, -2)]}  # fmt: skip
    held = dict(answered, id="c", calibration=True)
    groups = training_groups([answered, unanswered, held])
    assert groups[0] == ("q?", ["gold", "n0", "n1", "n2", "n3"][: HARD + 1], [1] + [0] * HARD)
    question, texts, labels = groups[1]
    assert question == "u?" and texts[0] == "x" and set(texts[1:]) == {"other"} and not any(labels)
    assert len(groups) == 2  # the calibration fold is never trained on


def test_articles_001_to_300_are_the_test_range():
    assert _test_range("business/300.txt") and _test_range("tech/001.txt")
    assert not _test_range("business/301.txt")
