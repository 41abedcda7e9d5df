import re

from rag import Answer, Citation
from ui.app import render


def test_article_text_is_escaped_not_markup():
    quote = "<script>alert(1)</script> and <img src=x onerror=alert(2)>"
    answer = Answer(f"{quote} [1]", [Citation(1, "x.html", "<b>T</b>", quote, 0, len(quote), 0.9)])
    shown = render(answer)
    text = re.sub(r"^> ", "", shown, flags=re.M)  # our own blockquote markers
    assert re.search(r"(?<!\\)[<>]", text) is None  # every angle bracket of the article escaped
    assert r"\<script\>alert\(1\)\</script\>" in shown


def test_markdown_links_in_articles_stay_text():
    quote = "Click [here](javascript:alert(1)) now"
    shown = render(Answer(f"{quote} [1]", [Citation(1, "x.md", "T", quote, 0, len(quote), 0.9)]))
    assert "](javascript" not in shown
    assert r"\[here\]\(javascript:alert\(1\)\)" in shown


def test_chat_answers_through_the_app(seed_store):
    from rag.settings import Settings
    from ui.app import build

    demo = build(Settings.from_env(store=seed_store))
    fn = demo.fn
    reply = fn("What did Hussein say about mediation?", [])
    assert "previous mediation between Saudi Arabia and Iran" in reply and "[1]" in reply
    assert "bne IntelliNews" in reply
