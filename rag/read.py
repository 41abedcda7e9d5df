"""Read: which of the retrieved candidate sentences answer the question, or that none does.

Two small models trained here on the training questions (evals/datasets/train/, BBC articles 301
and above; `make train`, evals/train_reader.py and evals/reader_fit.py) decide:

1. the **sentence model** gives each candidate the probability that it is gold evidence, from
   the cross-encoder's logit (MiniLM reading the question against the sentence, its article's
   title and its neighbours) and what retrieval knows of it (`FEATURES`);
2. the **question model** gives the probability that the question is answered at all, from the
   sentence model's probabilities and the best candidates' features (`QUESTION_FEATURES`).

The answer abstains when the question model is below `answer`; else it cites the best candidate
and those that reach `keep` and `relative` of the best's probability, `limit` at most. All three
thresholds were chosen on a calibration fold of the training questions (one training article in
five, never trained on); the dev sets and the held-out test set were never fitted on. The
weights and thresholds are in rag/reader/reader.json, the figures in rag/reader/MODEL_CARD.md.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path

import numpy as np

from core.errors import ModelMissingError
from index.lexical import terms
from index.store import SentenceRecord
from rag.retrieve import Candidate, Found, lexical_scores
from rag.understand import Query, asked_names, expects, fits

# Word pieces of (question, candidate with its context) the reader reads: the cross-encoder was
# trained on 128, and reads 96 at run time (the neighbours cut shorter), 110 ms instead of 152
# for 20 candidates on 2 threads here.
MAX_LENGTH = 96
FOLDER = Path(__file__).resolve().parent / "reader"
NEAR_DUPLICATE = 0.90  # cosine above which two articles' sentences report the same thing


def join_context(sentence: str, title: str, before: str, after: str) -> str:
    """What the reader reads of a candidate: the sentence first (never cut), then its article's
    title and the sentences either side of it (cut first when long)."""
    return f"{sentence} | {title} | {before} {after}".strip()


def candidate_text(candidate: Candidate) -> str:
    return join_context(candidate.sentence.text, candidate.title, candidate.before, candidate.after)


# What the reader knows of each candidate besides the cross-encoder's logit, in this order.
FEATURES = (
    "dense",  # the sentence's vector against the question's
    "lexical",  # share of the question's IDF-weighted words it holds
    "topic_lexical",  # ... of the words of what is asked (without speaker or scene)
    "topic_dense",  # the sentence's vector against what is asked
    "gap",  # its first-stage score less the best candidate's
    "rank",  # log(1 + its place in the first stage's order)
    "lead_article",  # 1 when it is in the best candidate's article
    "article_gap",  # its article's best first-stage score less the best candidate's
    "article_share",  # share of the candidates that are of its article
    "around",  # the best dense score of the sentences either side of it
    "said",  # 1 when it is a sentence of the speaker the question asks about
    "fits",  # 1 when spaCy found in it an entity of the kind of answer wanted (a person,
    # organisation, place, date, sum, number, percentage), -1 when the question wants one and it
    # holds none, 0 when the question wants none
    "quoted",  # 1 when it holds a quotation mark
    "words",  # log of its length in words
    "position",  # its place in its article, capped at 20, over 20
    "named",  # share of the names and years the question gives that its article's retrieved
    # sentences and title mention (1 when the question gives none)
)


def features(query: Query, found: Found) -> np.ndarray:
    """One row of FEATURES per candidate of found (float32, candidates x features)."""
    cands = found.candidates
    if not cands:
        return np.zeros((0, len(FEATURES)), np.float32)
    texts = [c.sentence.text for c in cands]
    vectors = np.stack([c.sentence.vector for c in cands])
    dense = vectors @ found.vector if found.vector is not None else np.zeros(len(cands))
    lexical = lexical_scores(terms(query.text), texts, found.idf)
    topic = lexical_scores(terms(query.topic), texts, found.idf)
    asked = vectors @ found.topic_vector if found.topic_vector is not None else dense
    priors = np.array([c.prior for c in cands])
    best = float(priors.max())
    lead = cands[int(priors.argmax())].sentence.article
    by_article: dict[str, list[float]] = {}
    for c in cands:
        by_article.setdefault(c.sentence.article, []).append(c.prior)
    near = {(r.article, r.index): r.vector for r in found.pool}
    kind = expects(query.text)
    named = _named_share(query, found)
    rows = []
    for i, c in enumerate(cands):
        s = c.sentence
        around = [near[(s.article, s.index + d)] @ found.vector for d in (-1, 1)
                  if (s.article, s.index + d) in near and found.vector is not None]  # fmt: skip
        fit = 0.0 if not kind else (1.0 if fits(c.entities, kind, query.text) else -1.0)
        rows.append((
            float(dense[i]), lexical[i], topic[i], float(asked[i]), c.prior - best, np.log1p(i),
            float(s.article == lead), max(by_article[s.article]) - best,
            len(by_article[s.article]) / len(cands), float(max(around, default=0.0)),
            float((s.article, s.index) in found.said), fit,
            float(any(q in s.text for q in '"“”')), np.log(max(1, len(s.text.split()))),
            min(s.index, 20) / 20, named.get(s.article, 0.0),
        ))  # fmt: skip
    return np.array(rows, np.float32)


def _named_share(query: Query, found: Found) -> dict[str, float]:
    """Per article of the candidates, the share of the question's names and years (all of a
    name's words) that its retrieved sentences and title mention."""
    names = [set(terms(name)) for name in asked_names(query.question or query.text)]
    names = [words for words in names if words]
    articles = {c.sentence.article for c in found.candidates}
    if not names:
        return dict.fromkeys(articles, 1.0)
    bags: dict[str, set[str]] = {a: set() for a in articles}
    for c in found.candidates:
        bags[c.sentence.article].update(terms(c.title))
    for record in found.pool:
        if record.article in bags:
            bags[record.article].update(terms(record.text))
    return {a: sum(words <= bag for words in names) / len(names) for a, bag in bags.items()}


