"""Fit the reader's two small models and its thresholds (see rag/read.py), and export it.

    .venv/bin/python -m evals.train_reader fit     # after mine (and train, for the logit)

The questions fitted on are the mined training questions (evals/train_reader.py). When the
sentence model reads the cross-encoder's logit, only the calibration fold is used (one training
article in five, which the cross-encoder never trained on); without it, every training question.
Everything is cross-fitted over K folds by story (a question's article): each question's
probabilities come from models fitted without its article, the question model is fitted on those,
and the thresholds are chosen on the question model's out-of-fold probabilities. The models
shipped are then refitted on all the questions. The dev sets and the held-out test set take no
part.

The thresholds maximise the mean of "all gold cited" (answerable questions) and "abstained"
(unanswerable ones), with at most `MOST_FALSE` of the answerable questions abstained on and at
most `MOST_CITED` sentences cited per answer on median.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import shutil
from pathlib import Path

import numpy as np

from rag.read import (
    FEATURES,
    FOLDER,
    MAX_LENGTH,
    QUESTION_FEATURES,
    Net,
    Thresholds,
    question_features,
)

K = 5  # cross-fitting folds
SEED = 13
SENTENCE_LAYERS = (32, 16)  # hidden layers of the sentence model (pair ROC-AUC, see the card)
# The question model is a logistic regression: out of fold (epoch-1 cross-encoder) it told
# answerable questions apart better than 8 hidden units did (ROC-AUC 0.705 against 0.626).
QUESTION_LAYERS = ()
MOST_FALSE = 0.10
MOST_CITED = 3
LIMIT = 4  # Settings.max_citations


def candidates(row: dict) -> list[dict]:
    """The candidates retrieval returned for a mined question (what the reader reads at run
    time), without the gold sentences it missed and the other story's sentence."""
    return [p for p in row["pairs"] if p["rank"] >= 0]


def table(row: dict, logits: np.ndarray | None = None) -> np.ndarray:
    x = np.array([p["features"] for p in candidates(row)], np.float32).reshape(-1, len(FEATURES))
    return x if logits is None else np.concatenate([x, logits[:, None]], axis=1)


def labels(row: dict) -> np.ndarray:
    return np.array([p["label"] for p in candidates(row)], np.int64)


def balance(rows: list[dict]) -> np.ndarray:
    """A weight per question that makes answerable and unanswerable questions equally likely at
    every level of word overlap with their best candidate (quintiles of the `lexical` feature's
    maximum). The training questions' answerable ones were written with at most half the words
    of their gold sentence and the unanswerable ones were not: unweighted, the models learn that
    a question sharing many words with an article is one it does not answer."""
    lexical = FEATURES.index("lexical")
    overlap = np.array([table(r)[:, lexical].max() if candidates(r) else 0.0 for r in rows])
    answerable = np.array([r["answerable"] for r in rows], bool)
    edges = np.quantile(overlap, [0.2, 0.4, 0.6, 0.8])
    level = np.searchsorted(edges, overlap)
    weight = np.ones(len(rows))
    share = answerable.mean()
    for b in range(5):
        inside = level == b
        here = answerable[inside].mean() if inside.any() else share
        if 0 < here < 1:
            weight[inside & answerable] = share / here
            weight[inside & ~answerable] = (1 - share) / (1 - here)
    return weight


