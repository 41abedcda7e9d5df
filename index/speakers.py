"""Who said what: attach a speaker to each sentence of an article.

Quotations and reported speech are found with patterns over a sentence ("...," Hussein said;
Hussein said Iraq would ...; according to Hussein; he added), then names are resolved within the
article: titles come off ("Foreign Minister Fuad Hussein" -> "Fuad Hussein"), a surname alone
means the person named in full before it, "he"/"she" means the last named speaker, and a role
("the Iraqi minister") the last speaker holding it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace

from index.records import Article

VERBS = (
    "said|says|say|saying|added|adds|adding|noted|notes|noting|stated|states|stating|told|tells|"
    "remarked|remarks|highlighted|highlights|emphasi[sz]ed|emphasi[sz]es|expressed|expresses|cited|"
    "cites|argued|argues|warned|warns|explained|explains|insisted|insists|stressed|stresses|claimed|"
    "claims|announced|announces|suggested|suggests|commented|comments|acknowledged|acknowledges|"
    "admitted|admits|denied|denies|urged|urges|asked|asks|replied|wrote|writes|continued|concluded|"
    "predicted|predicts|described|describes|believes|believed|thinks|maintained|maintains|"
    "confirmed|confirms|revealed|reveals|promised|promises|pledged|vowed|questioned|agreed|agrees"
)
STRONG_VERBS = {"said", "says", "told", "tells", "added", "adds"}
TITLES = (
    "president-elect|foreign|prime|deputy|defence|defense|finance|interior|trade|health|culture|home|chief|"
    "minister|president|secretary|senator|governor|general|chancellor|ambassador|spokesman|"
    "spokeswoman|spokesperson|chairman|chairwoman|chair|executive|director|mr|mrs|ms|dr|sir|"
    "lord|lady|professor|prof|king|queen|prince|coach|manager|leader|boss|mayor|judge|analyst|"
    "senior|former|acting|vice|iraqi|iranian|us|u\\.s\\.|british|uk|american|syrian|saudi|"
    "new|shadow|mp|mep|mps|tory|labour|conservative|liberal|democrat|lib|dem|french|german|"
    "welsh|scottish|irish|european|eu|co-chairman|co-founder|founder|head|editor|economist|"
    "official|analyst|expert|striker|captain|player"
)
ROLES = (
    "minister|president|secretary|senator|governor|chancellor|ambassador|spokesman|spokeswoman|"
    "spokesperson|chairman|chairwoman|executive|director|analyst|expert|coach|manager|leader|boss|"
    "official|mayor|judge|professor|chief|founder|economist|researcher|striker|player|singer|actor|"
    "star|lawyer|adviser|advisor"
)
# Titles that make a lone surname a person: "Prime Minister Sudani", "President Trump".
PERSON_TITLES = {"minister", "president", "secretary", "senator", "governor", "chancellor",
                 "mr", "mrs", "ms", "dr", "sir", "lord", "lady", "professor", "prof", "king",
                 "queen", "prince", "coach", "mayor", "judge", "ambassador", "general"}  # fmt: skip
_CAP = r"(?:[A-Z][\w'’.-]*|al-[A-Z][\w'’-]*|bin|van|de|von)"
_NAME = rf"{_CAP}(?:\s+{_CAP}){{0,5}}"
_Q = '"“”'
QUOTE_THEN_SPEAKER = re.compile(
    rf"[{_Q}][^{_Q}]+[,.?!]\s*[{_Q}]\s*(?:(?P<who>{_NAME}|he|she|the\s+[\w\s-]{{0,30}}?\b(?:{ROLES}))\s+(?:{VERBS})\b"
    rf"|(?:{VERBS})\s+(?P<who2>{_NAME}))"
)
_OPENERS = r"A|An|The|But|And|In|At|As|On|For|If|When|While|After|Before|With|By|From|Its|His|Her"
_ROLE_THEN_NAME = (  # "Tory leader Michael Howard", "Liberal Democrat spokeswoman Sandra Gidley"
    rf"(?!(?:{_OPENERS})\b){_CAP}(?:\s+{_CAP}){{0,2}}\s+(?:[a-z][\w-]*\s+){{0,2}}?"
    rf"(?i:{ROLES}|{TITLES})\s+{_NAME}"
)
LEADING_SPEAKER = re.compile(
    rf"^(?:(?:Regarding|On|About|Asked about|Speaking)\b[^,]*,\s*)?"
    rf"(?P<who>{_ROLE_THEN_NAME}|{_NAME}|He|She|The\s+[\w\s-]{{0,30}}?\b(?:{ROLES}))"
    rf"(?:\s*,[^,]{{1,90}},)?(?:\s+(?!(?:{VERBS})\b)[\w'’-]+){{0,9}}?\s*,?\s+(?P<verb>{VERBS})\b"
)
INNER_SPEAKER = re.compile(rf",\s+(?P<who>{_NAME})\s+(?:{VERBS})\b")
ACCORDING = re.compile(rf"\baccording to (?P<who>{_NAME})")
PRONOUN_SPEAKER = re.compile(rf"\b(?:he|she)\s+(?:{VERBS})\b", re.I)
_TITLE_WORD = re.compile(rf"^(?:{TITLES})$", re.I)
_TITLED_NAME = re.compile(rf"(?i:\b(?:{TITLES})\.?\s+)+{_NAME}")
# A titled name starts where a word run that is a title word starts (case-folded, as the pattern
# ignores case; "u.s." is the runs "u" and "s", "co-founder" "co" and "founder"), so the pattern
# is tried only there: scanning every sentence with it took two thirds of the time of
# attributing speakers, and a third of sentences hold no title word at all.
_TITLE_RUNS = frozenset(re.split(r"[|.-]", TITLES.replace("\\", ""))) - {""}
_WORD_RUN = re.compile(r"\w+")
NOT_PEOPLE = {
    "the", "it", "this", "that", "they", "we", "i", "there", "reuters", "ap", "afp", "bbc",
    "officials", "analysts", "experts", "critics", "sources", "police", "baghdad", "washington",
    "tehran", "london", "iraq", "iran", "syria", "israel", "hamas", "hezbollah", "isis",
    "a", "an", "but", "and", "in", "at", "as", "on", "for", "if", "when", "while", "after",
    "before", "with", "by", "from", "its", "his", "her", "their", "one", "some", "many", "most",
    "tory", "tories", "labour", "conservative", "conservatives", "liberal", "democrat",
    "democrats", "dem", "dems", "shadow", "government", "ministry", "reserve", "commission",
    "council", "committee", "union", "court", "company", "firm", "bank", "party", "group",
}  # fmt: skip


@dataclass
class People:
    """The people an article names, by surname, with the roles seen before their names."""

    full: dict[str, str] = field(default_factory=dict)  # surname (lower) -> full name
    roles: dict[str, set[str]] = field(default_factory=dict)  # full name -> role words

    def add(self, name: str, roles: set[str]) -> str:
        surname = name.split()[-1].lower()
        known = self.full.get(surname, "")
        if len(name.split()) > len(known.split()):
            self.full[surname] = name
            if known:
                self.roles[name] = self.roles.pop(known, set())
        canonical = self.full[surname]
        self.roles.setdefault(canonical, set()).update(roles)
        return canonical

    def by_role(self, phrase: str, recent: Sequence[str]) -> str:
        words = set(re.findall(r"\w+", phrase.lower()))
        for name in reversed(recent):
            if words & self.roles.get(name, set()):
                return name
        return recent[-1] if recent else ""


# Patterns made once: built per name, they were compiled again and again (a quarter of the time
# of attributing speakers), as Python's cache of compiled patterns holds only 512.
_APPOSITIVE = re.compile(r"\s*,([^,]{1,90}),")
_ROLE = re.compile(rf"\b(?:{ROLES})\b")
_LEADING = re.compile(
    r"^(?:(?:but|and|however|meanwhile|yet|so|also|now|then|still|instead|later|earlier|"
    r"separately|elsewhere|indeed|on|last|this|next|(?:mon|tues|wednes|thurs|fri|satur|sun)day|"
    r"january|february|march|april|may|june|july|august|september|october|november|december)"
    r"\s+)+",
    re.I,
)


def clean_name(phrase: str) -> str:
    """A speaker phrase without sentence openers or trailing punctuation: "But Mr Forgeard" ->
    "Mr Forgeard", "On Monday Tony Blair" -> "Tony Blair", "Blair." -> "Blair"."""
    return _LEADING.sub("", phrase.strip()).strip(" .,;:")


def split_title(phrase: str) -> tuple[str, set[str]]:
    """Take titles off a name: "Foreign Minister Fuad Hussein" -> "Fuad Hussein", its roles."""
    words = phrase.replace("’", "'").split()
    roles = set()
    # The name follows the last title word: "Lifelong Learning Minister Jim Wallace".
    last = max(
        (i for i, word in enumerate(words[:-1]) if _TITLE_WORD.match(word.rstrip("."))),
        default=-1,
    )
    if last >= 0:
        roles = {
            w.lower().rstrip(".") for w in words[: last + 1] if _TITLE_WORD.match(w.rstrip("."))
        }
        words = words[last + 1 :]
    while words and words[-1].endswith("'s"):
        words.pop()
    return " ".join(words), roles


class FirstNames:
    """The first name an article puts before a lone surname ("Philippe" for "Camus", from
    "Philippe Camus"): the first capitalised word before it, in the article's order, that is
    not a title, a sentence opener or a word like "The".

    It is what `re.findall(rf"\\b([A-Z][a-z]+)\\s+{surname}\\b", text)` finds, from one pass
    over the text made the first time it is asked: that search, run over the whole article for
    every surname-only speaker, took time in the square of its length (2 MB: 147 s).
    """

    _PAIR = re.compile(r"\b([A-Z][a-z]+)\s+(?=(\w+))")
    _BOUNDARY = re.compile(r"\b")

    def __init__(self, text: str):
        self.text = text
        self._after: dict[str, list[tuple[int, int, str]]] | None = None
        self._found: dict[str, str] = {}

    def before(self, surname: str) -> str:
        """The first name for surname, or "" when the article gives none."""
        if surname not in self._found:
            self._found[surname] = next(
                (first for first in self._candidates(surname) if _first_name(first)), ""
            )
        return self._found[surname]

    def _candidates(self, surname: str) -> list[str]:
        """The words findall's matches capture, in order (matches never overlap)."""
        head = re.match(r"\w+", surname)
        if not head:  # a surname that starts with punctuation: rare, searched for plainly
            return re.findall(rf"\b([A-Z][a-z]+)\s+{re.escape(surname)}\b", self.text)
        if self._after is None:
            self._after = {}
            for pair in self._PAIR.finditer(self.text):
                entry = (pair.start(), pair.end(), pair.group(1))
                self._after.setdefault(pair.group(2), []).append(entry)
        found, free = [], 0  # free: where the last match ended
        for start, rest, first in self._after.get(head.group(), []):
            end = rest + len(surname)
            if (
                start >= free
                and self.text.startswith(surname, rest)
                and self._BOUNDARY.match(self.text, end)
            ):
                found.append(first)
                free = end
        return found


