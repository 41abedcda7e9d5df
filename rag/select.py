"""Score candidate sentences against a question and pick a short, non-redundant set."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from index.lexical import terms
from index.store import SentenceRecord
from rag.retrieve import lexical_scores


@dataclass(frozen=True)
class Weights:
    """How signals combine into a sentence's score, and what counts as evidence.

    Fitted on the dev sets by `python -m evals.tune` (a coarse grid over these few global values,
    checked by 2-fold cross-validation; see README, "Evaluation"). Tests pin behaviour, not values.
    """

    dense: float = 0.7  # the sentence's own vector against the question
    context: float = 0.0  # its passage against the question
    lexical: float = 0.15  # share of the question's IDF-weighted words it holds
    neighbour: float = 0.0  # the best adjacent sentence's dense score
    kind: float = 0.06  # holds the kind of answer the question wants (a number, date or name)
    evidence: float = 0.38  # a combined score that is evidence on its own
    lexical_evidence: float = 0.4  # ... or this much of the words
    dense_with_lexical: float = 0.2  # ... with at least this dense score
    keep_within: float = 0.12  # other sentences must score this close to the best
    near_duplicate: float = 0.90  # cosine above which two sentences say the same thing
    distinct: float = 0.03  # the best must beat the fifth best by this much (else none answers)
    cover_within: float = 0.2  # ... or this close, when it holds a question word none chosen has


STANDOUT = 5  # the best candidate is compared with the candidate this far down


@dataclass(frozen=True)
class Scored:
    """A candidate sentence, its combined score, and the signals it was combined from."""

    sentence: SentenceRecord
    score: float
    dense: float
    lexical: float
    context: float
    around: float = 0.0  # the best adjacent sentence's dense score
    fits: float = 0.0  # 1.0 when it holds the kind of answer the question wants


@dataclass(frozen=True)
class Pick:
    """A chosen sentence, and the same statement in other articles (shown as "also reported")."""

    chosen: Scored
    also: tuple[Scored, ...] = field(default=())


def score(
    topic: str,
    vector: np.ndarray,
    sentences: Sequence[SentenceRecord],
    context: Mapping[str, float],
    weights: Weights = Weights(),
    idf: Callable[[str], float] | None = None,
) -> list[Scored]:
    """Every candidate sentence with its combined score, best first; one entry per sentence.

    Args:
        topic: the words to match (the question, or its topic when a speaker is asked about).
        vector: the embedding of the same.
        sentences: candidates; several records of one sentence (windows) count once.
        context: a score per passage id, for the passage a sentence sits in.
        idf: the corpus's inverse document frequency of a term, when known.
    """
    if not sentences:
        return []
    dense = np.stack([s.vector for s in sentences]) @ vector
    lexical = lexical_scores(terms(topic), [s.text for s in sentences], idf)
    position = {(s.article, s.index): float(d) for s, d in zip(sentences, dense, strict=True)}
    best: dict[tuple[str, int], Scored] = {}
    for record, d, lex in zip(sentences, dense, lexical, strict=True):
        around = max(
            position.get((record.article, record.index - 1), 0.0),
            position.get((record.article, record.index + 1), 0.0),
        )
        candidate = _combine(
            Scored(record, 0.0, float(d), lex, context.get(record.passage, 0.0), around), weights
        )
        key = (record.article, record.index)
        if key not in best or candidate.score > best[key].score:
            best[key] = candidate
    return sorted(best.values(), key=lambda s: -s.score)


def _combine(candidate: Scored, weights: Weights) -> Scored:
    score = (
        weights.dense * candidate.dense
        + weights.context * candidate.context
        + weights.lexical * candidate.lexical
        + weights.neighbour * candidate.around
        + weights.kind * candidate.fits
    )
    return replace(candidate, score=score)


def rescore(scored: Sequence[Scored], weights: Weights) -> list[Scored]:
    """The same candidates under other weights, best first."""
    return sorted((_combine(s, weights) for s in scored), key=lambda s: -s.score)


def _alone(candidate: Scored, weights: Weights = Weights()) -> float:
    # Holding a number is no evidence of answering "how many": the kind only ranks.
    return candidate.score - weights.kind * candidate.fits


def is_evidence(candidate: Scored, weights: Weights = Weights()) -> bool:
    return _alone(candidate, weights) >= weights.evidence or (
        candidate.lexical >= weights.lexical_evidence
        and candidate.dense >= weights.dense_with_lexical
    )


def pick(
    scored: Sequence[Scored],
    limit: int,
    weights: Weights = Weights(),
    fits: Callable[[str], bool] | None = None,
    asked: Sequence[str] = (),
) -> list[Pick]:
    """The best sentence and those close to it, best first, each statement once.

    Nothing is picked (the answer abstains) when no sentence is evidence, when the best does not
    stand out (the fifth best scores within `distinct` of it: the question is on a story, but
    no sentence of it answers more than the others do), or when the question wants a kind of
    answer (a number, a date, a name) that no evidence sentence of the best evidence's article
    holds: `fits` says whether a sentence holds it; the lead must, and of the sentences that do
    not, only the best evidence is cited (it says what the figure or name is of). A
    sentence further from the lead than `keep_within` (but within `cover_within`) is kept only
    when it holds a word of the question (`asked`) that no sentence kept so far holds: the
    other half of a two-part or list question. A sentence that repeats a chosen one (another
    article reporting the same thing) is not cited again but listed in that pick's `also`.
    """
    evidence = [candidate for candidate in scored if is_evidence(candidate, weights)]
    story = evidence[0].sentence.article if evidence else ""
    lead = next((c for c in evidence if fits is None or fits(c.sentence.text)), None)
    if lead is None or lead.sentence.article != story:
        return []  # the story asked about does not give it; another story's figure is no answer
    # Many different sentences as near as the best: none of them answers. A statement that
    # several articles repeat word for word (a syndicated story) counts once.
    different = list({" ".join(c.sentence.text.split()): c for c in reversed(scored)}.values())
    different.sort(key=lambda c: -c.score)
    if len(different) >= STANDOUT and (
        different[0].score - different[STANDOUT - 1].score < weights.distinct
    ):
        return []
    best, evidence = evidence[0], [lead] + [c for c in evidence if c is not lead]
    floor = lead.score - weights.keep_within
    reach = lead.score - max(weights.keep_within, weights.cover_within)
    picks: list[Pick] = []
    wanted, covered = set(asked), set(terms(lead.sentence.text))
    for candidate in evidence:
        if candidate.score < reach:
            break
        held = set(terms(candidate.sentence.text))
        if fits is not None and candidate is not best and not fits(candidate.sentence.text):
            continue  # it cannot hold the name, number or date asked for
        if candidate.score < floor and not (wanted & held) - covered:
            continue
        twin = next(
            (i for i, p in enumerate(picks) if _repeats(candidate, p.chosen, weights)), None
        )
        if twin is not None:
            picks[twin] = Pick(picks[twin].chosen, picks[twin].also + (candidate,))
            continue
        if len(picks) < limit:
            picks.append(Pick(candidate))
            covered |= held
    return picks


def _repeats(candidate: Scored, chosen: Scored, weights: Weights) -> bool:
    """Whether candidate reports what chosen does, in another article. Sentences of one article
    are not compared: their vectors share the passage's context ("late chunking"), so
    neighbours that say different things score as near duplicates."""
    a, b = candidate.sentence, chosen.sentence
    return a.article != b.article and float(a.vector @ b.vector) > weights.near_duplicate
