"""HTML articles through a real parser: the story's text and its title, author, date, outlet."""

from __future__ import annotations

from bs4 import BeautifulSoup

# Elements that are never the story.
NOT_ARTICLE = ["script", "style", "noscript", "nav", "header", "footer", "aside", "form", "iframe",
               "svg", "template", "button", "figure"]  # fmt: skip
BLOCKS = ["p", "div", "section", "article", "main", "h1", "h2", "h3", "h4", "h5", "h6", "li",
          "blockquote", "pre", "tr", "dd", "dt", "figcaption", "address"]  # fmt: skip
META = {
    "title": [("property", "og:title"), ("name", "twitter:title"), ("name", "title")],
    "author": [("name", "author"), ("property", "article:author"), ("name", "byl"),
               ("name", "parsely-author"), ("name", "dc.creator")],
    "date": [("property", "article:published_time"), ("name", "date"), ("name", "pubdate"),
             ("name", "publish-date"), ("itemprop", "datePublished"), ("name", "dc.date"),
             ("property", "og:published_time")],
    "outlet": [("property", "og:site_name"), ("name", "publisher"), ("name", "application-name")],
}  # fmt: skip


def html_to_text(raw: str) -> tuple[str, dict[str, str]]:
    """Text of the article's main element with blank lines between blocks, and its metadata."""
    soup = BeautifulSoup(raw, "html.parser")
    meta: dict[str, str] = {}
    for key, selectors in META.items():
        for attribute, value in selectors:
            tag = soup.find(
                "meta", attrs={attribute: lambda v, value=value: v and v.lower() == value}
            )
            if tag and tag.get("content", "").strip():
                meta[key] = tag["content"].strip()
                break
    if "title" not in meta:
        heading = soup.find("h1") or soup.find("title")
        if heading and heading.get_text(strip=True):
            meta["title"] = heading.get_text(" ", strip=True)
    if "date" not in meta:
        time = soup.find("time", attrs={"datetime": True})
        if time:
            meta["date"] = time["datetime"]
    if "author" not in meta:
        byline = soup.find(attrs={"rel": "author"}) or soup.find(attrs={"itemprop": "author"})
        if byline and byline.get_text(strip=True):
            meta["author"] = byline.get_text(" ", strip=True)

    for tag in soup.find_all(NOT_ARTICLE):
        tag.decompose()
    root = soup.find("article") or soup.find("main") or soup.body or soup
    for tag in root.find_all("br"):
        tag.replace_with("\n")
    for tag in root.find_all(BLOCKS):
        tag.insert_before("\n\n")
        tag.insert_after("\n\n")
    # Source formatting puts newlines inside paragraphs; only our block breaks separate them.
    blocks = [" ".join(part.split()) for part in root.get_text().split("\n\n")]
    text = "\n\n".join(block for block in blocks if block)
    return text, meta
