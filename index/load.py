"""Find article files under a folder and read them: decode text, reject binaries.

Symlinks: one whose target is inside the folder is followed (a file's target is read under the
link's name, a folder's files under the link's path), unless that target is read under its own
name anyway; one that leads outside the folder, or nowhere, is skipped and named. Nothing
outside the folder is ever read.
"""

from __future__ import annotations

import codecs
import hashlib
import os
from pathlib import Path

from core.errors import IngestSourceError
from core.text import without_controls
from index.records import Skip, Source

KINDS = {
    ".txt": "text",
    ".md": "markdown",
    ".markdown": "markdown",
    ".html": "html",
    ".htm": "html",
}

# Bytes that never appear in text files; more than a few of them in the head of a file mark it
# binary (random bytes hold 11%). A NUL or two in a text file is dropped, not taken for a
# binary, and ESC, which begins a terminal's escape sequences (text, dropped too), is not
# counted (see `read`).
_CONTROL = set(range(0, 9)) | {11} | set(range(14, 27)) | set(range(28, 32)) | {127}
# Byte order marks, UTF-32 first: its little-endian mark begins with UTF-16's.
BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def discover(root: Path) -> tuple[list[Path], list[Skip]]:
    """List the supported files under root, recursively, and the unsupported ones as skips.

    Hidden files and folders (".git", ".DS_Store") are ignored silently; symlinks are followed
    inside root only (see the module's docstring), and each folder is read once.
    """
    root = Path(root)
    if not root.exists():
        raise IngestSourceError(f"no such folder: {root}; give the folder that holds the articles")
    if not root.is_dir():
        raise IngestSourceError(f"{root} is a file, not a folder; give the folder that holds it")
    top = root.resolve()
    found, skipped = [], []
    read_folders = {top}
    folders, linked = [root], []  # linked folders wait until every real one has been listed
    while folders or linked:
        if not folders:
            link, target = linked.pop(0)
            if target in read_folders:
                skipped.append(_read_there(root, link, target, top))
                continue
            read_folders.add(target)
            folders.append(link)
        for entry in _entries(folders.pop(), root, skipped):
            path = Path(entry.path)
            rel = path.relative_to(root).as_posix()
            if entry.name.startswith("."):
                continue
            if not _is_text(entry.name):
                shown = os.fsencode(rel).decode("utf-8", "replace")
                skipped.append(Skip(shown, "its name is not UTF-8 text; rename it to read it"))
                continue
            target = path
            if entry.is_symlink():
                target, why = _inside(path, top)
                if target is None:
                    skipped.append(Skip(rel, why))
                    continue
                if target.is_dir():
                    linked.append((path, target))
                    continue
                if not _hidden(target, top):
                    skipped.append(_read_there(root, path, target, top))
                    continue
            if target.is_dir():
                read_folders.add(target.resolve())
                folders.append(path)
            elif path.suffix.lower() not in KINDS:
                skipped.append(Skip(rel, f"unsupported file type {path.suffix or '(none)'}"))
            elif not target.is_file():
                skipped.append(Skip(rel, "not a regular file"))
            else:
                found.append(path)
    return sorted(found), sorted(skipped, key=lambda skip: skip.id)


def _entries(folder: Path, root: Path, skipped: list[Skip]) -> list[os.DirEntry]:
    try:
        with os.scandir(folder) as entries:
            return sorted(entries, key=lambda entry: entry.name)
    except OSError as error:
        rel = folder.relative_to(root).as_posix()
        skipped.append(Skip(rel, f"unreadable folder: {error.strerror or error}"))
        return []


def _is_text(name: str) -> bool:
    """Whether a file name is text: Python gives bytes that are not UTF-8 as lone surrogates,
    which no store id can hold."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _inside(link: Path, top: Path) -> tuple[Path | None, str]:
    """The real path a symlink leads to when that is inside top (the real root), else None
    and why it is not followed."""
    try:
        target = link.resolve(strict=True)
    except (OSError, RuntimeError):  # broken, or a loop
        return None, "a symlink that leads nowhere"
    if not target.is_relative_to(top):
        return None, "a symlink that leads outside the folder, not read"
    return target, ""


def _hidden(target: Path, top: Path) -> bool:
    return any(part.startswith(".") for part in target.relative_to(top).parts)


def _read_there(root: Path, link: Path, target: Path, top: Path) -> Skip:
    """A link to something inside the folder that is read under its own name."""
    there = target.relative_to(top).as_posix() or "."
    return Skip(link.relative_to(root).as_posix(), f"a symlink to {there}, read under that name")


def looks_binary(data: bytes) -> bool:
    head = data[:8192]
    controls = sum(1 for byte in head if byte in _CONTROL)
    return bool(head) and controls / len(head) > 0.05


def decode(data: bytes) -> tuple[str, str]:
    """Decode text by its byte order mark (UTF-32, UTF-16) when it has one, else as UTF-8 when
    it is, else as Windows-1252, else Latin-1 (which always succeeds).

    Returns:
        The text and the name of the encoding used.
    """
    for mark, encoding in BOMS:
        if data.startswith(mark):
            return data.decode(encoding, errors="replace"), encoding
    for encoding in ("utf-8-sig", "cp1252", "latin-1"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        return text, "utf-8" if encoding == "utf-8-sig" else encoding
    raise AssertionError("latin-1 decodes every byte string")


def read(path: Path, root: Path, max_bytes: int | None = None) -> Source | Skip:
    """Read one file into a Source, or say why it was skipped.

    max_bytes: a larger file is skipped, unread (Settings.max_article_bytes).
    """
    article_id = path.relative_to(root).as_posix()
    if not path.resolve().is_relative_to(Path(root).resolve()):  # a link changed since discover
        return Skip(article_id, "a symlink that leads outside the folder, not read")
    try:
        with path.open("rb") as file:
            data = file.read() if max_bytes is None else file.read(max_bytes + 1)
    except OSError as error:
        return Skip(article_id, f"unreadable: {error.strerror or error}")
    if max_bytes is not None and len(data) > max_bytes:
        return Skip(
            article_id,
            f"larger than {max_bytes:,} bytes, the most an article may be; raise "
            "RAG_MAX_ARTICLE_BYTES to read it",
        )
    if not any(data.startswith(mark) for mark, _ in BOMS) and looks_binary(data):
        return Skip(article_id, "binary file, not text")
    text, encoding = decode(data)
    text = without_controls(text)  # a stray NUL or terminal escape goes, not the article
    if not text.strip():
        return Skip(article_id, "empty file")
    digest = hashlib.sha256(data).hexdigest()
    return Source(article_id, KINDS[path.suffix.lower()], text, digest, encoding)
