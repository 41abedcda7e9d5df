"""Run a question set through `ask()` and score it against gold evidence sentences.

Each question names its corpus: "seed" (the sample articles) or a BBC category, whose whole folder
is ingested into one store (cached under .cache/evals/, incremental). See
evals/datasets/README.md for the format.

    .venv/bin/python -m evals.devset evals/datasets/seed_qa.jsonl evals/datasets/bbc_dev.jsonl
    .venv/bin/python -m evals.devset --compare BEFORE.json AFTER.json   # two --out files

The sets are small (45 to 102 answerable questions, 10 to 15 unanswerable), so a change of a
few questions is within chance: `--compare` pairs two runs question by question and gives, per
figure, how many questions got better and how many worse, with the exact sign test's p-value.
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


# The figures `compare` pairs: which questions count, and whether a question holds it (higher is
# better for each but false abstentions).
PAIRED = {
    "all_gold_cited": (lambda r: r.answerable, lambda r: r.complete),
    "false_abstentions": (lambda r: r.answerable, lambda r: r.abstained),
    "unanswerable_abstained": (lambda r: not r.answerable, lambda r: r.abstained),
}


def compare(before: Sequence[dict], after: Sequence[dict]) -> dict:
    """Two runs of one question set (`--out` files) paired by question id: per figure, its
    count before and after, the questions that gained it and lost it, and the two-sided exact
    sign test's p-value of that split (the chance of a split at least as uneven if each change
    went either way with even odds).

    Raises:
        ValueError: the runs do not hold the same questions.
    """
    old = {r["id"]: Result(**r) for r in before}
    new = {r["id"]: Result(**r) for r in after}
    if set(old) != set(new):
        raise ValueError(
            f"the runs hold different questions ({len(set(old) ^ set(new))} in one only): "
            "compare two runs of the same set"
        )
    result = {}
    for name, (counted, holds) in PAIRED.items():
        ids = [i for i in old if counted(old[i])]
        gained = sorted(i for i in ids if holds(new[i]) and not holds(old[i]))
        lost = sorted(i for i in ids if holds(old[i]) and not holds(new[i]))
        result[name] = {
            "questions": len(ids),
            "before": sum(holds(old[i]) for i in ids),
            "after": sum(holds(new[i]) for i in ids),
            "gained": gained,
            "lost": lost,
            "p": sign_test(len(gained), len(lost)),
        }
    return result


def sign_test(up: int, down: int) -> float:
    """The exact two-sided sign test: the chance of a split of up + down changes at least as
    uneven as this one when each goes either way with even odds."""
    from math import comb

    n = up + down
    if not n:
        return 1.0
    tail = sum(comb(n, k) for k in range(min(up, down) + 1)) / 2**n
    return round(min(1.0, 2 * tail), 4)


def _share(part: int, whole: int) -> float:
    return round(part / whole, 3) if whole else 0.0


def ask_item(item: dict, store: Path):
    from rag import ask

    return ask(item["question"], history=item.get("history"), store=store)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Score ask() on question sets with gold evidence.")
    parser.add_argument("datasets", nargs="*")
    parser.add_argument(
        "--compare", nargs=2, metavar=("BEFORE", "AFTER"), help="pair two --out files"
    )
    parser.add_argument("--prepare", action="store_true", help="only ingest the corpora")
    parser.add_argument("--failures", action="store_true", help="list the questions that failed")
    parser.add_argument("--out", help="write per-question results as JSON here")
    args = parser.parse_args(argv)
    if args.compare:
        try:
            before, after = (json.loads(Path(p).read_text(encoding="utf-8")) for p in args.compare)
            paired = compare(before, after)
        except (OSError, ValueError, KeyError, TypeError) as error:
            parser.error(f"--compare needs two --out files of one question set: {error}")
        for name, row in paired.items():
            print(
                f"{name}: {row['before']} -> {row['after']} of {row['questions']} "
                f"(gained {len(row['gained'])}, lost {len(row['lost'])}, sign test p={row['p']})"
            )
        return
    if not args.datasets:
        parser.error("give question sets to run, or --compare BEFORE.json AFTER.json")
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
