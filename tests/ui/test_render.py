import re

from rag import Answer, Citation
from ui.render import (
    chat_markdown,
    esc,
    highlighted,
    paragraph_bounds,
    pieces,
    plain_text,
    safe,
    sources_html,
)

TEXT = "First paragraph.\n\nIntro. <script>alert(1)</script> is quoted. Outro.\n\nLast one."
START = TEXT.index("<script>")
END = TEXT.index(" is quoted") + len(" is quoted.")


def cite(n=1, article="x.txt", text=TEXT, start=START, end=END, **extra):
    return Citation(n, article, "<b>T</b>", text[start:end], start, end, 0.9, **extra)


def test_markdown_escapes_article_text():
    quote = "<script>alert(1)</script> and <img src=x onerror=alert(2)>"
    shown = chat_markdown(Answer(f"{quote} [1]", [cite()], question="q", query="q"))
    assert re.search(r"(?<!\\)[<>]", shown) is None
    assert r"\<script\>alert\(1\)\</script\>" in shown


def test_markdown_links_in_articles_stay_text():
    quote = "Click [here](javascript:alert(1)) now, $$x$$"
    shown = safe(quote)
    assert "](javascript" not in shown and "$$" not in shown
    assert r"\[here\]\(javascript:alert\(1\)\)" in shown


def test_html_escape_covers_template_syntax():
    assert esc("<a href='x'>${alert(1)} {{x}} `y`</a>") == (
        "&lt;a href=&#x27;x&#x27;&gt;&#36;&#123;alert(1)&#125; &#123;&#123;x&#125;&#125; "
        "&#96;y&#96;&lt;/a&gt;"
    )


def test_paragraph_is_between_blank_lines():
    lo, hi = paragraph_bounds(TEXT, START, END)
    assert TEXT[lo:hi] == "Intro. <script>alert(1)</script> is quoted. Outro."
    assert paragraph_bounds("one line", 0, 3) == (0, 8)


def test_highlight_marks_exactly_the_span():
    shown = highlighted(TEXT, START, END, *paragraph_bounds(TEXT, START, END))
    assert shown == (
        'Intro. <mark class="cited">&lt;script&gt;alert(1)&lt;/script&gt; is quoted.</mark> Outro.'
    )


def test_source_card_shows_paragraph_and_whole_article():
    answer = Answer("Quoted. [1]", [cite(outlet="Fox <News>", date="2025-01-18")])
    shown = sources_html(answer, {"x.txt": TEXT})
    assert "<script>" not in shown and "<b>T</b>" not in shown
    assert "&lt;b&gt;T&lt;/b&gt;" in shown and "Fox &lt;News&gt; · 2025-01-18" in shown
    assert shown.count('<mark class="cited">') == 2  # the paragraph, and the whole article
    assert "Open the whole article" in shown and "Last one." in shown
    assert "Related, not an answer" not in shown


def test_source_card_says_who_is_quoted_escaped_and_nothing_when_no_one_is():
    shown = sources_html(Answer("Quoted. [1]", [cite(speaker="Ann <Lee>")]), {"x.txt": TEXT})
    assert '<p class="speaker">Said by Ann &lt;Lee&gt;</p>' in shown
    assert 'class="speaker"' not in sources_html(Answer("Quoted. [1]", [cite()]), {"x.txt": TEXT})


def test_abstention_lists_related_under_its_own_heading():
    answer = Answer("The articles don't say.", abstained=True, related=[cite()])
    shown = sources_html(answer, {})
    assert 'class="sources abstained"' in shown and "Related, not an answer" in shown
    assert "&lt;script&gt;" in shown  # no article text: the quote alone, escaped
    assert "No answer in the articles" in chat_markdown(answer)


def test_answer_streams_span_by_span():
    text = "One [1] two. [2][3] Three."
    assert pieces(text) == ["One [1]", " two. [2][3]", " Three."]
    assert "".join(pieces(text)) == text


def test_query_shown_only_when_it_differs():
    same = Answer("a [1]", [cite()], question="q", query="q")
    other = Answer("a [1]", [cite()], question="And Syria?", query="Hussein Syria")
    assert "Searched for" not in chat_markdown(same)
    assert "Searched for: Hussein Syria" in chat_markdown(other)


def test_copy_text_has_answer_and_sources():
    shown = plain_text(Answer("Quoted. [1]", [cite(outlet="Fox", date="2025-01-18")]))
    assert shown.startswith("Quoted. [1]\n\nSources:\n[1] <b>T</b> (Fox, 2025-01-18)")


def test_markers_link_to_their_source_cards():
    shown = chat_markdown(Answer("One [1][2] and [a] note.", [cite(), cite(2)]))
    assert shown == r"One [\[1\]](#source-1)[\[2\]](#source-2) and \[a\] note."
    assert 'id="source-2"' in sources_html(Answer("x [2]", [cite(2)]), {})
