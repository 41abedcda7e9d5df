"""Fit the sentence-selection weights on the dev sets, and show that the fit generalizes.

Evidence is gathered once per question (retrieval does not depend on the weights); then a coarse
grid over the few global weights of `rag.select.Weights` is scored on the picks alone. To guard
against fitting individual questions, the grid is coarse, every question of a set weighs the
same, and the fit is checked by 2-fold cross-validation (fit on odd-numbered questions, score the
even ones, and the other way round).

    .venv/bin/python -m evals.tune evals/datasets/seed_qa.jsonl evals/datasets/bbc_dev.jsonl
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import time
from dataclasses import asdict, replace

from evals.devset import corpus_folder, load, store_for, store_id
from rag import select
from rag.ask import gather, open_store
from rag.query import fits as query_fits
from rag.retrieve import Filters
from rag.settings import Settings

GRID = {
    "dense": [0.4, 0.55, 0.7],
    "lexical": [0.15, 0.3, 0.45],
    "context": [0.0, 0.15, 0.3],
    "neighbour": [0.0, 0.1],
    "evidence": [0.30, 0.34, 0.38, 0.42, 0.46, 0.50],
    "lexical_evidence": [0.4, 0.5, 0.6, 2.0],  # 2.0: the lexical route off
    "dense_with_lexical": [0.2, 0.3],
    "keep_within": [0.04, 0.08, 0.12],
}


def gathered(items, top_k: int):
    """(item, evidence) for every question whose corpus is present."""
    settings = Settings.from_env(top_k=top_k)
    rows = []
    for item in items:
        if not corpus_folder(item["corpus"]):
            continue
        db = open_store(store_for(item["corpus"]))
        rows.append((item, gather(db, item["question"], item.get("history"), settings, Filters())))
    return rows


def outcome(item, evidence, weights, limit=4):
    """(answered, evidence items covered, cited words) for one question under weights."""
    if evidence.blocked:
        return False, 0, 0
    scored = select.rescore(evidence.scored, weights)
    kind, text = evidence.kind, evidence.query.text
    fits = (lambda t: query_fits(t, kind, text)) if kind else None
    picks = select.pick(scored, limit, weights, fits)
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
    for item, evidence in rows:
        answered, covered, cited_words = outcome(item, evidence, weights)
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


def fit(sets: list[list]) -> tuple[select.Weights, float]:
    best, best_value = select.Weights(), float("-inf")
    names = list(GRID)
    for values in itertools.product(*(GRID[n] for n in names)):
        weights = replace(select.Weights(), **dict(zip(names, values, strict=True)))
        value = objective([metrics(rows, weights) for rows in sets])
        if value > best_value:
            best, best_value = weights, value
    return best, best_value


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("datasets", nargs="+")
    parser.add_argument("--top-k", type=int, nargs="+", default=[8])
    args = parser.parse_args(argv)
    for top_k in args.top_k:
        began = time.perf_counter()
        sets = [gathered(load(path), top_k) for path in args.datasets]
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
