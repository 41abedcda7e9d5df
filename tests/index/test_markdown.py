"""Markdown's inline syntax is taken off as the regular expressions it replaces did, in linear
time: those are the reference here, on random lines made of markdown's marks."""

import random
import re

import pytest

from index.markdown import emphasis, links, markdown_to_text, strong

REFERENCE = {
    "image": (lambda line: links(line, image=True), r"!\[[^\]]*\]\([^)]*\)", ""),
    "link": (links, r"\[([^\]]+)\]\([^)]*\)", r"\1"),
    "strong": (strong, r"(\*\*|__)(.+?)\1", r"\2"),
    "emphasis": (emphasis, r"(?<![\w*])([*_])(?!\s)(.+?)(?<!\s)\1(?![\w*])", r"\2"),
}
PIECES = list("ab _*[]()!`é1 \t") + ["**", "__", "](", "[x](y)", "![i](j)", "snake_case"]


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_inline_syntax_goes_as_the_regular_expression_took_it(name):
    mine, pattern, replacement = REFERENCE[name]
    rng = random.Random(name)
    for _ in range(20_000):
        line = "".join(rng.choice(PIECES) for _ in range(rng.randint(0, 25)))
        assert mine(line) == re.sub(pattern, replacement, line), repr(line)


def test_a_long_line_of_unclosed_marks_is_read_whole():
    """Each of these took the old expressions time in the square of the line's length (24 KB:
    5.4 s); 100,000 marks are read here, and left as they are."""
    for unit in (" _x", " *e", " [c", "![d"):
        line = unit * 100_000
        assert markdown_to_text(line)[0] == line


def test_markdown_is_still_plain_text():
    text, meta = markdown_to_text(
        "---\ntitle: Rates held\n---\n# Rates held\n\n> **Bold** and _it_ and `code`, "
        "[a link](https://example.org) ![a picture](p.png)\n- item one\n***\n"
    )
    assert meta == {"title": "Rates held"}
    assert text == "Rates held\n\nBold and it and code, a link \nitem one\n"
