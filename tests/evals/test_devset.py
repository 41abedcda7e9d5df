import json

import pytest

from evals.devset import compare, main, sign_test


def row(id_, answerable=True, abstained=False, covered=1, items=1):
    """A question's line of an --out file (evals.devset.Result as a dict)."""
    return {"id": id_, "type": "fact", "corpus": "seed", "answerable": answerable,
            "abstained": abstained, "covered": covered, "items": items, "cited_words": 10,
            "ms": 1.0, "query": "q", "text": "t"}  # fmt: skip


def test_sign_test_is_the_exact_two_sided_binomial():
    assert sign_test(0, 0) == 1.0
    assert sign_test(5, 0) == sign_test(0, 5) == 0.0625  # 2 / 2**5
    assert sign_test(3, 3) == 1.0
    assert sign_test(9, 1) == 0.0215  # 2 * 11 / 1024


def test_compare_pairs_questions_and_counts_what_each_gained_and_lost():
    before = [
        row("a"), row("b", covered=0), row("c", abstained=True, covered=0),
        row("u1", answerable=False), row("u2", answerable=False, abstained=True),
    ]  # fmt: skip
    after = [
        row("a", covered=0), row("b"), row("c"),
        row("u1", answerable=False, abstained=True), row("u2", answerable=False, abstained=True),
    ]  # fmt: skip
    found = compare(before, after)
    assert found["all_gold_cited"] == {
        "questions": 3, "before": 1, "after": 2, "gained": ["b", "c"], "lost": ["a"], "p": 1.0
    }  # fmt: skip
    assert (found["false_abstentions"]["before"], found["false_abstentions"]["after"]) == (1, 0)
    assert found["false_abstentions"]["lost"] == ["c"]
    assert found["unanswerable_abstained"]["gained"] == ["u1"]
    assert found["unanswerable_abstained"]["questions"] == 2


def test_compare_refuses_runs_of_different_sets_and_prints_each_figure(tmp_path, capsys):
    with pytest.raises(ValueError, match="different questions"):
        compare([row("a")], [row("b")])
    old, new = tmp_path / "old.json", tmp_path / "new.json"
    old.write_text(json.dumps([row("a"), row("b")]))
    new.write_text(json.dumps([row("a", abstained=True, covered=0), row("b")]))
    main(["--compare", str(old), str(new)])
    out = capsys.readouterr().out
    assert "all_gold_cited: 2 -> 1 of 2 (gained 0, lost 1, sign test p=1.0)" in out
    assert "false_abstentions: 0 -> 1 of 2 (gained 1, lost 0, sign test p=1.0)" in out
    new.write_text(json.dumps([row("a")]))
    with pytest.raises(SystemExit) as stopped:
        main(["--compare", str(old), str(new)])
    assert stopped.value.code == 2
    assert "different questions" in capsys.readouterr().err
