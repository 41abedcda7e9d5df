"""Run a question set through `ask()` and score it against gold evidence sentences.

Each question names its corpus: "seed" (the sample articles) or a BBC category, whose whole folder
is ingested into one store (cached under .cache/evals/, incremental). See
evals/datasets/README.md for the format.

    .venv/bin/python -m evals.devset evals/datasets/seed_qa.jsonl evals/datasets/bbc_dev.jsonl
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache" / "evals"
BBC = ROOT.parent / "shared" / "corpora" / "bbc"


@dataclass(frozen=True)
class Result:
    id: str
    type: str
    corpus: str
    answerable: bool
    abstained: bool
    covered: int  # evidence items cited
    items: int
    cited_words: int
    ms: float
    query: str
    text: str

    @property
    def complete(self) -> bool:
        return self.answerable and not self.abstained and self.covered == self.items


def load(path: str | Path) -> list[dict]:
    return [
        json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line
    ]


def corpus_folder(corpus: str) -> Path | None:
    folder = ROOT / "data" / "articles" if corpus == "seed" else BBC / corpus
    return folder if folder.is_dir() else None


def store_for(corpus: str) -> Path:
    """The corpus ingested into its cached store (a no-op when nothing changed)."""
    from index import ingest

    store = CACHE / corpus
    ingest(corpus_folder(corpus), store, progress=True)
    return store


def store_id(article: str, corpus: str) -> str:
    """A dataset's article id as the corpus store knows it: BBC ids name their category
    ("business/308.txt"), and a category's store holds "308.txt"."""
    return article if corpus == "seed" else article.removeprefix(f"{corpus}/")


def covers(alternative: dict, citations, corpus: str) -> bool:
    article = store_id(alternative["article"], corpus)
    return any(c.article == article and alternative["sentence"] in c.quote for c in citations)


def run(items: Sequence[dict], answer: Callable[[dict, Path], object]) -> list[Result]:
    """Ask every question whose corpus is present; score citations against its evidence."""
    stores = {}
    results = []
    for item in items:
        corpus = item["corpus"]
        if corpus not in stores:
            stores[corpus] = store_for(corpus) if corpus_folder(corpus) else None
        if stores[corpus] is None:
            continue
        began = time.perf_counter()
        reply = answer(item, stores[corpus])
        ms = (time.perf_counter() - began) * 1000
        cited = reply.citations
        covered = sum(any(covers(alt, cited, corpus) for alt in need) for need in item["evidence"])
        words = sum(len(c.quote.split()) for c in cited)
        results.append(
            Result(item["id"], item["type"], corpus, item["answerable"], reply.abstained, covered,
                   len(item["evidence"]), words, ms, reply.query, reply.text)
        )  # fmt: skip
    return results


def summarize(results: Sequence[Result]) -> dict:
    answerable = [r for r in results if r.answerable]
    unanswerable = [r for r in results if not r.answerable]
    answered = [r for r in results if not r.abstained]
    return {
        "questions": len(results),
        "all_gold_cited": _share(sum(r.complete for r in answerable), len(answerable)),
        "gold_item_recall": _share(
            sum(r.covered for r in answerable), sum(r.items for r in answerable)
        ),
        "unanswerable_abstained": _share(sum(r.abstained for r in unanswerable), len(unanswerable)),
        "false_abstentions": _share(sum(r.abstained for r in answerable), len(answerable)),
        "median_cited_words": statistics.median([r.cited_words for r in answered])
        if answered
        else 0,
        "p50_ms": round(statistics.median([r.ms for r in results]), 1) if results else 0,
    }


def _share(part: int, whole: int) -> float:
    return round(part / whole, 3) if whole else 0.0


def ask_item(item: dict, store: Path):
    from rag import ask

    return ask(item["question"], history=item.get("history"), store=store)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Score ask() on question sets with gold evidence.")
    parser.add_argument("datasets", nargs="+")
    parser.add_argument("--prepare", action="store_true", help="only ingest the corpora")
    parser.add_argument("--failures", action="store_true", help="list the questions that failed")
    parser.add_argument("--out", help="write per-question results as JSON here")
    args = parser.parse_args(argv)
    for path in args.datasets:
        items = load(path)
        if args.prepare:
            for corpus in sorted({i["corpus"] for i in items}):
                if corpus_folder(corpus):
                    print(store_for(corpus))
            continue
        results = run(items, ask_item)
        print(Path(path).name, json.dumps(summarize(results)))
        if args.failures:
            for r in results:
                if (r.answerable and not r.complete) or (not r.answerable and not r.abstained):
                    outcome = f"covered {r.covered}/{r.items} abstained={r.abstained}"
                    print(f"  {r.id} {r.type} {outcome}: {r.text[:150]}")
        if args.out:
            Path(args.out).write_text(json.dumps([asdict(r) for r in results], indent=1))


if __name__ == "__main__":
    main()
