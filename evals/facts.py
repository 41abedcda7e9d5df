"""The facts a claim states, and whether its evidence states them: numbers (by value, with their
scale), dates and names, found by capitalisation (`hard_facts`) and by spaCy's entities
(`entity_features`); the support scorer (`evals.support`) and the check of LLM-written sentences
(`rag.write`) read them.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence

from index.nlp import COUNT, DATE, ORGANISATION, PERSON, PLACE

# texts -> each text's named entities as (start, end, spaCy label)
Ner = Callable[[Sequence[str]], list[list[tuple[int, int, str]]]]


def word_set(text: str) -> frozenset[str]:
    """The distinct words of a list written as one string."""
    return frozenset(text.split())


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
SCALES = word_set("hundred thousand million billion trillion percent")
CALENDAR = word_set(
    "january february march april may june july august september october november december"
    " monday tuesday wednesday thursday friday saturday sunday"
)
# Capitalised words that start sentences or name nothing: not hard facts.
FUNCTION_WORDS = word_set(
    "a an the this that these those he she it they we i you his her its their our my your"
    " in on at of for to from by with as and but or if when while after before during"
    " there here what who which where why how some many most all both each every one two"
)

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
ENTITY_FILLER = FUNCTION_WORDS | word_set("s st nd rd th percent per cent") | set(SCALE_VALUES)


def tokens(text: str) -> list[str]:
    """Lower-cased word tokens; "didn't" and "did n't", "5%" and "5 percent" come out the same."""
    text = text.lower().replace("n't", " n't").replace("%", " percent ")
    return re.findall(r"n't|\d+(?:[.,]\d+)*|[a-z]+", text)


def numbered(words: Iterable[str]) -> list[str]:
    """Tokens with number words as digits: "seven" -> "7"."""
    return [NUMBER_WORDS.get(word, word) for word in words]


def _mention_words(text: str) -> list[str]:
    """A mention's tokens, possessive off and number words as digits."""
    return numbered(tokens(re.sub(r"['’]s\b", "", text)))


def hard_facts(text: str) -> set[str]:
    """Numbers (with their scale), calendar words and capitalised names in text, normalised.

    Names are found by capitalisation only, so an all-lower-case claim yields numbers and dates.
    """
    words = numbered(tokens(text))
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


def default_ner(texts: Sequence[str]) -> list[list[tuple[int, int, str]]]:
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
    words = numbered(words)
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
    words = _mention_words(text)
    names = {w for w in words if not w[0].isdigit() and w not in ENTITY_FILLER}
    return number_values(words), names


def entity_found(entity: str, values: set[float], vocabulary: frozenset[str] | set[str]) -> bool:
    """Whether the evidence (its numbers' values and its words) states every number and naming
    word of an entity mention."""
    numbers, names = entity_words(entity)
    return numbers <= values and names <= vocabulary


def entity_kind(label: str) -> str | None:
    return next((kind for kind, labels in ENTITY_TYPES.items() if label in labels), None)


def entity_key(text: str) -> tuple[str, ...]:
    """A mention's words as the claim's tokens spell them, fillers out ("the BBC's" -> bbc)."""
    return tuple(w for w in _mention_words(text) if w not in FUNCTION_WORDS or w[0].isdigit())


def stated_in(words: Sequence[str]) -> tuple[set[float], frozenset[str]]:
    """What a text states, for entity_found: its numbers' values, scaled and bare ("42" of "42
    million" is no new number), and its words."""
    words = numbered(words)
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
    values, vocabulary = stated_in([w for passage in passages for w in tokens(passage)])
    found = [entity_found(text, values, vocabulary) for _, _, text, _ in mentions]
    result = {
        f"missing_{kind}": float(
            sum(not f for m, f in zip(mentions, found, strict=True) if m[1] == kind)
        )
        for kind in ENTITY_TYPES
    }
    stated = [stated_in(tokens(span)) for span in spans]
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
