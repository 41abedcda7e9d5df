"""Find article files under a folder and read them: decode text, reject binaries."""

from __future__ import annotations

import hashlib
from pathlib import Path

from core.errors import IngestSourceError
from index.records import Skip, Source

KINDS = {
    ".txt": "text",
    ".md": "markdown",
    ".markdown": "markdown",
    ".html": "html",
    ".htm": "html",
}

# Bytes that never appear in text files; a few of them in the head of a file mark it binary.
_CONTROL = set(range(0, 9)) | {11} | set(range(14, 32)) | {127}


def discover(root: Path) -> tuple[list[Path], list[Skip]]:
    """List the supported files under root, recursively, and the unsupported ones as skips.

    Hidden files and folders (".git", ".DS_Store") are ignored silently.
    """
    root = Path(root)
    if not root.exists():
        raise IngestSourceError(f"no such folder: {root}; give the folder that holds the articles")
    if not root.is_dir():
        raise IngestSourceError(f"{root} is a file, not a folder; give the folder that holds it")
    found, skipped = [], []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if any(part.startswith(".") for part in rel.parts) or not path.is_file():
            continue
        if path.suffix.lower() in KINDS:
            found.append(path)
        else:
            skipped.append(Skip(rel.as_posix(), f"unsupported file type {path.suffix or '(none)'}"))
    return found, skipped


def looks_binary(data: bytes) -> bool:
    head = data[:8192]
    if b"\x00" in head:
        return True
    controls = sum(1 for byte in head if byte in _CONTROL)
    return bool(head) and controls / len(head) > 0.05


def decode(data: bytes) -> tuple[str, str]:
    """Decode text as UTF-8 when it is, else as Windows-1252, else Latin-1 (which always succeeds).

    Returns:
        The text and the name of the encoding used.
    """
    for encoding in ("utf-8-sig", "cp1252", "latin-1"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        return text, "utf-8" if encoding == "utf-8-sig" else encoding
    raise AssertionError("latin-1 decodes every byte string")


def read(path: Path, root: Path) -> Source | Skip:
    """Read one file into a Source, or say why it was skipped."""
    article_id = path.relative_to(root).as_posix()
    try:
        data = path.read_bytes()
    except OSError as error:
        return Skip(article_id, f"unreadable: {error.strerror or error}")
    if looks_binary(data):
        return Skip(article_id, "binary file, not text")
    text, encoding = decode(data)
    if not text.strip():
        return Skip(article_id, "empty file")
    digest = hashlib.sha256(data).hexdigest()
    return Source(article_id, KINDS[path.suffix.lower()], text, digest, encoding)
