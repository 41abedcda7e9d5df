"""Understand a question: who it asks about, on what topic, and what a follow-up refers to."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache

from index.names import person_name
from index.nlp import COUNT, DATE, MONEY, ORGANISATION, PERCENT, PERSON, PLACE, pipeline

# Who is asked about, as written: "Hussein", "Tate & Lyle's boss Iain Ferguson", "he".
_WHO = r"(?P<who>[^?,]{1,60}?)"
# Only a name, as the possessive forms need: "Hussein's view on ISIS".
_NAMED = r"(?P<who>(?-i:[A-Z][\w.-]*(?:\s+[A-Z][\w.-]*){0,4}))"
_PERSON = re.compile(r"[A-Z][\w'’.-]*(?:\s+[A-Z][\w'’.-]*)*")
_SAY = (
    r"(?:say|said|think|tell|told|claim|argue|note|describe|mean|believe|feel|add|comment|"
    r"announce|warn|predict|reveal|suggest|stress|highlight|emphasi[sz]e|explain|remark|state|"
    r"write|wrote)"
)
# Who was told, not what: "What did Pal tell reporters it wanted?"
_LISTENER = (
    r"(?<=tell|told)\s+(?:reporters|journalists|the\s+(?:press|media|court|audience|crowd)"
    r"|(?:him|her|them|us|me|(?-i:[A-Z][\w.-]*))(?=\s+(?:about|on|regarding|concerning)\b))"
)
_ABOUT = r"(?:about|on|regarding|of|concerning|in relation to|when it comes to)"
SPEAKER_QUESTIONS = [
    re.compile(
        rf"^(?:and\s+|so\s+|but\s+)?(?:what|how)\s+(?:else\s+)?(?:did|does|do|has|have|had)\s+{_WHO}"
        rf"\s+(?P<verb>(?-i:{_SAY}\w*))(?:{_LISTENER})?(?:\s+{_ABOUT}\b)?\s*(?P<topic>.*?)[?.!]*$",
        re.I,
    ),
    re.compile(
        rf"^(?:and\s+)?did\s+{_WHO}\s+(?P<verb>(?:say|comment|mention|speak|talk)\w*)\s+(?:anything\s+)?"
        rf"{_ABOUT}\s+(?P<topic>.+?)[?.!]*$",
        re.I,
    ),
    re.compile(r"^according to\s+(?P<who>[^,?]{1,60}),\s*(?P<topic>.+?)[?.!]*$", re.I),
    re.compile(rf"^(?P<topic>.+?),?\s+according to\s+{_WHO}[?.!]*$", re.I),
    re.compile(
        rf"^(?:what\s+(?:is|was|are|were)\s+)?{_NAMED}['’]s?\s+(?:view|views|position|opinion|stance|"
        rf"take|comments?|remarks?|thoughts?|words?|message)\s+{_ABOUT}\s+(?P<topic>.+?)[?.!]*$",
        re.I,
    ),
]
_QUESTION_WORD = (
    r"(?:what|which|who|whom|whose|how|why|where|when|did|does|do|is|are|was|were|has|have|had|"
    r"will|would|can|could)\b"
)
# A question that first sets the scene: "In the story about X, how many ...?", "When Chinese
# police held Yili's bosses, how much ...?"
_SETTING = re.compile(
    r"^(?:in|when|after|as|with|following|under|now that|since|while|before|during|amid|"
    rf"despite|once|given)\b[^?]{{12,}}?,\s+(?P<asked>{_QUESTION_WORD}[^,]+)$",
    re.I,
)
# A question that describes its story between commas, "How much does Air Jamaica, which the
# state is taking back, owe?", or after one at its end, "Who replaced Yoran, who quit after a
# year?": what is asked is the question without them. A comma inside a number ("60,000") is
# part of the description; alternatives ("the Lions or the Wallabies") and questions (", with
# whom?", ", after which scandal?") are part of what is asked.
_DESCRIBES = r"the|a|an|which|who|whom|whose|where|one of|its|his|her|their|once|formerly|now"
_KEPT = r"(?![^,?]*\b(?:or|what|how|why|whether)\b)"
_PHRASE = r"(?:[^,?]|,(?=\d))*"
_DESCRIBED = re.compile(rf",\s+(?:{_DESCRIBES})\b{_KEPT}{_PHRASE},\s+", re.I)
_TRAILING = re.compile(
    rf",\s+(?:{_DESCRIBES}|according to|amid|after|before|while|following|despite|"
    r"on top of|more than|less than|down from|up from|in which|with|having)\b"
    rf"(?!\s+(?:which|who|whom|whose|where|when)\b){_KEPT}{_PHRASE}(?=[?.!]*$)",
    re.I,
)
_COMPOUND = re.compile(r",?\s+and\s+(?:which|who|what|how|why|when|where)\b", re.I)
_FOLLOW_UP = re.compile(r"^(?:and|but|also|so|what about|how about|and what about)\b", re.I)
_PRONOUN = re.compile(
    r"\b(he|she|they|him|her|them|it|his|its|their)\b"
    # "did that lead to", "the one from King's College": a demonstrative standing for a noun
    r"|\b(?:did|does|do|will|would|has|have|had|is|was|were|are)\s+(?:that|this|these|those)\b"
    r"|\bthe (?:one|ones|other|former|latter)\b",
    re.I,
)
# A role at an organisation, unnamed: "the Fox spokesman", "a Japan Airlines official".
_ROLE_AT = re.compile(r"^(?:the|a|an)\s", re.I)
_WHAT_ABOUT = re.compile(r"^(?:and\s+)?(?:what|how)\s+about\s+(?P<topic>.+?)[?.!]*$", re.I)
_PRONOUNS = {"he", "she", "him", "her"}


@dataclass(frozen=True)
class Query:
    """A question as retrieval sees it.

    Attributes:
        text: what is embedded and searched.
        topic: the subject asked about, without the speaker frame ("mediation"); or what is
            asked, without the scene a question sets or the story it describes (`asked`).
        speaker: the person asked about as written ("Hussein"), or "".
        question: the question as the user wrote it (a follow-up before it is resolved).
    """

    text: str
    topic: str
    speaker: str = ""
    question: str = field(default="", compare=False)


def parse(question: str) -> Query:
    question = question.strip()
    if _COMPOUND.search(question):  # two questions in one: no single speaker answers both
        return Query(question, question)
    for pattern in SPEAKER_QUESTIONS:
        match = pattern.match(question)
        if match and match.group("topic").strip() and _verb_at(question, match):
            who = person_in(match.group("who"), people_in(question, match.span("who")))
            return Query(question, match.group("topic").strip(), who)
    # The story is searched with the whole question, its sentence with what is asked.
    return Query(question, asked(question))


def asked(question: str) -> str:
    """What a question asks, without the scene it sets first ("When Chinese police held Yili's
    bosses, how much did they misuse?") or the story it describes between commas ("How much
    does Air Jamaica, which the state is taking back, owe?"); the question when it has neither.
    """
    setting = _SETTING.match(question)
    if setting:
        return setting.group("asked")
    if not re.match(_QUESTION_WORD, question, re.I):
        return question
    core = question
    while True:  # a tail that describes what an earlier one does goes too
        shorter = _TRAILING.sub("", core)
        if shorter == core:
            break
        core = shorter
    return _DESCRIBED.sub(" ", core)


@lru_cache(maxsize=512)
def parsed(question: str):
    """spaCy's reading of a question (parse, lemmas, entities), made once per question."""
    return pipeline()(question)


def _verb_at(question: str, match: re.Match) -> bool:
    """Whether a speaker pattern's verb is a verb: in "What did Acme Notes chairman John Smith
    say?" the pattern's first try takes "Notes" for one."""
    if "verb" not in match.groupdict() or match.group("verb") is None:
        return True
    start = match.start("verb")
    token = next((t for t in parsed(question) if t.idx == start), None)
    return token is None or token.pos_ in {"VERB", "AUX"}


def person_in(phrase: str, people: Sequence[str] = ()) -> str:
    """The person a speaker phrase names: the last person spaCy found in it (people), else its
    last capitalised name ("Tate & Lyle's boss Iain Ferguson" -> "Iain Ferguson"); a pronoun as
    is; an unnamed role as the phrase, lower-cased ("the company", "Kraft's vice president")."""
    phrase = phrase.strip()
    if phrase.lower() in _PRONOUNS:
        return phrase
    owner = re.search(r"['’]s?\s+([a-z][\w-]*(?:\s+[a-z][\w-]*)*)$", phrase)
    if owner or (_ROLE_AT.match(phrase) and not people):
        # "Patsy Rowlands' agent" speaks, not Patsy Rowlands; "the Fox spokesman" is whoever
        # speaks for Fox, not a Fox
        return phrase.lower()
    if people:
        return people[-1]
    phrase = re.split(r"['’]s?\s+(?=[A-Z])", phrase)[-1]  # "Sophos' Graham Cluley"
    names = _PERSON.findall(phrase)
    return re.sub(r"['’]s?$", "", names[-1]) if names else phrase


def resolve(question: str, history: Sequence[str] | None) -> Query:
    """The query for question, carrying speaker and subject from earlier turns of the chat.

    "And what did he say about ISIS?" after "What did Hussein say about mediation?" becomes
    "What did Hussein say about ISIS?"; "What about Syria?" keeps the speaker and frame and
    changes the topic; other short or pronoun-led follow-ups carry the earlier question.
    """
    return replace(_resolve(question, history), question=question.strip())


def _resolve(question: str, history: Sequence[str] | None) -> Query:
    query = parse(question)
    earlier = [parse(h) for h in (history or []) if isinstance(h, str) and h.strip()]
    if not earlier:
        return query if query.speaker.lower() not in _PRONOUNS else _nobody(query)
    last_speaker = next(
        (q.speaker for q in reversed(earlier) if q.speaker and q.speaker.lower() not in _PRONOUNS),
        "",
    )
    if query.speaker:
        if query.speaker.lower() in _PRONOUNS:
            if not last_speaker:
                return _nobody(query)
            return Query(
                f"What did {last_speaker} say about {query.topic}?", query.topic, last_speaker
            )
        return query
    what_about = _WHAT_ABOUT.match(question)
    if what_about and last_speaker:
        topic = what_about.group("topic").strip()
        return Query(f"What did {last_speaker} say about {topic}?", topic, last_speaker)
    if _FOLLOW_UP.search(question) or _PRONOUN.search(question) or len(question.split()) <= 4:
        previous = earlier[-1]
        return Query(
            f"{previous.text} {question}", question, previous.speaker if what_about else ""
        )
    return query


def _nobody(query: Query) -> Query:
    """A speaker question whose pronoun refers to no one named before: a plain question."""
    return Query(query.text, asked(query.text))


# The kinds of answer a question may want, as the entity labels that hold them.
KINDS = {
    # "who" in news asks for whoever acts: a person, a company, a country, a group ("Who
    # supplies it?" -> "Iranian resources")
    "agent": PERSON | ORGANISATION | {"GPE"},
    "person": PERSON,
    "organisation": ORGANISATION - {"NORP"},
    "place": PLACE,
    "date": DATE,
    "money": MONEY,
    "percent": PERCENT,
    "number": COUNT | {"DATE", "TIME"},  # "how long", "how old": a duration is a DATE
    "name": PERSON | ORGANISATION | PLACE | {"PRODUCT", "WORK_OF_ART", "EVENT", "LAW"},
}
# What "which ..." or "what ..." asks for, by the noun's lemma: a small lexicon, as spaCy's
# small English model has no word vectors to tell a kind of thing from its name.
_NOUN_KINDS = {
    "date": "year date day month time week decade century",
    "percent": "percentage proportion percent",
    "money": "price cost fee salary fine sum wage bonus budget compensation prize money cash",
    "number": "number amount figure total rate age score margin share size population",
    "organisation": "company firm club team party group organisation organization bank "
    "broadcaster network band label studio airline carrier newspaper channel retailer "
    "maker manufacturer agency body union side",
    "place": "country city town place region state nation capital venue island county",
    "person": "person man woman player minister president leader actor actress singer "
    "manager coach chief executive director official politician boss star winner",
    "name": "name title film album song book show",
}
NOUN_KINDS = {noun: kind for kind, nouns in _NOUN_KINDS.items() for noun in nouns.split()}


def expects(question: str) -> str:
    """The kind of answer a question wants (a key of KINDS), from spaCy's parse: "who" an
    agent, "when" a date, "where" a place, "how many" a number, "which company" an
    organisation ...; "" when it wants no particular kind (why, how, what was said).

    A follow-up resolved by joining questions ("Which outlet reported it? On what date?") wants
    what its last question does.
    """
    question = re.split(r"(?<=[?!])\s+", question.strip())[-1]
    question = asked(question)  # "After Yoran quit, who was named in his place?" wants a name
    if any(pattern.match(question) for pattern in SPEAKER_QUESTIONS[:2]):
        return ""  # "What did Gilbert say about how much work is left?" wants what was said
    doc = parsed(question)
    for token in doc:
        word = token.lower_
        if token.tag_ not in {"WP", "WP$", "WDT", "WRB"}:
            continue
        after = doc[token.i + 1] if token.i + 1 < len(doc) else None
        if word in {"who", "whom", "whose"}:
            named = doc[token.i + 2] if token.i + 2 < len(doc) else None
            described = (
                after is not None and after.lemma_ == "be" and named is not None
                and named.pos_ == "PROPN"
            )  # fmt: skip
            return "" if described else "agent"  # "Who is Inna Rudolf?" wants who she is
        if word == "when":
            return "date"
        if word == "where":
            return "place"
        if word == "how" and after is not None:
            if after.lower_ == "much":  # "how much money", "how much did it cost"
                rest = doc[after.i + 1 :]
                money = (len(rest) and NOUN_KINDS.get(rest[0].lemma_) == "money") or any(
                    t.lemma_ in _SPEND for t in rest
                )
                return "money" if money else "number"
            if after.lower_ in {"many", "long", "old", "big", "large", "far", "often", "high"}:
                return "number"
            return ""
        if word in {"what", "which"}:
            noun = _asked_noun(token)
            if noun is not None:
                return NOUN_KINDS.get(noun.lemma_.lower(), "")
            return ""
    return ""


# Verbs whose "how much" asks for money: "how much did it cost", "how much was he paid".
_SPEND = frozenset(
    ["cost", "pay", "earn", "sell", "spend", "charge", "invest", "raise", "fine", "owe", "bid"]
)


def _asked_noun(wh):
    """The noun a "what"/"which" asks about: "which company", "what is the name of ...",
    "in what year"."""
    if wh.head.pos_ in {"NOUN", "PROPN"} and wh.dep_ in {"det", "attr"} and wh.head.i > wh.i:
        return wh.head
    doc = wh.doc
    nxt = doc[wh.i + 1] if wh.i + 1 < len(doc) else None
    if nxt is not None and nxt.pos_ in {"NOUN"}:
        return nxt
    if nxt is not None and nxt.lemma_ == "be":  # "what is the name of", "what was the price"
        for t in doc[nxt.i + 1 : nxt.i + 4]:
            if t.pos_ == "NOUN":
                return t
    return None


def fits(entities: Sequence[tuple[str, str]], kind: str, question: str) -> bool:
    """Whether a sentence, by its entities ((text, label) pairs), can answer a question wanting
    kind: it holds an entity of that kind that the question does not name itself."""
    if not kind:
        return True
    labels = KINDS.get(kind, set())
    asked = question.lower()
    return any(label in labels and text.lower() not in asked for text, label in entities)


# Named things whose absence from the articles is a reason to abstain (not numbers or dates,
# which an article may write another way, nor nationalities: "American" where it says "US").
NAMES = PERSON | PLACE | {"ORG", "PRODUCT", "WORK_OF_ART", "EVENT", "LAW", "FAC"}


def entities(question: str) -> list[str]:
    """The names a question uses ("Turkey", "Fuad Hussein", "ISIS"), from spaCy's entities."""
    return [
        re.sub(r"['’]s$", "", e.text)
        for e in parsed(question).ents
        if e.label_ in NAMES and not all(t.is_stop for t in e)  # "Whom" taken for a name
    ]


def asked_names(question: str) -> list[str]:
    """What a question names that its story must mention: people, places, organisations and
    the like (`entities`), and the years its dates give ("in 2004")."""
    years = [
        year
        for e in parsed(question).ents
        if e.label_ == "DATE"
        for year in re.findall(r"\b(?:1[89]|20)\d\d\b", e.text)
    ]
    return entities(question) + years


def people_in(question: str, span: tuple[int, int] | None = None) -> list[str]:
    """The people spaCy finds in a question (within span, when given), titles off ("Prime
    Minister Sudani" -> Sudani)."""
    start, end = span or (0, len(question))
    return [
        person_name(e)
        for e in parsed(question).ents
        if e.label_ in PERSON and e.start_char >= start and e.end_char <= end
    ]