def fit_net(x: np.ndarray, y: np.ndarray, layers: tuple[int, ...], weight=None) -> Net:
    """A network (or, with no hidden layers, a logistic regression) fitted to (x, y)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier

    mean, scale = x.mean(0), x.std(0) + 1e-6
    z = (x - mean) / scale
    if layers:
        model = MLPClassifier(hidden_layer_sizes=layers, alpha=1e-2, max_iter=300,
                              early_stopping=True, random_state=SEED)  # fmt: skip
        model.fit(z, y, sample_weight=weight)
        pairs = zip(model.coefs_, model.intercepts_, strict=True)
        return Net(
            mean, scale, tuple((w.astype(np.float32), b.astype(np.float32)) for w, b in pairs)
        )
    model = LogisticRegression(C=1.0, max_iter=2000).fit(z, y, sample_weight=weight)
    return Net(
        mean, scale, ((model.coef_.T.astype(np.float32), model.intercept_.astype(np.float32)),)
    )


def _fold(row: dict) -> int:
    story = row["evidence"][0][0][0] if row["evidence"] else row.get("about", row["id"])
    return hashlib.sha256(story.encode()).digest()[1] % K


def fit_models(rows: list[dict], logits: list[np.ndarray] | None) -> tuple[Net, Net]:
    """The sentence model, then the question model on the sentence model's probabilities."""
    tables = [table(r, None if logits is None else logits[i]) for i, r in enumerate(rows)]
    sentence = _fit_sentence(rows, tables, range(len(rows)))
    probs = [sentence(t) if len(t) else np.zeros(0) for t in tables]
    question = _fit_question(rows, tables, probs)
    return sentence, question


def _question(x: np.ndarray, p: np.ndarray) -> np.ndarray:
    """QUESTION_FEATURES from a candidate table (FEATURES, then the logit when there is one)."""
    logits = x[:, len(FEATURES)] if x.shape[1] > len(FEATURES) else None
    return question_features(x[:, : len(FEATURES)], p, logits)


def _fit_sentence(rows, tables, inside) -> Net:
    weight = balance([rows[i] for i in inside])
    x = np.concatenate([tables[i] for i in inside])
    y = np.concatenate([labels(rows[i]) for i in inside])
    w = np.concatenate([np.full(len(tables[i]), v) for i, v in zip(inside, weight, strict=True)])
    return fit_net(x, y, SENTENCE_LAYERS, w)


def _fit_question(rows, tables, probs) -> Net:
    x = np.stack([_question(t, p) for t, p in zip(tables, probs, strict=True)])
    y = np.array([r["answerable"] for r in rows], np.int64)
    return fit_net(x, y, QUESTION_LAYERS, balance(rows))


def out_of_fold(rows: list[dict], logits: list[np.ndarray] | None):
    """Each row's candidate probabilities and question probability from models fitted on the
    other folds (the question model on the other folds' out-of-fold probabilities)."""
    tables = [table(r, None if logits is None else logits[i]) for i, r in enumerate(rows)]
    folds = [_fold(r) for r in rows]
    probs: list[np.ndarray] = [np.zeros(0)] * len(rows)
    for k in range(K):
        inside = [i for i, f in enumerate(folds) if f != k]
        net = _fit_sentence(rows, tables, inside)
        for i, f in enumerate(folds):
            if f == k:
                probs[i] = net(tables[i]) if len(tables[i]) else np.zeros(0)
    answered = np.zeros(len(rows))
    for k in range(K):
        inside = [i for i, f in enumerate(folds) if f != k]
        net = _fit_question([rows[i] for i in inside], [tables[i] for i in inside],
                            [probs[i] for i in inside])  # fmt: skip
        for i, f in enumerate(folds):
            if f == k:
                answered[i] = net(_question(tables[i], probs[i]))[0]
    return probs, answered


