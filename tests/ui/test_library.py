from pathlib import Path

from ui.library import add_files, delete_article, reindex, safe_name
from ui.render import safe


def test_file_names_cannot_leave_the_library():
    assert safe_name("../../etc/passwd.txt") == "passwd.txt"
    assert safe_name("..\\..\\evil.md") == "evil.md"
    assert safe_name(".hidden.html") == "hidden.html"
    assert safe_name("a b/c d.HTML") == "c_d.html"
    assert safe_name("run.sh") == "" and safe_name("..txt") == "" and safe_name("") == ""
    assert safe_name("aé.txt") == "ae.txt" and safe_name("Zürich Ünïon.MD") == "Zurich_Union.md"
    assert safe_name("日本.txt") == "article.txt" and safe_name("x.txt.exe") == ""


def test_uploads_whose_names_clean_alike_get_names_of_their_own(tmp_path, articles):
    """aé.txt and aè.txt both clean to ae.txt: the second used to replace the first."""
    from core.settings import Settings
    from rag.ask import open_store

    settings = Settings.from_env(store=tmp_path / "store")
    upload = tmp_path / "upload"
    upload.mkdir()
    (upload / "aé.txt").write_text("Acute news\n\nThe acute ward reopened on Monday.\n")
    (upload / "aè.txt").write_text("Grave news\n\nThe grave robbers were caught on Tuesday.\n")
    (upload / "ae.txt").write_text("Plain news\n\nThe plain road was resurfaced on Friday.\n")
    report = add_files([upload / n for n in ("aé.txt", "aè.txt", "ae.txt")], articles, settings)
    saved = "aé.txt as ae.txt, aè.txt as ae-2.txt, ae.txt as ae-3.txt"
    assert report.startswith(safe(f"Added {saved}."))
    texts = {n: (Path(articles) / n).read_text() for n in ("ae.txt", "ae-2.txt", "ae-3.txt")}
    assert [t.split("\n")[0] for t in texts.values()] == ["Acute news", "Grave news", "Plain news"]
    ids = {a.id for a in open_store(settings.store).list_articles()}
    assert {"ae.txt", "ae-2.txt", "ae-3.txt"} <= ids
    # The same file again is already there, under whichever name holds it: nothing is copied.
    again = add_files([upload / "aè.txt"], articles, settings)
    assert again == safe("Nothing added: aè.txt as ae-2.txt is already there.")
    assert not (Path(articles) / "ae-4.txt").exists()


def test_an_upload_over_the_article_size_limit_is_not_saved(tmp_path, articles):
    from core.settings import Settings

    settings = Settings.from_env(store=tmp_path / "store", max_article_bytes=1000)
    big = tmp_path / "big.txt"
    big.write_text("Big news\n\n" + "It was big. " * 200)
    report = add_files([big], articles, settings)
    assert report == safe("Nothing added: big.txt (over 1,000 bytes).")
    assert not (Path(articles) / "big.txt").exists()


def test_uploads_are_saved_and_ingested(tmp_path, articles):
    from core.settings import Settings
    from rag.ask import open_store

    settings = Settings.from_env(store=tmp_path / "store")
    upload = tmp_path / "upload"
    upload.mkdir()
    (upload / "new.txt").write_text("Harbour news\n\nThe harbour reopened on Monday.\n")
    (upload / "tool.sh").write_text("echo hi")
    from index import ingest

    ingest(articles, settings=settings)
    report = add_files([upload / "new.txt", upload / "tool.sh"], articles, settings)
    assert "Added new.txt" in report and "Skipped tool.sh" in report
    assert (Path(articles) / "new.txt").exists() and not (Path(articles) / "tool.sh").exists()
    ids = [a.id for a in open_store(settings.store).list_articles()]
    assert "new.txt" in ids


def test_delete_removes_the_file_and_the_stored_article(tmp_path, articles):
    from core.settings import Settings
    from index import ingest
    from rag.ask import open_store
    from tests.conftest import FOX

    settings = Settings.from_env(store=tmp_path / "store")
    ingest(articles, settings=settings)
    assert "Nothing deleted" in delete_article("../outside.txt", articles, settings)
    assert "Nothing deleted" in delete_article("missing.txt", articles, settings)
    report = delete_article(FOX, articles, settings)
    assert report.startswith(f"Deleted {safe(FOX)}") and "1 removed" in report
    assert not (Path(articles) / FOX).exists()
    assert FOX not in [a.id for a in open_store(settings.store).list_articles()]


def test_reindex_reports_skipped_files_with_reasons(tmp_path, articles):
    from core.settings import Settings
    from rag.ask import open_store

    settings = Settings.from_env(store=tmp_path / "store")
    (Path(articles) / "empty.txt").write_text("   \n")
    report = reindex(articles, settings)
    assert "added" in report and "**Skipped files:**\n- empty.txt: " in report
    stored = open_store(settings.store).list_articles()
    assert stored and all(a.passages >= 1 for a in stored)
