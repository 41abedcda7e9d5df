"""Sentences with character offsets, and passages of consecutive sentences that fit the encoder."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import replace
from functools import cache

from index.records import Article, Passage, passage_id

# A passage aims at the length the encoder was trained on (128 word pieces) and may grow to the
# window it truncates at (256, less [CLS] and [SEP]) only for one long sentence; longer text is cut
# into windows so that nothing is left out of an embedding.
TARGET_TOKENS = 128
# The longest sentence kept whole, in characters. Longer "sentences" are lists, tables or text
# with no sentence breaks at all (a 200 KB line came back as a 200 KB citation); they are cut
# at word boundaries into even pieces no longer than this. Of the 41,765 sentences in the BBC
# corpus, 4 are longer (all bulleted lists); the median is 114 characters.
LONGEST_SENTENCE = 600


@cache
def _punkt():
    """The trained English Punkt model that llama-index-core bundles, so nothing is downloaded."""
    import importlib.util
    from pathlib import Path

    import nltk
    from nltk.tokenize.punkt import PunktTokenizer

    bundled = (
        Path(importlib.util.find_spec("llama_index.core").origin).parent / "_static/nltk_cache"
    )
    if str(bundled) not in nltk.data.path:
        nltk.data.path.append(str(bundled))
    return PunktTokenizer("english")


def sentence_spans(text: str) -> tuple[tuple[int, int], ...]:
    """(start, end) offsets of each sentence; sentences never cross a paragraph break, and none
    is longer than LONGEST_SENTENCE characters."""
    spans = []
    for paragraph in re.finditer(r"[^\n]+", text):
        base = paragraph.start()
        for start, end in _punkt().span_tokenize(paragraph.group(0)):
            chunk = text[base + start : base + end]
            stripped = chunk.strip()
            if stripped:
                lead = len(chunk) - len(chunk.lstrip())
                first = base + start + lead
                spans.extend(_pieces(text, first, first + len(stripped)))
    return tuple(spans)


def _pieces(
    text: str, start: int, end: int, longest: int = LONGEST_SENTENCE
) -> list[tuple[int, int]]:
    """A sentence's span, or for one longer than `longest`, the spans of even pieces of it cut
    at the last space before each even share (mid-word only where a share's second half has no
    space)."""
    pieces = []
    while end - start > longest:
        count = -(-(end - start) // longest)  # pieces still to cut, rounded up
        share = start + (end - start) // count
        cut = text.rfind(" ", start + 1, share + 1)
        if cut <= (start + share) // 2:
            cut = share
        piece_end = cut
        while text[piece_end - 1].isspace():
            piece_end -= 1
        pieces.append((start, piece_end))
        start = cut
        while text[start].isspace():
            start += 1
    pieces.append((start, end))
    return pieces


def split(article: Article) -> Article:
    return replace(article, sentences=sentence_spans(article.text))


def title_line(article: Article) -> str:
    """What the encoder sees of an article before each of its passages."""
    return f"{article.title}\n" if article.title else ""


def passages(
    article: Article,
    count_tokens: Callable[[Sequence[str]], list[int]],
    hard_limit: int,
    target: int = TARGET_TOKENS,
    sizes: Sequence[int] | None = None,
) -> list[Passage]:
    """Group an article's sentences into passages whose embedding input fits hard_limit tokens.

    Args:
        article: a split article (sentences set).
        count_tokens: word pieces per text, without special tokens.
        hard_limit: most word pieces the encoder embeds, less its special tokens.
        target: the size a passage of several sentences stays under.
        sizes: word pieces per sentence, when they are counted already.
    """
    prefix = title_line(article)
    prefix_tokens = count_tokens([prefix])[0] if prefix else 0
    if sizes is None:
        texts = [article.text[s:e] for s, e in article.sentences]
        sizes = count_tokens(texts) if texts else []
    groups: list[list[tuple[int, int, int]]] = []  # (sentence index, start, end)
    used = prefix_tokens
    for i, ((start, end), size) in enumerate(zip(article.sentences, sizes, strict=True)):
        if size + prefix_tokens > hard_limit:
            groups.extend(
                [
                    [(i, s, e)]
                    for s, e in _windows(
                        article.text, start, end, count_tokens, hard_limit - prefix_tokens
                    )
                ]
            )
            used = hard_limit  # the next sentence opens a new passage
            continue
        if not groups or used + size > target:
            groups.append([])
            used = prefix_tokens
        groups[-1].append((i, start, end))
        used += size
    result = []
    for n, group in enumerate(groups):
        start, end = group[0][1], group[-1][2]
        text = article.text[start:end]
        result.append(
            Passage(
                id=passage_id(article.id, n),
                article=article.id,
                n=n,
                first=group[0][0],
                last=group[-1][0],
                start=start,
                end=end,
                text=text,
                embed_text=prefix + text,
                sentence_spans=tuple((s, e) for _, s, e in group),
            )
        )
    return result


def _windows(text, start, end, count_tokens, limit) -> list[tuple[int, int]]:
    """Cut one over-long sentence at word boundaries into pieces of at most limit word pieces.

    A "word" of more than limit characters (a run with no space) is cut into runs of limit
    characters, each counted as that many word pieces: a piece is at least one character, and
    a run cut mid-word may not be word pieced as it would be alone.
    """
    runs: list[tuple[int, int, int | None]] = []  # (start, end, word pieces when known)
    for match in re.finditer(r"\S+", text[start:end]):
        first, last = start + match.start(), start + match.end()
        if last - first <= limit:
            runs.append((first, last, None))
            continue
        for cut in range(first, last, limit):
            runs.append((cut, min(cut + limit, last), min(cut + limit, last) - cut))
    counted = iter(count_tokens([text[s:e] for s, e, size in runs if size is None]))
    words = [(s, e) for s, e, _ in runs]
    sizes = [next(counted) if size is None else size for _, _, size in runs]
    pieces, first, used = [], 0, 0
    for i, size in enumerate(sizes):
        if used + size > limit and i > first:
            pieces.append((words[first][0], words[i - 1][1]))
            first, used = i, 0
        used += size
    pieces.append((words[first][0], words[-1][1]))
    return pieces
