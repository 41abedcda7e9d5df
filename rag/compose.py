"""Write the answer: cited spans of article text, led by the one that answers, each with [n]."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from index.nlp import parsed, word_class
from index.speakers import say_verbs, subject_of
from index.store import SentenceRecord, Store
from rag.answer import Answer, Citation
from rag.read import Pick, Reading, Scored
from rag.retrieve import Found
from rag.understand import Query

NOT_COVERED = "The articles don't cover this."
RELATED = " The closest passages are listed as related, not as an answer."
_OPEN, _CLOSE = "“", "”"


@dataclass(frozen=True)
class Source:
    """What a citation shows of its article."""

    title: str = ""
    outlet: str = ""
    date: str = ""


@dataclass(frozen=True)
class Span:
    """Consecutive sentences of one article cited together."""

    article: str
    first: int
    last: int
    start: int
    end: int
    quote: str
    score: float
    speaker: str  # of its first sentence that has one
    also: tuple[str, ...] = ()
    speakers: tuple[str, ...] = ()  # who says any of its sentences, once each, in order


def reply(db: Store, query: Query, found: Found, reading: Reading) -> Answer:
    """The answer to query from the reader's picks: cited spans of article text, or an
    abstention that says why and lists the closest sentences as related."""
    by_position = {(r.article, r.index): r for r in found.pool}
    for pick in reading.picks:  # a quotation left open runs on in sentences not retrieved
        record = pick.chosen.sentence
        if open_quotes(record.text):
            for near in db.sentences_between(record.article, record.index - 3, record.index + 3):
                by_position.setdefault((near.article, near.index), near)
    cited = spans(reading.picks, by_position)
    involved = {s.article for s in cited} | {a for s in cited for a in s.also}
    involved |= {s.sentence.article for s in reading.scored[:3]}
    shown = sources(db, involved)
    near = [] if cited else related(reading.scored, shown)
    reason = found.missing or NOT_COVERED
    if found.speaker and not found.missing:
        reason = f"The articles quote {found.speaker}, but not on {query.topic.rstrip('?.! ')}."
    question = query.question or query.text
    return answer(question, query.text, cited, shown, near, reason)


def sources(db: Store, article_ids: Iterable[str]) -> dict[str, Source]:
    """What each article's citations show of it: title, outlet and date."""
    return {
        article.id: Source(article.title, article.outlet, article.date)
        for article in db.articles_by_id(sorted(set(article_ids)))
    }


def open_quotes(text: str) -> int:
    """Quotation marks this text leaves open (negative: closes ones opened before it)."""
    straight = text.count('"') % 2
    curly = text.count(_OPEN) - text.count(_CLOSE)
    if straight:
        return 1 if text.lstrip().startswith('"') or text.count('"') > 1 else -1
    return curly


def spans(
    picks: Sequence[Pick],
    pool: Mapping[tuple[str, int], SentenceRecord],
    rank: Mapping[tuple[str, int], float] | None = None,
) -> list[Span]:
    """Merge picked sentences into spans: adjacent ones join, and a quotation that runs over
    several sentences is cited whole. The span holding the best sentence leads; the others
    follow by article (best first), in reading order. Best is by rank, a score per (article,
    sentence index) where given, else by the picks' scores."""
    chosen: dict[str, set[int]] = {}
    score: dict[tuple[str, int], float] = {}
    also: dict[tuple[str, int], tuple[str, ...]] = {}
    for pick in picks:
        record = pick.chosen.sentence
        indices = chosen.setdefault(record.article, set())
        indices.add(record.index)
        score[(record.article, record.index)] = pick.chosen.score
        also[(record.article, record.index)] = tuple(
            dict.fromkeys(a.sentence.article for a in pick.also)
        )
        _complete_quote(record, indices, pool)
    result = []
    for article, indices in chosen.items():
        run: list[int] = []
        for index in sorted(indices) + [None]:
            if run and (index is None or index != run[-1] + 1):
                records = [pool[(article, i)] for i in run]
                result.append(_span(article, records, score, also))
                run = []
            if index is not None:
                run.append(index)
    order = {**score, **(rank or {})}

    def best(span: Span) -> float:  # of its picked sentences (a completed quote adds others)
        keys = [(span.article, i) for i in range(span.first, span.last + 1)]
        return max(order[k] for k in keys if k in order)

    best_article = {}
    for span in sorted(result, key=lambda s: -best(s)):
        best_article.setdefault(span.article, len(best_article))
    ordered = sorted(result, key=lambda s: (best_article[s.article], s.first))
    lead = max(ordered, key=best) if ordered else None
    return ([lead] + [s for s in ordered if s is not lead]) if lead else []


