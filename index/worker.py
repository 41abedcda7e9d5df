"""Speakers and entities read by spaCy in a process of its own, beside ingest's encoder.

In a thread, spaCy (mostly Python, holding the interpreter's lock) and the encoder's batch
threads took turns; in a process they run at once (500 BBC articles: see README). The process
runs `serve()`, which reads pickled lists of articles on stdin and writes each list back with
speakers and entities (`index.speakers.with_speakers_all`) on stdout. It is started with
`python -c`: `-m index.worker` would import this module twice (with the `index` package, then as
the script). It is not a multiprocessing pool: those start by importing the caller's main script
again, which a script without a `__main__` guard would run a second time (an ingest inside an
ingest).
"""

from __future__ import annotations

import logging
import os
import pickle
import subprocess
import sys
from collections.abc import Sequence

from index.records import Article
from index.speakers import with_speakers_all

log = logging.getLogger("index")


class SpeakerProcess:
    """A process that reads articles with spaCy; `with SpeakerProcess() as read: read(a)`.

    If the process fails (killed, out of memory), articles are read in this process instead,
    with a warning: the ingest goes on.
    """

    def __init__(self) -> None:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
        self.process: subprocess.Popen | None = subprocess.Popen(
            [sys.executable, "-c", "from index.worker import serve; serve()"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
        )

    def __enter__(self):
        return self

    def __call__(self, articles: Sequence[Article]) -> list[Article]:
        if self.process is not None:
            try:
                pickle.dump(list(articles), self.process.stdin, pickle.HIGHEST_PROTOCOL)
                self.process.stdin.flush()
                return pickle.load(self.process.stdout)
            except (OSError, EOFError, pickle.UnpicklingError) as error:
                log.warning("spaCy's process failed (%s); reading articles in this one", error)
                self.close()
        return with_speakers_all(articles)

    def close(self) -> None:
        if self.process is None:
            return
        process, self.process = self.process, None
        try:
            process.stdin.close()
            process.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            process.kill()
            process.wait()
        process.stdout.close()

    def __exit__(self, *exc) -> None:
        self.close()


def serve() -> None:
    """Read pickled lists of articles from stdin until it closes; write each back attributed."""
    from index.speakers import load_reader

    source, sink = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing but results on the pipe
    load_reader()
    while True:
        try:
            articles = pickle.load(source)
        except EOFError:
            return
        pickle.dump(with_speakers_all(articles), sink, pickle.HIGHEST_PROTOCOL)
        sink.flush()
