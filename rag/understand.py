"""Understand a question: who it asks about, on what topic, and what a follow-up refers to."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from index.speakers import ROLES

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
        rf"\s+{_SAY}\w*(?:{_LISTENER})?(?:\s+{_ABOUT}\b)?\s*(?P<topic>.*?)[?.!]*$",
        re.I,
    ),
    re.compile(
        rf"^(?:and\s+)?did\s+{_WHO}\s+(?:say|comment|mention|speak|talk)\w*\s+(?:anything\s+)?"
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
_ROLE_AT = re.compile(rf"^(?:the|a|an)\s+.+\b(?:{ROLES})s?$", re.I)
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
        if match and match.group("topic").strip():
            who = person_in(match.group("who"))
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


def person_in(phrase: str) -> str:
    """The person a speaker phrase names: its last capitalised name ("Tate & Lyle's boss Iain
    Ferguson" -> "Iain Ferguson"), a pronoun as is, else the phrase ("the company")."""
    phrase = phrase.strip()
    if phrase.lower() in _PRONOUNS:
        return phrase
    owner = re.search(r"['’]s?\s+([a-z][\w-]*(?:\s+[a-z][\w-]*)*)$", phrase)
    if owner or _ROLE_AT.match(phrase):  # "Patsy Rowlands' agent" speaks, not Patsy Rowlands;
        return phrase.lower()  # "the Fox spokesman" is whoever speaks for Fox, not a Fox
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


# What kind of answer a question wants, when it is specific: a sum of money, a number, a date,
# or a name.
_MONEY = re.compile(
    r"\bhow much\b(?:\s+[\w'’-]+){0,6}?\s+(?:cost|costs|money|worth|pay|paid|earn|earned|earns|"
    r"sell|sold|price|priced|compensation|fined?|prize|spend|spent|charge|charged|fees?|salary|"
    r"invest|invested|raise|raised|funds?|budget)\b"
    r"|\bwhat (?:\w+\s+)?(?:price|cost|fee|salary|fine|sum)\b",
    re.I,
)
_NUMBER = re.compile(
    r"\bhow (?:many|much|long|old|big|large|far|often)\b|\bwhat (?:percentage|proportion|share|"
    r"number|amount|figure|price|sum|total|rate|age|score|margin)\b|\bby how much\b",
    re.I,
)
_DATE = re.compile(
    r"^(?:and\s+)?when\b|\b(?:what|which|on what|in what|in which) (?:date|day|year|month|time)\b",
    re.I,
)
_NAME = re.compile(
    r"^(?:and\s+)?who\b(?!\s+(?:is|was|are|were)\s+(?-i:[A-Z]))"
    r"|\bwhat (?:is|was) the name\b|\bname the\b|^(?:and\s+)?which\s+(?!of\b)\w+",
    re.I,
)
_CURRENCY = re.compile(
    r"[£$€¥]|\d\s*(?:p|pence|cents?|pounds?|dollars?|euros?|yuan|yen|rupees?|francs?)\b"
    r"|\b(?:pounds?|dollars?|euros?|yuan|yen|rupees?)\b",
    re.I,
)
_DIGIT = re.compile(
    r"\d|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|"
    r"fifty|sixty|seventy|eighty|ninety|hundred|thousand|million|billion|trillion|dozen|half|"
    r"third|quarter|fifth|tenth|percent|per cent|double|doubled|twice|triple|tripled|halved|"
    r"several|dozens|hundreds|thousands|millions|billions)\b",
    re.I,
)
_TIME = re.compile(
    r"\b(?:january|february|march|april|may|june|july|august|september|october|november|"
    r"december|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec|monday|tuesday|wednesday|"
    r"thursday|friday|saturday|sunday|yesterday|today|tomorrow|ago|last (?:week|month|year)|"
    r"next (?:week|month|year)|since|until|century|decade|christmas|easter)\b",
    re.I,
)


# "American", "Syrian", "Iraqi", "British": adjectives, often said where an article names the place.
_DEMONYM = re.compile(r"(?:an|ians?|ese|ish|i|ic)$")


def expects(question: str) -> str:
    """ "money", "number", "date" or "name" when the question asks for one, else "".

    A follow-up resolved by joining questions ("Which outlet reported it? On what date?") wants
    what its last question does.
    """
    question = re.split(r"(?<=[?!])\s+", question.strip())[-1]
    question = asked(question)  # "After Yoran quit, who was named in his place?" wants a name
    if any(pattern.match(question) for pattern in SPEAKER_QUESTIONS[:2]):
        return ""  # "What did Gilbert say about how much work is left?" wants what was said
    if _MONEY.search(question):
        return "money"
    if _NUMBER.search(question):
        return "number"
    if _DATE.search(question):
        return "date"
    if _NAME.search(question):
        return "name"
    return ""


def fits(text: str, kind: str, question: str) -> bool:
    """Whether a sentence can answer a question wanting kind (see `expects`)."""
    if kind == "money":
        return bool(_CURRENCY.search(text))
    if kind == "number":
        return bool(_DIGIT.search(text))
    if kind == "date":
        return bool(_DIGIT.search(text) or _TIME.search(text))
    if kind == "name":
        asked = set(re.findall(r"\w+", question.lower()))
        inner = re.findall(r"(?<=[\w,;:] )[A-Z][\w'’-]+", text)  # capitalised, not sentence-initial
        return any(
            word.lower().removesuffix("'s") not in asked and not _DEMONYM.search(word)
            for word in inner
        )
    return True


_CAPITALISED = re.compile(r"\b[A-Z][\w'’-]*(?:\s+[A-Z][\w'’-]*)*")


def entities(question: str) -> list[str]:
    """Names a question uses, past its first word ("Turkey", "Sudani", "ISIS"); no demonyms."""
    found = []
    for match in _CAPITALISED.finditer(question):
        words = match.group(0).split()
        if match.start() == len(question) - len(question.lstrip()):
            words = words[1:]  # the question's first word is capitalised whatever it is
        words = [w for w in words if not _DEMONYM.search(re.sub(r"['’]s$", "", w)) or w.isupper()]
        if words:
            found.append(" ".join(words))
    return found
