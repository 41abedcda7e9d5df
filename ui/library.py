"""The library folder behind the web UI: uploads saved under safe names, deletions, re-ingestion."""

from __future__ import annotations

import re
import shutil
import threading
from pathlib import Path

SUFFIXES = (".txt", ".md", ".html")
# One ingest at a time per process: two at once would race on the same store's manifest.
INGEST_LOCK = threading.Lock()


def safe_name(name: str) -> str:
    """A file name that stays inside the library: the last path part only, in a plain alphabet,
    never hidden, never empty; "" when its suffix is not an article's."""
    base = re.split(r"[\\/]", name)[-1]
    base = re.sub(r"[^A-Za-z0-9._-]+", "_", base).lstrip("._-")
    stem, dot, suffix = base.rpartition(".")
    if not dot or f".{suffix.lower()}" not in SUFFIXES or not stem.strip("._-"):
        return ""
    return f"{stem}.{suffix.lower()}"


def skipped_lines(report) -> str:
    """The files an ingest skipped as a Markdown list, each with its reason; "" if none."""
    from ui.render import safe

    if not report.skipped:
        return ""
    return "\n\n**Skipped files:**\n" + "\n".join(
        f"- {safe(s.id)}: {safe(s.reason)}" for s in report.skipped
    )


def _ingest(folder: Path, settings, progress) -> tuple[object | None, str]:
    """Ingest the folder under the lock: (report, "") or (None, the error as one line)."""
    from core.errors import RagError
    from index import ingest
    from ui.render import safe

    if progress is not None:
        progress(0, desc="Ingesting")
    try:
        with INGEST_LOCK:
            return ingest(folder, settings=settings, progress=progress is not None), ""
    except RagError as error:
        return None, f"**Not ingested:** {safe(str(error))}"


def add_files(paths, library: str | Path, settings, progress=None) -> str:
    """Copy uploaded files into the library folder under safe names and ingest the folder.

    Returns:
        Markdown: what was added, skipped, or what went wrong, then any file ingest skipped.
    """
    from ui.render import safe

    folder = Path(library).expanduser().resolve()
    folder.mkdir(parents=True, exist_ok=True)
    added, skipped = [], []
    for path in paths:
        path = Path(path)  # Gradio passes uploads as file paths in its temp folder
        name = safe_name(path.name)
        target = (folder / name).resolve() if name else None
        if target is None or target.parent != folder:
            skipped.append(path.name)
            continue
        shutil.copyfile(path, target)
        added.append(name)
    if not added:
        skipped_text = ", ".join(safe(n) for n in skipped) or "nothing"
        return f"Nothing added; skipped {skipped_text} (only .txt, .md and .html files)."
    report, error = _ingest(folder, settings, progress)
    if report is None:
        return error
    line = f"Added {safe(', '.join(added))}. {safe(report.summary())}"
    line += f" Skipped {safe(', '.join(skipped))}." if skipped else ""
    return line + skipped_lines(report)


def delete_article(article_id: str, library: str | Path, settings, progress=None) -> str:
    """Delete an article's file from the library folder, then re-ingest so the store drops it.

    Returns:
        Markdown: what was deleted, or why nothing was.
    """
    from ui.render import safe

    folder = Path(library).expanduser().resolve()
    target = (folder / (article_id or "")).resolve()
    # Article ids are paths relative to the folder; anything resolving outside it is refused.
    if not article_id or not target.is_relative_to(folder) or target == folder:
        return f"Nothing deleted: {safe(article_id or 'no article')} is not a file in the library."
    if not target.is_file():
        return f"Nothing deleted: {safe(article_id)} is not in {safe(str(folder))}."
    target.unlink()
    report, error = _ingest(folder, settings, progress)
    if report is None:
        return f"Deleted {safe(article_id)} from the folder. {error}"
    return f"Deleted {safe(article_id)}. {safe(report.summary())}" + skipped_lines(report)


def reindex(library: str | Path, settings, progress=None) -> str:
    """Ingest the library folder again: new and changed files in, removed files out.

    Returns:
        Markdown: the ingest's one-line summary, then any file it skipped and why.
    """
    from ui.render import safe

    folder = Path(library).expanduser().resolve()
    report, error = _ingest(folder, settings, progress)
    if report is None:
        return error
    return safe(report.summary()) + skipped_lines(report)
