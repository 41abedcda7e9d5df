"""Turn a source file into an article: keep the story and its title, outlet, author and date.

Everything that is not the article goes: comment forms, author-bio blocks, repeated title lines,
bylines (kept as metadata), navigation debris such as "News" and "Dismiss".
"""

from __future__ import annotations

import re

from index.records import Article, Source

MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ],
        start=1,
    )
    for name in names
}
_MONTH = r"(?:" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?"
DATE_PATTERN = (
    rf"(?:{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}"  # January 18, 2025
    rf"|\d{{1,2}}(?:st|nd|rd|th)?\s+{_MONTH},?\s+\d{{4}}"  # 18 January 2025
    r"|\d{4}-\d{2}-\d{2})"  # 2025-01-18 (also the head of an ISO timestamp)
)
_DATE_ONLY = re.compile(
    rf"^(?:(?:published|updated|posted)(?: on)?:?\s*)?({DATE_PATTERN})\b.*$", re.I
)
_BYLINE = re.compile(rf"^by\s+(?P<author>[^\d].*?)(?:[\s,|–—-]+(?P<date>{DATE_PATTERN}).*)?$", re.I)
_SOURCE = re.compile(r"^(?:original\s+)?source\s*:\s*(?P<outlet>\S.*)$", re.I)

# Comment forms: the line itself goes; "Leave a Reply" also ends the article.
COMMENT_FORM_END = re.compile(r"^(leave a (reply|comment)|\d+\s+comments?|comments?)$", re.I)
COMMENT_FORM = re.compile(
    r"^(your email address will not be published|required fields are marked"
    r"|save my name, email|post comment|cancel reply|you must be logged in to post)",
    re.I,
)
# Single-line page furniture that scrapers keep.
DEBRIS = {
    "news", "dismiss", "share", "share this", "share this article", "advertisement", "related",
    "related articles", "read more", "print", "email", "tweet", "subscribe", "close", "menu",
    "skip to content", "home", "back to top", "sign up", "log in", "trending",
}  # fmt: skip
_NAME = re.compile(r"^[A-Z][\w'’.-]+(?:\s+[A-Z][\w'’.-]+){1,3}$")


def parse_date(text: str) -> str:
    """The first date in text as ISO YYYY-MM-DD, or "" when there is none.

    >>> parse_date("By bnm Gulf bureau January 18, 2025")
    '2025-01-18'
    """
    match = re.search(DATE_PATTERN, text, re.I)
    if not match:
        return ""
    found = match.group(0)
    iso = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", found)
    if iso:
        year, month, day = (int(part) for part in iso.groups())
    else:
        words = re.findall(r"[A-Za-z]+|\d+", found)
        month = next(MONTHS[w.lower()] for w in words if w.lower() in MONTHS)
        numbers = [int(w) for w in words if w.isdigit()]
        day, year = (numbers[0], numbers[1]) if numbers[0] < 100 else (numbers[1], numbers[0])
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return ""
    return f"{year:04d}-{month:02d}-{day:02d}"


def _norm(line: str) -> str:
    return re.sub(r"\s+", " ", line).strip().casefold()


def clean(source: Source) -> Article:
    """Clean one source into an Article (text, title, outlet, author, date; no sentences yet)."""
    meta: dict[str, str] = {}
    raw = source.raw
    if source.kind == "html":
        from index.html import html_to_text

        raw, meta = html_to_text(raw)
    elif source.kind == "markdown":
        from index.markdown import markdown_to_text

        raw, meta = markdown_to_text(raw)
    paragraphs, found = clean_text(raw, title=meta.get("title", ""))
    for key, value in found.items():
        if not meta.get(key):
            meta[key] = value
    return Article(
        id=source.id,
        hash=source.hash,
        text="\n\n".join(paragraphs),
        title=meta.get("title", ""),
        outlet=meta.get("outlet", ""),
        author=meta.get("author", ""),
        date=parse_date(meta.get("date", "")) if meta.get("date") else "",
    )


def clean_text(raw: str, title: str = "") -> tuple[list[str], dict[str, str]]:
    """Split plain text into article paragraphs and the metadata found in its header and footer.

    Returns:
        The paragraphs (lines of one block joined by spaces) and a dict with any of
        title, outlet, author, date.
    """
    meta: dict[str, str] = {}
    blocks: list[list[str]] = [[]]
    for line in raw.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line = line.replace("\u00a0", " ").strip()
        if not line:
            blocks.append([])
            continue
        if not title:
            title = meta["title"] = line.lstrip("#").strip()
            continue
        kept = _classify(line, title, meta)
        if kept is None:
            continue
        if kept == "END":
            break
        blocks[-1].append(kept)
    paragraphs = [" ".join(block) for block in blocks if block]
    paragraphs = _drop_author_bio(paragraphs, meta)
    paragraphs = [re.sub(r"[ \t]+", " ", p) for p in paragraphs]
    return paragraphs, meta


def _classify(line: str, title: str, meta: dict[str, str]) -> str | None:
    """The line to keep, None to drop it, or "END" where the article is over."""
    norm = _norm(line)
    title_norm = _norm(title)
    if norm == title_norm:
        return None
    for separator in (" / ", " | ", " - ", " – ", " — "):
        if title_norm and norm.startswith(title_norm + separator):
            meta.setdefault("outlet", line[len(title) :].strip(" /|-–—"))
            return None
    if COMMENT_FORM_END.match(norm):
        return "END"
    if COMMENT_FORM.match(norm) or norm.strip(" .:!|") in DEBRIS:
        return None
    match = _SOURCE.match(line)
    if match:
        meta.setdefault("outlet", match.group("outlet").strip())
        return None
    match = _BYLINE.match(line)
    if match and len(match.group("author").split()) <= 8:
        meta.setdefault("author", match.group("author").strip(" ,|"))
        if match.group("date"):
            meta.setdefault("date", match.group("date"))
        return None
    match = _DATE_ONLY.match(line)
    if match and len(line) < 60:
        meta.setdefault("date", match.group(1))
        return None
    return line


def _drop_author_bio(paragraphs: list[str], meta: dict[str, str]) -> list[str]:
    """Remove a name line followed by a paragraph about that person ("X is a journalist ...")."""
    kept: list[str] = []
    skip_next = False
    for i, paragraph in enumerate(paragraphs):
        if skip_next:
            skip_next = False
            continue
        following = paragraphs[i + 1] if i + 1 < len(paragraphs) else ""
        if _NAME.match(paragraph) and following.startswith(paragraph):
            meta.setdefault("author", paragraph)
            skip_next = True
            continue
        if _NAME.match(paragraph) and paragraph == meta.get("author"):
            continue
        if paragraph.lower().startswith("about the author"):
            skip_next = paragraph.lower().strip(": ") == "about the author"
            continue
        kept.append(paragraph)
    return kept
