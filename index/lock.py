"""One writer at a time: an ingest holds an exclusive lock on a file in the store folder.

Two ingests into one store at once interleave their writes and damage it (passages not found
by their own vector, a rerun that repairs nothing), so `ingest` takes this lock for its whole
run and a second one waits, or with `wait=False` refuses. The lock is `flock` on
`<store>/ingest.lock`: the kernel drops it when its holder exits, killed or not, so a crashed
ingest never leaves the store locked. Readers never take it; `held` only asks whether an
ingest is running, so that a question can tell one still writing from one that stopped.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path

from core.errors import StoreBusyError, StoreNotFoundError

log = logging.getLogger("index")
LOCK_NAME = "ingest.lock"
# `held` takes a shared lock for an instant to see whether an ingest holds it: a writer that
# finds the lock taken tries again for this long before it counts it as another ingest's.
_SETTLE_SECONDS = 0.5


def store_folder(path: Path) -> Path:
    """Make the store folder if missing; a path that is a file, or cannot be made, is an error
    that says so (not a FileExistsError)."""
    if path.exists() and not path.is_dir():
        raise StoreNotFoundError(
            f"{path} is a file, not a store folder; give --store a folder (a new one, or one "
            "`rag ingest` made)"
        )
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise StoreNotFoundError(
            f"cannot make the store folder {path} ({error.strerror or error}); "
            "give --store a folder you can write to"
        ) from None
    return path


@contextlib.contextmanager
def writing(store: Path, wait: bool = True) -> Iterator[None]:
    """Hold the store's ingest lock for the block.

    Args:
        store: the store folder (made if missing).
        wait: when another ingest holds the lock, wait for it (saying so once, as a warning on
            the "index" logger); otherwise raise StoreBusyError.
    """
    store = store_folder(Path(store))
    descriptor = os.open(store / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        if not _take(descriptor, _SETTLE_SECONDS):
            holder = _holder(descriptor)
            if not wait:
                raise StoreBusyError(
                    f"another ingest ({holder}) is writing to {store}; let it finish and run "
                    "this one again, or leave out --no-wait to wait for it"
                )
            log.warning(
                "another ingest (%s) is writing to %s; waiting for it to finish", holder, store
            )
            fcntl.flock(descriptor, fcntl.LOCK_EX)
        os.ftruncate(descriptor, 0)
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        os.pwrite(descriptor, f"pid {os.getpid()}, since {stamp}".encode(), 0)
        yield
    finally:
        os.close(descriptor)  # closing the only descriptor releases the lock


def held(store: Path) -> bool:
    """Whether an ingest holds the store's lock now (in this process or another)."""
    try:
        descriptor = os.open(Path(store) / LOCK_NAME, os.O_RDONLY)
    except OSError:
        return False  # no ingest has ever run here
    try:
        fcntl.flock(descriptor, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError as error:
        if error.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
            return True
        raise
    finally:
        os.close(descriptor)
    return False


def _take(descriptor: int, settle: float) -> bool:
    """Take the lock without blocking, trying again for `settle` seconds: a reader's `held`
    holds it shared for microseconds."""
    deadline = time.monotonic() + settle
    while True:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except OSError as error:
            if error.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
                raise
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)


def _holder(descriptor: int) -> str:
    """Who holds the lock, as its holder wrote it ("pid 123, since ..."), else "pid unknown"."""
    try:
        return os.pread(descriptor, 200, 0).decode(errors="replace").strip() or "pid unknown"
    except OSError:
        return "pid unknown"