def _complete_quote(record, indices: set[int], pool) -> None:
    balance, index = open_quotes(record.text), record.index
    while balance > 0 and (record.article, index + 1) in pool and index - record.index < 3:
        index += 1
        indices.add(index)
        balance += open_quotes(pool[(record.article, index)].text)
    index = record.index
    while balance < 0 and (record.article, index - 1) in pool and record.index - index < 3:
        index -= 1
        indices.add(index)
        balance += open_quotes(pool[(record.article, index)].text)


def _span(article, records: list[SentenceRecord], score, also) -> Span:
    quote = records[0].text
    for previous, record in zip(records, records[1:], strict=False):
        # Cleaned text has at most one space between sentences of a paragraph and a blank line
        # between paragraphs, so the gap's length says what it holds.
        quote += ("", " ", "\n\n")[record.start - previous.end] + record.text
    keys = [(article, r.index) for r in records]
    return Span(
        article=article,
        first=records[0].index,
        last=records[-1].index,
        start=records[0].start,
        end=records[-1].end,
        quote=quote,
        score=max(score.get(k, 0.0) for k in keys),
        speaker=next((r.speaker for r in records if r.speaker), ""),
        also=tuple(dict.fromkeys(a for k in keys for a in also.get(k, ()))),
        speakers=tuple(dict.fromkeys(r.speaker for r in records if r.speaker)),
    )


def for_reader(span: Span) -> str:
    """The span as the answer shows it: who "he" or "the minister" is, in brackets."""
    text = " ".join(span.quote.split())
    if not span.speaker or span.speaker.split()[-1] in text:
        return text
    for verb in say_verbs(parsed(text)):  # "he said", "the minister told": who, after the subject
        subject = subject_of(verb)
        if subject is not None and word_class(subject) in {"PRON", "NOUN"}:
            at = subject.idx + len(subject)
            return f"{text[:at]} [{span.speaker}]{text[at:]}"
    if text[:1] in '"“':  # a quotation with no one named in it
        return f"[{span.speaker}:] {text}"
    return text


def citations(cited: Sequence[Span], sources: Mapping[str, Source]) -> list[Citation]:
    return [
        Citation(
            n=n,
            article=span.article,
            title=sources.get(span.article, Source()).title,
            quote=span.quote,
            start=span.start,
            end=span.end,
            score=round(span.score, 4),
            outlet=sources.get(span.article, Source()).outlet,
            date=sources.get(span.article, Source()).date,
            also=list(span.also),
            speaker=", ".join(span.speakers or ([span.speaker] if span.speaker else [])),
        )
        for n, span in enumerate(cited, start=1)
    ]


def related(
    scored: Sequence[Scored], sources: Mapping[str, Source], count: int = 3
) -> list[Citation]:
    """The closest sentences, for an abstention: shown as related, never as an answer."""
    records = [s.sentence for s in scored[:count]]
    return citations(
        [Span(r.article, r.index, r.index, r.start, r.end, r.text, s.score, r.speaker)
         for r, s in zip(records, scored, strict=False)],
        sources,
    )  # fmt: skip


def answer(
    question: str, query: str, cited: Sequence[Span], sources: Mapping[str, Source],
    near: list[Citation], reason: str = NOT_COVERED,
) -> Answer:  # fmt: skip
    if not cited:
        return Answer(reason + (RELATED if near else ""), [], True, question, query, near)
    found = citations(cited, sources)
    text = " ".join(f"{for_reader(span)} [{c.n}]" for span, c in zip(cited, found, strict=True))
    return Answer(text, found, False, question, query, [])
