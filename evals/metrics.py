"""Pure metric functions: retrieval ranks, citation support, abstention, token F1, latency."""

from __future__ import annotations

import math
import re
import string
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

SUPPORTED = 0.5  # support() at or above this means a passage supports a claim

SupportBatch = Callable[[Sequence[tuple[str, Sequence[str]]]], list[float]]

_MARKER = re.compile(r"\[(\d+)\]")
_READER_NOTE = re.compile(r"\[(?!\d+\])[^\]]*\]")  # "he [Fuad Hussein] said", "[Hussein:] ..."
_ARTICLES = re.compile(r"\b(a|an|the)\b")


# Retrieval ---------------------------------------------------------------------------------


def gold_ranks(
    ranked: Sequence[tuple[str, str]], evidence: Sequence[Sequence[tuple[str, str]]]
) -> list[int | None]:
    """The 1-based rank at which each gold item is first found among the ranked candidates.

    Args:
        ranked: candidate (article, sentence text) pairs, best first.
        evidence: gold items, each a list of acceptable (article, sentence) alternatives.

    Returns:
        One rank per item (the best rank of any alternative), None where none was retrieved.
    """
    position: dict[tuple[str, str], int] = {}
    for rank, key in enumerate(ranked, start=1):
        position.setdefault(key, rank)
    found = []
    for alternatives in evidence:
        ranks = [position[key] for key in alternatives if key in position]
        found.append(min(ranks) if ranks else None)
    return found


def hit_at_k(ranks: Sequence[int | None], k: int) -> float:
    """1.0 when any gold item is among the first k candidates, else 0.0."""
    return float(any(r is not None and r <= k for r in ranks))


def recall_at_k(ranks: Sequence[int | None], k: int) -> float:
    """The share of gold items found among the first k candidates (0.0 with no items)."""
    return sum(r is not None and r <= k for r in ranks) / len(ranks) if ranks else 0.0


def reciprocal_rank(ranks: Sequence[int | None]) -> float:
    """1 / the rank of the first gold item found; 0.0 when none is found."""
    found = [r for r in ranks if r is not None]
    return 1.0 / min(found) if found else 0.0


# Citations and groundedness ----------------------------------------------------------------


@dataclass(frozen=True)
class Segment:
    """The answer text before one group of [n] markers, with how well the citations hold it up.

    Attributes:
        text: the segment, reader notes in brackets removed.
        cited: the citation numbers that follow it (empty for trailing, uncited text).
        own: support of the segment by its own citations' quotes together.
        each: support of the segment by each of its citations alone, keyed by number.
        anywhere: support of the segment by every quote the answer cites.
    """

    text: str
    cited: tuple[int, ...]
    own: float = 0.0
    each: Mapping[int, float] = field(default_factory=dict)
    anywhere: float = 0.0


def segments(text: str) -> list[tuple[str, tuple[int, ...]]]:
    """Split an answer into (segment, citation numbers): the text before each run of [n]
    markers ("A. [1] B. [2][3]" -> ("A.", (1,)), ("B.", (2, 3))); trailing text without a
    marker is a segment that cites nothing. Reader notes ("[Fuad Hussein]") are removed."""
    result: list[tuple[str, tuple[int, ...]]] = []
    position = 0
    pending = ""
    numbers: list[int] = []
    for match in _MARKER.finditer(text):
        between = text[position : match.start()]
        if between.strip() and numbers:
            result.append((pending, tuple(numbers)))
            numbers = []
            pending = ""
        pending += between
        numbers.append(int(match.group(1)))
        position = match.end()
    if numbers:
        result.append((pending, tuple(numbers)))
    result.append((text[position:], ()))
    cleaned = [(" ".join(_READER_NOTE.sub("", part).split()), cited) for part, cited in result]
    return [(part, cited) for part, cited in cleaned if any(c.isalnum() for c in part)]


def judge_segments(
    text: str, quotes: Mapping[int, str], support_batch: SupportBatch
) -> list[Segment]:
    """Score every segment of an answer against its cited quotes, in one support call.

    Args:
        text: the answer text with [n] markers.
        quotes: citation number -> the quoted article text.
        support_batch: (claim, passages) pairs -> support probabilities.

    Returns:
        One Segment per segment of the text.
    """
    parts = segments(text)
    everything = list(quotes.values())
    pairs: list[tuple[str, Sequence[str]]] = []
    for part, cited in parts:
        own = [quotes[n] for n in cited if n in quotes]
        pairs.append((part, own))
        pairs.extend((part, [quotes[n]] if n in quotes else []) for n in cited)
        pairs.append((part, everything))
    scores = iter(support_batch(pairs) if pairs else [])
    judged = []
    for part, cited in parts:
        own = next(scores)
        each = {n: next(scores) for n in cited}
        judged.append(Segment(part, cited, own, each, next(scores)))
    return judged


def citation_recall(judged: Sequence[Segment]) -> float | None:
    """ALCE citation recall: the share of segments that their own citations support."""
    return _share(sum(s.own >= SUPPORTED for s in judged), len(judged))


def citation_precision(judged: Sequence[Segment]) -> float | None:
    """The share of citations (segment, [n]) whose quote alone supports their segment."""
    scores = [score for s in judged for score in s.each.values()]
    return _share(sum(score >= SUPPORTED for score in scores), len(scores))


def groundedness(judged: Sequence[Segment]) -> float | None:
    """The share of segments that the answer's cited text, taken together, supports."""
    return _share(sum(s.anywhere >= SUPPORTED for s in judged), len(judged))


def unsupported(judged: Sequence[Segment]) -> list[str]:
    """The segments no cited text supports."""
    return [s.text for s in judged if s.anywhere < SUPPORTED]


# Correctness and latency -------------------------------------------------------------------


def normalize(text: str) -> str:
    """SQuAD's answer normalisation: lower case, no punctuation, no articles, single spaces."""
    text = "".join(c for c in text.lower() if c not in set(string.punctuation) | {"“", "”", "’"})
    return " ".join(_ARTICLES.sub(" ", text).split())


def token_f1(prediction: str, reference: str) -> float:
    """SQuAD token F1 between two answers after normalize()."""
    predicted, gold = normalize(prediction).split(), normalize(reference).split()
    if not predicted or not gold:
        return float(predicted == gold)
    common = sum((Counter(predicted) & Counter(gold)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(predicted), common / len(gold)
    return 2 * precision * recall / (precision + recall)


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) with linear interpolation between order statistics."""
    if not values:
        return 0.0
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def mean(values: Sequence[float | None]) -> float | None:
    """The mean of the values that are not None; None when there are none."""
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else None


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None
