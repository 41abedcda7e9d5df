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
    """

    text: str
    citations: list[Citation] = field(default_factory=list)
    abstained: bool = False
    question: str = ""
    query: str = ""
    related: list[Citation] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)
