"""The people an article names: their names without titles, the roles written beside them,
whether the article writes of them as "he" or "she", and a surname or a family name alone
resolved to the fullest name the article gives (from spaCy's PERSON entities and tags;
`index.speakers` uses them to say who said what).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from index.nlp import PERSON, word_class

TITLES = frozenset((
    "mr", "mrs", "ms", "miss", "dr", "sir", "lord", "lady", "dame", "professor", "prof",
    "baroness", "baron", "rev", "reverend",
))  # fmt: skip
_ROLE_CLASSES = {"NOUN", "ADJ", "PROPN"}  # the words of a role: "Tory leader", "chief executive"


@dataclass
class People:
    """The people an article names: full names by surname, the role words seen with each, and
    the pronoun the article uses for each."""

    full: dict[str, str] = field(default_factory=dict)  # surname (lower) -> fullest name
    roles: dict[str, set[str]] = field(default_factory=dict)  # full name -> role words
    given: dict[str, str] = field(default_factory=dict)  # family name first: "xie" -> "Xie Xuren"
    gender: dict[str, str] = field(default_factory=dict)  # full name -> "he" or "she", if known

    def add(self, name: str, roles: set[str] = frozenset()) -> str:
        """Learn a name (and roles); the article's fullest name with the same surname, or
        the one name that starts with it ("Mr Xie" is "Xie Xuren")."""
        if (
            len(name.split()) == 1
            and name.lower() not in self.full
            and self.given.get(name.lower())
        ):
            name = self.given[name.lower()]
        words = name.split()
        if len(words) >= 2:
            first = words[0].lower()
            self.given[first] = "" if self.given.get(first, name) != name else name
        surname = words[-1].lower()
        known = self.full.get(surname, "")
        if len(name.split()) > len(known.split()):
            self.full[surname] = name
            if known:
                self.roles[name] = self.roles.pop(known, set()) | self.roles.get(name, set())
        canonical = self.full[surname]
        self.roles.setdefault(canonical, set()).update(roles)
        return canonical

    def canonical(self, name: str) -> str:
        """The fullest name the article gives with a name's surname, else the name itself."""
        return self.full.get(name.split()[-1].lower(), name)

    def by_role(self, words: set[str], recent: Sequence[str]) -> str:
        """The last speaker seen with any of these role words, else anyone named with them."""
        for name in reversed(recent):
            if name and words & self.roles.get(name, set()):
                return name
        holders = [name for name, roles in self.roles.items() if words & roles]
        return holders[0] if len(holders) == 1 else ""


def person_name(span) -> str:
    """A PERSON entity's name without titles or possessive: "Mr Lee-Smith's" -> "Lee-Smith"."""
    words = [t.text for t in span if not t.is_punct or t.text in "-'’."]
    text = " ".join(words).replace(" - ", "-").replace(" -", "-").replace("- ", "-")
    return plain_name(text.replace(" 's", "'s").replace(" '", "'"))


def plain_name(name: str) -> str:
    """A name as written, without leading titles or a possessive: "Mr Blair's" -> "Blair"."""
    parts = name.replace("’", "'").split()
    while len(parts) > 1 and parts[0].lower().rstrip(".") in TITLES:
        parts.pop(0)
    if parts:
        parts[-1] = re.sub(r"'s?$", "", parts[-1])
    return " ".join(p for p in parts if p)


def title_words(entity) -> set[str]:
    """The words a title of a PERSON entity would be, lower-cased without a full stop: the word
    before it and its own first word ("Mr" of "Mr Blair", however spaCy drew the entity)."""
    before = entity.doc[entity.start - 1] if entity.start > 0 else entity[0]
    return {before.lower_.rstrip("."), entity[0].lower_.rstrip(".")}


def entity_of(token):
    """The entity span a token is part of, or None."""
    if not token.ent_type_:
        return None
    for ent in token.doc.ents:
        if ent.start <= token.i < ent.end:
            return ent
    return None


def role_words(tokens) -> set[str]:
    """Lower-cased common nouns and adjectives of a role phrase ("chief executive")."""
    return {
        t.lower_
        for t in tokens
        if word_class(t) in _ROLE_CLASSES and not t.ent_type_ and t.is_alpha and len(t) > 2
    }


