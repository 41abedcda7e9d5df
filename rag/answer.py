"""What `ask()` returns: an answer whose sentences carry numbered citations to article sentences."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class Citation:
    """One cited sentence: `article_text(article)[start:end] == quote`, always."""

    n: int
    article: str
    title: str
    quote: str
    start: int
    end: int
    score: float
    outlet: str = ""
    date: str = ""
    also: list[str] = field(default_factory=list)  # other articles reporting the same thing
    speaker: str = ""  # who says the quote (", " between several), as ingest attributed it


@dataclass(frozen=True)
class Sentence:
    """A sentence an LLM wrote, with the citations it rests on and how well they support it.

    Attributes:
        text: the sentence, without its [n] markers.
        citations: the numbers (into Answer.citations) it cites.
        support: the support scorer's probability that the cited sentences support it (0-1).
        supported: support reached the threshold; an unsupported sentence is shown flagged.
    """

    text: str
    citations: list[int]
    support: float
    supported: bool


@dataclass(frozen=True)
class Answer:
    """An answer with inline `[n]` markers, or an abstention ("the articles don't say").

    Attributes:
        text: the answer, each sentence followed by the `[n]` of the citation it came from.
        citations: the cited sentences, numbered from 1 in the order they appear in text.
        abstained: True when the articles do not answer the question.
        question: the question as asked.
        query: the query actually used for retrieval (a follow-up carries its earlier turn).
        related: when abstained, the closest sentences, shown as related and not as an answer.
        mode: "extractive" (the article sentences themselves), "llm" (written by an LLM and
            checked sentence by sentence) or "llm-fallback" (an LLM was asked for, and the
            extractive answer is given instead: `note` says why).
        sentences: each sentence the LLM wrote, with its citations (numbers into the sources it
            was given, in "llm-fallback" mode) and support.
        model: the LLM that wrote them.
        note: why the extractive answer stands in for the LLM's.
    """

    text: str
    citations: list[Citation] = field(default_factory=list)
    abstained: bool = False
    question: str = ""
    query: str = ""
    related: list[Citation] = field(default_factory=list)
    mode: str = "extractive"
    sentences: list[Sentence] = field(default_factory=list)
    model: str = ""
    note: str = ""

    def to_dict(self) -> dict:
        return asdict(self)