def search(rows: list[dict], probs, answered) -> tuple[Thresholds, dict]:
    """The thresholds with the best objective (see the module's docstring), and their
    question-level figures on rows (a cited sentence counts as the sentence alone: at run time
    neighbours may join it in a span), computed at once for every threshold."""
    n = len(rows)
    ordered = np.zeros((n, LIMIT))  # each row's LIMIT best probabilities, best first
    needed = np.full(n, LIMIT + 1)  # picks needed to cite every gold item (LIMIT + 1: never)
    for r, (row, p) in enumerate(zip(rows, probs, strict=True)):
        order = np.argsort(-np.asarray(p), kind="stable")
        top = np.asarray(p)[order][:LIMIT]
        ordered[r, : len(top)] = top
        if row["answerable"] and len(order):
            cands = candidates(row)
            place = {(cands[i]["article"], cands[i]["text"].split(" | ")[0]): k
                     for k, i in enumerate(order)}  # fmt: skip
            worst = max(min((place[tuple(a)] for a in item if tuple(a) in place), default=99)
                        for item in row["evidence"])  # fmt: skip
            needed[r] = worst + 1 if worst < LIMIT else LIMIT + 1
    has = np.array([len(candidates(r)) > 0 and not r.get("missing") for r in rows])
    answerable = np.array([r["answerable"] for r in rows], bool)
    answered = np.asarray(answered)
    best = None
    grid = itertools.product(np.arange(0.1, 0.95, 0.025), np.arange(0.02, 0.6, 0.02),
                             (0.0, 0.2, 0.35, 0.5))  # fmt: skip
    for answer, keep, relative in grid:
        speaks = has & (answered >= answer)
        floor = np.maximum(keep, relative * ordered[:, 0])
        picks = np.where(speaks, 1 + (ordered[:, 1:] >= floor[:, None]).sum(1), 0)
        complete = speaks & (needed <= picks)
        f = {
            "all_gold_cited": round(float(complete[answerable].mean()), 3),
            "unanswerable_abstained": round(float((~speaks[~answerable]).mean()), 3),
            "false_abstentions": round(float((~speaks[answerable]).mean()), 3),
            "median_cited": float(np.median(picks[speaks])) if speaks.any() else 0,
            "questions": n,
        }
        if f["false_abstentions"] > MOST_FALSE or f["median_cited"] > MOST_CITED:
            continue
        objective = (f["all_gold_cited"] + f["unanswerable_abstained"]) / 2
        if best is None or objective > best[0]:
            t = Thresholds(round(float(answer), 3), round(float(keep), 3), relative)
            best = (objective, t, f)
    return best[1], best[2]


def pair_auc(rows: list[dict], probs) -> float:
    from sklearn.metrics import roc_auc_score

    y = np.concatenate([labels(r) for r in rows])
    return round(float(roc_auc_score(y, np.concatenate(probs))), 4)


def question_auc(rows: list[dict], answered) -> float:
    from sklearn.metrics import roc_auc_score

    return round(float(roc_auc_score([r["answerable"] for r in rows], answered)), 4)


def fit(rows: list[dict], logits: list[np.ndarray] | None, out: Path) -> dict:
    """Cross-fit, choose thresholds, refit on all rows; write reader.json to out."""
    probs, answered = out_of_fold(rows, logits)
    thresholds, f = search(rows, probs, answered)
    sentence, question = fit_models(rows, logits)
    priors = [np.array([p["prior"] for p in candidates(r)]) for r in rows]
    report = {
        "questions": len(rows),
        "logit": logits is not None,
        "out_of_fold": f,
        "pair_auc": pair_auc(rows, probs),
        "pair_auc_prior": pair_auc(rows, priors),
        "question_auc": question_auc(rows, answered),
    }
    saved = {
        "features": list(FEATURES) + (["logit"] if logits is not None else []),
        "question_features": list(QUESTION_FEATURES),
        "logit": logits is not None,
        "max_length": MAX_LENGTH,
        "sentence_model": sentence.to_json(),
        "question_model": question.to_json(),
        "thresholds": thresholds.__dict__,
        "fitted": report,
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "reader.json").write_text(json.dumps(saved), encoding="utf-8")
    print(json.dumps(report | {"thresholds": thresholds.__dict__}), flush=True)
    return saved


