"""`python -m evals`: run a question set through `ask()`, score it, write reports, check thresholds.

.venv/bin/python -m evals --out evals/results/latest --min-gold-recall 0.5
.venv/bin/python -m evals --compare old/report.json new/report.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from evals import devset, metrics, report

DEFAULT_DATASET = devset.ROOT / "evals" / "datasets" / "seed_qa.jsonl"
DEFAULT_OUT = devset.ROOT / "evals" / "results" / "latest"
CURVE = range(1, 21)  # the k of the recall@k curve

ArticleId = Callable[[str], str]


def evaluate(
    item: dict, store: Path, article_id: ArticleId, support_batch, llm: str | None = None
) -> dict:
    """Ask one question, rank its gold evidence among the candidates, and judge the answer.

    Returns:
        A per-question row (plain JSON values) with every per-question metric and its failures.
    """
    from core.settings import Settings
    from rag import ask, read, retrieve
    from rag.ask import open_store
    from rag.understand import resolve

    question, history = item["question"], item.get("history")
    first: list[float] = []

    def token(_piece: str) -> None:
        if not first:
            first.append(time.perf_counter())

    began = time.perf_counter()
    reply = ask(question, history=history, store=store, llm=llm, on_token=token)
    ms = (time.perf_counter() - began) * 1000
    settings = Settings.from_env().with_store(store)
    db = open_store(settings.store, settings.chroma_url)
    query = resolve(question, history)  # the reader's ranking of the candidates, as ask() has it
    found = read.read(query, retrieve.find(db, query, settings), read.reader(), 1)
    ranked = [(s.sentence.article, s.sentence.text) for s in found.scored]
    gold = [[(article_id(a["article"]), a["sentence"]) for a in need] for need in item["evidence"]]
    ranks = metrics.gold_ranks(ranked, gold)
    cited = {(c.article, c.quote) for c in reply.citations}
    covered = sum(
        any(c_article == article and sentence in quote for article, sentence in need
            for c_article, quote in cited)
        for need in gold
    )  # fmt: skip
    judged = [] if reply.abstained else metrics.judge_segments(
        reply.text, {c.n: c.quote for c in reply.citations}, support_batch
    )  # fmt: skip
    row = {
        "id": item["id"],
        "type": item["type"],
        "corpus": item.get("corpus", ""),
        "question": question,
        "answerable": item["answerable"],
        "abstained": reply.abstained,
        "text": reply.text,
        "reference": item.get("reference", ""),
        "ms": round(ms, 1),
        "top_score": round(found.scored[0].score, 4) if found.scored else None,
        "ranks": ranks,
        "reciprocal_rank": metrics.reciprocal_rank(ranks) if gold else None,
        "covered": covered,
        "items": len(gold),
        "cited": [{"n": c.n, "article": c.article, "quote": c.quote} for c in reply.citations],
        "segments": [
            {
                "text": s.text,
                "cited": list(s.cited),
                "own": round(s.own, 3),
                "each": {str(n): round(v, 3) for n, v in s.each.items()},
                "anywhere": round(s.anywhere, 3),
            }
            for s in judged
        ],  # fmt: skip
        "citation_recall": metrics.citation_recall(judged),
        "citation_precision": metrics.citation_precision(judged),
        "groundedness": metrics.groundedness(judged),
        "unsupported": metrics.unsupported(judged),
        "plain": " ".join(s.text for s in judged) if judged else reply.text,
        "mode": reply.mode,
        "note": reply.note,
        "first_token_ms": round((first[0] - began) * 1000, 1) if first else None,
        "written": [
            {
                "text": s.text,
                "citations": s.citations,
                "support": s.support,
                "supported": s.supported,
            }
            for s in reply.sentences
        ],  # fmt: skip
    }
    row["token_f1"] = metrics.token_f1(row["plain"], row["reference"])
    row["failures"] = failures(row)
    return row


def failures(row: dict) -> list[str]:
    """Why a question failed, in words; empty when it passed."""
    reasons = []
    if row["answerable"] and row["abstained"]:
        reasons.append("abstained falsely")
    if not row["answerable"] and not row["abstained"]:
        reasons.append("answered an unanswerable")
    if row["answerable"] and not row["abstained"] and row["covered"] < row["items"]:
        reasons.append(f"cited wrong sentences ({row['covered']}/{row['items']} gold items)")
    weak = [s for s in row["segments"] if s["own"] < metrics.SUPPORTED]
    if weak:
        reasons.append(f"unsupported segment ({len(weak)}/{len(row['segments'])})")
    return reasons


def add_similarity(rows: list[dict]) -> None:
    """Each row's cosine similarity between the answer and its reference (unit MiniLM vectors)."""
    from core.settings import Settings

    if not rows:
        return
    texts = [r["plain"] for r in rows] + [r["reference"] for r in rows]
    vectors = Settings.from_env(precision="fp32").encoder().embed(texts)  # comparable runs
    for row, answer, reference in zip(rows, vectors[: len(rows)], vectors[len(rows) :],
                                      strict=True):  # fmt: skip
        row["similarity"] = round(float(answer @ reference), 4)


