"""The plain records that flow through ingestion: a source file, a cleaned article, a passage."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Source:
    """One article file as read from disk, decoded but not yet cleaned."""

    id: str  # POSIX path relative to the ingested folder
    kind: str  # "text", "markdown" or "html"
    raw: str
    hash: str  # sha256 of the file's bytes
    encoding: str = "utf-8"


@dataclass(frozen=True)
class Skip:
    """A file that was not ingested, and why."""

    id: str
    reason: str


@dataclass(frozen=True)
class Article:
    """A cleaned article: its text, metadata, and sentence spans into that text."""

    id: str
    hash: str
    text: str
    title: str = ""
    outlet: str = ""
    author: str = ""
    date: str = ""  # ISO 8601 (YYYY-MM-DD) when the article gives one
    sentences: tuple[tuple[int, int], ...] = ()  # (start, end) character offsets into text
    speakers: tuple[str, ...] = ()  # per sentence: who says it, "" where nobody is quoted
    people: tuple[str, ...] = ()  # everyone quoted, by canonical full name
    named: tuple[str, ...] = ()  # every person named, quoted or not
    # spaCy's named entities: (start, end, label), character offsets into text
    entities: tuple[tuple[int, int, str], ...] = ()
    passages: int = 0  # how many passages the store holds for it (0 before it is stored)


@dataclass(frozen=True)
class Passage:
    """Consecutive sentences of one article that fit the embedder's window together."""

    id: str  # passage_id(article, n)
    article: str
    n: int  # position of the passage in its article
    first: int  # index of its first sentence
    last: int  # index of its last sentence (inclusive)
    start: int  # character offsets into the article text
    end: int
    text: str  # article.text[start:end]
    embed_text: str  # what the encoder sees: the title, then the text
    sentence_spans: tuple[tuple[int, int], ...] = field(default=())  # absolute, per sentence


def passage_id(article: str, n: int) -> str:
    """The id of an article's n-th passage, in the store and in citations."""
    return f"{article}#p{n}"
