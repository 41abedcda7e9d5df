"""The reader: a cross-encoder trained here (evals/train_reader.py, `make train`) that scores how
well each candidate sentence answers the question, and the calibrated choice of the sentences that
answer, or of none.

Not yet used by `ask()`: the model trained so far reads worse than the selection it would replace
(on its calibration fold its logit ranks candidates with a pair ROC-AUC of 0.666, retrieval's own
prior 0.699), so `make train` writes it to rag/reader/ for measurement, and `ask()` keeps
`rag.select`.

The model reads the question against the candidate sentence followed by its article's title and
the sentences either side of it. Its logit and retrieval's prior become a probability through a
logistic regression fitted on a calibration fold of the training questions (never the dev or test
sets); the thresholds that select and abstain were chosen on the same fold. Both are in
rag/reader/calibration.json, the figures in rag/reader/MODEL_CARD.md.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from rag.retrieve import Candidate

MAX_LENGTH = 128  # word pieces of (question, candidate with its context) the reader reads
FOLDER = Path(__file__).resolve().parent / "reader"


def join_context(sentence: str, title: str, before: str, after: str) -> str:
    """What the reader reads of a candidate: the sentence first (never cut), then its article's
    title and the sentences either side of it (cut first when long)."""
    return f"{sentence} | {title} | {before} {after}".strip()


def candidate_text(candidate: Candidate) -> str:
    return join_context(candidate.sentence.text, candidate.title, candidate.before, candidate.after)


@dataclass(frozen=True)
class Calibration:
    """From the cross-encoder's logit and retrieval's prior to a probability, and the
    thresholds on it (fitted by evals/reader_fit.py).

    Attributes:
        logit, prior, bias: the logistic regression's weights.
        answer: the best candidate must reach this probability, else the answer abstains.
        keep: other candidates are cited from this probability ...
        relative: ... and from this share of the best candidate's.
    """

    logit: float
    prior: float
    bias: float
    answer: float
    keep: float
    relative: float

    def probability(self, logits: np.ndarray, priors: np.ndarray) -> np.ndarray:
        z = self.logit * logits + self.prior * priors + self.bias
        return 1.0 / (1.0 + np.exp(-z))


class Reader:
    """An exported cross-encoder (ONNX Runtime) and its calibration, from a folder that
    `make train` writes (rag/reader/)."""

    def __init__(self, folder: Path = FOLDER, threads: int = 1):
        self.folder = folder
        self.threads = threads

    @cached_property
    def calibration(self) -> Calibration:
        values = json.loads((self.folder / "calibration.json").read_text(encoding="utf-8"))
        return Calibration(**{k: values[k] for k in Calibration.__dataclass_fields__})

    @cached_property
    def _tokenizer(self):
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(self.folder / "tokenizer.json"))
        tokenizer.enable_truncation(MAX_LENGTH, strategy="only_second")
        tokenizer.enable_padding()
        return tokenizer

    @cached_property
    def _session(self):
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        return onnxruntime.InferenceSession(
            str(self.folder / "model.onnx"), options, providers=["CPUExecutionProvider"]
        )

    def logits(self, question: str, texts: Sequence[str]) -> np.ndarray:
        """The cross-encoder's logit for each (question, text)."""
        if not texts:
            return np.zeros(0, np.float32)
        encoded = self._tokenizer.encode_batch([(question, t) for t in texts])
        feeds = {
            "input_ids": np.array([e.ids for e in encoded], np.int64),
            "attention_mask": np.array([e.attention_mask for e in encoded], np.int64),
            "token_type_ids": np.array([e.type_ids for e in encoded], np.int64),
        }
        return self._session.run(None, feeds)[0].reshape(-1)


def chosen(probabilities: Sequence[float], calibration: Calibration, limit: int) -> list[int]:
    """The positions of the candidates that answer, best first: none when the best is below
    `calibration.answer`; else it and the others that reach `keep` and `relative` of it."""
    order = sorted(range(len(probabilities)), key=lambda i: -probabilities[i])
    if not order or probabilities[order[0]] < calibration.answer:
        return []
    best = probabilities[order[0]]
    floor = max(calibration.keep, calibration.relative * best)
    return [i for i in order if probabilities[i] >= floor or i == order[0]][:limit]