# What the question model knows, in this order (p: the sentence model's probabilities).
QUESTION_FEATURES = (
    "p1", "p2", "p3",  # the three best probabilities
    "p_top5",  # the sum of the five best
    "p_drop",  # the best less the fifth best
    "dense", "lexical", "topic_lexical", "topic_dense",  # the best of each among the candidates
    "lead_fits",  # the best candidate's "fits" (see FEATURES)
    "wants_kind",  # 1 when the question wants a sum, number, date or name
    "said",  # 1 when the candidates hold sentences of the speaker asked about
    "candidates",  # how many candidates, over 20
    "logit1", "logit_gap",  # the cross-encoder's best logit, and its lead over the second
    "lead_named",  # the best candidate's "named" (see FEATURES)
)  # fmt: skip


def question_features(table: np.ndarray, p: np.ndarray, logits=None) -> np.ndarray:
    """The QUESTION_FEATURES of one question, from its candidates' FEATURES, probabilities and
    cross-encoder logits (zeros without a cross-encoder)."""
    if not len(p):
        return np.zeros(len(QUESTION_FEATURES), np.float32)
    top = np.sort(logits)[::-1] if logits is not None and len(logits) else np.zeros(2)
    gap = float(top[0] - top[1]) if len(top) > 1 else 0.0
    s = np.sort(p)[::-1]
    at = lambda i: float(s[i]) if len(s) > i else 0.0  # noqa: E731
    fit = FEATURES.index("fits")
    return np.array([
        at(0), at(1), at(2), float(s[:5].sum()), at(0) - at(4),
        table[:, 0].max(), table[:, 1].max(), table[:, 2].max(), table[:, 3].max(),
        table[int(np.argmax(p)), fit], float((table[:, fit] != 0).any()),
        table[:, FEATURES.index("said")].max(), len(p) / 20, float(top[0]), gap,
        table[int(np.argmax(p)), FEATURES.index("named")],
    ], np.float32)  # fmt: skip


@dataclass(frozen=True)
class Net:
    """A small feed-forward network (ReLU between layers, a sigmoid at the end) on standardised
    inputs: a logistic regression when it has one layer. Stored as JSON, run with NumPy."""

    mean: np.ndarray
    scale: np.ndarray
    layers: tuple[tuple[np.ndarray, np.ndarray], ...]

    @classmethod
    def from_json(cls, values: dict) -> Net:
        layers = tuple(
            (np.array(w, np.float32), np.array(b, np.float32)) for w, b in values["layers"]
        )
        return cls(
            np.array(values["mean"], np.float32), np.array(values["scale"], np.float32), layers
        )

    def to_json(self) -> dict:
        return {"mean": self.mean.tolist(), "scale": self.scale.tolist(),
                "layers": [(w.tolist(), b.tolist()) for w, b in self.layers]}  # fmt: skip

    def __call__(self, x: np.ndarray) -> np.ndarray:
        h = (np.atleast_2d(x) - self.mean) / self.scale
        for n, (w, b) in enumerate(self.layers):
            h = h @ w + b
            if n < len(self.layers) - 1:
                h = np.maximum(h, 0.0)
        return 1.0 / (1.0 + np.exp(-h.reshape(-1)))


@dataclass(frozen=True)
class Thresholds:
    """answer: the question model must reach it, else the answer abstains; keep, relative: the
    candidates cited besides the best reach this probability and this share of the best's."""

    answer: float
    keep: float
    relative: float


@dataclass(frozen=True)
class Scored:
    """A candidate sentence and the reader's probability that it answers."""

    sentence: SentenceRecord
    score: float


