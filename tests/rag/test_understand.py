import pytest

from index.nlp import read
from rag.understand import (
    Query,
    asked_names,
    entities,
    expects,
    fits,
    parse,
    resolve,
)


@pytest.mark.parametrize(
    "question, speaker, topic",
    [
        ("What did Hussein say about mediation?", "Hussein", "mediation"),
        ("What does Fuad Hussein think about the US?", "Fuad Hussein", "the US"),
        ("According to Schanzer, why did Iraq act?", "Schanzer", "why did Iraq act"),
        (
            "Why did Iraq act, according to Jonathan Schanzer?",
            "Jonathan Schanzer",
            "Why did Iraq act",
        ),
        ("What is Hussein's view on ISIS?", "Hussein", "ISIS"),
        ("Did Hussein say anything about Turkey?", "Hussein", "Turkey"),
        ("What will Iraq supply to Syria?", "", "What will Iraq supply to Syria?"),
        # who was told is not the topic
        ("What did Pal tell reporters it wanted to do?", "Pal", "it wanted to do"),
        ("What did Hussein tell Reuters about Syria?", "Hussein", "Syria"),
        ("What did she tell her mother?", "she", "her mother"),
        ("What did Gilbert write about Roddick?", "Gilbert", "Roddick"),
        # "on" is a word, not the start of "online"
        ("What did Gilbert write online about Roddick?", "Gilbert", "online about Roddick"),
        # an unnamed role at an organisation is not a person called Fox
        ("What did the Fox spokesman say about the show?", "the fox spokesman", "the show"),
        ("What did a Japan Airlines official say about it?", "a japan airlines official", "it"),
        ("What did the Fox spokesman Tom Price say about it?", "Tom Price", "it"),
        # a question that sets the scene first: its sentence is matched on what it asks
        (
            "When Chinese police held three managers of the dairy firm Yili, how much money "
            "were they suspected of misusing?",
            "",
            "how much money were they suspected of misusing?",
        ),
        (
            "In the story about the airline choosing Boeing's new plane, how many jets did it buy?",
            "",
            "how many jets did it buy?",
        ),
        ("In 2004, how many jets did it buy?", "", "In 2004, how many jets did it buy?"),
        # a question that describes its story between commas: matched on what it asks
        (
            "How much money does Air Jamaica, which the state is taking back from the hotel "
            "magnate who bought control in 1994, owe?",
            "",
            "How much money does Air Jamaica owe?",
        ),
        (
            "Why did Saul Holiff, the promoter who looked after Johnny Cash's career, walk away "
            "in 1973, according to his son?",
            "his son",
            "Why did Saul Holiff, the promoter who looked after Johnny Cash's career, walk away "
            "in 1973",
        ),
        (
            "Who gave Jonah Lomu his new kidney, the operation after which he returned to "
            "rugby, after his illness?",
            "",
            "Who gave Jonah Lomu his new kidney?",
        ),
        (
            "How much is Quiksilver, the surfwear firm, offering for Rossignol, the ski maker?",
            "",
            "How much is Quiksilver offering for Rossignol?",
        ),
        # commas that only separate words of what is asked stay
        (
            "Which cities, towns and villages will get the jobs?",
            "",
            "Which cities, towns and villages will get the jobs?",
        ),
        ("Did the vote pass, with what margin?", "", "Did the vote pass, with what margin?"),
        (
            "Did the strike begin, before or after May?",
            "",
            "Did the strike begin, before or after May?",
        ),
        ("Where is the stadium, which holds 60,000 fans?", "", "Where is the stadium?"),
        (
            "Which team, the Lions or the Wallabies, won?",
            "",
            "Which team, the Lions or the Wallabies, won?",
        ),
        ("Did he resign, after which scandal?", "", "Did he resign, after which scandal?"),
        ("When will the vote be held, and why?", "", "When will the vote be held, and why?"),
    ],
)
def test_parse_finds_speaker_and_topic(question, speaker, topic):
    query = parse(question)
    assert (query.speaker, query.topic) == (speaker, topic)


