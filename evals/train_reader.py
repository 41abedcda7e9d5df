"""Train the reader (`rag.read`): a cross-encoder, then the small models that decide with it.

    make train          # = .venv/bin/python -m evals.train_reader all

Steps, their work under .cache/reader/ (the mined candidates are kept per training-data hash):

1. `mine`: every training question (evals/datasets/train/, BBC articles 301+) goes through the
   pipeline's own understand and retrieve steps on its category's store; the candidates the
   reader would score are labelled by the gold sentences, with the reader's features
   (`rag.read.FEATURES`). Hard negatives are those candidates (never a sentence of an article
   numbered 001-300: those stay for testing), plus one sentence of another story. A gold
   sentence retrieval missed is added, so the cross-encoder learns it too.
2. `train`: a cross-encoder from the bundled MiniLM (all-MiniLM-L6-v2; CrossEncoder's
   architecture, a plain PyTorch loop: sentence-transformers' CrossEncoderTrainer with binary
   cross-entropy left the head untrained in the steps 2 CPU cores allow), `EPOCHS` epochs,
   fixed seed, on the questions of every training article but a calibration fold (one article
   in five, by hash).
3. `fit`: the cross-encoder as int8 ONNX (fp32 is over the 50 MB allowed; the card compares
   the two); on the calibration fold, with the int8 model's logits, the sentence model and
   the question model, cross-fitted, and the thresholds (evals/reader_fit.py); all of it, with
   a model card, into rag/reader/.

`refit` fits the small models and thresholds again on the shipped cross-encoder's logits
(`python -m evals.train_reader refit`, a few minutes): for a change to them alone.

`--no-logit` fits and ships the small models on retrieval's features alone (no cross-encoder).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / ".cache" / "reader"
TRAIN = ROOT / "evals" / "datasets" / "train"
SEED = 13
HARD = 4  # hard negatives per gold sentence (the retrieval's best non-gold candidates)
EPOCHS = 2
BATCH = 16  # groups per step, each a gold sentence and its negatives
LEARNING_RATE = 7e-5
HEAD_RATE = 20  # the head's learning rate, in multiples of the encoder's
TRAIN_LENGTH = 128  # word pieces it is trained on (it reads rag.read.MAX_LENGTH)
CALIBRATION_SHARE = 5  # one training article in this many is kept for calibration


def training_questions() -> list[dict]:
    rows = []
    for path in sorted(TRAIN.glob("train-*.jsonl")):
        rows += [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    return rows


def data_hash() -> str:
    digest = hashlib.sha256()
    for path in sorted(TRAIN.glob("train-*.jsonl")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def story(row: dict) -> str:
    """The article a question is about (its first gold sentence's, or `about`)."""
    if row.get("about"):
        return row["about"]
    return row["evidence"][0][0]["article"]


def in_calibration(row: dict) -> bool:
    digest = hashlib.sha256(story(row).encode()).digest()
    return digest[0] % CALIBRATION_SHARE == 0


def _test_range(article_id: str) -> bool:
    return int(Path(article_id).stem) <= 300


def mine(out: Path, rows: list[dict] | None = None, training: bool = True) -> None:
    """Every question's candidates (the training questions', or rows'), labelled, with the
    reader's features, as JSON lines. For training, a sentence of an article numbered 001-300
    is never kept, a gold sentence retrieval missed is added and one of another story."""
    from core.settings import Settings
    from evals.devset import store_for, store_id
    from evals.trainset import article
    from rag import read
    from rag.ask import open_store
    from rag.retrieve import find
    from rag.understand import resolve

    settings = Settings.from_env()
    rows = training_questions() if rows is None else rows
    rng = random.Random(SEED)
    stores = {}
    written = 0
    began = time.perf_counter()
    with out.open("w", encoding="utf-8") as sink:
        for n, row in enumerate(rows):
            corpus = row["corpus"]
            if corpus not in stores:
                stores[corpus] = open_store(store_for(corpus))
            db = stores[corpus]
            query = resolve(row["question"], row.get("history"))
            found = find(db, query, settings)
            table = read.features(query, found)
            gold = {(store_id(alt["article"], corpus), alt["sentence"])
                    for item in row["evidence"] for alt in item}  # fmt: skip
            pairs = []
            seen_gold = set()
            for rank, (c, x) in enumerate(zip(found.candidates, table, strict=True)):
                key = (c.sentence.article, c.sentence.text)
                if training and _test_range(key[0]):
                    continue
                label = int(key in gold)
                if label:
                    seen_gold.add(key)
                pairs.append({"text": read.candidate_text(c), "label": label, "rank": rank,
                              "prior": c.prior, "article": key[0], "index": c.sentence.index,
                              "features": [round(float(v), 5) for v in x]})  # fmt: skip
            if training:
                pairs += _missed(gold - seen_gold, corpus, article)
                # another story: a sentence of a random training article of the category
                others = [r for r in rows if r["corpus"] == corpus and story(r) != story(row)]
                other = story(rng.choice(others))
                a = article(other)
                s, e = rng.choice(a.sentences)
                pairs.append({"text": read.join_context(a.text[s:e], a.title, "", ""),
                              "label": 0, "rank": -2, "prior": None,
                              "article": other})  # fmt: skip
            sink.write(json.dumps({"id": row["id"], "question": row["question"],
                                   "query": query.text, "type": row["type"],
                                   "answerable": row["answerable"],
                                   "calibration": training and in_calibration(row),
                                   "gold_retrieved": len(seen_gold), "gold": len(gold),
                                   "missing": found.missing,
                                   "evidence": [[(store_id(alt["article"], corpus),
                                                  alt["sentence"]) for alt in item]
                                                for item in row["evidence"]],
                                   "pairs": pairs}) + "\n")  # fmt: skip
            written += 1
            if n % 500 == 0:
                print(f"mined {n}/{len(rows)} in {time.perf_counter() - began:.0f} s", flush=True)
    print(f"mined {written} questions in {time.perf_counter() - began:.0f} s")


def _missed(gold, corpus: str, article) -> list[dict]:
    """Gold sentences retrieval did not return, with their context, as pairs of rank -1."""
    from rag.read import join_context

    pairs = []
    for article_id, sentence in sorted(gold):
        a = article(f"{corpus}/{article_id}")
        texts = [a.text[s:e] for s, e in a.sentences]
        if sentence not in texts:
            continue
        i = texts.index(sentence)
        before = texts[i - 1] if i else ""
        after = texts[i + 1] if i + 1 < len(texts) else ""
        text = join_context(sentence, a.title, before, after)
        pairs.append({"text": text, "label": 1, "rank": -1, "prior": None, "article": article_id})
    return pairs


def _load(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def training_groups(mined: list[dict]) -> list[tuple[str, list[str], list[int]]]:
    """For the training fold: (question, candidates, labels) groups of 1 + HARD sentences: a
    gold sentence and the HARD best other candidates by retrieval rank (padded with the other
    story's sentence); for a question the articles do not answer, HARD + 1 of its candidates,
    none gold. One group per gold sentence."""
    groups = []
    for row in mined:
        if row["calibration"]:
            continue
        hard = [p["text"] for p in row["pairs"] if not p["label"] and p["rank"] >= 0]
        easy = [p["text"] for p in row["pairs"] if p["rank"] == -2]
        golds = [p["text"] for p in row["pairs"] if p["label"]]
        if not golds:
            negatives = (hard[: HARD + 1] + easy * (HARD + 1))[: HARD + 1]
            groups.append((row["query"], negatives, [0] * len(negatives)))
            continue
        negatives = (hard[:HARD] + easy * HARD)[:HARD]
        for gold in golds:
            groups.append((row["query"], [gold, *negatives], [1] + [0] * len(negatives)))
    return groups


def training_pairs(mined: list[dict]) -> list[tuple[str, str, float]]:
    """The groups as labelled pairs (what the model card counts)."""
    return [
        (q, text, float(label))
        for q, texts, labels in training_groups(mined)
        for text, label in zip(texts, labels, strict=True)
    ]


def train(mined_path: Path, model_out: Path, limit: int = 0, lr: float = LEARNING_RATE) -> None:
    """A cross-encoder (MiniLM with a one-logit head on its pooled [CLS], the architecture of
    sentence-transformers' CrossEncoder) trained with a plain PyTorch loop: per group, a
    softmax over its sentences puts the gold one first (ranking), and a binary cross-entropy
    on every sentence says whether it answers at all (abstention)."""
    import torch
    import transformers

    from index.embed import model_path

    torch.manual_seed(SEED)
    torch.set_num_threads(2)
    groups = training_groups(_load(mined_path))
    random.Random(SEED).shuffle(groups)
    if limit:
        groups = groups[:limit]
    print(f"{len(groups)} groups, {sum(sum(g[2]) for g in groups)} gold", flush=True)
    transformers.logging.set_verbosity_error()
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(model_path()))
    model = transformers.AutoModelForSequenceClassification.from_pretrained(
        str(model_path()), num_labels=1
    )
    model.train()
    # The head (pooler and classifier) starts untrained: at the encoder's rate AdamW moves each
    # of its weights by about lr a step, too little to scale the logit in a few hundred steps.
    head = [p for n, p in model.named_parameters() if n.startswith(("classifier", "bert.pooler"))]
    body = [
        p for n, p in model.named_parameters() if not n.startswith(("classifier", "bert.pooler"))
    ]
    optimizer = torch.optim.AdamW(
        [{"params": body, "lr": lr}, {"params": head, "lr": lr * HEAD_RATE}], weight_decay=0.01
    )
    steps = -(-len(groups) // BATCH) * EPOCHS
    warmup = max(1, steps // 10)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min((s + 1) / warmup, max(0.0, (steps - s) / (steps - warmup)))
    )
    bce = torch.nn.BCEWithLogitsLoss()
    began, step, running = time.perf_counter(), 0, []
    for epoch in range(EPOCHS):
        if epoch:  # the first epoch's weights are kept beside, to compare
            model.save_pretrained(str(model_out.with_name(f"{model_out.name}-epoch{epoch}")))
        for first in range(0, len(groups), BATCH):
            batch = groups[first : first + BATCH]
            questions = [q for q, texts, _ in batch for _ in texts]
            texts = [t for _, ts, _ in batch for t in ts]
            labels = torch.tensor([x for _, _, ls in batch for x in ls], dtype=torch.float32)
            encoded = tokenizer(questions, texts, padding=True, truncation="only_second",
                                max_length=TRAIN_LENGTH, return_tensors="pt")  # fmt: skip
            logits = model(**encoded).logits.view(-1)
            loss = bce(logits, labels)
            at = 0
            ranking = []
            for _, ts, ls in batch:
                if ls[0] == 1:  # the gold sentence first of its group
                    ranking.append(-torch.log_softmax(logits[at : at + len(ts)], 0)[0])
                at += len(ts)
            if ranking:
                loss = loss + torch.stack(ranking).mean()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad()
            step += 1
            running.append(float(loss))
            if step % 20 == 0 or step == steps:
                print(f"step {step}/{steps} loss {sum(running) / len(running):.4f} "
                      f"bias {float(model.classifier.bias):.3f} "
                      f"{time.perf_counter() - began:.0f} s", flush=True)  # fmt: skip
                running = []
    model.eval()
    model.save_pretrained(str(model_out))
    tokenizer.save_pretrained(str(model_out))
    print(f"trained in {time.perf_counter() - began:.0f} s")


def fit(mined_path: Path, model: Path | None) -> None:
    """The reader into rag/reader/: the cross-encoder as int8 ONNX with its tokenizer; the
    sentence and question models and thresholds fitted on its logits over the calibration fold
    (evals/reader_fit.py), or without a model on every question's features alone; and the model
    card (with the fp32 export's pair ROC-AUC beside int8's)."""
    from evals import reader_fit
    from rag.read import Reader

    rows = _load(mined_path)
    staging = WORK / "staging"
    onnx: dict = {}
    if model is None:
        saved = reader_fit.fit(rows, None, staging)
        files = ["reader.json"]
    else:
        fold = [r for r in rows if r["calibration"]]
        reader_fit.export(model, staging)
        logits = {}
        for name in ("fp32", "int8"):
            shutil.copy(staging / f"model-{name}.onnx", staging / "model.onnx")
            logits[name] = _logits(Reader(staging, threads=2), fold)
            onnx[name] = reader_fit.pair_auc(fold, logits[name])
            print(f"{name}: pair ROC-AUC of the logit on the fold {onnx[name]}", flush=True)
        # int8 ships: fp32 is 91 MB, over the 50 MB the project allows; the card gives both.
        shutil.copy(staging / "model-int8.onnx", staging / "model.onnx")
        onnx["shipped"] = "int8"
        saved = reader_fit.fit(fold, logits["int8"], staging)
        files = ["reader.json", "model.onnx", "tokenizer.json"]
    _ship(staging, files, saved, onnx, rows)


def _logits(reader, fold: list[dict]) -> list:
    """The cross-encoder's logit for each of each question's candidates."""
    from evals import reader_fit

    return [reader.logits(r["query"], [p["text"] for p in reader_fit.candidates(r)]) for r in fold]


def _ship(staging: Path, files: list[str], saved: dict, onnx: dict, rows: list[dict]) -> None:
    """The staged files into rag/reader/, with the model card."""
    from evals import reader_fit

    reader_fit.ship(staging, files)
    card = reader_fit.card(saved, onnx, data_hash(), rows)
    (reader_fit.FOLDER / "MODEL_CARD.md").write_text(card, encoding="utf-8")
    print(card)


def refit(mined_path: Path) -> None:
    """The sentence and question models and thresholds fitted again (evals/reader_fit.py) on
    the shipped cross-encoder's logits (rag/reader/model.onnx) over the calibration fold, into
    rag/reader/reader.json with a new card: for a change to the small models or their
    weighting, in minutes; the cross-encoder stays as it is."""
    from evals import reader_fit
    from rag.read import Reader

    rows = _load(mined_path)
    fold = [r for r in rows if r["calibration"]]
    logits = _logits(Reader(reader_fit.FOLDER, threads=2), fold)
    onnx = {"int8": reader_fit.pair_auc(fold, logits), "shipped": "int8"}
    staging = WORK / "staging-refit"
    _ship(staging, ["reader.json"], reader_fit.fit(fold, logits, staging), onnx, rows)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("step", choices=["mine", "train", "fit", "all", "refit"])
    parser.add_argument("--limit", type=int, default=0, help="train on this many groups only")
    parser.add_argument("--lr", type=float, default=LEARNING_RATE)
    parser.add_argument("--model", default="model", help="folder under .cache/reader/")
    parser.add_argument(
        "--no-logit",
        action="store_true",
        help="fit the reader on retrieval's features alone (no cross-encoder)",
    )
    args = parser.parse_args(argv)
    WORK.mkdir(parents=True, exist_ok=True)
    mined = WORK / f"mined-{data_hash()}.jsonl"
    model = None if args.no_logit else WORK / args.model
    if args.step in ("mine", "all") and not (args.step == "all" and mined.exists()):
        mine(mined)
    if args.step in ("train", "all") and model is not None:
        train(mined, model, args.limit, args.lr)
    if args.step in ("fit", "all"):
        fit(mined, model)
    if args.step == "refit":
        refit(mined)


if __name__ == "__main__":
    sys.exit(main())
