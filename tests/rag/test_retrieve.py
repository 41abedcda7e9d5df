import numpy as np
import pytest

from index.lexical import LexicalIndex, terms
from index.store import SentenceRecord
from rag import compose, read
from rag.retrieve import Filters, fuse, lexical_scores


def record(article, index, text, vector, start=None, speaker=""):
    start = index * 100 if start is None else start
    vector = np.asarray(vector, dtype=np.float32)
    vector /= np.linalg.norm(vector)
    return SentenceRecord(
        article, index, start, start + len(text), f"{article}#p0", text, vector, speaker
    )


def test_reciprocal_rank_fusion_matches_a_worked_example():
    # a: 1/61 + 1/62, b: 1/62 + 1/61, c: 1/63; ties keep first-seen order
    assert fuse([["a", "b", "c"], ["b", "a"]]) == ["a", "b", "c"]
    # c: 1/62 + 1/61 beats a: 1/61, which beats b: 1/61 only by coming first
    assert fuse([["a"], ["b", "c"], ["c"]]) == ["c", "a", "b"]


def test_lexical_scores_weigh_rare_words_more():
    sentences = ["Iraq offers mediation.", "Iraq sends grain.", "Iraq talks."]
    scores = lexical_scores(terms("Iraq mediation"), sentences)
    assert scores[0] == pytest.approx(1.0)
    assert scores[1] < 0.5 and scores[1] == scores[2]


def test_bm25_index_round_trips_and_ranks(tmp_path):
    index = LexicalIndex.build(["a", "b"], ["Hussein cited mediation", "grain and oil"], "s1")
    index.save(tmp_path / "bm25")
    loaded = LexicalIndex.load(tmp_path / "bm25")
    assert loaded.search("What about mediating?", 5)[0][0] == "a"
    assert loaded.search("capital of France", 5) == []
    assert loaded.idf("medina") > loaded.idf("mediat")  # unseen words weigh most


def test_spans_merge_neighbours_complete_open_quotes_and_lead_with_the_best():
    text = [
        '"In the first place, we think of Iraq.',
        'If there is a threat, it is different," he said.',
    ]
    first = record("bne", 14, text[0], [1, 0], start=0, speaker="Fuad Hussein")
    second = record("bne", 15, text[1], [1, 0], start=len(text[0]) + 1, speaker="Fuad Hussein")
    other = record("fox", 2, "Hussein remains optimistic.", [0, 1], start=50)
    picks = [
        read.Pick(read.Scored(other, 0.9)),
        read.Pick(read.Scored(first, 0.7)),
    ]
    pool = {("bne", 14): first, ("bne", 15): second, ("fox", 2): other}
    spans = compose.spans(picks, pool)
    assert [s.article for s in spans] == ["fox", "bne"]
    assert spans[1].quote == f"{text[0]} {text[1]}" and (spans[1].first, spans[1].last) == (14, 15)
    assert compose.for_reader(spans[1]).endswith("he [Fuad Hussein] said.")
    # ranked otherwise, the other article's span leads; the scores shown stay the picks'
    ranked = compose.spans(picks, pool, {("bne", 14): 1.0})
    assert [s.article for s in ranked] == ["bne", "fox"]
    assert [s.score for s in ranked] == [0.7, 0.9]


@pytest.mark.parametrize(
    "quote, shown",
    [
        (
            "The Iraqi minister expressed readiness to help.",
            "The Iraqi minister [Fuad Hussein] expressed readiness to help.",
        ),
        ("Iraq would supply grain, he said.", "Iraq would supply grain, he [Fuad Hussein] said."),
        ('"We are worried about ISIS."', '[Fuad Hussein:] "We are worried about ISIS."'),
        ("Hussein said Iraq would help.", "Hussein said Iraq would help."),  # named already
    ],
)
def test_the_reader_is_told_who_a_pronoun_or_role_is(quote, shown):
    span = compose.Span("bne", 1, 1, 0, len(quote), quote, 1.0, speaker="Fuad Hussein")
    assert compose.for_reader(span) == shown


def test_a_cited_span_names_everyone_who_says_its_sentences_once_each_in_order():
    v = [1.0, 0.0]
    records = [
        record("a", 4, '"We will win," Ann Lee said.', v, start=0, speaker="Ann Lee"),
        record("a", 5, "Prices rose.", v, start=29),
        record("a", 6, "Bob Kay disagreed, saying costs matter.", v, start=42, speaker="Bob Kay"),
        record("a", 7, "He said so twice.", v, start=82, speaker="Bob Kay"),
    ]
    span = compose._span("a", records, {}, {})
    assert span.speaker == "Ann Lee"  # who "he" is for the reader: the first one named
    found = compose.citations([span], {})
    assert found[0].speaker == "Ann Lee, Bob Kay"
    alone = compose._span("a", records[1:2], {}, {})
    assert compose.citations([alone], {})[0].speaker == ""


def test_filters_match_chroma_where_and_python_check():
    filters = Filters(outlets=("bne IntelliNews",), date_from="2025-01-01")
    assert filters.where() == {"$and": [
        {"outlet": {"$in": ["bne IntelliNews"]}}, {"day": {"$gte": 20250101}}, {"day": {"$gt": 0}},
    ]}  # fmt: skip
    assert Filters().where() is None
