"""Checking what an LLM wrote, sentence by sentence, against the sentences it cites (the real
support scorer on the real embedding model; the replies here are written out, the model's own
are tested in test_llm.py)."""

import json

import pytest

from rag.answer import Answer, Citation
from rag.write import FLAG, THRESHOLD, sentences_of, shifted, verify, written
from tests.conftest import ROOT

MEDIATION = (
    "Hussein cited Iraq's previous mediation between Saudi Arabia and Iran, which led to "
    "normalised relations in 2023, as evidence of Baghdad's diplomatic capabilities."
)
GRAIN = (
    "Regarding Syria, he said Iraq would supply grain and oil once assured they would reach all "
    "Syrians."
)
ISIS = '"We are worried about ISIS, so we are in contact with the Syrian side," Hussein said.'
TIES = '"We hope we can continue this good relationship with Washington," Hussein said.'
SOURCES = [
    Citation(n, "bne.txt", "Iraq FM", quote, 10 * n, 10 * n + len(quote), 0.0, "bne", "2025-01-18")
    for n, quote in enumerate([MEDIATION, GRAIN, ISIS, TIES], start=1)
]
EXTRACTIVE = Answer(f"{MEDIATION} [1]", [SOURCES[0]], False, "q", "q")


def test_markers_stay_with_the_sentence_they_close():
    reply = "Iraq mediated between Saudi Arabia and Iran [1]. It will send grain. [2][3] Done [9]."
    assert sentences_of(reply) == [
        ("Iraq mediated between Saudi Arabia and Iran.", [1]),
        ("It will send grain.", [2, 3]),
        ("Done.", [9]),
    ]


def test_a_number_pointing_at_nothing_is_dropped_and_the_best_source_found_instead():
    reply = "Iraq would supply grain and oil once assured they would reach all Syrians. [9]"
    checked = verify(reply, SOURCES)
    assert checked[0].citations == [2] and checked[0].supported


def test_an_uncited_sentence_gets_the_source_that_supports_it_or_stays_unsourced():
    checked = verify(
        "Iraq's previous mediation between Saudi Arabia and Iran led to normalised relations. "
        "The Iraqi parliament will vote on the budget next week.",
        SOURCES,
    )
    assert checked[0].citations == [1] and checked[0].supported
    assert checked[1].citations == [] and not checked[1].supported


def test_a_sentence_citing_the_wrong_source_is_pointed_at_the_one_that_supports_it():
    checked = verify(
        "Iraq would supply grain and oil once assured they would reach all Syrians [1]. "
        "Iraq mediated between Saudi Arabia and Iran [3].",
        SOURCES,
    )
    assert [s.citations for s in checked] == [[2], [1]]
    assert all(s.supported for s in checked)


def test_a_sentence_its_source_contradicts_is_not_supported():
    checked = verify(
        "Hussein cited Iraq's mediation between Saudi Arabia and Iran [1]. "
        "Hussein cited Iraq's mediation between Turkey and Israel in 2019 [1].",
        SOURCES,
    )
    assert checked[0].supported and checked[0].support > 0.5
    assert not checked[1].supported and checked[1].support < checked[0].support


def test_the_answer_renumbers_what_it_cites_and_flags_what_is_unsupported():
    reply = (
        "Iraq would supply grain and oil once assured they would reach all Syrians [2]. "
        "Iraq's mediation between Saudi Arabia and Iran led to normalised relations [1][2]. "
        "Iraq's mediation between Turkey and Israel led to normalised relations in 2019 [1]."
    )
    answer = written(EXTRACTIVE, SOURCES, reply, "test-model")
    assert answer.mode == "llm" and answer.model == "test-model"
    assert [c.n for c in answer.citations] == [1, 2]
    assert [c.quote for c in answer.citations] == [GRAIN, MEDIATION]  # first cited, first
    # the second sentence's [2] (grain) supports nothing of it alone: dropped, [1] stays
    assert [s.citations for s in answer.sentences] == [[1], [2], [2]]
    assert [s.supported for s in answer.sentences] == [True, True, False]
    assert answer.text.endswith(f"in 2019. [2] {FLAG}")
    assert answer.text.count(FLAG) == 1


def test_no_supported_sentence_or_a_declined_reply_gives_the_extractive_answer_and_says_why():
    answer = written(EXTRACTIVE, SOURCES, "Iraq beat Iran 3-0 at football [3].", "m")
    assert answer.mode == "llm-fallback" and answer.text == EXTRACTIVE.text
    assert answer.citations == EXTRACTIVE.citations
    assert "no sentence m wrote was supported" in answer.note
    declined = written(EXTRACTIVE, SOURCES, "NOT IN THE SOURCES", "m")
    assert declined.mode == "llm-fallback" and "found no answer" in declined.note


def test_the_threshold_is_the_one_fitted_on_written_answers():
    fitted = json.loads((ROOT / "evals" / "results" / "verify_threshold.json").read_text())
    assert fitted["threshold"] == THRESHOLD and fitted["held_out"] not in fitted["fitted_on"]
    assert shifted([THRESHOLD]) == pytest.approx([0.5])
