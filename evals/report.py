"""Write an evaluation run as report.json, report.md, report.html and PNG plots."""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Metric:
    label: str
    higher: bool  # higher is better (a --min-* threshold); else lower is (a --max-*)
    definition: str


JUDGES = {
    "support": "evals.support (LLM-free, validated on SummaC)",
    "llm": "an LLM through llama-index's FaithfulnessEvaluator (YES = 1, NO = 0)",
}

METRICS: dict[str, Metric] = {
    **{
        f"hit_at_{k}": Metric(
            f"hit@{k}",
            True,
            f"Share of answerable questions with at least one gold evidence item among the first "
            f"{k} ranked candidate sentences of gather() (a match is same article and same "
            "sentence text; any alternative of an item counts).",
        )
        for k in (1, 3, 5, 10)
    },
    **{
        f"recall_at_{k}": Metric(
            f"recall@{k}",
            True,
            f"Mean over answerable questions of the share of gold items found among the first {k}"
            " ranked candidate sentences.",
        )
        for k in (5, 10)
    },
    "mrr": Metric(
        "MRR", True, "Mean over answerable questions of 1 / rank of the first gold sentence (0 "
        "when no gold sentence is among the candidates)."
    ),
    "citation_recall": Metric(
        "citation recall", True, "ALCE: share of answer segments (the text before each [n], "
        "reader notes in brackets removed) that their own cited quotes support "
        "(evals.support.support >= 0.5), over all segments of all answers."
    ),
    "citation_precision": Metric(
        "citation precision", True, "Share of citations whose quote alone supports the segment "
        "it follows (support >= 0.5)."
    ),
    "gold_recall": Metric(
        "gold-evidence recall", True, "Gold items covered / gold items over answerable questions;"
        " an item is covered when a citation's quote contains one of its alternatives."
    ),
    "groundedness": Metric(
        "groundedness", True, "Share of answer segments supported by all the text the answer "
        "cites, taken together (support >= 0.5); the unsupported ones are listed per question."
    ),
    "abstention_accuracy": Metric(
        "abstention accuracy", True, "Share of unanswerable questions on which the answer abstains."
    ),
    "false_abstentions": Metric(
        "false abstentions", False, "Share of answerable questions on which the answer abstains."
    ),
    "token_f1": Metric(
        "token F1", True, "SQuAD token F1 between the answer (markers and reader notes removed) "
        "and the reference answer, after lower-casing and removing punctuation and articles; mean"
        " over answerable questions."
    ),
    "similarity": Metric(
        "embedding similarity", True, "Cosine similarity of the MiniLM vectors of the answer and "
        "the reference; mean over answerable questions."
    ),
    "latency_p50_ms": Metric("latency p50 (ms)", False, "Median wall time of one ask() call."),
    "latency_p95_ms": Metric(
        "latency p95 (ms)", False, "95th percentile (linear interpolation) of ask() wall time."
    ),
    "llm_answered": Metric(
        "LLM answers kept", True,
        "With --llm: share of questions whose answer is the model's (checked), not the "
        "extractive fallback (the articles do not cover it, the model declined or failed, or "
        "none of its sentences was supported).",
    ),
    "llm_sentences_supported": Metric(
        "LLM sentences supported", True,
        "With --llm: share of the sentences the model wrote that rag.write.verify found "
        "supported by the sentences they cite (the others are shown flagged).",
    ),
    "first_token_p50_ms": Metric(
        "first token p50 (ms)", False,
        "With --llm: median time from ask() to the model's first token.",
    ),
}  # fmt: skip

PLOTS = {
    "scores.png": "Top candidate score, answerable vs unanswerable; support of answer segments",
    "by_type.png": "Share of questions passed, by question type",
    "recall_at_k.png": "Recall@k of gold evidence among the ranked candidate sentences",
}


def write(result: Mapping, out: Path) -> list[Path]:
    """Write report.json, report.md, report.html and the plots into out; returns their paths."""
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "report.json", out / "report.md", out / "report.html"]
    paths[0].write_text(json.dumps(result, indent=1, ensure_ascii=False), encoding="utf-8")
    paths[1].write_text(markdown(result), encoding="utf-8")
    paths[2].write_text(to_html(result), encoding="utf-8")
    return paths + plots(result, out)


