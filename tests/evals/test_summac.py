"""SummaC's corruptions: what the checked fit learns the entity weights from (real spaCy model)."""

from __future__ import annotations

from evals import facts, summac, support

DOCUMENT = (
    "Mayor Elena Ortiz said on Tuesday that Riverside would build 3 new parks. "
    "The plan was praised by Ortiz's rivals."
)


def test_corruptions_change_a_number_and_swap_a_name_the_source_lacks():
    others = [("Elena Ortiz", "person"), ("Oakland", "place"), ("Peter Smith", "person")]
    made = summac.corruptions(
        "mayor elena ortiz said riverside would build 3 new parks.",
        DOCUMENT,
        facts.default_ner,
        iter(others),
    )
    assert made == [
        "mayor elena ortiz said riverside would build 9 new parks.",
        "mayor Peter Smith said Riverside would build 3 new parks.",
    ]
    swapped = support.features(made[1], [DOCUMENT])
    assert swapped["missing_person"] == 1.0


def test_augment_labels_only_consistent_claims_inconsistent():
    records = [
        {"claim": "mayor elena ortiz said so.", "document": DOCUMENT, "label": 1},
        {"claim": "smith built 2 parks.", "document": "Mayor Peter Smith built parks.", "label": 0},
    ]
    made = summac.augment(records, facts.default_ner)
    # the unfaithful record is not corrupted; the name comes from the other document
    assert [(r["claim"], r["label"]) for r in made] == [("mayor Peter Smith said so.", 0)]
