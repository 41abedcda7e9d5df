import pytest

from index.clean import clean
from index.load import read
from index.names import plain_name
from index.nlp import pipeline, word_class
from index.speakers import (
    SAY,
    attribute,
    lemma,
    may_speak,
    read_sentences,
    with_speakers,
)
from index.split import split
from tests.conftest import BNE, FOX, SEEDS


def speakers_of(name):
    article = with_speakers(split(clean(read(SEEDS / name, SEEDS))))
    return {
        article.text[s:e][:40]: who
        for (s, e), who in zip(article.sentences, article.speakers, strict=True)
    }


def attributed(sentences):
    return attribute(read_sentences(sentences))[0]


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


def test_entities_are_stored_with_offsets_into_the_article():
    article = with_speakers(split(clean(read(SEEDS / BNE, SEEDS))))
    assert article.entities
    found = {(article.text[s:e], label) for s, e, label in article.entities}
    assert ("Fuad Hussein", "PERSON") in found
    assert any(label == "GPE" and text in {"Iraq", "Syria", "Turkey"} for text, label in found)
    sentences = article.sentences
    for start, end, _ in article.entities:  # each entity lies within one sentence
        assert any(s <= start and end <= e for s, e in sentences)


def test_a_name_after_a_role_or_an_organisation_is_the_speaker():
    # the cases, each wrong under the patterns this replaced
    assert attributed(
        [
            "Acme has said it may sell the unit.",
            '"The option is still on the table," chief executive Jan Brabec-Lund confirmed '
            "on Thursday.",
        ]
    ) == ["", "Jan Brabec-Lund"]
    assert attributed(
        [
            '"It is all up to them," said Acme Notes boss Ann-Marie Lee-Smith.',
            "Mr Lee-Smith insisted the deal was fair.",
        ]
    ) == ["Ann-Marie Lee-Smith", "Ann-Marie Lee-Smith"]


def test_surname_resolves_to_the_full_name_and_pronouns_to_the_last_speaker():
    assert attributed(
        [
            "Airbus head Noel Forgeard is set to replace Philippe Camus.",
            "Mr Camus said he accepted.",
            "But Mr Forgeard has denied this, telling French media there is no overrun.",
            '"We told our shareholders," he said.',
        ]
    ) == ["", "Philippe Camus", "Noel Forgeard", "Noel Forgeard"]


def test_organisations_unnamed_people_and_passives_are_not_speakers():
    assert attributed(
        [
            "Tory leader Michael Howard said the plan would fail.",
            'Liberal Democrat spokeswoman Sandra Gidley said: "It is not enough."',
            "But the company has said it intends to take action.",
            "A leading expert on the economy says the plan is desperate.",
            "In its report the committee said it was deeply concerned.",
            "Ollie Smith has been added to the squad.",
        ]
    ) == ["Michael Howard", "Sandra Gidley", "", "", "", ""]


def test_quotes_running_over_sentences_belong_to_whoever_the_run_names():
    assert attributed(
        [
            "Maria Lopez spoke to the party.",
            '"There was real passion.',
            'It reminded us why we joined," said Mrs Lopez.',
            "The meeting ended early.",
        ]
    ) == ["", "Maria Lopez", "Maria Lopez", ""]


def test_he_or_she_is_not_a_last_speaker_the_article_writes_of_with_the_other_pronoun():
    # Mr Eastwood spoke last, but "she" is not him; Hilary Swank, named since, is unknown to
    # the pronoun (only speakers and, before any speech, the last person named are), so the
    # sentence gets no one rather than the wrong one.
    assert attributed(
        [
            'Clint Eastwood said: "It was a long road."',
            "Mr Eastwood thanked his cast.",
            "Hilary Swank won the best actress award.",
            '"I don\'t know what I did to deserve this," she told the audience.',
        ]
    ) == ["Clint Eastwood", "", "", ""]
    assert attributed(['Clint Eastwood said: "It was a long road."', '"We did it," he added.']) == [
        "Clint Eastwood",
        "Clint Eastwood",
    ]


def test_according_to_names_the_speaker():
    assert attributed(["Sales will rise, according to John Binks, director of GfK."]) == [
        "John Binks"
    ]


def test_according_to_that_frames_the_sentence_names_its_source_not_who_it_reports():
    # Mr Sands says it; Lord Goldsmith's warning is what he reports. Inside a clause of
    # what someone says, or beside a quotation, "according to" does not take the sentence
    # from its speaker.
    assert attributed(
        [
            "According to Philippe Sands, Lord Goldsmith had warned Tony Blair that the war "
            "could be illegal.",
            "Anna Reyes said that, according to John Binks, sales would rise.",
            'According to Philippe Sands, Anna Reyes said: "Sales will rise."',
        ]
    ) == ["Philippe Sands", "Anna Reyes", "Anna Reyes"]


@pytest.mark.parametrize(
    "name, plain",
    [("Mr Blair's", "Blair"), ("Sir Menzies Campbell", "Menzies Campbell"), ("Hussein", "Hussein")],
)
def test_plain_name_takes_titles_and_possessives_off(name, plain):
    assert plain_name(name) == plain


def test_only_sentences_that_may_report_speech_are_parsed_and_their_parse_is_the_full_one():
    texts = [
        '"We will win," Hussein said.',
        "Prices rose by 3% in May.",
        "The minister told reporters the deal was done.",
        "According to the report, sales fell.",
    ]
    assert [may_speak(t) for t in texts] == [True, False, True, True]
    full = list(pipeline().pipe(texts))
    read_ = read_sentences(texts)
    for whole, part, text in zip(full, read_, texts, strict=True):
        assert [(e.text, e.label_) for e in part.ents] == [(e.text, e.label_) for e in whole.ents]
        if may_speak(text):
            assert [(t.dep_, t.head.i, t.tag_) for t in part] == [
                (t.dep_, t.head.i, t.tag_) for t in whole
            ]
            # word classes and verbs of saying from the tags, as the whole pipeline has them
            assert [word_class(t) for t in part] == [t.pos_ for t in whole]
            assert [lemma(t) for t in part if lemma(t) in SAY] == [
                t.lemma_ for t in whole if t.lemma_ in SAY
            ]
        else:
            assert not part.has_annotation("DEP")


def test_the_pipeline_reads_with_numpy_products_and_reads_as_spacy_default_load_does():
    """`pipeline` runs the model's matrix products through numpy (OpenBLAS) instead of thinc's
    BLIS, for speed: every tag, arc and entity must stay what spaCy's own load gives."""
    from index.nlp import MODEL, _import_spacy

    default = _import_spacy().load(MODEL)
    ours = pipeline()
    assert ours.get_pipe("ner").model.ops.use_blis is False
    assert default.get_pipe("ner").model.ops.use_blis is True
    article = split(clean(read(SEEDS / BNE, SEEDS)))
    texts = [article.text[s:e] for s, e in article.sentences]
    for mine, theirs in zip(ours.pipe(texts), default.pipe(texts), strict=True):
        assert [(t.tag_, t.dep_, t.head.i) for t in mine] == [
            (t.tag_, t.dep_, t.head.i) for t in theirs
        ]
        assert [(e.start_char, e.end_char, e.label_) for e in mine.ents] == [
            (e.start_char, e.end_char, e.label_) for e in theirs.ents
        ]
