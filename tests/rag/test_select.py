import numpy as np
import pytest

from index.lexical import LexicalIndex, terms
from index.store import SentenceRecord
from rag import compose, select
from rag.retrieve import Filters, fuse


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
    scores = select.lexical_scores(terms("Iraq mediation"), sentences)
    assert scores[0] == pytest.approx(1.0)
    assert scores[1] < 0.5 and scores[1] == scores[2]


def test_bm25_index_round_trips_and_ranks(tmp_path):
    index = LexicalIndex.build(["a", "b"], ["Hussein cited mediation", "grain and oil"], "s1")
    index.save(tmp_path / "bm25")
    loaded = LexicalIndex.load(tmp_path / "bm25")
    assert loaded.search("What about mediating?", 5)[0][0] == "a"
    assert loaded.search("capital of France", 5) == []
    assert loaded.idf("medina") > loaded.idf("mediat")  # unseen words weigh most


def test_pick_abstains_without_evidence_and_keeps_only_close_scores():
    weak = select.Scored(record("a", 0, "x", [1, 0]), 0.2, 0.2, 0.0, 0.2)
    assert select.pick([weak], 4) == []
    strong = select.Scored(record("a", 1, "y", [1, 0]), 0.7, 0.7, 0.6, 0.5)
    close = select.Scored(record("a", 2, "z", [0, 1]), 0.65, 0.6, 0.6, 0.5)
    far = select.Scored(record("a", 3, "w", [1, 1]), 0.45, 0.5, 0.6, 0.5)
    picks = select.pick([strong, close, far], 4)
    assert [p.chosen for p in picks] == [strong, close]


def test_a_statement_reported_twice_is_cited_once_with_the_other_source_as_also():
    first = select.Scored(record("fox.txt", 0, "Iraq is not next.", [1, 0.01]), 0.7, 0.7, 0.6, 0.5)
    twin = select.Scored(
        record("bne.txt", 5, "Iraq is not next, he said.", [1, 0.02]), 0.68, 0.7, 0.6, 0.5
    )
    picks = select.pick([first, twin], 4)
    assert len(picks) == 1 and picks[0].also == (twin,)
    spans = compose.spans(picks, {("fox.txt", 0): first.sentence})
    assert spans[0].also == ("bne.txt",)


def test_the_lead_must_hold_the_kind_of_answer_asked_for():
    no_number = select.Scored(record("a", 0, "Elections are coming.", [1, 0]), 0.8, 0.8, 0.6, 0.5)
    number = select.Scored(record("a", 1, "They are in May 2025.", [0, 1]), 0.6, 0.6, 0.6, 0.5)
    picks = select.pick([no_number, number], 4, fits=lambda t: any(c.isdigit() for c in t))
    assert picks[0].chosen is number
    assert select.pick([no_number], 4, fits=lambda t: any(c.isdigit() for c in t)) == []


def test_a_sentence_that_cannot_hold_the_kind_asked_for_is_not_cited():
    number = select.Scored(record("a", 0, "They are in May 2025.", [1, 0]), 0.7, 0.7, 0.6, 0.5)
    words = select.Scored(record("a", 1, "Elections are coming.", [0, 1]), 0.68, 0.7, 0.6, 0.5)
    other = select.Scored(record("a", 2, "Polls open at 7am.", [1, 1]), 0.66, 0.7, 0.6, 0.5)
    picks = select.pick([number, words, other], 4, fits=lambda t: any(c.isdigit() for c in t))
    assert [p.chosen for p in picks] == [number, other]


def test_no_answer_when_the_best_sentence_does_not_stand_out():
    flat = [
        select.Scored(record("a", i, f"Sentence {i}.", [1, i]), 0.6 - 0.005 * i, 0.6, 0.5, 0)
        for i in range(6)
    ]
    assert select.pick(flat, 4) == []
    ahead = [select.Scored(record("a", 9, "The answer.", [0, 1]), 0.7, 0.7, 0.5, 0)] + flat
    assert [p.chosen for p in select.pick(ahead, 4)][0] is ahead[0]


