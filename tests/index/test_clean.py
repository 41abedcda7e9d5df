from pathlib import Path

import pytest

from index.clean import clean, parse_date
from index.load import read
from tests.conftest import BNE, FOX, SEEDS


def seed(name):
    return clean(read(SEEDS / name, SEEDS))


def test_fox_seed_metadata():
    article = seed(FOX)
    assert (
        article.title == "Iraq Seeks Control Over Iran-Backed Militias Amid Regional Power Shifts"
    )
    assert article.outlet == "www.foxnews.com"
    assert article.author == "Amelia Caldwell"
    assert article.date == ""  # the article gives none


def test_bne_seed_metadata():
    article = seed(BNE)
    assert article.title == "Iraq seeks Iran-backed militia disarmament in new push"
    assert article.outlet == "bne IntelliNews"
    assert article.author == "bnm Gulf bureau"
    assert article.date == "2025-01-18"


@pytest.mark.parametrize(
    "name, debris",
    [
        (FOX, ["Leave a Reply", "Your email address will not be published", "Required fields",
               "seasoned journalist", "Original Source", "Amelia Caldwell"]),
        (BNE, ["Dismiss", "By bnm Gulf bureau", "/ bne IntelliNews",
               "Iraq seeks Iran-backed militia"]),
    ],
)  # fmt: skip
def test_boilerplate_is_gone(name, debris):
    text = seed(name).text
    for fragment in debris:
        assert fragment not in text
    assert "\n\nNews\n\n" not in f"\n\n{text}\n\n"


def test_article_body_is_kept_whole():
    fox, bne = seed(FOX).text, seed(BNE).text
    assert fox.startswith("As Iranian influence dwindles, Iraq seeks to assimilate")
    assert fox.endswith("carefully to avoid potential destabilization.")
    assert bne.startswith("Iraq is trying to convince Iran-backed armed factions")
    assert bne.endswith('it will be a different story," he said to Reuters.')
    assert "Hussein cited Iraq's previous mediation between Saudi Arabia and Iran" in bne


@pytest.mark.parametrize(
    "text, iso",
    [
        ("January 18, 2025", "2025-01-18"),
        ("By Jane Doe Jan. 5, 2024", "2024-01-05"),
        ("18 January 2025", "2025-01-18"),
        ("2004-11-02T10:00:00Z", "2004-11-02"),
        ("Sept 3rd, 2019", "2019-09-03"),
        ("no date here", ""),
    ],
)
def test_parse_date(text, iso):
    assert parse_date(text) == iso


def test_html_through_a_parser(tmp_path: Path):
    page = tmp_path / "story.html"
    page.write_text(
        """<html><head><title>Ignored tab title</title>
        <meta property="og:title" content="Dam opens after decade">
        <meta name="author" content="Ana Lima">
        <meta property="article:published_time" content="2024-03-09T08:00:00Z">
        <meta property="og:site_name" content="River Times">
        <script>var tracking = "Leave a Reply";</script></head>
        <body><nav>Home | World | Sport</nav>
        <article><h1>Dam opens after decade</h1>
        <p>The dam opened on <b>Friday</b>, ten years
           after work began.</p><p>"It is a great day," the mayor said.</p></article>
        <footer>Copyright River Times</footer></body></html>""",
        encoding="utf-8",
    )
    article = clean(read(page, tmp_path))
    assert (article.title, article.author, article.date, article.outlet) == (
        "Dam opens after decade", "Ana Lima", "2024-03-09", "River Times",
    )  # fmt: skip
    assert article.text == (
        "The dam opened on Friday, ten years after work began.\n\n"
        '"It is a great day," the mayor said.'
    )


def test_markdown_front_matter_and_links(tmp_path: Path):
    page = tmp_path / "note.md"
    page.write_text(
        "---\ntitle: Rates held\nauthor: Bo Chen\ndate: 2023-06-01\n---\n# Rates held\n\n"
        "The bank **held** rates, said [its governor](https://example.org).\n",
        encoding="utf-8",
    )
    article = clean(read(page, tmp_path))
    assert (article.title, article.author, article.date) == ("Rates held", "Bo Chen", "2023-06-01")
    assert article.text == "The bank held rates, said its governor."


def test_html_nested_thousands_deep_or_wide_is_read_whole():
    """Pages that took the old cleaner time in the square of their size (a break inserted
    beside each block): thousands of nested blocks, and of sibling paragraphs, read whole, in
    order, with the page furniture inside them left out."""
    from index.html import html_to_text

    depth = 5000
    nested = (
        "<html><body><nav><article>Menu article</article></nav>"
        + "".join(f"<div>Level {i}<aside>aside {i}</aside>" for i in range(depth))
        + "</div>" * depth
        + "</body></html>"
    )
    text, _ = html_to_text(nested)
    assert text.split("\n\n") == [f"Level {i}" for i in range(depth)]
    flat = "<main>" + "".join(f"<p>Para {i} <i>text</i>.<br>Line</p>" for i in range(depth))
    text, _ = html_to_text(flat + "<!-- note --><script>x()</script></main>")
    assert text.split("\n\n") == [f"Para {i} text. Line" for i in range(depth)]
