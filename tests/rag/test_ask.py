import pytest

from index.embed import MODEL_NAME
from index.store import Store
from rag import Answer, Citation, article_text, ask
from rag.errors import EmptyQuestionError, StoreNotFoundError
from tests.conftest import BNE

QUESTIONS = [
    "What did Hussein say about mediation?",
    "Which groups does Iraq want to disarm?",
    "What will Iraq send to Syria?",
    "Who is Inna Rudolf?",
    "Why is Iraq worried about ISIS?",
    "What did Jonathan Schanzer say about the Assad regime?",
    "Does Hussein think Iraq is the next target?",
    "What is the Popular Mobilization Forces?",
    "When do elections take place in Iraq?",
    "What did Caroline Rose note?",
    "How did Iran-aligned factions attack US bases?",
    "What is the capital of France?",
    "What did Hussein say about Turkey?",
    "Who won the football match?",
]


def test_mediation_question_cites_the_mediation_sentence(seed_store):
    answer = ask("What did Hussein say about mediation?", store=seed_store)
    assert isinstance(answer, Answer) and not answer.abstained
    cited = {(c.article, c.quote) for c in answer.citations}
    assert (
        BNE,
        "Hussein cited Iraq's previous mediation between Saudi Arabia and Iran, which led to "
        "normalised relations in 2023, as evidence of Baghdad's diplomatic capabilities.",
    ) in cited


@pytest.mark.parametrize("question", QUESTIONS)
def test_every_quote_is_the_article_text_at_its_offsets(seed_store, question):
    answer = ask(question, store=seed_store)
    for citation in answer.citations + answer.related:
        assert isinstance(citation, Citation)
        assert (
            article_text(citation.article, store=seed_store)[citation.start : citation.end]
            == citation.quote
        )


@pytest.mark.parametrize("question", QUESTIONS[:11])
def test_answers_are_short_and_numbered(seed_store, question):
    answer = ask(question, store=seed_store)
    assert 1 <= len(answer.citations) <= 4
    assert [c.n for c in answer.citations] == list(range(1, len(answer.citations) + 1))
    for c in answer.citations:
        assert f"{c.quote} [{c.n}]" in answer.text


@pytest.mark.parametrize(
    "question", ["What is the capital of France?", "Who won the 2022 World Cup?"]
)
def test_off_topic_question_abstains_and_lists_related(seed_store, question):
    answer = ask(question, store=seed_store)
    assert answer.abstained and answer.citations == []
    assert "don't cover" in answer.text
    assert answer.related


@pytest.mark.parametrize("question", ["", "   ", "\n\t"])
def test_empty_question_is_a_value_error(seed_store, question):
    with pytest.raises(ValueError, match="question is empty"):
        ask(question, store=seed_store)
    with pytest.raises(EmptyQuestionError):
        ask(question, store=seed_store)


def test_missing_store_says_to_ingest(tmp_path):
    with pytest.raises(StoreNotFoundError, match=r"no store at .*run `rag ingest"):
        ask("What did Hussein say?", store=tmp_path / "missing")


def test_empty_store_says_to_ingest(tmp_path):
    Store(tmp_path / "empty", MODEL_NAME, create=True)
    with pytest.raises(StoreNotFoundError, match="holds no articles; run `rag ingest"):
        ask("What did Hussein say?", store=tmp_path / "empty")


def test_store_from_environment(seed_store, monkeypatch):
    monkeypatch.setenv("RAG_STORE", str(seed_store))
    assert not ask("What did Hussein say about mediation?").abstained


def test_follow_up_carries_the_earlier_question(seed_store):
    answer = ask(
        "And what about Syria?", history=["What did Hussein say about mediation?"], store=seed_store
    )
    assert answer.query == "What did Hussein say about mediation? And what about Syria?"
    assert answer.question == "And what about Syria?"
    assert any("Syria" in c.quote for c in answer.citations)