def summarize(rows: Sequence[dict]) -> dict:
    """The set's metrics (see report.METRICS for definitions) and the recall@k curve."""
    answerable = [r for r in rows if r["answerable"]]
    unanswerable = [r for r in rows if not r["answerable"]]
    with_gold = [r for r in answerable if r["items"]]
    segments = [s for r in rows for s in r["segments"]]
    citations = [v for s in segments for v in s["each"].values()]
    latency = [r["ms"] for r in rows]
    result = {"questions": len(rows)}
    for k in (1, 3, 5, 10):
        result[f"hit_at_{k}"] = metrics.mean([metrics.hit_at_k(r["ranks"], k) for r in with_gold])
    for k in (5, 10):
        result[f"recall_at_{k}"] = metrics.mean(
            [metrics.recall_at_k(r["ranks"], k) for r in with_gold]
        )
    result |= {
        "mrr": metrics.mean([r["reciprocal_rank"] for r in with_gold]),
        "citation_recall": _share(sum(s["own"] >= metrics.SUPPORTED for s in segments),
                                  len(segments)),
        "citation_precision": _share(sum(v >= metrics.SUPPORTED for v in citations),
                                     len(citations)),
        "gold_recall": _share(sum(r["covered"] for r in answerable),
                              sum(r["items"] for r in answerable)),
        "groundedness": _share(sum(s["anywhere"] >= metrics.SUPPORTED for s in segments),
                               len(segments)),
        "abstention_accuracy": _share(sum(r["abstained"] for r in unanswerable),
                                      len(unanswerable)),
        "false_abstentions": _share(sum(r["abstained"] for r in answerable), len(answerable)),
        "token_f1": metrics.mean([r["token_f1"] for r in answerable]),
        "similarity": metrics.mean([r.get("similarity") for r in answerable]),
        "latency_p50_ms": metrics.percentile(latency, 50),
        "latency_p95_ms": metrics.percentile(latency, 95),
    }  # fmt: skip
    asked = [r for r in rows if r.get("mode", "extractive") != "extractive"]
    if asked:  # `--llm`: how often the model's answer stood, and how it was checked
        written = [s for r in asked for s in r["written"]]
        first = [r["first_token_ms"] for r in asked if r.get("first_token_ms") is not None]
        result |= {
            "llm_answered": _share(sum(r["mode"] == "llm" for r in asked), len(asked)),
            "llm_sentences_supported": _share(sum(s["supported"] for s in written),
                                              len(written)),
            "first_token_p50_ms": metrics.percentile(first, 50) if first else None,
        }  # fmt: skip
    return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in result.items()}


def by_type(rows: Sequence[dict]) -> dict[str, dict]:
    """Per question type: how many, the share that passed, and gold recall."""
    types: dict[str, list[dict]] = {}
    for row in rows:
        types.setdefault(row["type"], []).append(row)
    return {
        name: {
            "questions": len(group),
            "passed": round(sum(not r["failures"] for r in group) / len(group), 4),
            "gold_recall": _share(sum(r["covered"] for r in group), sum(r["items"] for r in group)),
        }
        for name, group in sorted(types.items())
    }


def curve(rows: Sequence[dict]) -> dict[str, float | None]:
    with_gold = [r for r in rows if r["answerable"] and r["items"]]
    return {str(k): metrics.mean([metrics.recall_at_k(r["ranks"], k) for r in with_gold])
            for k in CURVE}  # fmt: skip


def _share(part: float, whole: float) -> float | None:
    return round(part / whole, 4) if whole else None


