"""The reader's choice of sentences, its small models and its training data (the models
themselves are `make train`'s)."""

import json

import numpy as np
import pytest

from evals.train_reader import HARD, _test_range, training_groups
from rag import read

T = read.Thresholds(answer=0.5, keep=0.4, relative=0.5)


@pytest.mark.parametrize(
    ("ordered", "answerable", "expected"),
    [
        ([0.9, 0.6, 0.41, 0.2], 0.4, []),  # the question model says it is not answered
        ([0.9, 0.6, 0.41, 0.2], 0.7, [0, 1]),  # the best, then those over keep and half the best
        ([0.95, 0.45], 0.7, [0]),  # 0.45 reaches keep but not half of 0.95
        ([0.3, 0.2], 0.7, [0]),  # the best is cited whatever its own probability
        ([], 0.9, []),
    ],
)
def test_choose_follows_the_thresholds(ordered, answerable, expected):
    assert read.choose(ordered, answerable, T) == expected


def test_a_one_layer_net_is_a_logistic_regression_on_standardised_inputs():
    net = read.Net(
        mean=np.array([1.0, 0.0], np.float32),
        scale=np.array([2.0, 1.0], np.float32),
        layers=((np.array([[1.0], [-1.0]], np.float32), np.array([0.5], np.float32)),),
    )
    x = np.array([[3.0, 1.0], [1.0, 0.0]], np.float32)
    z = np.array([(3 - 1) / 2 - 1 + 0.5, 0.5])
    assert net(x) == pytest.approx(1 / (1 + np.exp(-z)), rel=1e-6)
    assert read.Net.from_json(json.loads(json.dumps(net.to_json())))(x) == pytest.approx(net(x))


def test_a_hidden_layer_passes_through_relu():
    hidden = (np.array([[1.0, -1.0]], np.float32), np.zeros(2, np.float32))
    out = (np.array([[1.0], [1.0]], np.float32), np.zeros(1, np.float32))
    net = read.Net(np.zeros(1, np.float32), np.ones(1, np.float32), (hidden, out))
    assert net(np.array([[2.0]], np.float32))[0] == pytest.approx(1 / (1 + np.exp(-2.0)))
    assert net(np.array([[-3.0]], np.float32))[0] == pytest.approx(1 / (1 + np.exp(-3.0)))


def test_question_features_follow_their_names():
    table = np.zeros((3, len(read.FEATURES)), np.float32)
    table[:, read.FEATURES.index("dense")] = [0.2, 0.7, 0.4]
    table[1, read.FEATURES.index("fits")] = -1.0
    table[:, read.FEATURES.index("named")] = [1.0, 0.5, 0.0]
    values = read.question_features(table, np.array([0.1, 0.8, 0.3]))
    q = dict(zip(read.QUESTION_FEATURES, values, strict=True))
    assert q["p1"] == pytest.approx(0.8) and q["p2"] == pytest.approx(0.3)
    assert q["p_drop"] == pytest.approx(0.8) and q["dense"] == pytest.approx(0.7)
    assert q["lead_fits"] == -1.0 and q["wants_kind"] == 1.0
    assert q["lead_named"] == 0.5  # the best candidate's article gives half the names asked
    assert len(read.question_features(table[:0], np.zeros(0))) == len(read.QUESTION_FEATURES)


def test_a_statement_two_articles_report_is_cited_once_and_neighbours_are_never_twins():
    from tests.rag.test_retrieve import record

    first = read.Scored(record("fox", 0, "Iraq is not next.", [1, 0.01]), 0.9)
    twin = read.Scored(record("bne", 3, "Iraq is not the next target.", [1, 0.02]), 0.8)
    near = read.Scored(record("fox", 1, "It fits better.", [1, 0.012]), 0.7)
    assert read._repeats(twin, first) and not read._repeats(near, first)


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


def test_balance_makes_word_overlap_say_nothing_of_answerability():
    from evals.reader_fit import balance

    lexical = read.FEATURES.index("lexical")

    def row(overlap, answerable):
        features = [0.0] * len(read.FEATURES)
        features[lexical] = overlap
        pair = {"rank": 0, "label": 0, "features": features}
        return {"answerable": answerable, "pairs": [pair]}

    # the more words a question shares with the articles, the less often it is answerable
    levels = [0.1, 0.2, 0.3, 0.4, 0.5]
    rows = [row(level, i < 9 - 2 * n) for n, level in enumerate(levels) for i in range(10)]
    w = balance(rows)
    share = sum(r["answerable"] for r in rows) / len(rows)
    for level in levels:
        here = [i for i, r in enumerate(rows) if r["pairs"][0]["features"][lexical] == level]
        answerable = sum(w[i] for i in here if rows[i]["answerable"])
        assert answerable / sum(w[i] for i in here) == pytest.approx(share)  # as everywhere


def test_a_reader_fitted_on_other_features_is_refused(tmp_path):
    import shutil

    from core.errors import ModelMissingError

    shutil.copytree(read.FOLDER, tmp_path / "reader")
    saved = json.loads((tmp_path / "reader" / "reader.json").read_text())
    saved["features"] = saved["features"][:-2] + saved["features"][-1:]  # one feature fewer
    (tmp_path / "reader" / "reader.json").write_text(json.dumps(saved))
    with pytest.raises(ModelMissingError, match="refit"):
        _ = read.Reader(tmp_path / "reader").thresholds
    assert read.Reader().thresholds  # the shipped one matches this code