def roles_around(entity) -> set[str]:
    """The role words written next to a name, by the words' tags, not the parse: before it
    ("Tory leader Michael Howard", "Acme Notes chairman John Smith") and in an apposition after
    it ("Maeve Sherlock, chief executive of the Refugee Council,"). A sentence left unparsed
    (no verb of saying) has no tags, so teaches none."""
    doc = entity.doc
    before = []
    i = entity.start - 1
    while i >= 0 and word_class(doc[i]) in _ROLE_CLASSES and doc[i].lower_ not in TITLES:
        before.append(doc[i])
        i -= 1
    after = []
    if entity.end + 1 < len(doc) and doc[entity.end].text == ",":
        i = entity.end + 1
        while i < len(doc) and doc[i].text not in {",", ".", ";", ":"} and doc[i].lower_ != "of":
            after.append(doc[i])
            i += 1
    return role_words(before) | role_words(after)


def name_span(token):
    """A proper noun with the proper nouns compounded before it: "Lord Rennard"."""
    start = token.i
    while (
        start > 0
        and word_class(token.doc[start - 1]) in {"PROPN", "PUNCT"}
        and (
            token.doc[start - 1].head.i in range(start, token.i + 1)
            and token.doc[start - 1].dep_ in {"compound", "punct"}
        )
    ):
        start -= 1
    return token.doc[start : token.i + 1]


def learn_names(docs: Sequence, people: People) -> None:
    """Every full name the article gives, with the role words before or beside it; then, for
    a surname never given in full as an entity, the first name written before it ("Tony" of
    "Tony Blair", where spaCy labelled only "Blair")."""
    for doc in docs:
        for entity in doc.ents:
            if entity.label_ not in PERSON:
                continue
            name = person_name(entity)
            if len(name.split()) < 2:
                continue
            people.add(name, roles_around(entity))
    for doc in docs:
        for first, last in zip(doc, doc[1:], strict=False):
            surname = last.text.lower()
            # a PERSON entity that stops one word short: "Tony" of "Tony Blair"
            if (
                first.ent_type_ == "PERSON"
                and first.ent_iob_ == "B"
                and not last.ent_type_
                and last.is_title
                and last.is_alpha
                and first.is_title
                and first.lower_.rstrip(".") not in TITLES
                and surname not in people.full
            ):
                people.add(f"{first.text} {last.text}")


_HE = frozenset(("he", "him", "his", "himself"))
_SHE = frozenset(("she", "her", "hers", "herself"))
_TITLE_GENDER = {"mr": "he", "sir": "he", "lord": "he", "baron": "he", "mrs": "she", "ms": "she",
                 "miss": "she", "lady": "she", "dame": "she", "baroness": "she"}  # fmt: skip


def learn_genders(docs: Sequence, people: People) -> None:
    """Whether each person is "he" or "she", as the article writes of them: titles ("Mr",
    "Mrs") count three, and each "he", "his", "she" or "her" of a sentence that names only that
    person, or of the sentence after it when that one names no one, counts one. Left unknown on
    a tie."""
    votes: dict[str, Counter] = {}
    alone = ""  # the one person the last sentence named
    for doc in docs:
        named = set()
        for entity in doc.ents:
            name = person_name(entity) if entity.label_ in PERSON else ""
            if not name:
                continue
            name = people.canonical(name)
            named.add(name)
            for word in title_words(entity) & _TITLE_GENDER.keys():
                votes.setdefault(name, Counter())[_TITLE_GENDER[word]] += 3
        about = next(iter(named)) if len(named) == 1 else "" if named else alone
        if about:
            count = votes.setdefault(about, Counter())
            for token in doc:
                count["he"] += token.lower_ in _HE
                count["she"] += token.lower_ in _SHE
        alone = next(iter(named)) if len(named) == 1 else ""
    for name, count in votes.items():
        if count["he"] != count["she"]:
            people.gender[name] = "he" if count["he"] > count["she"] else "she"
