"""Fits the threshold at which `evals.support` calls a written sentence supported by the
sentences it cites (`rag.write.SUPPORTED`), on written answers and their sources.

The dev sets' reference answers are sentences people wrote from the gold sentences, in their own
words, as an LLM asked for an answer does. Each reference is paired with its gold sentences
(supported) and, as on-topic sentences that do not support it, with each of three other
sentences of the same article (not supported; the article's sentences nearest the reference by
the embedding model, gold ones excluded). The threshold with the best balanced accuracy on the
four dev sets is chosen; the held-out test set (bbc_test) is scored with it and never fitted on.
Each set's figures are also given as `rag.write.verify` decides: the threshold and no number,
date or name of the sentence missing from what it cites.
BBC sets need ../shared/corpora/bbc.

    .venv/bin/python -m evals.verify_threshold
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from evals import support
from evals.devset import corpus_folder, load
from rag.write import missing_facts

DEV = ("seed_qa", "bbc_dev", "bbc_dev_long", "bbc_dev_desc")
TEST = "bbc_test"
DATASETS = Path(__file__).resolve().parent / "datasets"
RESULTS = Path(__file__).resolve().parent / "results" / "verify_threshold.json"
NEGATIVES = 3


def article_sentences(item: dict, article: str) -> list[str]:
    if item["corpus"] == "seed":
        from index.clean import clean
        from index.load import read
        from index.split import split

        folder = corpus_folder("seed")
        a = split(clean(read(folder / article, folder)))
    else:
        from evals.trainset import article as bbc_article

        a = bbc_article(article)
    return [a.text[s:e] for s, e in a.sentences]


def pairs(name: str) -> list[tuple[str, list[str], int, str]]:
    """(reference, [sentence], label, question) for each answerable item with a reference."""
    from core.settings import Settings

    encoder = Settings.from_env(precision="fp32").encoder()
    result = []
    for item in load(DATASETS / f"{name}.jsonl"):
        if not item["answerable"] or not item.get("reference") or not corpus_folder(item["corpus"]):
            continue
        reference = item["reference"]
        gold = item["evidence"][0]
        result.append((reference, [g["sentence"] for g in gold], 1, item["question"]))
        article = gold[0]["article"]
        others = [
            s for s in article_sentences(item, article) if s not in {g["sentence"] for g in gold}
        ]
        if not others:
            continue
        vectors = encoder.embed(others)
        near = np.argsort(-(vectors @ encoder.embed_query(reference)))[:NEGATIVES]
        result += [(reference, [others[i]], 0, item["question"]) for i in near]
    return result


def balanced(scores: np.ndarray, labels: np.ndarray, threshold: float) -> float:
    said = scores >= threshold
    return float((said[labels == 1].mean() + (~said[labels == 0]).mean()) / 2)


def main() -> None:
    from sklearn.metrics import roc_auc_score

    figures = {}
    dev_scores, dev_labels = [], []
    scored = {}
    facts_ok = {}
    for name in (*DEV, TEST):
        rows = pairs(name)
        scores = np.array(support.support_batch([(c, p) for c, p, _, _ in rows]))
        labels = np.array([label for _, _, label, _ in rows])
        scored[name] = (scores, labels)
        facts_ok[name] = np.array([not missing_facts(c, p, [q]) for c, p, _, q in rows])
        if name != TEST:
            dev_scores.append(scores)
            dev_labels.append(labels)
    scores, labels = np.concatenate(dev_scores), np.concatenate(dev_labels)
    # the scorer's probabilities crowd near 0 and 1 for sentences in other words: the grid is
    # every score seen, and the threshold kept to 2 significant digits
    best = float(max(np.unique(scores), key=lambda t: balanced(scores, labels, t)))
    threshold = float(f"{best:.1e}")
    for name, (s, y) in scored.items():
        figures[name] = {
            "pairs": int(len(y)),
            "supported_pairs": int(y.sum()),
            "auc": round(float(roc_auc_score(y, s)), 3),
            "balanced_accuracy": round(balanced(s, y, threshold), 3),
            "balanced_accuracy_at_0.5": round(balanced(s, y, 0.5), 3),
            "recall": round(float((s[y == 1] >= threshold).mean()), 3),
            "false_support": round(float((s[y == 0] >= threshold).mean()), 3),
        }
        both = (s >= threshold) & facts_ok[name]  # as rag.write.verify decides
        figures[name]["with_fact_check"] = {
            "recall": round(float(both[y == 1].mean()), 3),
            "false_support": round(float(both[y == 0].mean()), 3),
        }
    result = {"threshold": threshold, "fitted_on": list(DEV), "held_out": TEST, "sets": figures}
    RESULTS.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
