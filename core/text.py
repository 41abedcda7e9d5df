"""Text fit to store and to print: no terminal escape sequences, no control characters."""

from __future__ import annotations

import re

# Terminal escape sequences whole (CSI "ESC [ ... m", OSC "ESC ] ... BEL", two-character
# escapes), so that no "[31m" is left behind; then any other C0 or C1 control character.
_ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]|\x9b[0-?]*[ -/]*[@-~]"
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-Z\\-_]?"
)
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_BREAKS = re.compile(r"[\x0b\x0c]")  # vertical tab and form feed: line breaks in text
_SURROGATES = re.compile("[\ud800-\udfff]")


def without_controls(text: str) -> str:
    """text without escape sequences and control characters, but for tab, line feed and
    carriage return; a vertical tab or form feed becomes a line feed."""
    return _CONTROLS.sub("", _BREAKS.sub("\n", _ESCAPES.sub("", text)))


def printable(text: str) -> str:
    """text safe to print on a terminal: `without_controls` and no carriage return (which
    would let text overwrite a line), with a lone surrogate (what Python makes of bytes that
    are not UTF-8 in a file name or argument) shown as U+FFFD."""
    return _SURROGATES.sub("\ufffd", without_controls(text).replace("\r", ""))
