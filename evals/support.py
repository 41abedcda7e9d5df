"""Support scorer: the probability that passages support a claim, without an LLM."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from functools import cache
from pathlib import Path

import numpy as np

from evals.facts import (
    Ner,
    default_ner,
    entity_features,
    recase,
    tokens,
    word_set,
)

MODEL_FILE = Path(__file__).with_name("support_model.json")

FEATURES = (
    "similarity",
    "unigram_window",
    "bigram_window",
    "lcs_window",
    "unigram_all",
    "bigram_all",
    "negation_mismatch",
    "entity_context",
    *(f"missing_{kind}" for kind in ("person", "organisation", "place", "date", "number")),
)


NEGATIONS = word_set(
    "not no never n't without denied deny denies denying none nobody nothing neither nor cannot"
    " refused refuses"
)
LEXICAL_CANDIDATES = 5  # windows, by unigram precision, that also get the costlier LCS and bigrams

Embed = Callable[[Sequence[str]], np.ndarray]


def ngrams(words: Sequence[str], n: int) -> list[tuple[str, ...]]:
    return [tuple(words[i : i + n]) for i in range(len(words) - n + 1)]


def ngram_precision(claim: Sequence[str], evidence: Sequence[str], n: int = 1) -> float:
    """Share of the claim's n-grams (with repeats) that occur anywhere in the evidence.

    Args:
        claim: claim tokens.
        evidence: evidence tokens.
        n: n-gram length.

    Returns:
        A share in [0, 1]; 1.0 when the claim has no n-gram of that length (nothing to check).
    """
    grams = ngrams(claim, n)
    if not grams:
        return 1.0
    present = set(ngrams(evidence, n))
    return sum(gram in present for gram in grams) / len(grams)


def lcs_ratio(claim: Sequence[str], evidence: Sequence[str]) -> float:
    """Longest common subsequence of the two token lists, as a share of the claim's length.

    Args:
        claim: claim tokens.
        evidence: evidence tokens.

    Returns:
        LCS length / len(claim), or 1.0 for an empty claim.
    """
    if not claim:
        return 1.0
    previous = [0] * (len(evidence) + 1)
    for word in claim:
        current = [0]
        for j, other in enumerate(evidence):
            current.append(previous[j] + 1 if word == other else max(previous[j + 1], current[j]))
        previous = current
    return previous[-1] / len(claim)


def negated(words: Sequence[str]) -> bool:
    return any(word in NEGATIONS for word in words)


def windows(passages: Sequence[str]) -> list[tuple[str, ...]]:
    """Each sentence, and each pair of neighbouring sentences, of each passage, as sentence tuples.

    Args:
        passages: evidence texts; windows never cross from one passage to the next.

    Returns:
        One-sentence windows first, then two-sentence ones.
    """
    from index.split import sentence_spans

    singles, pairs = [], []
    for passage in passages:
        sentences = [passage[s:e] for s, e in sentence_spans(passage)]
        singles.extend((sentence,) for sentence in sentences)
        pairs.extend(zip(sentences, sentences[1:], strict=False))
    return singles + pairs


def _default_embed(texts: Sequence[str]) -> np.ndarray:
    from core.settings import Settings

    # float32 whatever RAG_PRECISION says: the scorer was fitted and validated on its vectors
    return Settings.from_env(precision="fp32").encoder().embed(texts)


def features_batch(
    items: Sequence[tuple[str, Sequence[str]]],
    embed: Embed | None = None,
    ner: Ner | None = None,
) -> list[dict[str, float]]:
    """Features of many (claim, passages) pairs, with one embedding call for all their texts.

    Args:
        items: (claim, passages) pairs; a claim with several sentences is scored by its weakest.
        embed: texts -> unit-length rows; the project's MiniLM encoder when None.
        ner: texts -> their entities; spaCy's English pipeline (entities only) when None.

    Returns:
        One dict per pair, keyed by FEATURES.

    Raises:
        ValueError: a claim has no words, or a pair has no passage text.
    """
    from index.split import sentence_spans

    prepared = []
    for claim, passages in items:
        if not tokens(claim):
            raise ValueError(f"claim has no words: {claim!r}")
        parts = list(sentence_spans(claim)) or [(0, len(claim))]
        spans = windows(passages)
        if not spans:
            raise ValueError(f"no passage text to check the claim against: {passages!r}")
        prepared.append((claim, passages, parts, spans))
    texts = sorted(
        {
            t
            for claim, _, parts, spans in prepared
            for t in (*(claim[a:b] for a, b in parts), *map(" ".join, spans))
        }
    )
    row = {text: i for i, text in enumerate(texts)}
    vectors = (embed or _default_embed)(texts)
    cased = [recase(claim, passages) for claim, passages, _, _ in prepared]
    named = sorted({*cased, *(p for _, passages, _, _ in prepared for p in passages)})
    entities = dict(zip(named, (ner or default_ner)(named), strict=True))
    result = []
    for (claim, passages, parts, spans), text in zip(prepared, cased, strict=True):
        texts = [" ".join(span) for span in spans]
        part_texts = [claim[a:b] for a, b in parts]
        similarity = vectors[[row[p] for p in part_texts]] @ vectors[[row[t] for t in texts]].T
        singles = sum(len(span) == 1 for span in spans)
        row_ = _features(claim, passages, part_texts, texts, singles, similarity)
        passage_entities = [entities[p] for p in passages]
        row_.update(
            entity_features(claim, parts, passages, texts, entities[text], passage_entities)
        )
        result.append(row_)
    return result


def _features(claim, passages, parts, spans, singles, similarity) -> dict[str, float]:
    span_words = [tokens(span) for span in spans]
    span_sets = [set(words) for words in span_words]
    evidence_words = [word for passage in passages for word in tokens(passage)]
    per_part = []
    for i, part in enumerate(parts):
        words = tokens(part) or tokens(claim)
        best = int(np.argmax(similarity[i]))
        unigram = [sum(w in s for w in words) / len(words) for s in span_sets]
        # Negation is read from one sentence (in a pair the other's "not" is no clue), the one
        # sharing most of the claim's other words: embeddings are drawn to any negated sentence.
        sentence = max(range(singles), key=lambda j: (_overlap(words, span_sets[j]), best == j))
        # Only the lexically closest windows get the quadratic LCS; the best one is among them.
        candidates = sorted(range(len(spans)), key=lambda j: -unigram[j])[:LEXICAL_CANDIDATES]
        per_part.append(
            (
                float(similarity[i, best]),
                unigram[candidates[0]],
                max(ngram_precision(words, span_words[j], 2) for j in candidates),
                max(lcs_ratio(words, span_words[j]) for j in candidates),
                float(negated(words) != negated(span_words[sentence])),
            )
        )
    weakest = np.min(np.array(per_part), axis=0)
    claim_words = tokens(claim)
    return {
        "similarity": float(weakest[0]),
        "unigram_window": float(weakest[1]),
        "bigram_window": float(weakest[2]),
        "lcs_window": float(weakest[3]),
        "unigram_all": ngram_precision(claim_words, evidence_words, 1),
        "bigram_all": ngram_precision(claim_words, evidence_words, 2),
        "negation_mismatch": float(max(part[4] for part in per_part)),
    }


def _overlap(words: Sequence[str], evidence: set[str]) -> float:
    content = [word for word in words if word not in NEGATIONS]
    return sum(word in evidence for word in content) / max(len(content), 1)


def features(claim: str, passages: Sequence[str]) -> dict[str, float]:
    """Features of one claim against its passages (see features_batch)."""
    return features_batch([(claim, passages)])[0]


@cache
def load_model(path: Path = MODEL_FILE) -> dict:
    """The fitted standardisation and logistic-regression weights (see evals/summac.py)."""
    return json.loads(path.read_text())


def probability(rows: Sequence[dict[str, float]], model: dict) -> np.ndarray:
    """Logistic regression over standardised features, in numpy.

    Args:
        rows: feature dicts, keyed by model["features"].
        model: dict with features, mean, scale, coef and intercept.

    Returns:
        One probability per row.
    """
    x = np.array([[row[name] for name in model["features"]] for row in rows], dtype=np.float64)
    z = (x - np.array(model["mean"])) / np.array(model["scale"])
    logits = z @ np.array(model["coef"]) + model["intercept"]
    return 1.0 / (1.0 + np.exp(-logits))


def support_batch(items: Sequence[tuple[str, Sequence[str]]]) -> list[float]:
    """support() for many pairs at once; pairs without passage text score 0.0."""
    scored = [i for i, (_, passages) in enumerate(items) if windows(passages)]
    rows = features_batch([items[i] for i in scored])
    result = [0.0] * len(items)
    for i, p in zip(scored, probability(rows, load_model()) if rows else [], strict=True):
        result[i] = float(p)
    return result


def support(claim: str, passages: Sequence[str]) -> float:
    """The probability that the passages support the claim.

    Args:
        claim: one or more sentences.
        passages: the evidence texts; an empty list (or only blank text) supports nothing.

    Returns:
        A probability in [0, 1]; 0.0 when there is no passage text.

    Raises:
        ValueError: the claim has no words.
    """
    if not tokens(claim):
        raise ValueError(f"claim has no words: {claim!r}")
    return support_batch([(claim, passages)])[0]
