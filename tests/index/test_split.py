import pytest

from index.clean import clean
from index.embed import Encoder
from index.load import read
from index.records import Article
from index.split import LONGEST_SENTENCE, passages, sentence_spans, split
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


def test_a_sentence_over_the_window_is_windowed_not_truncated(encoder):
    """A sentence of fewer than LONGEST_SENTENCE characters can still hold more word pieces
    than the encoder reads (here 408 of 254): it is cut into windows, none truncated."""
    words = "-".join(f"x{i}" for i in range(120))
    assert len(words) < LONGEST_SENTENCE
    article = split(Article(id="long.txt", hash="x", text=f"{words}. Short one.", title="T"))
    assert [article.text[s:e] for s, e in article.sentences] == [f"{words}.", "Short one."]
    found = passages(article, encoder.count_tokens, encoder.hard_limit)
    assert len(found) >= 3
    assert all(encoder.count_tokens([p.embed_text])[0] <= encoder.hard_limit for p in found)
    pieces = "".join(p.text for p in found if p.first == 0)
    assert pieces == f"{words}."
    assert found[-1].text == "Short one."


def test_a_line_without_sentence_breaks_becomes_sentences_of_a_few_hundred_characters():
    """200 KB with no full stop came back as one 200 KB citation: now no sentence is longer
    than LONGEST_SENTENCE, each is cut at a space, and together they are the line."""
    line = " ".join(f"word{i % 977}" for i in range(25_000))
    assert len(line) > 150_000
    text = f"Short first sentence. {line}\n\nAfter it."
    spans = sentence_spans(text)
    sentences = [text[s:e] for s, e in spans]
    assert sentences[0] == "Short first sentence." and sentences[-1] == "After it."
    middle = spans[1:-1]
    assert len(middle) == -(-len(line) // LONGEST_SENTENCE)  # as few as the cap allows
    assert all(LONGEST_SENTENCE // 2 < e - s <= LONGEST_SENTENCE for s, e in middle)
    assert " ".join(text[s:e] for s, e in middle) == line  # cut at spaces, nothing lost
    # Where there is no space at all, a piece is cut mid-word, still at its exact offsets.
    blob = "x" * 1500
    assert sentence_spans(blob) == ((0, 500), (500, 1000), (1000, 1500))


def test_a_sentence_up_to_the_cap_is_kept_whole():
    sentence = ("This clause goes on, " * 28).strip().rstrip(",") + "."
    assert len(sentence) <= LONGEST_SENTENCE
    assert sentence_spans(sentence) == ((0, len(sentence)),)
