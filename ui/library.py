"""The library folder behind the web UI: uploads saved under safe names, deletions, re-ingestion.

Ingest runs in a process of its own, never in the server's: a large article's cleaning and
splitting held the interpreter, and every chat stopped answering until it was done. The store's
lock (index/lock.py) keeps that process from writing beside any other ingest, and questions
read the last complete store meanwhile.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import queue
import re
import unicodedata
from collections.abc import Callable
from pathlib import Path

SUFFIXES = (".txt", ".md", ".html")
# The most names tried for an upload whose name is taken (name.txt, name-2.txt, ...).
MAX_TWINS = 1000


def safe_name(name: str) -> str:
    """A file name that stays inside the library: the last path part only, accents taken off
    ("café" -> "cafe"), in a plain alphabet, never hidden, never empty ("日本.txt" ->
    "article.txt"); "" when its suffix is not an article's."""
    stem, dot, suffix = re.split(r"[\\/]", name)[-1].rpartition(".")
    if not dot or f".{suffix.lower()}" not in SUFFIXES or not any(c.isalnum() for c in stem):
        return ""
    plain = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode()
    plain = re.sub(r"[^A-Za-z0-9._-]+", "_", plain).strip("._-")
    return f"{plain or 'article'}.{suffix.lower()}"


def skipped_lines(report) -> str:
    """The files an ingest skipped as a Markdown list, each with its reason; "" if none."""
    from ui.render import safe

    if not report.skipped:
        return ""
    return "\n\n**Skipped files:**\n" + "\n".join(
        f"- {safe(s.id)}: {safe(s.reason)}" for s in report.skipped
    )


def _ingest(folder: Path, settings, progress) -> tuple[object | None, str]:
    """Ingest the folder in a process of its own, reporting its progress as it goes:
    (report, "") or (None, what went wrong as one line of Markdown)."""
    from ui.render import safe

    def show(fraction, text: str) -> None:
        if progress is not None:
            progress(fraction, desc=text)

    show(0, "Starting the ingest")
    context = multiprocessing.get_context("spawn")  # a fresh interpreter: no server threads
    events = context.Queue()
    worker = context.Process(
        target=_ingest_worker, args=(str(folder), settings, events), daemon=True
    )
    worker.start()
    try:
        while True:
            try:
                kind, value = events.get(timeout=1.0)
            except queue.Empty:
                if worker.is_alive():
                    continue
                return None, (
                    f"**Not ingested:** the ingest stopped (exit code {worker.exitcode}) before "
                    "it finished; the store keeps what it had, and Re-index finishes the job"
                )
            if kind == "progress":
                done, total = value
                show(done / total if total else 1.0, f"Ingesting: {done} of {total} articles")
            elif kind == "note":
                show(None, value)
            elif kind == "report":
                return value, ""
            else:  # "error"
                return None, f"**Not ingested:** {safe(value)}"
    finally:
        worker.join(timeout=30)


def _ingest_worker(folder: str, settings, events) -> None:
    """The ingest process: ingest folder and put its progress, any warning that it waits for
    another ingest, and its report (or error) on events."""
    from core.errors import RagError
    from index import ingest

    class Notes(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.levelno >= logging.WARNING and "waiting" in record.getMessage():
                events.put(("note", "Waiting for another ingest into the store to finish"))

    logging.getLogger("index").addHandler(Notes())
    _leave_with(os.getppid())
    try:
        report = ingest(
            folder, settings=settings, progress=lambda d, t: events.put(("progress", (d, t)))
        )
    except RagError as error:
        events.put(("error", str(error)))
    except Exception as error:  # shown in the page, not lost in a log
        events.put(("error", f"the ingest failed: {type(error).__name__}: {error}"))
    else:
        events.put(("report", report))
    events.close()
    events.join_thread()


def _leave_with(parent: int) -> None:
    """End this process if the server that started it ends (killed, it cannot say so): an
    ingest stopped part-way is finished by the next one."""
    import threading
    import time

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def _claim(folder: Path, name: str, data: bytes) -> tuple[str, bool]:
    """Save data in the folder under name, or where that is taken by another file, under the
    first free name-2, name-3, ...: an upload never replaces a file. Returns the name used and
    whether it was written (False: a file there already holds exactly these bytes)."""
    stem, suffix = name.rsplit(".", 1)
    for number in range(1, MAX_TWINS + 1):
        candidate = name if number == 1 else f"{stem}-{number}.{suffix}"
        target = folder / candidate
        try:  # O_EXCL: two uploads at once never take the same name
            descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            if target.is_file() and not target.is_symlink() and target.read_bytes() == data:
                return candidate, False
            continue
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
        return candidate, True
    raise FileExistsError(f"{MAX_TWINS} files are already named like {name}")


def add_files(paths, library: str | Path, settings, progress: Callable | None = None) -> str:
    """Copy uploaded files into the library folder under safe names and ingest the folder.

    A name that is taken gets a number (a-2.txt); a file already there byte for byte is not
    copied again; a file over `settings.max_article_bytes` is not copied.

    Returns:
        Markdown: what was added, skipped, or what went wrong, then any file ingest skipped.
    """
    from ui.render import safe

    folder = Path(library).expanduser().resolve()
    folder.mkdir(parents=True, exist_ok=True)
    added, present, skipped = [], [], []
    for path in paths:
        path = Path(path)  # Gradio passes uploads as file paths in its temp folder
        name = safe_name(path.name)
        if not name:
            skipped.append(f"{path.name} (only .txt, .md and .html files)")
            continue
        if path.stat().st_size > settings.max_article_bytes:
            skipped.append(f"{path.name} (over {settings.max_article_bytes:,} bytes)")
            continue
        saved, written = _claim(folder, name, path.read_bytes())
        shown = saved if saved == path.name else f"{path.name} as {saved}"
        (added if written else present).append(shown)
    if not added:
        reasons = "; ".join([*(f"{n} is already there" for n in present), *skipped])
        return f"Nothing added: {safe(reasons or 'no files')}."
    report, error = _ingest(folder, settings, progress)
    if report is None:
        return f"Saved {safe(', '.join(added))} in the folder. {error}"
    line = f"Added {safe(', '.join(added))}. {safe(report.summary())}"
    line += f" Already there: {safe(', '.join(present))}." if present else ""
    line += f" Skipped {safe('; '.join(skipped))}." if skipped else ""
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
