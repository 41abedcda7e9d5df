"""The support scorer: lexical pieces against worked examples, support() against edited claims."""

from __future__ import annotations

import pytest

from evals.support import (
    FEATURES,
    features,
    hard_facts,
    lcs_ratio,
    ngram_precision,
    support,
    support_batch,
    tokens,
)

PASSAGE = (
    "The Riverside city council approved a budget of 42 million dollars on Tuesday. "
    "Mayor Elena Ortiz said the money would pay for three new parks and a library. "
    "The vote passed seven to two after a four-hour debate. "
    "Council member David Reyes voted against the plan, saying taxes would rise."
)
ORIGINAL = "The Riverside city council approved a budget of 42 million dollars on Tuesday."
CORRUPTED = {
    "number": "The Riverside city council approved a budget of 57 million dollars on Tuesday.",
    "name": "Mayor Sofia Mendez said the money would pay for three new parks and a library.",
    "negation": "The Riverside city council did not approve a budget of 42 million dollars.",
    "fabricated": "The council also voted to close the public swimming pool next summer.",
}


def test_tokens_agree_on_contractions_and_percent():
    assert tokens("He didn't win 5%") == tokens("he did n't win 5 percent")
    assert tokens("He didn't win 5%") == ["he", "did", "n't", "win", "5", "percent"]


def test_lcs_ratio_worked_example():
    claim = tokens("the cat sat on the mat")
    evidence = tokens("the black cat lay on a mat")
    # LCS is "the cat on mat": 4 of the claim's 6 tokens.
    assert lcs_ratio(claim, evidence) == pytest.approx(4 / 6)
    assert lcs_ratio(claim, claim) == 1.0
    assert lcs_ratio(claim, []) == 0.0


def test_bigram_precision_worked_example():
    claim = tokens("the cat sat on the mat")
    evidence = tokens("the cat lay on the mat")
    # Claim bigrams: the cat, cat sat, sat on, on the, the mat; "cat sat" and "sat on" are absent.
    assert ngram_precision(claim, evidence, 2) == pytest.approx(3 / 5)
    assert ngram_precision(claim, evidence, 1) == pytest.approx(5 / 6)
    assert ngram_precision(["alone"], evidence, 2) == 1.0  # no bigram to check


def test_hard_facts_cover_numbers_scales_dates_and_names():
    facts = hard_facts("Ortiz paid $5 million, 12% more, in March.")
    assert facts == {"ortiz", "5 million", "12 percent", "march"}
    assert hard_facts("seven votes") == {"7"}  # number words compare with digits


def test_features_of_a_supported_claim():
    row = features(ORIGINAL, [PASSAGE])
    assert set(row) == set(FEATURES)
    assert row["unigram_all"] == row["bigram_all"] == row["lcs_window"] == 1.0
    assert row["fact_share"] == 1.0 and row["facts_missing"] == 0.0
    assert row["negation_mismatch"] == 0.0
    assert row["similarity"] > 0.99


def test_corruptions_are_caught_by_their_features():
    assert features(CORRUPTED["number"], [PASSAGE])["facts_missing"] == 1.0
    assert features(CORRUPTED["name"], [PASSAGE])["facts_missing"] == 2.0
    assert features(CORRUPTED["negation"], [PASSAGE])["negation_mismatch"] == 1.0


@pytest.fixture(scope="module")
def scores():
    claims = [ORIGINAL, *CORRUPTED.values()]
    values = support_batch([(claim, [PASSAGE]) for claim in claims])
    return dict(zip(["original", *CORRUPTED], values, strict=True))


def test_the_supported_claim_scores_high(scores):
    assert scores["original"] > 0.5


@pytest.mark.parametrize("kind", list(CORRUPTED))
def test_each_corruption_lowers_support(scores, kind):
    assert scores[kind] < scores["original"]


def test_corruptions_fall_below_half(scores):
    # The saved model gives 0.86 to the original, and about 0.39 (number), 0.15 (name),
    # 0.01 (negation) and 0.00 (fabricated): the changed number is the closest call.
    assert [kind for kind in CORRUPTED if scores[kind] >= 0.5] == [], scores
    assert scores["fabricated"] < 0.05


def test_support_matches_the_batch(scores):
    assert support(ORIGINAL, [PASSAGE]) == pytest.approx(scores["original"])


def test_no_passages_support_nothing():
    assert support(ORIGINAL, []) == 0.0
    assert support(ORIGINAL, ["", "  "]) == 0.0


def test_an_empty_claim_is_an_error():
    with pytest.raises(ValueError, match="claim has no words"):
        support(" . ", [PASSAGE])
