from pathlib import Path

from ui.library import add_files, delete_article, reindex, safe_name
from ui.render import safe


def test_file_names_cannot_leave_the_library():
    assert safe_name("../../etc/passwd.txt") == "passwd.txt"
    assert safe_name("..\\..\\evil.md") == "evil.md"
    assert safe_name(".hidden.html") == "hidden.html"
    assert safe_name("a b/c d.HTML") == "c_d.html"
    assert safe_name("run.sh") == "" and safe_name("..txt") == "" and safe_name("") == ""


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
