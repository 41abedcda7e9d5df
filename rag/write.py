"""Write: an LLM writes the answer from numbered article sentences, and every sentence it writes
is checked against the sentences it cites before it is shown as sourced.

The model sees the question and the best candidate sentences (the cited ones first), each
numbered with its article's title, outlet and date, and is asked for short sentences each ending
with the numbers it rests on, or a fixed reply when the sentences do not answer. Its reply is
split into sentences; a number that points at no sentence is dropped; of several numbers,
those that support the sentence alone are kept, when any does; each sentence is scored against
the sentences it cites by the eval suite's support scorer (`evals.support`); a sentence left
without a number, or that its numbers do not support, gets the candidate that supports it best,
when one does. A sentence under
SUPPORTED is shown flagged, never as sourced; when none is supported, or the model says the
sentences do not answer, the extractive answer is given instead and says why.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace

import numpy as np

from rag.answer import Answer, Citation, Sentence

NO_ANSWER = "NOT IN THE SOURCES"
# The support scorer's probability at which a written sentence is supported by what it cites,
# fitted on people's own-words answers and their sources (`python -m evals.verify_threshold`,
# evals/results/verify_threshold.json): balanced accuracy 0.94 on the held-out test set, where
# the scorer's own 0.5 (fitted on SummaC's near-copied summaries) gets 0.66. Sentence.support
# is the probability shifted on the logit scale so that this threshold reads 0.5.
THRESHOLD = 3.5e-05
SUPPORTED = 0.5
FLAG = "[unsupported]"
FROM = "(from:"
SYSTEM = (
    "You answer questions about news articles using only the numbered sentences you are given. "
    "Write one to three short sentences. End every sentence with the numbers of the sentences "
    "it rests on, like [1] or [2][3]. Keep to the sentences' own words, and use no fact, name or "
    "number that they do not state. If the sentences do not answer the question, reply only: "
    f"{NO_ANSWER}\n\nExample.\nSentences:\n[1] The firm said profits rose 5% to $2bn in 2004.\n"
    "    (from: Firm's profits rise, Daily News, 2005-02-01)\n[2] Shares fell 1% on Monday.\n"
    "    (from: Markets, Daily News, 2005-02-01)\nQuestion: How much did the firm's profits "
    "rise?\nAnswer: The firm's profits rose 5% to $2bn in 2004 [1]."
)
_MARKERS = re.compile(r"\s*\[(\d+)\]")
_LEADING = re.compile(r"^(?:\s*\[\d+\])+")

SupportBatch = Callable[[Sequence[tuple[str, Sequence[str]]]], list[float]]


def source_line(n: int, source: Citation) -> str:
    """A numbered sentence, then the article it is from (a small model given the title first
    answered with the title)."""
    about = ", ".join(part for part in (source.title, source.outlet, source.date) if part)
    return f"[{n}] {' '.join(source.quote.split())}\n    {FROM} {about})"


def messages(question: str, sources: Sequence[Citation]) -> list[tuple[str, str]]:
    """(role, text) pairs for a chat model: the instructions, then the sentences and question."""
    lines = "\n".join(source_line(n, s) for n, s in enumerate(sources, start=1))
    return [("system", SYSTEM), ("user", f"Sentences:\n{lines}\n\nQuestion: {question}")]


def sentences_of(reply: str) -> list[tuple[str, list[int]]]:
    """The reply's sentences, each without its [n] markers, and the numbers it gave.

    Markers are kept with the sentence they follow, before or after its full stop
    ("... Iran [1]." and "... Iran. [1]" alike).
    """
    from index.split import sentence_spans

    reply = " ".join(reply.split())
    pieces = [reply[a:b] for a, b in sentence_spans(reply)]
    result: list[tuple[str, list[int]]] = []
    for piece in pieces:
        if piece.startswith(FROM):  # the prompt's own "(from: title ...)" repeated: not an answer
            continue
        lead = _LEADING.match(piece)
        if lead and result:  # "[1]" split off the sentence it closes
            text, numbers = result[-1]
            result[-1] = (text, numbers + [int(n) for n in _MARKERS.findall(lead.group())])
            piece = piece[lead.end() :]
        numbers = [int(n) for n in _MARKERS.findall(piece)]
        text = " ".join(_MARKERS.sub("", piece).split())
        text = re.sub(r"\s+([.,;:!?])", r"\1", text)
        result.append((text, numbers))
    from evals.facts import tokens  # the scorer's words: a piece without any is no sentence

    return [(text, numbers) for text, numbers in result if tokens(text)]


def verify(
    reply: str,
    sources: Sequence[Citation],
    support_batch: SupportBatch | None = None,
    question: str = "",
) -> list[Sentence]:
    """Each sentence of the reply with the source numbers it rests on (1-based, into sources)
    and how well they support it. A name the question or a cited article's title gives is no
    missing fact (the model was shown both)."""
    if support_batch is None:
        from evals.support import support_batch
    parsed = sentences_of(reply)
    quotes = [s.quote for s in sources]
    cited = [sorted({n for n in numbers if 1 <= n <= len(sources)}) for _, numbers in parsed]
    # several numbers: those that support the sentence alone, when any does (a citation that
    # supports nothing of it only sends the reader to the wrong sentence)
    several = [(i, n) for i, numbers in enumerate(cited) if len(numbers) > 1 for n in numbers]
    if several:
        alone = shifted(support_batch([(parsed[i][0], [quotes[n - 1]]) for i, n in several]))
        keep: dict[int, list[int]] = {}
        for (i, n), score in zip(several, alone, strict=True):
            if score >= SUPPORTED:
                keep.setdefault(i, []).append(n)
        for i, numbers in keep.items():
            cited[i] = numbers

    def holds(i: int, numbers: Sequence[int], score: float) -> bool:
        """Whether these sources support sentence i: the scorer's verdict, and no number,
        date or name of it missing from them (the question and their titles aside)."""
        context = [question, *(sources[n - 1].title for n in numbers)]
        evidence = [quotes[n - 1] for n in numbers]
        return score >= SUPPORTED and not missing_facts(parsed[i][0], evidence, context)

    scored = [i for i, numbers in enumerate(cited) if numbers]
    scores = [0.0] * len(parsed)
    found = shifted(support_batch([(parsed[i][0], [quotes[n - 1] for n in cited[i]])
                                   for i in scored])) if scored else []  # fmt: skip
    for i, score in zip(scored, found, strict=True):
        scores[i] = score
    # A sentence without a (valid) number, or one its numbers do not support: the one candidate
    # that supports it best, when one does (a small model often cites the sentence beside the
    # one it wrote from).
    supported = [holds(i, numbers, scores[i]) for i, numbers in enumerate(cited)]
    weak = [i for i, ok in enumerate(supported) if not ok]
    if weak and sources:
        alone = shifted(support_batch([(parsed[i][0], [q]) for i in weak for q in quotes]))
        for k, i in enumerate(weak):
            row = alone[k * len(quotes) : (k + 1) * len(quotes)]
            best = max(range(len(quotes)), key=row.__getitem__)
            if holds(i, [best + 1], row[best]):
                cited[i], scores[i], supported[i] = [best + 1], row[best], True
    return [
        Sentence(text, numbers, round(score, 3), ok)
        for (text, _), numbers, score, ok in zip(parsed, cited, scores, supported, strict=True)
    ]


def missing_facts(claim: str, evidence: Sequence[str], context: Sequence[str] = ()) -> set[str]:
    """The numbers, dates and names of claim that neither its evidence nor the context (the
    question, the cited articles' titles) states: the support scorer weighs them at nothing,
    the summaries it was fitted on being lower-cased. The claim's first word is no name for
    being capitalised."""
    from evals.facts import NUMBER_WORDS, fact_found, hard_facts, numbered, tokens

    said = numbered(tokens(" ".join([*evidence, *context])))
    said = [w.replace(",", "") if w[0].isdigit() else w for w in said]  # as hard_facts reads
    joined, words = f" {' '.join(said)} ", frozenset(said)
    first = claim.split()[0].lower().strip("'\"") if claim.split() else ""
    first = NUMBER_WORDS.get(first, first)
    facts = {f for f in hard_facts(claim) if f != first and not f.startswith(f"{first}'")}
    return {f for f in facts if not fact_found(f, joined, words)}


def shifted(probabilities: Sequence[float]) -> list[float]:
    """The scorer's probabilities with THRESHOLD moved to 0.5 (a shift of their logits)."""
    p = np.clip(np.asarray(probabilities, float), 1e-15, 1 - 1e-15)
    logit = np.log(p / (1 - p)) - np.log(THRESHOLD / (1 - THRESHOLD))
    return [float(x) for x in 1 / (1 + np.exp(-logit))]


def declined(reply: str) -> bool:
    """Whether the model gave the fixed reply for sentences that do not answer."""
    return NO_ANSWER.lower() in reply.lower() and len(reply) < 3 * len(NO_ANSWER)


def written(
    extractive: Answer,
    sources: Sequence[Citation],
    reply: str,
    model: str,
    support_batch: SupportBatch | None = None,
) -> Answer:
    """The answer the model's reply makes, checked: its cited sources renumbered in the order
    they are first cited, unsupported sentences flagged; or the extractive answer, saying why,
    when the reply declines or no sentence of it is supported."""
    if not reply.strip() or declined(reply):
        return fallback(extractive, f"{model} found no answer in the sentences it was given")
    checked = verify(reply, sources, support_batch, extractive.query or extractive.question)
    if not any(s.supported for s in checked):
        why = f"no sentence {model} wrote was supported by the sentences it cited"
        return replace(fallback(extractive, why), sentences=checked, model=model)
    order: dict[int, int] = {}
    for sentence in checked:
        for n in sentence.citations:
            order.setdefault(n, len(order) + 1)
    shown = [replace(s, citations=[order[n] for n in s.citations]) for s in checked]
    citations = [replace(sources[old - 1], n=new) for old, new in order.items()]
    text = " ".join(
        s.text + "".join(f" [{n}]" for n in s.citations) + ("" if s.supported else f" {FLAG}")
        for s in shown
    )
    return replace(
        extractive, text=text, citations=citations, mode="llm", sentences=shown, model=model
    )


def fallback(extractive: Answer, why: str) -> Answer:
    """The extractive answer, marked as given in place of the model's (whose checked
    sentences, when it wrote any, stay in `sentences`, all unsupported)."""
    return replace(extractive, mode="llm-fallback", note=f"Answered from the sentences: {why}.")


def stream(llm, question: str, sources: Sequence[Citation]) -> Iterator[str]:
    """The model's reply, piece by piece (llama-index's stream_chat)."""
    from llama_index.core.llms import ChatMessage

    chat = [ChatMessage(role=role, content=text) for role, text in messages(question, sources)]
    for part in llm.stream_chat(chat):
        if part.delta:
            yield part.delta
