"""Answers as chat Markdown, plain text and source-card HTML; article text is data, never markup."""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping

MARKER = re.compile(r"\[(\d+)\]")
ESCAPED_MARKER = re.compile(r"\\\[(\d+)\\\]")  # a [n] marker after safe(): \[n\]
EMPTY = '<div class="sources"><p class="empty">The sources of an answer appear here.</p></div>'


def safe(text: str) -> str:
    """Article text as inert Markdown: every character Markdown or HTML would act on is
    backslash-escaped, so it shows as itself."""
    return re.sub(r"([\\`*_{}\[\]()#+!|<>~&$-])", r"\\\1", text)


def esc(text: str) -> str:
    """Article text as inert HTML: html.escape, and the characters of template syntax (`${}`,
    `{{ }}`, backticks) as entities too, since Gradio fills its HTML through JS templates."""
    escaped = html.escape(text, quote=True)
    return escaped.translate({ord("$"): "&#36;", ord("{"): "&#123;", ord("}"): "&#125;",
                              ord("`"): "&#96;"})  # fmt: skip


def pieces(text: str) -> list[str]:
    """The answer cut after each run of `[n]` markers: the cited spans in the order composed."""
    cuts, start = [], 0
    for match in re.finditer(r"(?:\s*\[\d+\])+", text):
        cuts.append(text[start : match.end()])
        start = match.end()
    if text[start:]:
        cuts.append(text[start:])
    return cuts


def cited_in(text: str) -> set[int]:
    """The citation numbers a (partial) answer text has reached."""
    return {int(n) for n in MARKER.findall(text)}


def chat_markdown(answer, shown: str | None = None) -> str:
    """The chat message: the answer so far with its [n] markers, as inert Markdown."""
    shown = answer.text if shown is None else shown
    lines = []
    if answer.query and answer.query != answer.question:
        lines.append(f"*Searched for: {safe(answer.query)}*\n")
    if answer.note:
        lines.append(f"*{safe(answer.note)}*\n")
    if answer.abstained:
        lines.append(f"**No answer in the articles.** *{safe(shown)}*")
        if answer.related:
            lines.append("\n*Related passages, not an answer, are listed beside the chat.*")
    elif answer.mode == "llm" and shown == answer.text:
        lines.append(checked_markdown(answer))
    else:
        lines.append(linked(safe(shown)))
    return "\n".join(lines)


def checked_markdown(answer) -> str:
    """An LLM's answer, sentence by sentence: a supported one with its [n] links, an
    unsupported one struck through and flagged; then who wrote it and how much held up."""
    parts = []
    for s in answer.sentences:
        marks = "".join(f" [{n}]" for n in s.citations)
        if s.supported:
            parts.append(linked(safe(s.text + marks)))
        else:
            flag = "⚠️ *not supported by its sources*"
            parts.append(f"~~{safe(s.text)}~~{linked(safe(marks))} {flag}")
    held = sum(s.supported for s in answer.sentences)
    footer = (
        f"\n\n*Written by {safe(answer.model)}; {held} of {len(answer.sentences)} sentences "
        "supported by the sentences they cite.*"
    )
    return " ".join(parts) + footer


def linked(markdown: str) -> str:
    """Escaped [n] markers as links to their source cards (#source-n), which the page's click
    handler scrolls to and highlights instead of navigating."""
    return ESCAPED_MARKER.sub(r"[\\[\1\\]](#source-\1)", markdown)


def plain_text(answer) -> str:
    """The answer with its sources as plain text, for copying."""
    lines = [answer.text]
    sources = answer.citations or answer.related
    if sources:
        lines.append("\nSources:" if answer.citations else "\nRelated, not an answer:")
    for c in sources:
        details = ", ".join(part for part in (c.outlet, c.date) if part)
        lines.append(f"[{c.n}] {c.title or c.article}" + (f" ({details})" if details else ""))
        lines.append(f'    "{" ".join(c.quote.split())}"')
    return "\n".join(lines)


def paragraph_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    """The paragraph around text[start:end]: the text between the blank lines around it."""
    before = text.rfind("\n\n", 0, start)
    after = text.find("\n\n", end)
    return (0 if before < 0 else before + 2), (len(text) if after < 0 else after)


def highlighted(text: str, start: int, end: int, lo: int = 0, hi: int | None = None) -> str:
    """text[lo:hi] as HTML with text[start:end] marked; all of it escaped."""
    hi = len(text) if hi is None else hi
    return (
        esc(text[lo:start])
        + f'<mark class="cited">{esc(text[start:end])}</mark>'
        + esc(text[end:hi])
    )