def test_follow_ups_carry_speaker_and_frame():
    history = ["What did Hussein say about mediation?"]
    assert resolve("And what did he say about ISIS?", history) == Query(
        "What did Hussein say about ISIS?", "ISIS", "Hussein"
    )
    assert resolve("What about Syria?", history).text == "What did Hussein say about Syria?"
    assert resolve("Why?", history).text == "What did Hussein say about mediation? Why?"
    assert resolve("What will Iraq supply to Syria?", history).speaker == ""
    # a pronoun with nothing to refer to is no speaker: a plain question
    assert resolve("What did he say about ISIS?", None) == Query(
        "What did he say about ISIS?", "What did he say about ISIS?"
    )


@pytest.mark.parametrize(
    "question",
    ["When did that lead to restored ties?", "What did the one from King's College say?"],
)
def test_a_demonstrative_or_the_one_makes_a_follow_up(question):
    history = ["Which experts and countries are named?"]
    assert resolve(question, history) == Query(f"{history[0]} {question}", question)
    assert resolve("Which treaty did Iraq sign with Iran in 2023?", history).text.startswith(
        "Which"
    )


@pytest.mark.parametrize(
    "question, kind",
    [
        ("How many fighters do the factions have?", "number"),
        ("By how much did prices fall?", "number"),
        ("When will the elections be held?", "date"),
        ("On what date was it reported?", "date"),
        ("Who backs the PMF?", "agent"),
        ("What is the name of the Syrian minister?", "name"),
        ("Who is Inna Rudolf?", ""),
        ("Who is taking over from Philippe Camus?", "agent"),
        ("Which company bought the unit?", "organisation"),
        ("In which country was the film shot?", "place"),
        ("Where will the summit be held?", "place"),
        ("In what year did the band form?", "date"),
        ("What percentage of voters backed it?", "percent"),
        ("How much was he paid?", "money"),
        ("Why is the region tense?", ""),
        ("How much will the adaptor cost?", "money"),
        ("How much prize money did she collect?", "money"),
        ("How much has Sainsbury given Labour?", "number"),
        ("What did Gilbert say about how much work Roddick had to do?", ""),
        ("According to Gilbert, how many titles did Roddick win?", "number"),
        ("Which outlet reported it? On what date?", "date"),
        # what a question asks after the scene it sets
        ("After the cyber security chief quit, who was named in his place?", "agent"),
        ("When the minister resigned last week, why did he go?", ""),
        ("After Roddick dropped him, what did Gilbert write about how much work was left?", ""),
    ],
)
def test_expected_answer_kind(question, kind):
    assert expects(question) == kind


def test_fits_needs_an_entity_of_the_kind_asked_for():
    def holds(sentence, kind, question=""):
        (doc,) = read([sentence], lambda _: False)  # the entities ingest stores for it
        return fits([(e.text, e.label_) for e in doc.ents], kind, question)

    assert holds("Priced at £229, it goes on sale in May.", "money")
    assert holds("The deal is worth $4bn.", "money")
    assert not holds("4.1 million robots will be doing jobs by 2007.", "money")
    assert holds("4.1 million robots will be doing jobs by 2007.", "number")
    assert not holds("Iraq will hold elections soon.", "date")
    assert holds("It was reported on January 17.", "date")
    assert holds("Vodafone bought the unit from Mannesmann.", "organisation")
    assert holds("The talks will be held in Geneva.", "place")
    assert holds("Inna Rudolf, an expert, disagreed.", "person", "Which expert?")
    assert holds("The PMF is supported by Iranian resources.", "agent", "Who supplies the PMF?")
    assert not holds("The PMF is supported by Iranian resources.", "person")
    # a name the question gives itself is not the answer
    assert not holds("Inna Rudolf, an expert, disagreed.", "person", "What did Inna Rudolf say?")
    assert holds("Iraq will hold elections soon.", "")  # no kind wanted: anything may answer


def test_asked_names_give_the_years_a_question_dates():
    assert asked_names("What did Vodafone report in 2004?") == ["Vodafone", "2004"]
    assert asked_names("Why is the region tense?") == []


def test_entities_are_spacys_names_without_demonyms():
    assert entities("Who won the 2022 World Cup?") == ["the 2022 World Cup"]
    assert entities("What has Fuad Hussein said about Turkey?") == ["Fuad Hussein", "Turkey"]
    assert entities("Could American troops stay?") == []
    assert entities("Is ISIS a worry?") == ["ISIS"]
