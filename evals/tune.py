"""Fit the sentence-selection weights on the dev sets, and show that the fit generalizes.

Evidence is gathered once per question (retrieval does not depend on the weights); then a coarse
grid over the few global weights of `rag.select.Weights` is searched (coordinate ascent from the
current weights) and scored on the picks alone, chosen as `answer_from` chooses them. To guard
against fitting individual questions, the grid is coarse, every question of a set weighs the
same, and the fit is checked by 2-fold cross-validation (fit on odd-numbered questions, score the
even ones, and the other way round).

    .venv/bin/python -m evals.tune evals/datasets/seed_qa.jsonl evals/datasets/bbc_dev.jsonl
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from dataclasses import asdict, replace

from core.settings import Settings
from evals.devset import corpus_folder, load, store_for, store_id
from rag import select
from rag.ask import candidates, choose, gather, open_store
from rag.retrieve import Filters

GRID = {
    "dense": [0.4, 0.55, 0.7],
    "lexical": [0.15, 0.3, 0.45],
    "context": [0.0, 0.15, 0.3],
    "neighbour": [0.0, 0.1],
    "kind": [0.0, 0.03, 0.06, 0.12],
    "evidence": [0.30, 0.34, 0.38, 0.42, 0.46, 0.50],
    "lexical_evidence": [0.4, 0.5, 0.6, 2.0],  # 2.0: the lexical route off
    "dense_with_lexical": [0.1, 0.2, 0.3],
    "keep_within": [0.04, 0.08, 0.12, 0.16],
    "cover_within": [0.0, 0.2, 0.3],  # 0.0: no sentence kept only for the question words it adds
    "distinct": [0.0, 0.02, 0.03, 0.04],  # 0.0: the best need not stand out
}
SWEEPS = 4
HELD_OUT = "test-"  # ids of evals/datasets/bbc_test.jsonl, which weights are never fitted on


def gathered(items, top_k: int):
    """(item, evidence, candidates) for every question whose corpus is present."""
    settings = Settings.from_env(top_k=top_k)
    rows = []
    for item in items:
        if not corpus_folder(item["corpus"]):
            continue
        db = open_store(store_for(item["corpus"]))
        evidence = gather(db, item["question"], item.get("history"), settings, Filters())
        rows.append((item, evidence, candidates(evidence)))
    return rows


def outcome(item, evidence, marked, weights, limit=4):
    """(answered, evidence items covered, cited words) for one question under weights, chosen
    as `answer_from` chooses."""
    picks = choose(evidence, select.rescore(marked, weights), limit, weights)
    cited = {(p.chosen.sentence.article, p.chosen.sentence.text) for p in picks}
    cited |= {(a.sentence.article, a.sentence.text) for p in picks for a in p.also}
    corpus = item["corpus"]
    covered = sum(
        any((store_id(alt["article"], corpus), alt["sentence"]) in cited for alt in need)
        for need in item["evidence"]
    )
    return bool(picks), covered, sum(len(p.chosen.sentence.text.split()) for p in picks)


def metrics(rows, weights) -> dict:
    answerable = complete = false_abstain = unanswerable = abstained = 0
    words = []
    for item, evidence, marked in rows:
        answered, covered, cited_words = outcome(item, evidence, marked, weights)
        if answered:
            words.append(cited_words)
        if item["answerable"]:
            answerable += 1
            complete += answered and covered == len(item["evidence"])
            false_abstain += not answered
        else:
            unanswerable += 1
            abstained += not answered
    return {
        "all_gold_cited": complete / max(answerable, 1),
        "unanswerable_abstained": abstained / max(unanswerable, 1),
        "false_abstentions": false_abstain / max(answerable, 1),
        "median_cited_words": statistics.median(words) if words else 0,
    }


def objective(per_set: list[dict]) -> float:
    """Mean over sets of gold fully cited + unanswerables abstained - false abstentions."""
    return statistics.mean(
        m["all_gold_cited"]
        + m["unanswerable_abstained"]
        - m["false_abstentions"]
        - (0.5 if m["median_cited_words"] > 80 else 0.0)
        for m in per_set
    )


def fit(sets: list[list], start: select.Weights | None = None) -> tuple[select.Weights, float]:
    """The best weights on the grid, by coordinate ascent: each weight in turn set to its best
    grid value with the others held, until a sweep changes nothing (ties keep the current)."""
    best = start or select.Weights()
    best_value = objective([metrics(rows, best) for rows in sets])
    for _ in range(SWEEPS):
        changed = False
        for name, values in GRID.items():
            for value in values:
                weights = replace(best, **{name: value})
                score = objective([metrics(rows, weights) for rows in sets])
                if score > best_value + 1e-9:
                    best, best_value, changed = weights, score, True
        if not changed:
            break
    return best, best_value


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("datasets", nargs="+")
    parser.add_argument("--top-k", type=int, nargs="+", default=[8])
    args = parser.parse_args(argv)
    datasets = {path: load(path) for path in args.datasets}
    for path, items in datasets.items():
        if any(item["id"].startswith(HELD_OUT) for item in items):
            parser.error(f"{path} holds the held-out test questions: score them with "
                         "evals.devset, never fit weights on them")  # fmt: skip
    for top_k in args.top_k:
        began = time.perf_counter()
        sets = [gathered(items, top_k) for items in datasets.values()]
        print(f"top_k={top_k}: gathered in {time.perf_counter() - began:.0f} s")
        current = [metrics(rows, select.Weights()) for rows in sets]
        print(
            "  current weights:",
            json.dumps([{k: round(v, 3) for k, v in m.items()} for m in current]),
        )
        folds = []
        for keep in (0, 1):
            train = [[r for i, r in enumerate(rows) if i % 2 == keep] for rows in sets]
            test = [[r for i, r in enumerate(rows) if i % 2 != keep] for rows in sets]
            weights, _ = fit(train)
            folds.append([metrics(rows, weights) for rows in test])
            print(f"  fold {keep}: fitted", json.dumps(asdict(weights)))
            print(
                "    held-out:",
                json.dumps([{k: round(v, 3) for k, v in m.items()} for m in folds[-1]]),
            )
        weights, value = fit(sets)
        print("  all questions: fitted", json.dumps(asdict(weights)), f"objective {value:.3f}")
        print(
            "    in-sample:",
            json.dumps(
                [{k: round(v, 3) for k, v in metrics(rows, weights).items()} for rows in sets]
            ),
        )


if __name__ == "__main__":
    main()