def _card(c, text: str | None, related: bool) -> str:
    meta = " · ".join(esc(part) for part in (c.outlet, c.date) if part)
    if text is not None and text[c.start : c.end] == c.quote:
        lo, hi = paragraph_bounds(text, c.start, c.end)
        paragraph = highlighted(text, c.start, c.end, lo, hi)
        full = (
            '<details class="article"><summary>Open the whole article</summary>'
            f'<div class="full">{highlighted(text, c.start, c.end)}</div></details>'
        )
    else:  # the article is gone from the store since the answer: show the quote alone
        paragraph, full = f'<mark class="cited">{esc(c.quote)}</mark>', ""
    also = f'<p class="also">Also reported in: {esc(", ".join(c.also))}</p>' if c.also else ""
    said = f'<p class="speaker">Said by {esc(c.speaker)}</p>' if c.speaker else ""
    kind = "source related" if related else "source"
    return (
        f'<article class="{kind}" id="source-{c.n}">'
        f'<header><span class="n">[{c.n}]</span> <span class="title">'
        f"{esc(c.title or c.article)}</span></header>"
        + (f'<p class="meta">{meta}</p>' if meta else "")
        + f'<p class="paragraph">{paragraph}</p>{said}{also}{full}</article>'
    )


def sources_html(answer, texts: Mapping[str, str], shown: Iterable[int] | None = None) -> str:
    """Source cards for the answer (only numbers in shown, when given), or for an abstention
    the related passages under "Related, not an answer"."""
    if answer.abstained:
        cards = "".join(_card(c, texts.get(c.article), True) for c in answer.related)
        return (
            '<div class="sources abstained"><h3>Related, not an answer</h3>'
            f'<p class="reason">{esc(answer.text)}</p>'
            + (cards or '<p class="empty">Nothing in the articles comes close.</p>')
            + "</div>"
        )
    wanted = None if shown is None else set(shown)
    cards = "".join(
        _card(c, texts.get(c.article), False)
        for c in answer.citations
        if wanted is None or c.n in wanted
    )
    return f'<div class="sources"><h3>Sources</h3>{cards}</div>'


CSS = """
.sources { font-size: 15px; line-height: 1.5; }
.sources h3 { margin: 0 0 8px; font-size: 16px; }
.sources .empty, .sources .reason { color: var(--body-text-color-subdued); }
.source { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 10px 12px;
  margin: 0 0 10px; background: var(--background-fill-primary); }
.source header { font-weight: 600; }
.source .n { color: var(--color-accent); margin-right: 4px; }
.source .meta { margin: 2px 0 6px; font-size: 13px; color: var(--body-text-color-subdued); }
.source .paragraph, .source .full { white-space: pre-wrap; overflow-wrap: anywhere; margin: 0; }
mark.cited { background: #fde68a; color: #1f2937; padding: 0 2px; border-radius: 3px; }
.abstained { border-left: 4px solid #9ca3af; padding-left: 10px; }
.abstained h3 { color: #6b7280; font-style: italic; }
.source.related { background: var(--background-fill-secondary); border-style: dashed; }
.source.related mark.cited { background: #e5e7eb; }
.source .also { font-size: 13px; margin: 6px 0 0; }
.source .speaker { font-size: 13px; margin: 6px 0 0; }
.source.flash { outline: 3px solid var(--color-accent); outline-offset: 1px; }
details.article { margin-top: 8px; }
details.article summary { cursor: pointer; color: var(--color-accent); font-size: 14px; }
details.article .full { max-height: 320px; overflow-y: auto; padding: 8px; margin-top: 6px;
  border-top: 1px solid var(--border-color-primary); font-size: 14px; }
"""

# Opening an article scrolls its cited sentence into view; `toggle` does not bubble, so capture.
# A [n] link in the chat scrolls to card n and flashes it, rather than navigating the page.
SCROLL_JS = """
document.addEventListener('click', (event) => {
  const link = event.target.closest && event.target.closest('#chat a[href^="#source-"]');
  if (!link) return;
  event.preventDefault();
  event.stopPropagation();
  const card = element.querySelector(link.getAttribute('href'));
  if (!card) return;
  card.scrollIntoView({block: 'nearest', behavior: 'smooth'});
  card.classList.add('flash');
  setTimeout(() => card.classList.remove('flash'), 1500);
}, true);
element.addEventListener('toggle', (event) => {
  const details = event.target;
  if (details.open) {
    const mark = details.querySelector('mark');
    if (mark) mark.scrollIntoView({block: 'center', behavior: 'instant'});
  }
}, true);
"""