def export(model: Path, staging: Path) -> Path:
    """The cross-encoder as ONNX, dynamically quantised to int8, with its tokenizer, in staging;
    returns the int8 file (the fp32 one lies beside it)."""
    import torch
    import transformers
    from onnxruntime.quantization import QuantType, quantize_dynamic

    net = transformers.AutoModelForSequenceClassification.from_pretrained(
        str(model), attn_implementation="eager"
    ).eval()
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(model))
    probe = tokenizer(["What did he say?"], ["He said it. | A title | before after"],
                      return_tensors="pt")  # fmt: skip
    names = ["input_ids", "attention_mask", "token_type_ids"]

    class Logits(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.net = net

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.net(input_ids=input_ids, attention_mask=attention_mask,
                            token_type_ids=token_type_ids).logits  # fmt: skip

    staging.mkdir(parents=True, exist_ok=True)
    fp32 = staging / "model-fp32.onnx"
    with torch.no_grad():
        axes = {n: {0: "batch", 1: "tokens"} for n in names} | {"logits": {0: "batch"}}
        torch.onnx.export(Logits(), tuple(probe[n] for n in names), str(fp32), input_names=names,
                          output_names=["logits"], dynamic_axes=axes, opset_version=17,
                          dynamo=False)  # fmt: skip
    int8 = staging / "model-int8.onnx"
    quantize_dynamic(str(fp32), str(int8), weight_type=QuantType.QInt8, per_channel=True)
    tokenizer.backend_tokenizer.save(str(staging / "tokenizer.json"))
    return int8


def ship(staging: Path, files: list[str]) -> None:
    """Copy the chosen files into rag/reader/, each written whole before it replaces the old."""
    FOLDER.mkdir(exist_ok=True)
    for name in files:
        part = FOLDER / f".{name}.part"
        shutil.copy(staging / name, part)
        part.replace(FOLDER / name)


def _kind(layers: tuple[int, ...]) -> str:
    return f"MLP {layers}" if layers else "logistic regression"


def card(saved: dict, onnx: dict, data: str, mined: list[dict]) -> str:
    """The model card: what was trained on what, how, and the figures it reached."""
    from evals.train_reader import (
        BATCH,
        EPOCHS,
        HARD,
        LEARNING_RATE,
        TRAIN_LENGTH,
        training_groups,
    )

    fitted = saved["fitted"]
    fitted_on = (
        "the calibration fold, which the cross-encoder never saw"
        if saved["logit"]
        else "every training question"
    )
    groups = training_groups(mined)
    steps = -(-len(groups) // BATCH) * EPOCHS
    lines = [
        "# The reader (rag/read.py), as `make train` built it",
        "",
        f"- Data: evals/datasets/train/train-*.jsonl, sha256 prefix {data} ({len(mined)} "
        "questions on BBC articles 301+; no sentence of an article numbered 001-300 is used).",
    ]
    if saved["logit"]:
        size = (FOLDER / "model.onnx").stat().st_size / 1e6
        lines += [
            f"- Cross-encoder: all-MiniLM-L6-v2's weights as a one-logit sequence classifier "
            f"(CrossEncoder's architecture), {EPOCHS} epochs of {len(groups)} groups (a gold "
            f"sentence and {HARD} of retrieval's hard negatives, or {HARD + 1} candidates of an "
            f"unanswerable question), {BATCH} groups a step, {steps} steps, AdamW "
            f"{LEARNING_RATE}, seed {SEED}; softmax ranking loss plus binary cross-entropy. "
            f"Input: question, then sentence | title | neighbours, {TRAIN_LENGTH} word pieces "
            f"in training, {saved['max_length']} when it reads. Shipped as "
            f"{onnx.get('shipped')} ONNX, {size:.1f} MB.",
            "- The logit's pair ROC-AUC on the calibration fold: "
            + (f"fp32 ONNX {onnx['fp32']}, " if "fp32" in onnx else "")
            + f"int8 {onnx.get('int8')}.",
        ]
    lines += [
        f"- Sentence model: MLP {SENTENCE_LAYERS} on {saved['features']}; question model: "
        f"{_kind(QUESTION_LAYERS)} on {saved['question_features']}. Fitted on "
        f"{fitted['questions']} questions ({fitted_on}), {K}-fold cross-fitted by article, "
        "weighted so that word overlap does not tell answerable from unanswerable (`balance`).",
        f"- Thresholds (chosen on out-of-fold probabilities): {json.dumps(saved['thresholds'])}.",
        f"- Out-of-fold figures: {json.dumps(fitted['out_of_fold'])}; candidate pair ROC-AUC "
        f"{fitted['pair_auc']} (retrieval's prior alone {fitted['pair_auc_prior']}); "
        f"answerable-question ROC-AUC {fitted['question_auc']}.",
        "- The dev sets and the held-out test set are never trained or fitted on; their figures "
        "are in the README.",
        "",
    ]
    return "\n".join(lines)
