"""Write the answer: the picked sentences, each followed by its numbered citation."""

from __future__ import annotations

from collections.abc import Sequence

from index.store import PassageHit
from rag.answer import Answer, Citation
from rag.select import Scored

NOT_COVERED = "The articles don't cover this."


def citations(picked: Sequence[Scored], hits: Sequence[PassageHit]) -> list[Citation]:
    meta = {hit.article: hit for hit in hits}
    return [
        Citation(
            n=n,
            article=s.sentence.article,
            title=meta[s.sentence.article].title if s.sentence.article in meta else "",
            quote=s.sentence.text,
            start=s.sentence.start,
            end=s.sentence.end,
            score=round(s.score, 4),
            outlet=meta[s.sentence.article].outlet if s.sentence.article in meta else "",
            date=meta[s.sentence.article].date if s.sentence.article in meta else "",
        )
        for n, s in enumerate(picked, start=1)
    ]


def answer(question: str, query: str, cited: list[Citation], related: list[Citation]) -> Answer:
    if not cited:
        text = NOT_COVERED
        if related:
            text += " The closest passages are listed as related, not as an answer."
        return Answer(text, [], True, question, query, related)
    text = " ".join(f"{c.quote} [{c.n}]" for c in cited)
    return Answer(text, cited, False, question, query, [])
