"""A folder of hostile and broken input, made here at run time (no binaries are committed),
ingested by a real `rag ingest` into a real store: each file is read, cleaned or refused with a
reason, nothing outside the folder is read, and nothing reaches the terminal as control codes."""

from __future__ import annotations

import codecs
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from index.embed import MODEL_NAME
from index.split import LONGEST_SENTENCE
from index.store import Store
from tests.conftest import ROOT

SECRET = "OUTSIDE-SECRET-7731"
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
LIMIT = 300_000  # RAG_MAX_ARTICLE_BYTES for this corpus


def story(title: str, body: str) -> str:
    return f"{title}\n\n{body}\n"


def build(root: Path) -> Path:
    """The corpus under root/corpus, with root/outside beside it (never to be read)."""
    corpus, outside = root / "corpus", root / "outside"
    corpus.mkdir()
    outside.mkdir()
    (outside / "secret.txt").write_text(story("Secret", f"The password is {SECRET}."))
    files = {
        "utf16le.txt": codecs.BOM_UTF16_LE
        + story("Tide mill", "The tide mill at Eling was restored, its trust said.").encode(
            "utf-16-le"
        ),
        "utf16be.md": codecs.BOM_UTF16_BE
        + story("# Canal boats", "Canal boats queued at the Caen Hill locks.").encode("utf-16-be"),
        "utf32.txt": codecs.BOM_UTF32_LE
        + story("Glacier", "The Rhône glacier lost three metres this summer.").encode("utf-32-le"),
        "utf8-bom.txt": codecs.BOM_UTF8
        + story("Bakery", "The bakery in Åre won a prize.").encode(),
        "nul.txt": story("Ferry", "The ferry\x00 runs\x00 hourly from Lymington.").encode(),
        "latin1.txt": b"Market\n\nThe market \x81sold caf\xe9 tables and \xff chairs.\n",
        "escapes.txt": story(
            "Lighthouse",
            "The lighthouse keeper \x1b[31msaid\x1b[0m the lamp \x1b]0;pwned\x07works again.\x07",
        ).encode(),
        "\x1b[2Jescape-name.txt": story("Pier", "The pier reopened after the storm.").encode(),
        "huge-line.txt": story(
            "Long line", " ".join(f"word{i % 997}" for i in range(30_000))
        ).encode(),
        "nested.html": (
            "<html><head><title>Deep page</title></head><body><nav>Menu</nav>"
            + "".join(f"<div>Layer {i} of the deep page." for i in range(3000))
            + "</div>" * 3000
            + "</body></html>"
        ).encode(),
        "empty.txt": b"",
        "blank.md": b"  \n\t\n",
        "binary.txt": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4,
        "too-big.txt": story("Big", "Big story. " * (LIMIT // 10)).encode(),
        "notes.pdf": b"%PDF-1.4",
        ".hidden/draft.txt": story("Draft", "The draft says the bridge will open in May.").encode(),
        "sub/inner.txt": story("Inner", "The inner story is about a new school.").encode(),
    }
    for name, data in files.items():
        (corpus / name).parent.mkdir(parents=True, exist_ok=True)
        (corpus / name).write_bytes(data)
    (corpus / os.fsdecode(b"caf\xe9-name.txt")).write_bytes(story("Cafe", "Cafe news.").encode())
    links = {
        "inside-link.txt": "utf8-bom.txt",  # read under its own name already
        "outside-link.txt": str(outside / "secret.txt"),
        "outside-dir": str(outside),
        "relative-out.txt": "../outside/secret.txt",
        "drafts": ".hidden",  # a folder inside that is not read otherwise: followed
        "loop": ".",
        "sub/up": "..",
        "broken.txt": "missing.txt",
    }
    for name, target in links.items():
        (corpus / name).symlink_to(target)
    os.mkfifo(corpus / "pipe.txt")
    return corpus


@pytest.fixture(scope="module")
def ingested(tmp_path_factory):
    root = tmp_path_factory.mktemp("bad-input")
    corpus = build(root)
    env = {**os.environ, "RAG_MAX_ARTICLE_BYTES": str(LIMIT)}
    result = subprocess.run(
        [sys.executable, "-m", "rag.cli", "ingest", str(corpus), "--store", str(root / "store")],
        cwd=ROOT, env=env, capture_output=True, timeout=900,
    )  # fmt: skip
    return root / "store", result


def test_the_corpus_is_ingested_and_what_is_refused_says_why(ingested):
    store, result = ingested
    out, err = result.stdout.decode(), result.stderr.decode()
    assert result.returncode == 0, err
    assert out.count("\n") == 1
    assert not CONTROL.search(out) and not CONTROL.search(err)
    skipped = dict(re.findall(r"^warning: skipped (.+?): (.+)$", err, re.M))
    assert skipped == {
        "empty.txt": "empty file",
        "blank.md": "empty file",
        "binary.txt": "binary file, not text",
        "too-big.txt": f"larger than {LIMIT:,} bytes, the most an article may be; raise "
        "RAG_MAX_ARTICLE_BYTES to read it",
        "notes.pdf": "unsupported file type .pdf",
        "caf\ufffd-name.txt": "its name is not UTF-8 text; rename it to read it",
        "inside-link.txt": "a symlink to utf8-bom.txt, read under that name",
        "outside-link.txt": "a symlink that leads outside the folder, not read",
        "outside-dir": "a symlink that leads outside the folder, not read",
        "relative-out.txt": "a symlink that leads outside the folder, not read",
        "loop": "a symlink to ., read under that name",
        "sub/up": "a symlink to ., read under that name",
        "broken.txt": "a symlink that leads nowhere",
        "pipe.txt": "not a regular file",
    }
    assert "14 skipped" in out
    db = Store(store, MODEL_NAME)
    assert sorted(a.id for a in db.list_articles()) == sorted(
        [
            "utf16le.txt", "utf16be.md", "utf32.txt", "utf8-bom.txt", "nul.txt", "latin1.txt",
            "escapes.txt", "\x1b[2Jescape-name.txt", "huge-line.txt", "nested.html",
            "drafts/draft.txt", "sub/inner.txt",
        ]
    )  # fmt: skip


def test_text_is_decoded_and_control_characters_are_dropped_not_the_article(ingested):
    db = Store(ingested[0], MODEL_NAME)
    text = {a.id: db.article(a.id) for a in db.list_articles()}
    assert text["utf16le.txt"].text == "The tide mill at Eling was restored, its trust said."
    assert text["utf16be.md"].text == "Canal boats queued at the Caen Hill locks."
    assert text["utf16be.md"].title == "Canal boats"
    assert text["utf32.txt"].text == "The Rhône glacier lost three metres this summer."
    assert text["utf8-bom.txt"].title == "Bakery"
    assert text["nul.txt"].text == "The ferry runs hourly from Lymington."
    assert text["latin1.txt"].text == "The market sold café tables and ÿ chairs."
    assert text["escapes.txt"].text == "The lighthouse keeper said the lamp works again."
    for article in text.values():
        assert not CONTROL.search(article.text + article.title)
        assert SECRET not in article.text


def test_a_huge_line_and_a_deep_page_are_cut_into_sentences_of_a_few_hundred_characters(ingested):
    db = Store(ingested[0], MODEL_NAME)
    line = db.article("huge-line.txt")
    lengths = [end - start for start, end in line.sentences]
    assert len(lengths) > 200 and max(lengths) <= LONGEST_SENTENCE
    assert " ".join(line.text[s:e] for s, e in line.sentences) == line.text
    page = db.article("nested.html")
    assert page.title == "Deep page" and len(page.sentences) == 3000
    assert page.text.startswith("Layer 0 of the deep page.\n\nLayer 1 of")


def test_answers_from_the_corpus_print_no_control_codes(ingested):
    store = ingested[0]
    result = subprocess.run(
        [sys.executable, "-m", "rag.cli", "ask", "What did the lighthouse keeper say about the "
         "lamp?", "--store", str(store)],
        cwd=ROOT, capture_output=True, timeout=300,
    )  # fmt: skip
    out = result.stdout.decode()
    assert result.returncode == 0, result.stderr.decode()
    assert "The lighthouse keeper said the lamp works again." in out
    assert not CONTROL.search(out)
    result = subprocess.run(
        [sys.executable, "-m", "rag.cli", "ask", "When did the pier reopen?", "--store",
         str(store)],
        cwd=ROOT, capture_output=True, timeout=300,
    )  # fmt: skip
    out = result.stdout.decode()
    assert "    escape-name.txt, characters " in out and not CONTROL.search(out)
