"""Markdown articles as plain text: front matter read as metadata, syntax taken off, in linear time.

Inline syntax (images, links, strong and plain emphasis) was taken off by regular expressions whose
every opening mark searched the rest of its line for a closing one: a line of unclosed marks
(" _x _x _x ...", "[c [c [c ...") took time in the square of its length (24 KB: 5.4 s). Here the
closing marks of a line are listed once and each opening mark finds its own by bisection, with
the same result as those expressions (tested against them).
"""

from __future__ import annotations

import re
from bisect import bisect_left

_RULE = re.compile(r"\s*([-*_]\s*){3,}")
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+")
_QUOTE = re.compile(r"^\s*>\s?")
_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
_CODE = re.compile(r"`([^`]+)`")


def markdown_to_text(raw: str) -> tuple[str, dict[str, str]]:
    """Strip markdown syntax to plain text, reading title/author/date from YAML front matter."""
    meta: dict[str, str] = {}
    front = re.match(r"^---\n(.*?)\n---\n", raw, re.S)
    if front:
        for line in front.group(1).splitlines():
            key, _, value = line.partition(":")
            key = key.strip().lower()
            if key in {"title", "author", "date", "outlet", "source"} and value.strip():
                meta["outlet" if key == "source" else key] = value.strip().strip("\"'")
        raw = raw[front.end() :]
    lines = []
    for line in raw.splitlines():
        if _RULE.fullmatch(line):
            line = ""
        line = _HEADING.sub("", line)
        line = _QUOTE.sub("", line)
        line = _ITEM.sub("", line)
        line = links(line, image=True)
        line = links(line)
        line = strong(line)
        line = emphasis(line)
        line = _CODE.sub(r"\1", line)
        lines.append(line)
    return "\n".join(lines), meta


def _word(char: str) -> bool:
    """What `\\w` matches in a str pattern."""
    return char.isalnum() or char == "_"


def _replace(line: str, spans: list[tuple[int, int, str]]) -> str:
    """line with each (start, end) span, in order and not overlapping, replaced."""
    if not spans:
        return line
    parts, at = [], 0
    for start, end, text in spans:
        parts += [line[at:start], text]
        at = end
    parts.append(line[at:])
    return "".join(parts)


def _after(positions: list[int], at: int) -> int:
    """The first of the sorted positions at or after at, or -1."""
    i = bisect_left(positions, at)
    return positions[i] if i < len(positions) else -1


def links(line: str, image: bool = False) -> str:
    """`re.sub(r"\\[([^\\]]+)\\]\\([^)]*\\)", r"\\1", line)`: a link becomes its text; with image,
    `re.sub(r"!\\[[^\\]]*\\]\\([^)]*\\)", "", line)`: an image goes."""
    closes = [i for i, c in enumerate(line) if c == "]"]
    parens = [i for i, c in enumerate(line) if c == ")"]
    spans, at = [], 0
    for start in (i for i, c in enumerate(line) if c == "["):
        if start < at or (image and (start == 0 or line[start - 1] != "!")):
            continue
        close = _after(closes, start + 1)
        if close < 0 or (close == start + 1 and not image) or line[close + 1 : close + 2] != "(":
            continue
        end = _after(parens, close + 2)
        if end < 0:
            continue
        first = start - 1 if image else start
        spans.append((first, end + 1, "" if image else line[start + 1 : close]))
        at = end + 1
    return _replace(line, spans)


def strong(line: str) -> str:
    """`re.sub(r"(\\*\\*|__)(.+?)\\1", r"\\2", line)`."""
    marks = {
        mark: [i for i in range(len(line) - 1) if line.startswith(mark, i)] for mark in ("**", "__")
    }
    starts = sorted(marks["**"] + marks["__"])
    spans, at = [], 0
    for start in starts:
        if start < at:
            continue
        mark = line[start : start + 2]
        close = _after(marks[mark], start + 3)
        if close < 0:
            continue
        spans.append((start, close + 2, line[start + 2 : close]))
        at = close + 2
    return _replace(line, spans)


def emphasis(line: str) -> str:
    """`re.sub(r"(?<![\\w*])([*_])(?!\\s)(.+?)(?<!\\s)\\1(?![\\w*])", r"\\2", line)`."""
    last = len(line) - 1

    def opens(i: int) -> bool:
        return (i == 0 or not (_word(line[i - 1]) or line[i - 1] == "*")) and (
            i < last and not line[i + 1].isspace()
        )

    def closes(i: int) -> bool:
        return (i > 0 and not line[i - 1].isspace()) and (
            i == last or not (_word(line[i + 1]) or line[i + 1] == "*")
        )

    marks = [i for i, c in enumerate(line) if c in "*_"]
    closing = {mark: [i for i in marks if line[i] == mark and closes(i)] for mark in "*_"}
    spans, at = [], 0
    for start in marks:
        if start < at or not opens(start):
            continue
        close = _after(closing[line[start]], start + 2)
        if close < 0:
            continue
        spans.append((start, close + 1, line[start + 1 : close]))
        at = close + 1
    return _replace(line, spans)
