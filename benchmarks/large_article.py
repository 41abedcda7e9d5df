"""One large article through ingest, step by step: time and peak memory for 1, 4 and 20 MB.

Every step should take time in proportion to the article's size: the table prints seconds per
MB beside the seconds, so a straight line shows as a steady column. (Speaker attribution took
147 s at 2 MB and 316 s at 4 MB, and HTML cleaning 400 s for 1.1 MB, before they were made
linear; see issue 21.)

The article is the BBC corpus's stories run together until the size is reached (copies after the
first with each paragraph marked, so that no passage repeats and every one is embedded), read as
.txt; the same paragraphs as an HTML page go through read and clean too (the "html" rows), where
only cleaning differs. Without the BBC corpus the sample articles' sentences are used.

The steps are ingest's own functions, called one at a time on the one article: read
(index/load.py), clean, split, speakers, passages (word pieces, passages and the stored-vector
lookup: ingest._plan), embed (ingest._embed), write (Store.write, then the new generation of
snapshot and BM25 index). Each size runs in a process of its own; memory is that process's
resident set, sampled every 10 ms during a step (so the encoder's and Chroma's native memory
counts): its peak, and how far the step raised it.

    .venv/bin/python benchmarks/large_article.py [--sizes 1 4 20] [--bbc DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
STEPS = ("read", "clean", "split", "speakers", "passages", "embed", "write")
HTML_STEPS = ("html read", "html clean")
MB = 1_000_000


def paragraphs(size: int, bbc: Path) -> list[str]:
    """Paragraphs of news text, about size bytes in all, none repeated."""
    if bbc.is_dir():
        bodies = []
        for path in sorted(bbc.glob("*/*.txt")):
            body = path.read_text(encoding="latin-1").split("\n", 1)[1]
            bodies.append([p.strip() for p in body.splitlines() if p.strip()])
    else:
        bodies = [
            [p for p in path.read_text(encoding="utf-8").split("\n\n")[1:] if p.strip()]
            for path in sorted((ROOT / "data" / "articles").iterdir())
        ]
    found, total, copy = [], 0, 0
    while total < size:
        for body in bodies:
            for paragraph in body:
                if copy:
                    paragraph = f"In part {copy}, {paragraph[0].lower()}{paragraph[1:]}"
                found.append(paragraph)
                total += len(paragraph.encode()) + 2
            if total >= size:
                break
        copy += 1
    return found


class Memory:
    """The resident set of this process, sampled every 10 ms: the peak since `start`."""

    def __init__(self):
        self.peak = self.base = 0
        self.running = True
        threading.Thread(target=self._watch, daemon=True).start()

    @staticmethod
    def now() -> int:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    def _watch(self) -> None:
        while self.running:
            self.peak = max(self.peak, self.now())
            time.sleep(0.01)

    def start(self) -> None:
        self.base = self.peak = self.now()

    def stop(self) -> tuple[float, float]:
        """The step's peak and its rise over the step's start, in MB."""
        peak = max(self.peak, self.now())
        return peak / 2**20, (peak - self.base) / 2**20


def measure(size_mb: float, bbc: Path, scratch: Path) -> dict:
    """Run the steps on an article of size_mb in this process; seconds and MB per step."""
    import nltk  # noqa: F401 - libraries are imported before the clock starts

    from core.settings import Settings
    from index.clean import clean
    from index.embed import MODEL_NAME
    from index.ingest import _embed, _plan, refresh_indexes
    from index.load import read
    from index.speakers import with_speakers
    from index.split import split
    from index.store import Store

    found = paragraphs(int(size_mb * MB), bbc)
    folder = scratch / "articles"
    folder.mkdir()
    text_file, html_file = folder / "large.txt", folder / "large.html"
    text_file.write_text("A very long article\n\n" + "\n\n".join(found) + "\n", encoding="utf-8")
    html_file.write_text(
        "<html><head><title>A very long article</title></head><body><article>"
        + "".join(f"<p>{p}</p>\n" for p in found)
        + "</article></body></html>",
        encoding="utf-8",
    )
    settings = Settings.from_env(store=scratch / "store", max_article_bytes=50 * MB)
    encoder = settings.encoder()
    encoder.warm()
    db = Store(settings.store, MODEL_NAME, create=True)
    memory = Memory()
    rows: dict[str, dict] = {}

    def step(name: str, work):
        memory.start()
        began = time.perf_counter()
        result = work()
        seconds = time.perf_counter() - began
        peak, rise = memory.stop()
        rows[name] = {"s": seconds, "peak_mb": peak, "rise_mb": rise}
        return result

    source = step("read", lambda: read(text_file, folder, settings.max_article_bytes))
    article = step("clean", lambda: clean(source))
    article = step("split", lambda: split(article))
    article = step("speakers", lambda: with_speakers(article))
    batch = step("passages", lambda: _plan(db, encoder, [article], []))
    vectors = step("embed", lambda: _embed(encoder, batch))

    def write():
        written = db.write(*vectors)
        refresh_indexes(db, [written])

    step("write", write)
    html = step("html read", lambda: read(html_file, folder, settings.max_article_bytes))
    step("html clean", lambda: clean(html))
    memory.running = False
    return {
        "mb": text_file.stat().st_size / MB,
        "sentences": len(article.sentences),
        "speakers": sum(1 for who in article.speakers if who),
        "passages": len(batch.passages),
        "embedded": len(batch.fresh),
        "steps": rows,
    }


def run_child(size_mb: float, bbc: Path) -> dict:
    command = [sys.executable, __file__, "--one", str(size_mb), "--bbc", str(bbc)]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    if done.returncode:
        raise SystemExit(f"{size_mb} MB failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def table(results: list[dict]) -> str:
    head = "| step | " + " | ".join(f"{r['mb']:.1f} MB: s (s/MB), peak MB (+rise)" for r in results)
    lines = [head + " |", "|---" * (len(results) + 1) + "|"]
    for name in STEPS + HTML_STEPS:
        cells = []
        for r in results:
            row = r["steps"][name]
            cells.append(
                f"{row['s']:.2f} ({row['s'] / r['mb']:.2f}), "
                f"{row['peak_mb']:.0f} (+{row['rise_mb']:.0f})"
            )
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    total = [sum(r["steps"][n]["s"] for n in STEPS) for r in results]
    lines.append(
        "| all of ingest | "
        + " | ".join(f"{t:.1f} ({t / r['mb']:.2f})" for t, r in zip(total, results, strict=True))
        + " |"
    )
    counts = ", ".join(
        f"{r['mb']:.1f} MB: {r['sentences']:,} sentences, {r['speakers']:,} with a speaker, "
        f"{r['passages']:,} passages ({r['embedded']:,} embedded)"
        for r in results
    )
    return "\n".join(lines) + f"\n\n{counts}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", type=float, default=[1, 4, 20], help="in MB")
    parser.add_argument(
        "--bbc", default=os.environ.get("BBC_CORPUS", ROOT.parent / "shared/corpora/bbc")
    )
    parser.add_argument("--one", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    bbc = Path(args.bbc)
    if args.one:
        with tempfile.TemporaryDirectory(prefix="bench-large-") as scratch:
            print(json.dumps(measure(args.one, bbc, Path(scratch))))
        return
    if not bbc.is_dir():
        print(f"no BBC corpus at {bbc}: the sample articles' text is used (set --bbc)")
    results = []
    for size in args.sizes:
        print(f"{size:g} MB ...", flush=True)
        results.append(run_child(size, bbc))
    print(table(results))


if __name__ == "__main__":
    main()
