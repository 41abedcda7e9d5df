"""The library folder behind the web UI: uploaded articles saved under safe names, then ingested."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

SUFFIXES = (".txt", ".md", ".html")


def safe_name(name: str) -> str:
    """A file name that stays inside the library: the last path part only, in a plain alphabet,
    never hidden, never empty; "" when its suffix is not an article's."""
    base = re.split(r"[\\/]", name)[-1]
    base = re.sub(r"[^A-Za-z0-9._-]+", "_", base).lstrip("._-")
    stem, dot, suffix = base.rpartition(".")
    if not dot or f".{suffix.lower()}" not in SUFFIXES or not stem.strip("._-"):
        return ""
    return f"{stem}.{suffix.lower()}"


def add_files(paths, library: str | Path, settings, progress=None) -> str:
    """Copy uploaded files into the library folder under safe names and ingest the folder.

    Returns:
        A one-line Markdown report: what was added, skipped, or what went wrong.
    """
    from index import ingest
    from rag.errors import RagError
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
    if progress is not None:
        progress(0, desc="Ingesting")
    try:
        report = ingest(folder, settings=settings, progress=progress is not None)
    except RagError as error:
        return f"**Not ingested:** {safe(str(error))}"
    line = f"Added {safe(', '.join(added))}. {safe(report.summary())}"
    return line + (f" Skipped {safe(', '.join(skipped))}." if skipped else "")
