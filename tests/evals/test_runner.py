"""The runner end to end on five seed questions with a real store, thresholds and --compare."""

from __future__ import annotations

import json
from pathlib import Path

from evals import runner
from tests.conftest import SEEDS

SEED_QA = Path(runner.DEFAULT_DATASET)


def five_questions(folder: Path) -> Path:
    lines = SEED_QA.read_text(encoding="utf-8").splitlines()
    answerable = [line for line in lines if json.loads(line)["answerable"]][:4]
    unanswerable = [line for line in lines if not json.loads(line)["answerable"]][:1]
    path = folder / "five.jsonl"
    path.write_text("\n".join(answerable + unanswerable) + "\n", encoding="utf-8")
    return path


def test_runner_writes_reports_and_respects_thresholds(tmp_path, capsys):
    dataset, store, out = five_questions(tmp_path), tmp_path / "store", tmp_path / "out"
    common = ["--dataset", str(dataset), "--corpus", str(SEEDS), "--store", str(store)]
    assert runner.main([*common, "--out", str(out), "--min-gold-recall", "0"]) == 0
    for name in ("report.json", "report.md", "report.html", "scores.png", "by_type.png",
                 "recall_at_k.png"):  # fmt: skip
        assert (out / name).stat().st_size > 0, name
    report = json.loads((out / "report.json").read_text())
    assert report["metrics"]["questions"] == 5
    assert report["thresholds"] == {"gold_recall": 0.0}
    assert {r["id"] for r in report["rows"]} == {json.loads(x)["id"] for x in dataset.open()}
    for key in ("hit_at_5", "mrr", "citation_recall", "citation_precision", "gold_recall",
                "groundedness", "abstention_accuracy", "token_f1", "similarity"):  # fmt: skip
        assert 0.0 <= report["metrics"][key] <= 1.0, key
    assert "citation recall" in (out / "report.md").read_text()
    assert "<table>" in (out / "report.html").read_text()

    strict = tmp_path / "strict"
    code = runner.main([*common, "--out", str(strict), "--min-gold-recall", "1.01",
                        "--max-latency-p95-ms", "1000000"])  # fmt: skip
    assert code == 1
    assert "below threshold: gold_recall" in capsys.readouterr().out

    capsys.readouterr()
    assert runner.main(["--compare", str(out / "report.json"), str(strict / "report.json")]) == 0
    assert capsys.readouterr().out.strip()


def test_check_and_compare_read_directions():
    assert runner.check({"gold_recall": 0.4, "false_abstentions": 0.2},
                        {"gold_recall": 0.5, "false_abstentions": 0.3}) == [
        "gold_recall = 0.4 (wanted >= 0.5)"
    ]  # fmt: skip
    row = {"id": "q1", "failures": [], "covered": 1}
    old = {"metrics": {"gold_recall": 0.5, "false_abstentions": 0.1}, "rows": [row]}
    new = {"metrics": {"gold_recall": 0.6, "false_abstentions": 0.2},
           "rows": [{**row, "failures": ["abstained falsely"], "covered": 0}]}  # fmt: skip
    lines = runner.compare(old, new)
    assert "better gold_recall: 0.5 -> 0.6" in lines
    assert "worse  false_abstentions: 0.1 -> 0.2" in lines
    assert "worse  q1: passed -> abstained falsely" in lines


def test_side_by_side_scores_extractive_ours_and_citation_query_engine_with_one_model(
    tmp_path, monkeypatch
):
    from evals import baseline, devset

    # the question sets' own corpora (here the sample articles), ingested under tmp_path
    monkeypatch.setattr(devset, "CACHE", tmp_path / "cache")
    monkeypatch.setattr(baseline, "CACHE", tmp_path / "cache")
    lines = SEED_QA.read_text(encoding="utf-8").splitlines()
    dataset = tmp_path / "two.jsonl"
    dataset.write_text("\n".join(lines[:2]) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    code = runner.main(["--dataset", str(dataset), "--llm", "local", "--side-by-side",
                        "--out", str(out)])  # fmt: skip
    assert code == 0
    table = json.loads((out / "report.json").read_text())["side_by_side"]
    extractive, ours, engine = table
    assert extractive == "extractive (no LLM)"
    model = ours.removeprefix("ask() with ")
    assert model.startswith("qwen2.5-coder-0.5b") and engine == f"CitationQueryEngine with {model}"
    for figures in table.values():
        assert figures["questions"] == 2 and figures["seconds_p50"] > 0
        for key in ("citation_precision", "citation_recall", "all_gold_cited"):
            assert figures[key] is None or 0.0 <= figures[key] <= 1.0, key
    assert "Side by side" in (out / "report.md").read_text()
    assert "CitationQueryEngine with qwen2.5-coder-0.5b" in (out / "report.html").read_text()


def test_side_by_side_needs_an_llm_and_the_sets_own_corpora(capsys):
    assert runner.main(["--side-by-side", "--limit", "1"]) == 2
    assert "--side-by-side needs --llm" in capsys.readouterr().err