def _first_name(word: str) -> bool:
    return (
        not _TITLE_WORD.match(word)
        and not _LEADING.match(word + " ")
        and word.lower() not in NOT_PEOPLE
    )


def _person(
    phrase: str, people: People, recent: list[str], strong: bool, names: FirstNames | None = None
) -> str:
    """The canonical speaker a subject phrase names, or "" when it is not a person."""
    phrase = phrase.strip()
    lowered = phrase.lower()
    if lowered in {"he", "she"}:
        return recent[-1] if recent else ""
    if lowered.startswith("the "):
        return people.by_role(phrase, recent)
    name, roles = split_title(clean_name(phrase))
    tokens = name.split()
    if not tokens or tokens[0].lower() in NOT_PEOPLE or tokens[-1].lower() in NOT_PEOPLE:
        return ""
    if len(tokens) == 1 and tokens[0].lower() not in people.full and not strong:
        return ""  # a lone capitalised word is a person only when it plainly speaks
    if len(tokens) == 1 and names:
        # "Mr Camus said" in an article that earlier named "Philippe Camus"
        first = names.before(tokens[0])
        if first:
            name = f"{first} {tokens[0]}"
    return people.add(name, roles)


def _titled_names(sentence: str) -> Iterator[re.Match]:
    """`_TITLED_NAME.finditer(sentence)`, trying the pattern only where a title word starts."""
    end = 0
    for run in _WORD_RUN.finditer(sentence):
        if run.start() >= end and run.group().casefold() in _TITLE_RUNS:
            match = _TITLED_NAME.match(sentence, run.start())
            if match:
                end = match.end()
                yield match


