"""The support scorer: lexical and entity pieces against worked examples (the real spaCy model),
support() against edited claims."""

from __future__ import annotations

import pytest

from evals.facts import ENTITY_TYPES, entity_found, hard_facts, number_values, recase, tokens
from evals.support import FEATURES, features, lcs_ratio, ngram_precision, support, support_batch

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


def test_numbers_compare_by_value():
    assert number_values(tokens("$2.6m, seven and 1,500")) == {2_600_000.0, 7.0, 1500.0}
    assert number_values(tokens("2.6 million")) == {2_600_000.0}
    stated = number_values(tokens("42 million")) | {42.0}
    assert entity_found("$42m", stated, frozenset())
    assert not entity_found("57 million", stated, frozenset())


def test_entity_found_needs_every_naming_word():
    words = frozenset(tokens("Mayor Elena Ortiz spoke"))
    assert entity_found("Ortiz's", set(), words)
    assert entity_found("Elena Ortiz", set(), words)
    assert not entity_found("Sofia Ortiz", set(), words)


def test_a_lower_cased_claim_takes_the_evidence_case():
    claim = "mayor elena ortiz said the riverside council met on tuesday."
    assert (
        recase(claim, [PASSAGE]) == "mayor Elena Ortiz said the Riverside council met on Tuesday."
    )
    assert recase("Elena ortiz", [PASSAGE]) == "Elena ortiz"  # a cased claim is left alone


def test_entity_features_are_named_by_kind():
    kinds = {name.removeprefix("missing_") for name in FEATURES if name.startswith("missing_")}
    assert kinds == set(ENTITY_TYPES)


def test_features_of_a_supported_claim():
    row = features(ORIGINAL, [PASSAGE])
    assert set(row) == set(FEATURES)
    assert row["unigram_all"] == row["bigram_all"] == row["lcs_window"] == 1.0
    assert all(row[f"missing_{kind}"] == 0.0 for kind in ENTITY_TYPES)
    assert row["entity_context"] == 1.0
    assert row["negation_mismatch"] == 0.0
    assert row["similarity"] > 0.99


def test_corruptions_are_caught_by_their_features():
    number = features(CORRUPTED["number"], [PASSAGE])
    assert number["missing_number"] == 1.0 and number["missing_person"] == 0.0
    assert features(CORRUPTED["name"], [PASSAGE])["missing_person"] == 1.0
    assert features(CORRUPTED["negation"], [PASSAGE])["negation_mismatch"] == 1.0
    assert features("The Oakland city council met.", [PASSAGE])["missing_place"] == 1.0


def test_lower_cased_claims_find_the_entities_they_repeat():
    # "david reyes" is found through the evidence's case; "57" needs no case
    assert (
        features("council member david reyes voted against it.", [PASSAGE])["missing_person"] == 0
    )
    row = features("the council approved a budget of 57 million dollars.", [PASSAGE])
    assert row["missing_number"] == 1.0 and row["entity_context"] == 0.0


@pytest.mark.parametrize(
    ("present", "absent"),
    [
        (
            "Council member David Reyes voted against the plan.",
            "Council member Peter Smith voted against the plan.",
        ),
        (ORIGINAL, CORRUPTED["number"]),
    ],
)
def test_a_name_or_number_the_evidence_lacks_scores_lower(present, absent):
    high, low = support_batch([(present, [PASSAGE]), (absent, [PASSAGE])])
    assert high > 0.5 > low


def test_a_place_the_evidence_lacks_is_a_missing_entity():
    # The saved (plain) fit gives the missing-entity features no weight (evals/summac.py says
    # why); a changed place is caught by rag.write's check of names, as before. The features
    # themselves see it.
    present = features("The Riverside city council approved the budget.", [PASSAGE])
    absent = features("The Oakland city council approved the budget.", [PASSAGE])
    assert present["missing_place"] == 0 and absent["missing_place"] == 1


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
    # The saved model gives 0.96 to the original, and about 0.04 (number), 0.02 (name),
    # 0.05 (negation) and 0.00 (fabricated); before the entity features, 0.39 and 0.15 for the
    # changed number and name.
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
