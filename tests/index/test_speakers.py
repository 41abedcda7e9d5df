import re

import pytest

import index.speakers as speakers_module
from index.clean import clean
from index.load import read
from index.speakers import attribute, split_title, with_speakers
from index.split import split
from tests.conftest import BNE, FOX, SEEDS


def speakers_of(name):
    article = with_speakers(split(clean(read(SEEDS / name, SEEDS))))
    return {
        article.text[s:e][:40]: who
        for (s, e), who in zip(article.sentences, article.speakers, strict=True)
    }


def test_bne_quotes_reported_speech_and_pronouns_resolve_to_hussein():
    found = speakers_of(BNE)
    for opening in [
        "Iraq is trying to convince Iran-backed a",  # ..., Foreign Minister Fuad Hussein said
        '"We hope we can continue this good relat',  # "...," Hussein said
        '"Two or three years ago, it was impossib',  # he added
        "Hussein cited Iraq's previous mediation ",  # reported speech
        "Regarding Syria, he said Iraq would supp",
        '"We are worried about ISIS, so we are in',  # a quote running on from the last speaker
        "The Iraqi minister expressed readiness t",  # a role resolved to its holder
    ]:
        assert found[opening] == "Fuad Hussein", opening
    assert found["Several Iran-aligned factions have launc"] == ""
    assert found["Baghdad has maintained a delicate balanc"] == ""


def test_fox_experts_are_their_own_speakers():
    found = speakers_of(FOX)
    assert found["Jonathan Schanzer from the Foundation fo"] == "Jonathan Schanzer"
    assert found["Inna Rudolf, an expert on the PMF from K"] == "Inna Rudolf"
    assert found["Caroline Rose, senior analyst at the New"] == "Caroline Rose"
    assert found["Hussein remains optimistic, stating he d"] == "Fuad Hussein"
    assert found["The regional tension is palpable due to "] == ""


def test_named_but_unquoted_people_are_kept_apart():
    article = with_speakers(split(clean(read(SEEDS / BNE, SEEDS))))
    assert article.people == ("Fuad Hussein",)
    assert "Donald Trump" in article.named


@pytest.mark.parametrize(
    "phrase, name, roles",
    [
        ("Iraqi Foreign Minister Fuad Hussein", "Fuad Hussein", {"iraqi", "foreign", "minister"}),
        ("Mr Camus", "Camus", {"mr"}),
        ("Hussein", "Hussein", set()),
        ("Lifelong Learning Minister Jim Wallace", "Jim Wallace", {"minister"}),
        ("Labour MP Stephen Pound", "Stephen Pound", {"labour", "mp"}),
    ],
)
def test_split_title(phrase, name, roles):
    assert split_title(phrase) == (name, roles)


def test_surname_resolves_to_the_full_name_and_openers_are_not_names():
    speakers, _ = attribute(
        [
            "Airbus head Noel Forgeard is set to replace Philippe Camus.",
            "Mr Camus said he accepted.",
            "But Mr Forgeard has denied this, telling French media there is no overrun.",
            '"We told our shareholders," he said.',
        ]
    )
    assert speakers == ["", "Philippe Camus", "Noel Forgeard", "Noel Forgeard"]


def test_parties_roles_and_sentence_openers_are_not_speakers():
    speakers, _ = attribute(
        [
            "Tory leader Michael Howard said the plan would fail.",
            'Liberal Democrat spokeswoman Sandra Gidley said: "It is not enough."',
            "But the company has said it intends to take action.",
            "A leading expert on the economy says the plan is desperate.",
            "In its report the committee said it was deeply concerned.",
        ]
    )
    assert speakers == ["Michael Howard", "Sandra Gidley", "", "", ""]


@pytest.mark.parametrize(
    "sentence",
    [
        "Talks with U.S. envoy John Snow ended, and U.S. Bob Dole left.",
        "The co-founder Larry Page spoke first.",
        "The ex-Minister Jim Wallace replied.",
        "(Mr Camus was not there.)",
        "PRESIDENT-ELECT VIKTOR YUSHCHENKO SPOKE.",
        "Coach.  Arsene Wenger said so, as did Sir Alex Ferguson and Dr. No.",
        "Chief Executive Officer Carly Fiorina and Prime Minister Tony Blair met.",
        "Nothing here is a title.",
    ],
)
def test_titled_names_are_the_patterns_matches(sentence):
    # attribute() tries _TITLED_NAME only where a title word starts: the pattern itself decides
    # what a titled name is, and every match it finds scanning the sentence is still found.
    found = [m.span() for m in speakers_module._titled_names(sentence)]
    assert found == [m.span() for m in speakers_module._TITLED_NAME.finditer(sentence)]
    assert found or sentence.startswith("Nothing")


@pytest.mark.parametrize(
    "text",
    [
        "Philippe Camus left. Mr Camus said so. Anne Camus's view. Smith Smith Smith said.",
        "Dr Camus and The Camus; Monday Camus, Jean Camusard, Jean  Camus.",
        "Ana O'Brien spoke; O'Brien said. Jo O'Briens. Ed Jr. Jr. said.",
        "Ölaf Camus, Ann Camus-Smith, Bo\tCamus\nCamus Camus.",
        "",
    ],
)
def test_first_names_are_what_a_search_of_the_whole_article_finds(text):
    """FirstNames indexes the article once; what it gives for a surname is what the regular
    expression it replaces (run over the whole article for each surname) found: the same
    matches, in order, never overlapping."""
    names = speakers_module.FirstNames(text)
    surnames = {w.strip(".,;") for w in text.split()} | {"Camus's", "O'Brien", "Jr."}
    for surname in sorted(s for s in surnames if s):
        pattern = rf"\b([A-Z][a-z]+)\s+{re.escape(surname)}\b"
        assert names._candidates(surname) == re.findall(pattern, text), surname


def test_first_names_match_the_search_on_shuffled_article_text():
    import random

    words = " ".join((SEEDS / name).read_text(encoding="utf-8") for name in (FOX, BNE)).split()
    rng = random.Random(7)
    for _ in range(20):
        text = " ".join(rng.sample(words, 400))
        names = speakers_module.FirstNames(text)
        for surname in set(rng.sample(words, 60)):
            pattern = rf"\b([A-Z][a-z]+)\s+{re.escape(surname)}\b"
            assert names._candidates(surname) == re.findall(pattern, text), surname
