import pytest

from index.clean import clean
from index.embed import Encoder
from index.load import read
from index.records import Article
from index.split import passages, sentence_spans, split
from tests.conftest import BNE, FOX, SEEDS


@pytest.fixture(scope="module")
def encoder():
    return Encoder()


def test_sentences_have_exact_offsets():
    text = (
        'The U.S. Army left. "We hope so," Hussein said.\n\nMr. Smith stayed until 5 p.m. Friday.'
    )
    spans = sentence_spans(text)
    assert [text[s:e] for s, e in spans] == [
        "The U.S. Army left.",
        '"We hope so," Hussein said.',
        "Mr. Smith stayed until 5 p.m. Friday.",
    ]


@pytest.mark.parametrize("name", [FOX, BNE])
def test_passages_cover_every_sentence_and_fit_the_window(name, encoder):
    article = split(clean(read(SEEDS / name, SEEDS)))
    found = passages(article, encoder.count_tokens, encoder.hard_limit)
    covered = [i for p in found for i in range(p.first, p.last + 1)]
    assert covered == list(range(len(article.sentences)))
    for p in found:
        assert p.text == article.text[p.start : p.end]
        assert p.embed_text.endswith(p.text)
        # the real tokenizer, with nothing cut: every word piece reaches the embedding
        assert encoder.count_tokens([p.embed_text])[0] <= encoder.hard_limit


def test_an_overlong_sentence_is_windowed_not_truncated(encoder):
    words = " ".join(f"word{i}" for i in range(400))
    article = split(Article(id="long.txt", hash="x", text=f"{words}. Short one.", title="T"))
    found = passages(article, encoder.count_tokens, encoder.hard_limit)
    assert len(found) >= 3
    assert all(encoder.count_tokens([p.embed_text])[0] <= encoder.hard_limit for p in found)
    pieces = " ".join(p.text for p in found if p.first == 0)
    assert pieces == f"{words}."
    assert found[-1].text == "Short one."
