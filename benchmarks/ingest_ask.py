"""Ingest time and ask() latency on the sample articles and on 500 BBC articles.

Prints a table and writes benchmarks/results/ingest_ask.json. The BBC corpus is read from
../shared/corpora/bbc (or $BBC_CORPUS) and skipped with a message when absent; it is copied to a
temp folder, never into the project.

    .venv/bin/python benchmarks/ingest_ask.py [--bbc-articles 500]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEED_QUESTIONS = [
    "What did Hussein say about mediation?",
    "What will Iraq supply to Syria?",
    "Who is Inna Rudolf?",
    "Why is Iraq worried about ISIS?",
    "What is the capital of France?",
    "Does Hussein think Iraq is the next target?",
    "When do elections take place in Iraq?",
    "What did Caroline Rose note?",
]


def bbc_subset(corpus: Path, count: int, into: Path) -> list[str]:
    """The first count/5 articles of each category, copied; their titles become questions."""
    categories = sorted(p for p in corpus.iterdir() if p.is_dir())
    per = count // len(categories)
    titles = []
    for category in categories:
        (into / category.name).mkdir(parents=True)
        for path in sorted(category.glob("*.txt"))[:per]:
            shutil.copy(path, into / category.name / path.name)
            title = path.read_text(encoding="latin-1").splitlines()[0].strip()
            titles.append(f"What happened: {title}?")
    return titles


def measure(name: str, folder: Path, questions: list[str], repeats: int) -> dict:
    from index import ingest
    from index.store import Store
    from rag import ask
    from rag.settings import Settings

    store = Path(tempfile.mkdtemp(prefix=f"bench-{name}-"))
    began = time.perf_counter()
    report = ingest(folder, store)
    ingest_s = time.perf_counter() - began
    began = time.perf_counter()
    again = ingest(folder, store)
    reingest_s = time.perf_counter() - began
    assert again.passages == 0

    # The bare encoder on exactly the passages we embedded: the floor for ingestion.
    settings = Settings.from_env()
    encoder = settings.encoder()
    rows = Store(store, encoder.name).passages.get(include=["metadatas", "documents"])
    texts = [
        f"{m['title']}\n{d}" if m["title"] else d
        for m, d in zip(rows["metadatas"], rows["documents"], strict=True)
    ]
    import torch

    torch.set_num_threads(encoder.batch_threads)
    began = time.perf_counter()
    encoder.embed(texts)
    encoder_s = time.perf_counter() - began
    torch.set_num_threads(encoder.threads)

    ask(questions[0], store=store)  # warm: model and store loaded
    latencies, abstained = [], 0
    for _ in range(repeats):
        for question in questions:
            began = time.perf_counter()
            answer = ask(question, store=store)
            latencies.append((time.perf_counter() - began) * 1000)
            abstained += answer.abstained
    latencies.sort()
    size = sum(f.stat().st_size for f in store.rglob("*") if f.is_file())
    shutil.rmtree(store)
    articles = len(report.added)
    return {
        "corpus": name,
        "articles": articles,
        "passages": report.passages,
        "ingest_s": round(ingest_s, 2),
        "articles_per_s": round(articles / ingest_s, 1),
        "bare_encoder_s": round(encoder_s, 2),
        "ingest_over_encoder": round(ingest_s / encoder_s, 2),
        "reingest_unchanged_s": round(reingest_s, 3),
        "ask_p50_ms": round(statistics.median(latencies), 1),
        "ask_p95_ms": round(latencies[int(0.95 * (len(latencies) - 1))], 1),
        "asks": len(latencies),
        "abstained_share": round(abstained / len(latencies), 2),
        "store_mb": round(size / 1e6, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bbc-articles", type=int, default=500)
    parser.add_argument(
        "--bbc", default=os.environ.get("BBC_CORPUS", ROOT.parent / "shared/corpora/bbc")
    )
    args = parser.parse_args()

    began = time.perf_counter()
    from rag.settings import Settings

    settings = Settings.from_env()
    settings.encoder().embed_query("warm up")
    print(f"model import and load: {time.perf_counter() - began:.1f} s "
          f"(threads: {settings.threads} query, {settings.ingest_threads} ingest)")  # fmt: skip

    results = [measure("seed", ROOT / "data" / "articles", SEED_QUESTIONS, repeats=10)]
    bbc = Path(args.bbc)
    if bbc.is_dir():
        with tempfile.TemporaryDirectory() as folder:
            titles = bbc_subset(bbc, args.bbc_articles, Path(folder))
            results.append(
                measure(
                    f"bbc{args.bbc_articles}", Path(folder), titles[::5] + SEED_QUESTIONS, repeats=2
                )
            )
    else:
        print(f"BBC corpus not found at {bbc}: skipped")

    columns = list(results[0])
    print(" | ".join(columns))
    for row in results:
        print(" | ".join(str(row[c]) for c in columns))
    out = ROOT / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "ingest_ask.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