@dataclass(frozen=True)
class Pick:
    """A sentence that answers, and the same statement in other articles ("also reported")."""

    chosen: Scored
    also: tuple[Scored, ...] = field(default=())


@dataclass(frozen=True)
class Reading:
    """What the reader made of a question's candidates.

    Attributes:
        picks: the sentences that answer, best first; none when the answer abstains.
        scored: every candidate with its probability, best first.
        answerable: the question model's probability that the articles answer it.
    """

    picks: list[Pick]
    scored: list[Scored]
    answerable: float


class Reader:
    """The trained reader in a folder that `make train` writes (rag/reader/): reader.json (the
    sentence and question models, thresholds) and, when the sentence model uses its logit, the
    cross-encoder as ONNX (model.onnx, tokenizer.json)."""

    def __init__(self, folder: Path = FOLDER, threads: int = 1):
        self.folder = folder
        self.threads = threads

    @cached_property
    def _saved(self) -> dict:
        saved = json.loads((self.folder / "reader.json").read_text(encoding="utf-8"))
        wanted = list(FEATURES) + (["logit"] if saved.get("logit") else [])
        if saved.get("features") != wanted or saved.get("question_features") != list(
            QUESTION_FEATURES
        ):
            raise ModelMissingError(
                f"{self.folder / 'reader.json'} was fitted on other features than this code "
                f"computes ({saved.get('features')} against {wanted}); refit it with "
                "`make train` (or `python -m evals.train_reader fit`)"
            )
        return saved

    @cached_property
    def sentence_model(self) -> Net:
        return Net.from_json(self._saved["sentence_model"])

    @cached_property
    def question_model(self) -> Net:
        return Net.from_json(self._saved["question_model"])

    @cached_property
    def thresholds(self) -> Thresholds:
        return Thresholds(**self._saved["thresholds"])

    @property
    def uses_logit(self) -> bool:
        return bool(self._saved.get("logit"))

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

    def probabilities(self, query: Query, found: Found) -> tuple[np.ndarray, float]:
        """Each candidate's probability of answering, and the question's of being answered."""
        table = features(query, found)
        if not len(table):
            return np.zeros(0, np.float32), 0.0
        x, logits = table, None
        if self.uses_logit:
            logits = self.logits(query.text, [candidate_text(c) for c in found.candidates])
            x = np.concatenate([table, logits[:, None]], axis=1)
        p = self.sentence_model(x)
        return p, float(self.question_model(question_features(table, p, logits))[0])


@lru_cache(maxsize=1)
def reader() -> Reader:
    """The shipped reader (rag/reader/), loaded once per process. It runs on 2 threads: on 20
    candidates ONNX Runtime takes 159 ms on 2 threads against 293 ms on 1 (at 128 word pieces;
    unlike a one-sentence query, a batch this size gains from the second core)."""
    return Reader(FOLDER, threads=2)


def read(query: Query, found: Found, reader: Reader, limit: int) -> Reading:
    """The candidates that answer the query, best first, at most limit statements; none when
    the articles cannot answer (`found.missing`) or the reader says they do not."""
    p, answerable = reader.probabilities(query, found)
    scored = sorted(
        (Scored(c.sentence, float(x)) for c, x in zip(found.candidates, p, strict=True)),
        key=lambda s: -s.score,
    )
    if found.missing:
        return Reading([], scored, 0.0)
    chosen = choose([s.score for s in scored], answerable, reader.thresholds)
    picks: list[Pick] = []
    for candidate in (scored[i] for i in chosen):
        twin = next((n for n, p in enumerate(picks) if _repeats(candidate, p.chosen)), None)
        if twin is not None:  # another article reports what a chosen sentence does
            picks[twin] = Pick(picks[twin].chosen, picks[twin].also + (candidate,))
        elif len(picks) < limit:
            picks.append(Pick(candidate))
    return Reading(picks, scored, answerable)


def choose(ordered: Sequence[float], answerable: float, thresholds: Thresholds) -> list[int]:
    """The positions, in ordered (probabilities, best first), of the candidates to cite: none
    when answerable is below `thresholds.answer`; else the best and those that reach `keep`
    and `relative` of the best."""
    if not ordered or answerable < thresholds.answer:
        return []
    floor = max(thresholds.keep, thresholds.relative * ordered[0])
    return [0] + [i for i in range(1, len(ordered)) if ordered[i] >= floor]


def _repeats(candidate: Scored, chosen: Scored) -> bool:
    """Whether candidate reports what chosen does, in another article. Sentences of one article
    are not compared: their vectors share the passage's context ("late chunking"), so
    neighbours that say different things score as near duplicates."""
    a, b = candidate.sentence, chosen.sentence
    return a.article != b.article and float(a.vector @ b.vector) > NEAR_DUPLICATE