def _value(value) -> str:
    if value is None:
        return "n/a"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def table(values: Mapping) -> str:
    """The metric table as aligned text, for the terminal."""
    width = max(len(m.label) for m in METRICS.values())
    lines = [f"{'questions'.ljust(width)}  {values.get('questions')}"]
    lines += [f"{m.label.ljust(width)}  {_value(values.get(k))}" for k, m in METRICS.items()]
    return "\n".join(lines)


def _why(row: Mapping) -> str:
    reasons = "; ".join(row["failures"])
    if row["unsupported"]:
        reasons += " | unsupported: " + " / ".join(f"“{s[:120]}”" for s in row["unsupported"])
    return reasons


def markdown(result: Mapping) -> str:
    values, thresholds = result["metrics"], result["thresholds"]
    lines = [
        "# Evaluation report",
        "",
        f"Datasets: {', '.join(result['datasets'])}; {values['questions']} questions; "
        f"support judged by {JUDGES[result.get('judge', 'support')]}.",
        "",
        "| metric | value | threshold | definition |",
        "|---|---|---|---|",
    ]
    for key, m in METRICS.items():
        bound = thresholds.get(key)
        limit = "" if bound is None else f"{'>=' if m.higher else '<='} {bound}"
        lines.append(f"| {m.label} | {_value(values.get(key))} | {limit} | {m.definition} |")
    if result["missed"]:
        lines += ["", "**Below threshold:** " + "; ".join(result["missed"])]
    lines += _side_by_side_markdown(result.get("side_by_side"))
    lines += ["", "## By question type", "", "| type | questions | passed | gold recall |",
              "|---|---|---|---|"]  # fmt: skip
    for name, group in result["by_type"].items():
        lines.append(f"| {name} | {group['questions']} | {_value(group['passed'])} | "
                     f"{_value(group['gold_recall'])} |")  # fmt: skip
    lines += ["", "## Plots", ""]
    lines += [f"![{caption}]({name})" for name, caption in PLOTS.items()]
    lines += ["", "## Failures", "", "A question passes when it abstains exactly when it should, "
              "cites every gold item, and its citations support every segment.", "",
              "| id | type | why | answer |", "|---|---|---|---|"]  # fmt: skip
    for row in result["rows"]:
        if row["failures"]:
            answer = " ".join(row["text"].split())[:200].replace("|", "\\|")
            lines.append(f"| {row['id']} | {row['type']} | {_why(row)} | {answer} |")
    return "\n".join(lines) + "\n"


SIDE_BY_SIDE = {
    "questions": "questions",
    "citation_precision": "citation precision (support >= 0.5)",
    "citation_precision_at_written_threshold": "citation precision (written-answer threshold)",
    "citation_recall": "citation recall (support >= 0.5)",
    "citation_recall_at_written_threshold": "citation recall (written-answer threshold)",
    "all_gold_cited": "answerable questions with all gold evidence cited",
    "median_words": "median words",
    "seconds_p50": "seconds per answer, p50",
}