def attribute(sentences: Sequence[str], known: People | None = None) -> tuple[list[str], People]:
    """The speaker of each sentence ("" where none), and the people found.

    Args:
        sentences: an article's sentences in order.
        known: people named earlier (the title line, say).
    """
    people = known or People()
    names = FirstNames(" ".join(sentences))
    recent: list[str] = []
    speakers: list[str] = []
    for sentence in sentences:
        for match in _titled_names(sentence):
            name, roles = split_title(match.group(0))
            titled = len(name.split()) >= 2 or roles & PERSON_TITLES
            if titled and roles and name[:1].isupper():
                people.add(name, roles)  # learn "Foreign Minister Fuad Hussein" before he speaks
        speaker = ""
        for pattern in (QUOTE_THEN_SPEAKER, INNER_SPEAKER, LEADING_SPEAKER, ACCORDING):
            match = pattern.search(sentence)
            if not match:
                continue
            who = match.group("who") or (match.groupdict().get("who2") or "")
            verb = (match.groupdict().get("verb") or "said").lower()
            strong = verb in STRONG_VERBS or pattern is not LEADING_SPEAKER
            speaker = _person(who, people, recent, strong, names)
            if speaker:
                # "Caroline Rose, senior analyst at ...," is an analyst
                appositive = sentence.startswith(who) and _APPOSITIVE.match(sentence, len(who))
                if appositive:
                    roles = set(_ROLE.findall(appositive.group(1).lower()))
                    people.roles.setdefault(speaker, set()).update(roles)
                break
        if not speaker and PRONOUN_SPEAKER.search(sentence) and recent:
            speaker = recent[-1]
        if not speaker and sentence.lstrip()[:1] in _Q and speakers and speakers[-1]:
            speaker = speakers[-1]  # an unattributed quote goes on with the last speaker
        if speaker:
            recent.append(speaker)
        speakers.append(speaker)
    return speakers, people


def with_speakers(article: Article) -> Article:
    """The article with a speaker for each of its sentences (an ingest step)."""
    speakers, people = attribute([article.text[s:e] for s, e in article.sentences])
    quoted = tuple(sorted({name for name in speakers if name}))
    named = tuple(sorted(set(people.full.values()) | set(quoted)))
    return replace(article, speakers=tuple(speakers), people=quoted, named=named)