def test_a_figure_from_another_story_is_no_answer():
    story = select.Scored(record("museum", 0, "The museum opens in LA.", [1, 0]), 0.7, 0.7, 0.5, 0)
    other = select.Scored(record("film", 3, "Ray took $74m.", [0, 1]), 0.6, 0.6, 0.3, 0)
    has_sum = lambda text: "$" in text  # noqa: E731
    assert select.pick([story, other], 4, fits=has_sum) == []
    same = select.Scored(record("museum", 4, "It cost $5m.", [0, 1]), 0.6, 0.6, 0.3, 0)
    assert [p.chosen for p in select.pick([story, same], 4, fits=has_sum)] == [same, story]


def test_holding_the_kind_of_answer_ranks_higher_but_is_no_evidence_alone():
    weights = select.Weights(dense=1.0, lexical=0.0, kind=0.1, evidence=0.5)
    plain = select.Scored(record("a", 0, "Elections are coming.", [1, 0]), 0.0, 0.55, 0.0, 0.0)
    number = select.Scored(record("a", 1, "In May 2025.", [0, 1]), 0.0, 0.48, 0.0, 0.0, fits=1.0)
    ranked = select.rescore([plain, number], weights)
    assert [s.sentence.index for s in ranked] == [1, 0]  # 0.58 beats 0.55
    alone = select.Scored(record("a", 2, "In 2024.", [0, 1]), 0.0, 0.45, 0.0, 0.0, fits=1.0)
    assert not select.is_evidence(select.rescore([alone], weights)[0], weights)  # 0.55 with it


def test_a_farther_sentence_is_kept_only_for_question_words_no_kept_sentence_holds():
    weights = select.Weights(keep_within=0.05, cover_within=0.2, evidence=0.3)
    lead = select.Scored(record("a", 0, "BT will block premium numbers.", [1, 0]), 0.6, 0.6, 0.3, 0)
    alert = select.Scored(record("a", 5, "BT will send a text alert.", [0, 1]), 0.45, 0.5, 0.3, 0)
    again = select.Scored(record("a", 7, "BT will block numbers.", [1, 1]), 0.45, 0.5, 0.3, 0)
    asked = terms("Will BT block numbers or send alerts?")
    picks = select.pick([lead, alert, again], 4, weights, asked=asked)
    assert [p.chosen for p in picks] == [lead, alert]
    assert [p.chosen for p in select.pick([lead, alert, again], 4, weights)] == [lead]


def test_neighbours_in_one_article_are_never_taken_for_repeats():
    # late chunking makes sentences of one passage close in vector space
    first = select.Scored(record("a", 0, "JAL chose the 7E7.", [1, 0.1]), 0.7, 0.7, 0.5, 0)
    reason = select.Scored(record("a", 1, "It fits better.", [1, 0.12]), 0.68, 0.7, 0.5, 0)
    picks = select.pick([first, reason], 4)
    assert [p.chosen for p in picks] == [first, reason] and picks[0].also == ()


def test_rescore_recomputes_from_signals():
    s = select.Scored(
        record("a", 0, "x", [1, 0]), 0.0, dense=1.0, lexical=0.5, context=0.2, around=0.1
    )
    weights = select.Weights(dense=0.5, lexical=0.2, context=0.1, neighbour=1.0)
    assert select.rescore([s], weights)[0].score == pytest.approx(0.5 + 0.1 + 0.02 + 0.1)


def test_spans_merge_neighbours_complete_open_quotes_and_lead_with_the_best():
    text = [
        '"In the first place, we think of Iraq.',
        'If there is a threat, it is different," he said.',
    ]
    first = record("bne", 14, text[0], [1, 0], start=0, speaker="Fuad Hussein")
    second = record("bne", 15, text[1], [1, 0], start=len(text[0]) + 1, speaker="Fuad Hussein")
    other = record("fox", 2, "Hussein remains optimistic.", [0, 1], start=50)
    picks = [
        select.Pick(select.Scored(other, 0.9, 0.9, 0.5, 0.5)),
        select.Pick(select.Scored(first, 0.7, 0.7, 0.5, 0.5)),
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


def test_filters_match_chroma_where_and_python_check():
    filters = Filters(outlets=("bne IntelliNews",), date_from="2025-01-01")
    assert filters.where() == {"$and": [
        {"outlet": {"$in": ["bne IntelliNews"]}}, {"day": {"$gte": 20250101}}, {"day": {"$gt": 0}},
    ]}  # fmt: skip
    assert Filters().where() is None
