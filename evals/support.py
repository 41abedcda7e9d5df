"""Support scorer: the probability that passages support a claim, without an LLM."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Sequence
from functools import cache
from pathlib import Path

import numpy as np

from index.nlp import COUNT, DATE, ORGANISATION, PERSON, PLACE

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


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


NEGATIONS = _words(
    "not no never n't without denied deny denies denying none nobody nothing neither nor cannot"
    " refused refuses"
)
NUMBER_WORDS = {
    word: str(n)
    for n, word in enumerate(
        re.split(
            " ",
            "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen"
            " fifteen sixteen seventeen eighteen nineteen twenty",
        )
    )
}
SCALES = _words("hundred thousand million billion trillion percent")
CALENDAR = _words(
    "january february march april may june july august september october november december"
    " monday tuesday wednesday thursday friday saturday sunday"
)
# Capitalised words that start sentences or name nothing: not hard facts.
FUNCTION_WORDS = _words(
    "a an the this that these those he she it they we i you his her its their our my your"
    " in on at of for to from by with as and but or if when while after before during"
    " there here what who which where why how some many most all both each every one two"
)
LEXICAL_CANDIDATES = 5  # windows, by unigram precision, that also get the costlier LCS and bigrams

Embed = Callable[[Sequence[str]], np.ndarray]
# texts -> each text's named entities as (start, end, spaCy label)
Ner = Callable[[Sequence[str]], list[list[tuple[int, int, str]]]]

ENTITY_TYPES = {
    "person": PERSON,
    "organisation": ORGANISATION,
    "place": PLACE,
    "date": DATE,
    "number": COUNT,
}
SCALE_VALUES = {
    "hundred": 1e2,
    "thousand": 1e3,
    "k": 1e3,
    "million": 1e6,
    "m": 1e6,
    "mn": 1e6,
    "billion": 1e9,
    "bn": 1e9,
    "trillion": 1e12,
}
# Words an entity's mention may add or drop without naming anything else ("the BBC", "$5m").
ENTITY_FILLER = FUNCTION_WORDS | _words("s st nd rd th percent per cent") | frozenset(SCALE_VALUES)


def tokens(text: str) -> list[str]:
    """Lower-cased word tokens; "didn't" and "did n't", "5%" and "5 percent" come out the same."""
    text = text.lower().replace("n't", " n't").replace("%", " percent ")
    return re.findall(r"n't|\d+(?:[.,]\d+)*|[a-z]+", text)


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


def hard_facts(text: str) -> set[str]:
    """Numbers (with their scale), calendar words and capitalised names in text, normalised.

    Names are found by capitalisation only, so an all-lower-case claim yields numbers and dates.
    """
    words = [NUMBER_WORDS.get(word, word) for word in tokens(text)]
    facts = set()
    for i, word in enumerate(words):
        if word[0].isdigit():
            scale = words[i + 1] if i + 1 < len(words) and words[i + 1] in SCALES else ""
            facts.add(f"{word.replace(',', '')} {scale}".strip())
        elif word in CALENDAR:
            facts.add(word)
    for name in re.findall(r"\b[A-Z][\w'-]*", text):
        if name.lower() not in FUNCTION_WORDS and name.lower() not in CALENDAR:
            facts.add(name.lower())
    return facts


def fact_found(fact: str, evidence: str, evidence_words: frozenset[str]) -> bool:
    """A number must appear with the same scale word; a name's every token must appear."""
    if fact[0].isdigit():
        return f" {fact} " in evidence or (" " not in fact and fact in evidence_words)
    return all(word in evidence_words for word in tokens(fact))


def _default_ner(texts: Sequence[str]) -> list[list[tuple[int, int, str]]]:
    from index.nlp import entities, pipeline

    return [entities(doc) for doc in pipeline(parse=False).pipe(texts, batch_size=64)]


_CASED_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*")


def recase(claim: str, evidence: Sequence[str]) -> str:
    """An all-lower-case claim with each word in the case the evidence mostly writes it in.

    SummaC's claims are lower-cased, which hides their names from the entity model; a word's
    case is read where it does not start a sentence or quotation. Words the evidence lacks, and
    claims with any capital letter, are left as they are.
    """
    if any(char.isupper() for char in claim):
        return claim
    forms: Counter[str] = Counter()
    for text in evidence:
        for match in _CASED_WORD.finditer(text):
            before = text[: match.start()].rstrip()
            if before and before[-1] not in ".!?:\"'“‘(":
                forms[match.group()] += 1
    best: dict[str, str] = {}
    for form, _ in forms.most_common():
        best.setdefault(form.lower(), form)
    return _CASED_WORD.sub(lambda m: best.get(m.group(), m.group()), claim)


def number_values(words: Sequence[str]) -> set[float]:
    """The numbers among tokens, scaled by a following "million", "bn" ...: "2.6 m" and
    "2.6 million" are both 2,600,000, "seven" is 7."""
    words = [NUMBER_WORDS.get(word, word) for word in words]
    values = set()
    for i, word in enumerate(words):
        if word[0].isdigit():
            try:
                value = float(word.replace(",", ""))
            except ValueError:
                continue
            scale = SCALE_VALUES.get(words[i + 1], 1.0) if i + 1 < len(words) else 1.0
            values.add(round(value * scale, 6))
    return values