def _side_by_side_markdown(table: Mapping | None) -> list[str]:
    if not table:
        return []
    names = list(table)
    lines = ["", "## Side by side (same questions, same model)", "",
             "| | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]  # fmt: skip
    for key, label in SIDE_BY_SIDE.items():
        lines.append(f"| {label} | " + " | ".join(_value(table[n].get(key)) for n in names) + " |")
    return lines


def _side_by_side_html(table: Mapping | None) -> str:
    if not table:
        return ""
    e = html.escape
    head = "".join(f"<th>{e(name)}</th>" for name in table)
    body = "".join(
        f"<tr><td>{e(label)}</td>"
        + "".join(f"<td>{_value(figures.get(key))}</td>" for figures in table.values())
        + "</tr>"
        for key, label in SIDE_BY_SIDE.items()
    )
    return (f"<h2>Side by side (same questions, same model)</h2><table><tr><th></th>{head}</tr>"
            f"{body}</table>")  # fmt: skip


def to_html(result: Mapping) -> str:
    values, thresholds = result["metrics"], result["thresholds"]
    e = html.escape
    metric_rows = "".join(
        f"<tr><td>{e(m.label)}</td><td>{_value(values.get(k))}</td><td>"
        f"{'' if thresholds.get(k) is None else ('&ge; ' if m.higher else '&le; ') + str(thresholds[k])}"  # noqa: E501
        f"</td><td>{e(m.definition)}</td></tr>"
        for k, m in METRICS.items()
    )
    type_rows = "".join(
        f"<tr><td>{e(name)}</td><td>{g['questions']}</td><td>{_value(g['passed'])}</td>"
        f"<td>{_value(g['gold_recall'])}</td></tr>"
        for name, g in result["by_type"].items()
    )
    failure_rows = "".join(
        f"<tr><td>{e(r['id'])}</td><td>{e(r['type'])}</td><td>{e(_why(r))}</td>"
        f"<td>{e(r['question'])}</td><td>{e(r['text'])}</td></tr>"
        for r in result["rows"]
        if r["failures"]
    )
    figures = "".join(
        f'<figure><img src="{name}" alt="{e(caption)}"><figcaption>{e(caption)}</figcaption>'
        "</figure>"
        for name, caption in PLOTS.items()
    )
    missed = (
        f"<p><strong>Below threshold:</strong> {e('; '.join(result['missed']))}</p>"
        if result["missed"]
        else ""
    )
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>Evaluation report</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:4px;vertical-align:top}}img{{max-width:600px}}</style>
</head><body><h1>Evaluation report</h1>
<p>Datasets: {e(", ".join(result["datasets"]))}; {values["questions"]} questions;
support judged by {e(JUDGES[result.get("judge", "support")])}.</p>
<table><tr><th>metric</th><th>value</th><th>threshold</th><th>definition</th></tr>{metric_rows}
</table>{missed}
{_side_by_side_html(result.get("side_by_side"))}
<h2>By question type</h2><table><tr><th>type</th><th>questions</th><th>passed</th>
<th>gold recall</th></tr>{type_rows}</table>
<h2>Plots</h2>{figures}
<h2>Failures</h2><p>A question passes when it abstains exactly when it should, cites every gold
item, and its citations support every segment.</p>
<table><tr><th>id</th><th>type</th><th>why</th><th>question</th><th>answer</th></tr>
{failure_rows}</table></body></html>
"""


def plots(result: Mapping, out: Path) -> list[Path]:
    """The PNG plots of PLOTS, drawn with matplotlib's Agg backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = result["rows"]
    paths = [out / name for name in PLOTS]

    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for answerable, label in ((True, "answerable"), (False, "unanswerable")):
        scores = [r["top_score"] for r in rows
                  if r["answerable"] == answerable and r["top_score"] is not None]  # fmt: skip
        left.hist(scores, bins=20, range=(0, 1), alpha=0.6, label=label)
    left.set(title="top candidate score", xlabel="score", ylabel="questions")
    left.legend()
    right.hist([s["own"] for r in rows for s in r["segments"]], bins=20, range=(0, 1))
    right.axvline(0.5, color="k", linestyle="--")
    right.set(title="support of answer segments by their citations", xlabel="support")
    figure.tight_layout()
    figure.savefig(paths[0])
    plt.close(figure)

    figure, axes = plt.subplots(figsize=(7, 4))
    names = list(result["by_type"])
    axes.bar(names, [result["by_type"][n]["passed"] for n in names])
    axes.set(title=PLOTS["by_type.png"], ylabel="share passed", ylim=(0, 1))
    axes.tick_params(axis="x", rotation=30)
    figure.tight_layout()
    figure.savefig(paths[1])
    plt.close(figure)

    figure, axes = plt.subplots(figsize=(6, 4))
    points = [(int(k), v) for k, v in result["recall_at_k"].items() if v is not None]
    axes.plot([k for k, _ in points], [v for _, v in points], marker="o")
    axes.set(title="recall@k", xlabel="k (candidate sentences)", ylabel="recall", ylim=(0, 1))
    figure.tight_layout()
    figure.savefig(paths[2])
    plt.close(figure)
    return paths