def check(values: dict, thresholds: dict[str, float]) -> list[str]:
    """The thresholds a run misses, each as a line naming the metric, its value and the bound."""
    missed = []
    for key, bound in thresholds.items():
        higher = report.METRICS[key].higher
        value = values.get(key)
        if value is None or (value < bound if higher else value > bound):
            sign = ">=" if higher else "<="
            missed.append(f"{key} = {value} (wanted {sign} {bound})")
    return missed


def compare(old: dict, new: dict) -> list[str]:
    """Lines saying which metrics and which questions got better or worse from old to new."""
    lines = []
    for key, metric in report.METRICS.items():
        before, after = old["metrics"].get(key), new["metrics"].get(key)
        if before is None or after is None or before == after:
            continue
        better = (after > before) == metric.higher
        lines.append(f"{'better' if better else 'worse '} {key}: {before} -> {after}")
    before_rows = {r["id"]: r for r in old["rows"]}
    for row in new["rows"]:
        was = before_rows.get(row["id"])
        if was is None:
            lines.append(f"new    {row['id']}: {'; '.join(row['failures']) or 'passed'}")
        elif bool(was["failures"]) != bool(row["failures"]):
            word = "worse " if row["failures"] else "better"
            lines.append(f"{word} {row['id']}: {'; '.join(was['failures']) or 'passed'} -> "
                         f"{'; '.join(row['failures']) or 'passed'}")  # fmt: skip
        elif row["covered"] != was["covered"]:
            word = "better" if row["covered"] > was["covered"] else "worse "
            lines.append(f"{word} {row['id']}: gold items {was['covered']} -> {row['covered']}")
    return lines or ["no change"]