def _scaled(text: str, start: int, end: int) -> int:
    """An entity's end moved past a scale right after it: spaCy's MONEY in "$42m" is "42"."""
    scale = re.match(r"\s?(?:hundred|thousand|million|billion|trillion|mn|bn|m|k)\b", text[end:])
    return end + scale.end() if scale else end


def entity_words(text: str) -> tuple[set[float], set[str]]:
    """An entity mention's numbers (by value) and its naming words (neither filler nor number)."""
    words = [NUMBER_WORDS.get(w, w) for w in tokens(re.sub(r"['’]s\b", "", text))]
    names = {w for w in words if not w[0].isdigit() and w not in ENTITY_FILLER}
    return number_values(words), names


def entity_found(entity: str, values: set[float], vocabulary: frozenset[str] | set[str]) -> bool:
    """Whether the evidence (its numbers' values and its words) states every number and naming
    word of an entity mention."""
    numbers, names = entity_words(entity)
    return numbers <= values and names <= vocabulary


def entity_kind(label: str) -> str | None:
    return next((kind for kind, labels in ENTITY_TYPES.items() if label in labels), None)


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
    entities = dict(zip(named, (ner or _default_ner)(named), strict=True))
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


def entity_key(text: str) -> tuple[str, ...]:
    """A mention's words as the claim's tokens spell them, fillers out ("the BBC's" -> bbc)."""
    words = (NUMBER_WORDS.get(w, w) for w in tokens(re.sub(r"['\u2019]s\b", "", text)))
    return tuple(w for w in words if w not in FUNCTION_WORDS or w[0].isdigit())


def _stated(words: Sequence[str]) -> tuple[set[float], frozenset[str]]:
    """What a text states, for entity_found: its numbers' values, scaled and bare ("42" of "42
    million" is no new number), and its words."""
    words = [NUMBER_WORDS.get(w, w) for w in words]
    values = number_values(words) | number_values([w for w in words if w[0].isdigit()])
    return values, frozenset(words)


def entity_features(
    claim: str,
    parts: Sequence[tuple[int, int]],
    passages: Sequence[str],
    spans: Sequence[str],
    claim_entities: Sequence[tuple[int, int, str]],
    passage_entities: Sequence[Sequence[tuple[int, int, str]]],
) -> dict[str, float]:
    """The claim's entities the evidence never states, by kind, and how well the words around
    each entity are found beside it.

    Args:
        claim: the claim as given.
        parts: (start, end) of the claim's sentences.
        passages: evidence texts.
        spans: the evidence windows' texts (see windows).
        claim_entities: the claim's entities (found in its recased text, same offsets).
        passage_entities: each passage's entities, so that a claim repeating one is checked even
            where its own entities missed it (SummaC's lower-cased claims).

    Returns:
        missing_<kind> (a count per kind in ENTITY_TYPES) and entity_context: over the claim's
        entities, the smallest share of its sentence's other words found in an evidence window
        that states the entity (0.0 when one is stated nowhere; 1.0 when there is none).
    """
    part_words = [entity_key(claim[a:b]) for a, b in parts]
    mentions = []  # (part, kind, text, key)
    for start, end, label in claim_entities:
        kind = entity_kind(label)
        if kind is not None:
            part = next((i for i, (a, b) in enumerate(parts) if a <= start < b), 0)
            text = claim[start : _scaled(claim, start, end)]
            mentions.append((part, kind, text, entity_key(text)))
    keys = {key for *_, key in mentions}
    for passage, entities in zip(passages, passage_entities, strict=True):
        for start, end, label in entities:
            kind, text = entity_kind(label), passage[start:end]
            key = entity_key(text)
            if kind is None or not key or key in keys:
                continue
            keys.add(key)
            mentions += [(i, kind, text, key) for i, w in enumerate(part_words) if _within(key, w)]
    values, vocabulary = _stated([w for passage in passages for w in tokens(passage)])
    found = [entity_found(text, values, vocabulary) for _, _, text, _ in mentions]
    result = {
        f"missing_{kind}": float(
            sum(not f for m, f in zip(mentions, found, strict=True) if m[1] == kind)
        )
        for kind in ENTITY_TYPES
    }
    stated = [_stated(tokens(span)) for span in spans]
    context = 1.0
    for (part, _, text, key), is_found in zip(mentions, found, strict=True):
        words = _around(part_words[part], key)
        if not is_found:
            context = 0.0
        elif words:
            beside = [said for numbers, said in stated if entity_found(text, numbers, said)]
            share = max((sum(w in said for w in words) / len(words) for said in beside), default=0)
            context = min(context, share)
    result["entity_context"] = context
    return result


def _within(key: Sequence[str], words: Sequence[str]) -> bool:
    n = len(key)
    return any(tuple(words[i : i + n]) == tuple(key) for i in range(len(words) - n + 1))


def _around(words: Sequence[str], key: Sequence[str]) -> list[str]:
    """The sentence's words less the entity's (its first occurrence)."""
    n = len(key)
    at = next((i for i in range(len(words) - n + 1) if tuple(words[i : i + n]) == tuple(key)), None)
    return list(words) if at is None else [*words[:at], *words[at + n :]]


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
