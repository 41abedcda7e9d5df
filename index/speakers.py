"""Who said what, from spaCy's parse: a speaker and the named entities of each sentence.

A sentence's speaker is the person in an "according to X" that frames it (where it quotes
no one), the subject of a verb of saying (by lemma, in any form: "said", "insists", "has
warned", "saying"), the organisation or person in any other "according to X", or, for a quote
that goes on, the speaker before it. Names come from spaCy's PERSON entities and are resolved
within the article (`index.names`): a surname alone ("Mr Lee-Smith") means the person named in
full with it, "he" or "she" the last one who spoke (unless the article writes of them with the
other pronoun or title), and a definite role ("the chief executive") the last speaker seen
with that role ("chief executive Jan Brabec-Lund"). What stands before a name is a role or an
organisation, never the name: "Acme Notes chairman John Smith" is John Smith, chairman at Acme
Notes. An organisation that speaks ("the Conservatives said", "a Labour spokesman said") is no
person: the sentence gets no speaker.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from index.names import (
    TITLES,
    People,
    entity_of,
    learn_genders,
    learn_names,
    name_span,
    person_name,
    role_words,
    roles_around,
    title_words,
)
from index.nlp import PERSON, entities, pipeline, read, word_class
from index.records import Article

# Verbs of saying, by lemma: any form of them counts ("tells", "had warned", "insisting").
SAY = frozenset((
    "say", "add", "tell", "note", "state", "remark", "highlight", "emphasise", "emphasize",
    "argue", "warn", "explain", "insist", "stress", "claim", "announce", "suggest", "comment",
    "acknowledge", "admit", "deny", "urge", "ask", "reply", "write", "continue", "conclude",
    "predict", "describe", "believe", "think", "maintain", "confirm", "reveal", "promise",
    "pledge", "vow", "question", "agree", "disagree", "cite", "criticise", "criticize",
    "complain", "accuse", "estimate", "forecast", "report", "reckon", "contend", "concede",
    "caution", "recall", "observe", "declare", "assert", "respond", "mention", "indicate",
    "hint", "boast", "joke", "quip", "dismiss", "praise", "welcome", "defend", "blame", "point",
    "tweet", "testify", "expect", "hope", "fear", "feel", "reiterate", "allege", "apologise",
    "apologize", "express",
))  # fmt: skip
# The verbs that report speech in any form ("saying"); the others only as a finite verb or
# with a quote or a clause after them: "Trump takes office, promising pressure" is no speech,
# "he promised that" is.
_CORE = frozenset(("say", "tell", "add"))
_QUOTES = '"“”'
_PRONOUNS = {"he", "she"}
# The most sentences one quotation is taken to run over: an unbalanced quote mark (a typo, an
# inch sign) must not hand one speaker the rest of the article.
MAX_RUN = 5


def lemma(token) -> str:
    """The verb of saying (or "quote") a word is a form of, else the word lower-cased:
    "insisted" -> "insist", "told" -> "tell"."""
    return _LEMMAS.get(token.lower_, token.lower_)


def say_verbs(doc) -> list:
    """The sentence's verbs of saying, the main clause's first."""
    verbs = []
    for token in doc:
        if word_class(token) not in {"VERB", "AUX"} or lemma(token) not in SAY:
            continue
        if lemma(token) not in _CORE and not (
            token.tag_ in {"VBD", "VBZ", "VBP"}  # "Mr Valentine agreed."
            or any(child.dep_ in {"ccomp", "parataxis"} for child in token.children)
            or any(ch in token.doc.text for ch in _QUOTES)
        ):
            continue
        verbs.append(token)
    # "said" before "reported": "..., Hussein said in an interview Al Hurra reported"
    return sorted(verbs, key=lambda t: (lemma(t) not in _CORE, _depth(t), t.i))


def _depth(token) -> int:
    depth = 0
    while token.head.i != token.i and depth < 50:
        token, depth = token.head, depth + 1
    return depth


def subject_of(verb):
    """The subject of a verb of saying; of the verb it is joined to ("X dismissed ... and said")
    or that it explains ("X criticised ..., saying") when it has none of its own; the person
    quoted ("the paper quoted Mr Chernin as saying"); the agent of a passive ("denied by X")."""
    for _ in range(3):
        for child in verb.children:
            if child.dep_ == "nsubj":
                return child
            if child.dep_ == "agent":
                return next((c for c in child.children if c.dep_ == "pobj"), None)
        head = verb.head
        if head.i != verb.i and lemma(head) == "quote":
            quoted = [c for c in head.children if c.dep_ in {"dobj", "nsubjpass"}]
            return quoted[0] if quoted else None
        if verb.dep_ in {"conj", "advcl", "xcomp"} and head.i != verb.i:
            verb = head
        else:
            return None
    return None


@dataclass
class _Reading:
    """What attributing one article has seen so far."""

    people: People
    recent: list[str] = field(default_factory=list)  # each speech's speaker ("" for no person)
    mentioned: str = ""  # the last person named

    def last(self) -> str:
        """Who "he" or "she" is: the last speaker (no one after an organisation spoke), else
        the last person named."""
        return self.recent[-1] if self.recent else self.mentioned

    def mention(self, doc) -> None:
        """Remember the last person a sentence names."""
        for entity in reversed(doc.ents):
            if entity.label_ in PERSON:
                name = person_name(entity)
                if name:
                    self.mentioned = self.people.canonical(name)
                    return


def _who(subject, reading: _Reading) -> tuple[str, bool]:
    """The person a subject names ("" for none), and whether it speaks at all: an organisation
    or an unnamed role speaks, as no one; "I" or "we" inside a quote is not who is quoting."""
    lowered = subject.lower_
    if lowered in _PRONOUNS:
        # "she said" is not the last speaker if the article writes of him as "he"
        last = reading.last()
        return ("" if reading.people.gender.get(last, lowered) != lowered else last), True
    if word_class(subject) == "PRON":
        return "", lowered in {"they", "it"}
    entity = entity_of(subject)
    if entity is not None and entity.label_ in PERSON:
        return _named(entity, reading), True
    if word_class(subject) == "PROPN" and lowered in reading.people.full:
        return reading.people.full[lowered], True
    # The name after a role: "The spokesman, John Smith, said"; "director John Binks".
    appositions = [child for child in subject.children if child.dep_ == "appos"]
    for child in appositions:
        inner = entity_of(child)
        if inner is not None and inner.label_ in PERSON:
            return _named(inner, reading), True
    if word_class(subject) == "PROPN" and subject.tag_ != "NNPS":
        # A name spaCy gave no PERSON label: "Lord Rennard told", "Maeve Sherlock, chief
        # executive of the Refugee Council, said" (labelled an organisation).
        role = any(not entity_of(c) and role_words(c.subtree) for c in appositions)
        span = name_span(subject)
        name = person_name(span)
        determined = any(c.dep_ == "det" for c in subject.children)  # "the Hollywood Reporter"
        if not determined and ((entity is None and len(span) >= 2) or (role and name)):
            return reading.people.add(name, set()), True
        return "", True
    # A role: "the Lib Dem chief executive said" is the chief executive named earlier; "a
    # Labour spokesman said" is someone the article does not name.
    words = role_words(t for t in subject.subtree if t.i <= subject.i)
    definite = any(t.lower_ in {"the", "this"} for t in subject.children if t.dep_ == "det")
    if definite and words:
        held = reading.people.by_role(words, reading.recent)
        if held:
            return held, True
    return "", True


def _named(entity, reading: _Reading) -> str:
    """A PERSON entity as the article's fullest name for them, with the roles around it; ""
    for a lone word the article never gives in full and no title marks as a person ("Yukos
    said", labelled a person)."""
    name = person_name(entity)
    titled = bool(title_words(entity) & TITLES)
    known = name.lower() in reading.people.full or bool(reading.people.given.get(name.lower()))
    if not name or (len(name.split()) == 1 and not titled and not known):
        return ""
    return reading.people.add(name, roles_around(entity))


def _according(doc, reading: _Reading, framing: bool = False) -> tuple[str, bool]:
    """The person of "according to X" (or the organisation, as no one); with `framing`, only
    where it frames the main clause ("According to Mr Sands, Lord Goldsmith had warned ..."),
    not a clause inside it ("Smith said that, according to Jones, ...")."""
    for token in doc:
        if (
            token.lower_ == "according"
            and token.i + 1 < len(doc)
            and doc[token.i + 1].lower_ == "to"
            and (not framing or token.head.dep_ == "ROOT")
        ):
            for obj in doc[token.i + 1].children:
                if obj.dep_ == "pobj":
                    return _who(obj, reading)
    return "", False


def attribute(docs: Sequence, known: People | None = None) -> tuple[list[str], People]:
    """The speaker of each sentence ("" where none), and the people found.

    Args:
        docs: an article's sentences in order, as `read_sentences` reads them.
        known: people named earlier (the title line, say).
    """
    reading = _Reading(known or People())
    learn_names(docs, reading.people)  # "Mr Howard said" may come before "Michael Howard"
    learn_genders(docs, reading.people)
    speakers: list[str] = []
    spoke: list[bool] = []
    for doc in docs:
        # "According to Mr Sands, Lord Goldsmith had warned ...": Mr Sands is the source; but
        # in "According to Mr Peston the prime minister said: "Help me ..."" the quote is the
        # prime minister's.
        quotes = any(mark in doc.text for mark in _QUOTES)
        framed = "" if quotes else _according(doc, reading, framing=True)[0]
        speaker, speaks = framed, bool(framed)
        for verb in [] if framed else say_verbs(doc):
            subject = subject_of(verb)
            if subject is not None:
                speaker, speaks = _who(subject, reading)
                if speaks:
                    break
        if not speaks:
            speaker, speaks = _according(doc, reading)
        if speaks:
            reading.recent.append(speaker)
        speakers.append(speaker)
        spoke.append(speaks)
        reading.mention(doc)
    return _quoted_on(docs, speakers, spoke), reading.people


def _quoted_on(docs: Sequence, speakers: list[str], spoke: list[bool]) -> list[str]:
    """Speakers for the sentences of a quotation: a quote opened in one sentence and closed in a
    later one is the words of whoever the run names; a run that opens with a quote mark and
    names no one goes on from the speaker just before it."""
    speakers = list(speakers)
    run: list[int] = []
    inside = False
    for index, doc in enumerate(docs):
        text = doc.text.strip()
        marks = sum(text.count(q) for q in _QUOTES)
        if inside and text[:1] in _QUOTES:
            marks -= 1  # a quote that runs into a new paragraph opens it again
        if inside or marks % 2 == 1 or text[:1] in _QUOTES:
            run.append(index)
        inside = (inside + marks) % 2 == 1
        if run and (not inside or len(run) >= MAX_RUN):
            _fill(run, speakers, spoke, docs)
            run, inside = [], False
    if run:
        _fill(run, speakers, spoke, docs)
    return speakers


def _fill(run: list[int], speakers: list[str], spoke: list[bool], docs: Sequence) -> None:
    """Give the sentences of a quotation run its speaker: the one it names (no one, when an
    organisation speaks), else the one before it when it opens with a quote mark."""
    said = [i for i in run if spoke[i]]
    named = speakers[said[0]] if said else ""
    opens = docs[run[0]].text.strip()[:1] in _QUOTES
    if not said and opens and run[0] > 0:
        named = speakers[run[0] - 1]
    for i in run:
        if not speakers[i]:
            speakers[i] = named


def with_speakers(article: Article) -> Article:
    """The article with a speaker and the named entities of each sentence (an ingest step)."""
    return with_speakers_all([article])[0]


def with_speakers_all(articles: Sequence[Article]) -> list[Article]:
    """`with_speakers` for many articles, their sentences read by spaCy in batches: every
    sentence's entities; the tags and parse of those that can hold speech (a verb of saying,
    "according to"), the parse being the costliest step (see README)."""
    texts = [a.text[s:e] for a in articles for s, e in a.sentences]
    docs = read_sentences(texts)
    done, at = [], 0
    for article in articles:
        parsed = docs[at : at + len(article.sentences)]
        at += len(article.sentences)
        speakers, people = attribute(parsed)
        found = tuple(
            entity
            for doc, (start, _) in zip(parsed, article.sentences, strict=True)
            for entity in entities(doc, start)
        )
        quoted = tuple(sorted({name for name in speakers if name}))
        mentioned = {
            people.canonical(name)
            for name in (person_name(e) for doc in parsed for e in doc.ents if e.label_ in PERSON)
            if name
        }
        named = tuple(sorted(set(people.full.values()) | set(quoted) | mentioned))
        done.append(
            replace(article, speakers=tuple(speakers), people=quoted, named=named, entities=found)
        )
    return done


def load_reader() -> None:
    """Load spaCy's pipeline now (in a process that will read articles)."""
    pipeline()


def read_sentences(texts: Sequence[str]) -> list:
    """spaCy's reading of sentences for attribution: the entities of all, the parse of those
    that may report speech (see `index.nlp.read`)."""
    return read(texts, may_speak)


def _forms(lemma: str) -> set[str]:
    """The written forms of a regular verb: "say" -> says, sayed, saying ...: enough to know
    which sentences need the parse and, with the irregular ones, which verb a form is of
    (`lemma`); the tagger says whether it is a verb there."""
    stem = lemma[:-1] if lemma.endswith("e") else lemma
    forms = {lemma, lemma + "s", lemma + "es", stem + "ed", stem + "ing", lemma + "d"}
    if lemma.endswith("y"):
        forms |= {lemma[:-1] + "ies", lemma[:-1] + "ied"}
    if len(lemma) > 2 and lemma[-1] not in "aeiouwy" and lemma[-2] in "aeiou":
        forms |= {lemma + lemma[-1] + "ed", lemma + lemma[-1] + "ing"}
    return forms


_IRREGULAR = {"said": "say", "told": "tell", "wrote": "write", "written": "write",
              "thought": "think", "felt": "feel"}  # fmt: skip
_LEMMAS = {form: verb for verb in sorted(SAY | {"quote"}) for form in _forms(verb)} | _IRREGULAR
SAY_FORMS = frozenset(form for form, verb in _LEMMAS.items() if verb in SAY)
_WORD = re.compile(r"[a-z]+")


def may_speak(text: str) -> bool:
    """Whether a sentence's words may report speech: "according" or a form of a verb of saying
    (a quotation with neither goes on from its speaker, which needs no parse)."""
    return any(word in SAY_FORMS or word == "according" for word in _WORD.findall(text.lower()))