def parser() -> argparse.ArgumentParser:
    thresholds = "\n".join(
        f"  --{'min' if m.higher else 'max'}-{key.replace('_', '-')}: {m.label}"
        for key, m in report.METRICS.items()
    )
    p = argparse.ArgumentParser(
        prog="python -m evals",
        description="Score ask() on question sets: retrieval, citations, groundedness, "
        "abstention, correctness and latency; write report.json/.md/.html and plots.",
        epilog="Exit code 1 when a metric misses its threshold (each is printed), 2 on an error."
        "\nThreshold flags (value in the metric's unit; shares are 0-1):\n" + thresholds,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--dataset",
        action="append",
        help=f"JSONL question set (default {DEFAULT_DATASET.name}; repeatable)",
    )  # noqa: E501
    p.add_argument("--corpus", help="ingest this article folder and answer every question from it")
    p.add_argument(
        "--store",
        help="store folder (with --corpus: where it is ingested; default: "
        "OUT/store). Without either, each question's corpus store from evals.devset",
    )
    p.add_argument("--out", default=str(DEFAULT_OUT), help="report folder (default %(default)s)")
    p.add_argument("--limit", type=int, help="only the first N questions")
    p.add_argument(
        "--judge",
        choices=("support", "llm"),
        default="support",
        help="who judges support: the LLM-free scorer (default) or an LLM through llama-index "
        "(RAG_LLM_URL, RAG_LLM_MODEL); the metrics are aggregated the same way",
    )
    p.add_argument(
        "--llm",
        metavar="MODE",
        help="answers written by an LLM: local (the packaged model) or an OpenAI-compatible "
        "server's URL (default: none, the extractive answers)",
    )
    p.add_argument(
        "--side-by-side",
        action="store_true",
        help="with --llm: also score the extractive answers and llama-index's "
        "CitationQueryEngine with the same model on the same questions (a table in the report)",
    )
    p.add_argument(
        "--compare",
        nargs=2,
        metavar=("OLD.json", "NEW.json"),
        help="print which metrics and questions got better or worse, and exit",
    )
    for key, m in report.METRICS.items():
        flag = f"--{'min' if m.higher else 'max'}-{key.replace('_', '-')}"
        p.add_argument(
            flag, type=float, dest=f"threshold_{key}", metavar="VALUE", help=argparse.SUPPRESS
        )  # listed in the epilog
    return p  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    """Run the evaluation (or a comparison); returns the exit code."""
    from core.errors import RagError

    args = parser().parse_args(argv)
    try:
        if args.compare:
            old, new = (json.loads(Path(p).read_text(encoding="utf-8")) for p in args.compare)
            print("\n".join(compare(old, new)))
            return 0
        return _run(args)
    except (RagError, OSError, ValueError, KeyError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


def _run(args) -> int:
    from tqdm import tqdm

    from evals.support import support_batch

    if args.judge == "llm":
        from evals.judge import llm_from_env, llm_support_batch

        support_batch = llm_support_batch(llm_from_env())
    thresholds = {
        key: getattr(args, f"threshold_{key}")
        for key in report.METRICS
        if getattr(args, f"threshold_{key}") is not None
    }
    if args.side_by_side and (not args.llm or args.corpus or args.store):
        raise ValueError("--side-by-side needs --llm and the question sets' own corpora "
                         "(no --corpus or --store)")  # fmt: skip
    items = [item for path in (args.dataset or [DEFAULT_DATASET]) for item in devset.load(path)]
    items = items[: args.limit] if args.limit else items
    out = Path(args.out)
    stores, ids = _stores(items, args, out)
    rows = []
    for item in tqdm(items, desc="questions", unit="q", file=sys.stderr):
        store = stores.get(item.get("corpus", ""))
        if store is None:
            continue
        rows.append(evaluate(item, store, ids(item.get("corpus", "")), support_batch, args.llm))
    add_similarity(rows)
    result = {
        "datasets": [str(p) for p in (args.dataset or [DEFAULT_DATASET])],
        "judge": args.judge,
        "llm": args.llm or "none",
        "metrics": summarize(rows),
        "thresholds": thresholds,
        "by_type": by_type(rows),
        "recall_at_k": curve(rows),
        "rows": rows,
    }
    if args.side_by_side:
        asked = [i for i in items if stores.get(i.get("corpus", ""))]
        result["side_by_side"] = side_by_side(asked, rows, stores, ids, support_batch, args.llm)
    result["missed"] = check(result["metrics"], thresholds)
    written = report.write(result, out)
    print(report.table(result["metrics"]))
    print("wrote " + ", ".join(str(p) for p in written))
    for line in result["missed"]:
        print(f"below threshold: {line}")
    return 1 if result["missed"] else 0


def side_by_side(items, rows, stores, ids, support_batch, mode: str) -> dict[str, dict]:
    """The same questions answered three ways, each scored by `citation_baseline.headline`:
    extractive (no LLM), ask() with the LLM (rows: this run's), and llama-index's
    CitationQueryEngine with its defaults and the same LLM."""
    import dataclasses

    from core.settings import Settings
    from evals import citation_baseline
    from rag.llm import connect

    extractive = [
        evaluate(item, stores[item["corpus"]], ids(item["corpus"]), support_batch, "none")
        for item in items
    ]
    llm, name = connect(dataclasses.replace(Settings.from_env(), llm=mode))
    engine = citation_baseline.answer_rows(items, llm)
    return {
        "extractive (no LLM)": citation_baseline.headline([_plain_row(r) for r in extractive]),
        f"ask() with {name}": citation_baseline.headline([_plain_row(r) for r in rows]),
        f"CitationQueryEngine with {name}": citation_baseline.headline(engine),
    }


def _plain_row(row: dict) -> dict:
    """A run's row as `citation_baseline.answer_rows` makes one."""
    return {
        "answerable": row["answerable"],
        "seconds": row["ms"] / 1000,
        "words": len(row["text"].split()),
        "gold": bool(row["items"]) and not row["abstained"] and row["covered"] == row["items"],
        "each": [v for s in row["segments"] for v in s["each"].values()],
        "own": [s["own"] for s in row["segments"]],
    }


def _stores(items, args, out: Path) -> tuple[dict[str, Path | None], Callable[[str], ArticleId]]:
    """Each corpus's store, and how a dataset article id maps to that store's ids."""
    corpora = sorted({item.get("corpus", "") for item in items})
    if args.corpus:
        from index import ingest

        root = Path(args.corpus)
        store = Path(args.store) if args.store else out / "store"
        ingest(root, store, progress=True)
        # a category folder holds "308.txt"; a folder of categories holds "business/308.txt"
        return dict.fromkeys(
            corpora, store
        ), lambda corpus: lambda a: a if (root / a).exists() else devset.store_id(a, corpus)
    if args.store:
        return dict.fromkeys(
            corpora, Path(args.store)
        ), lambda corpus: lambda a: devset.store_id(a, corpus)
    stores = {}
    for corpus in corpora:
        stores[corpus] = devset.store_for(corpus) if devset.corpus_folder(corpus) else None
        if stores[corpus] is None:
            print(f"skipping corpus {corpus!r}: its folder is not here", file=sys.stderr)
    return stores, lambda corpus: lambda a: devset.store_id(a, corpus)
