"""llama-index's CitationQueryEngine, with its defaults and our LLM, scored as `rag eval --llm` is.

The engine reads the same articles (SimpleDirectoryReader, VectorStoreIndex's defaults, the same
MiniLM, the Chroma collection `evals.baseline` builds), splits the 2 retrieved chunks into
512-token sources numbered "Source n", and has the LLM (`RAG_LLM`, e.g. `local`) answer citing
them. Its answer is judged by the eval suite's scorer against the source text each [n] names, at
the suite's threshold (0.5) and at the written-answer one (`rag.write.THRESHOLD`); "gold cited"
counts the answerable questions whose every gold sentence is inside a cited source.

    RAG_LLM=local .venv/bin/python -m evals.citation_baseline evals/datasets/seed_qa.jsonl
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

from evals import metrics
from evals.baseline import build
from evals.devset import corpus_folder, load


def engine(corpus: str, llm):
    from llama_index.core.query_engine import CitationQueryEngine

    retriever, _ = build(corpus)
    return CitationQueryEngine(retriever, llm=llm)  # its defaults: 512-token sources


def answer_rows(items: list[dict], llm) -> list[dict]:
    """The engine's answer to each item whose corpus is here, judged: per row whether it is
    answerable, seconds, words, whether every gold sentence is inside a cited source ("gold"),
    each citation's support ("each") and each segment's support by its own citations ("own")."""
    from evals.support import support_batch

    engines, rows = {}, []
    for item in items:
        corpus = item["corpus"]
        if not corpus_folder(corpus):
            continue
        if corpus not in engines:
            engines[corpus] = engine(corpus, llm)
        began = time.perf_counter()
        response = engines[corpus].query(item["question"])
        seconds = time.perf_counter() - began
        sources = {
            n: node.node.get_content().split("\n", 1)[-1]  # "Source n:\n<text>"
            for n, node in enumerate(response.source_nodes, start=1)
        }
        text = str(response)
        judged = metrics.judge_segments(text, sources, support_batch)
        cited = " ".join(sources[n] for s in judged for n in s.cited if n in sources)
        gold = [[e["sentence"] for e in need] for need in item.get("evidence", [])]
        rows.append(
            {
                "answerable": item["answerable"],
                "seconds": seconds,
                "words": len(text.split()),
                "gold": bool(gold) and all(any(g in cited for g in need) for need in gold),
                "each": [v for s in judged for v in s.each.values()],
                "own": [s.own for s in judged],
            }
        )
    return rows


def headline(rows: list[dict]) -> dict:
    """The figures compared side by side (rows as `answer_rows` makes them): citation
    precision and recall at the suite's threshold (0.5) and at the written-answer one, all gold
    cited (answerable questions), median words and seconds."""
    from rag.write import THRESHOLD

    each = [v for r in rows for v in r["each"]]
    own = [v for r in rows for v in r["own"]]
    answerable = [r for r in rows if r["answerable"]]

    def share(values, threshold):
        return round(sum(v >= threshold for v in values) / len(values), 3) if values else None

    return {
        "questions": len(rows),
        "citation_precision": share(each, metrics.SUPPORTED),
        "citation_precision_at_written_threshold": share(each, THRESHOLD),
        "citation_recall": share(own, metrics.SUPPORTED),
        "citation_recall_at_written_threshold": share(own, THRESHOLD),
        "all_gold_cited": round(sum(r["gold"] for r in answerable) / max(len(answerable), 1), 3),
        "median_words": statistics.median(r["words"] for r in rows) if rows else 0,
        "seconds_p50": round(statistics.median(r["seconds"] for r in rows), 2) if rows else 0,
    }


def score(path: str, llm, limit: int | None = None) -> dict:
    return headline(answer_rows(load(path)[:limit], llm))


def main(argv=None) -> None:
    from core.settings import Settings
    from rag.llm import connect

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("datasets", nargs="+")
    parser.add_argument("--limit", type=int, help="only each set's first N questions")
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    llm, name = connect(settings)
    for path in args.datasets:
        found = score(path, llm, args.limit)
        print(json.dumps({"dataset": path, "llm": name, **found}), flush=True)


if __name__ == "__main__":
    main()
