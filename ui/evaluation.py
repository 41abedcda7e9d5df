"""The Eval tab's job: score the sample question set over the sample articles, in temp folders."""

from __future__ import annotations

import re
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATASET = ROOT / "evals" / "datasets" / "seed_qa.jsonl"
ARTICLES = ROOT / "data" / "articles"
# One run at a time: each takes most of a core for a minute.
EVAL_LOCK = threading.Lock()


def run_sample_eval(
    out: str | Path | None = None, limit: int | None = None
) -> tuple[str, list[Path]]:
    """Run evals.runner on the sample set, ingesting the sample articles into a temp store.

    Args:
        out: report folder; a fresh temp folder when None.
        limit: only the first N questions (all when None).

    Returns:
        report.md's text without its image lines (the plots are shown apart), or what went
        wrong; and the paths of the PNG plots, in the report's order.
    """
    from evals.runner import main

    out = Path(out or tempfile.mkdtemp(prefix="rag-eval-"))
    argv = ["--dataset", str(DATASET), "--corpus", str(ARTICLES), "--out", str(out)]
    argv += ["--limit", str(limit)] if limit else []
    # The store is scratch; the report folder stays, since Gradio copies the plots after this.
    with EVAL_LOCK, tempfile.TemporaryDirectory(prefix="rag-eval-store-") as store:
        code = main([*argv, "--store", store])
    report = out / "report.md"
    if code == 2 or not report.exists():
        return f"**The evaluation failed** (exit code {code}); the server's log says why.", []
    text = report.read_text(encoding="utf-8")
    plots = [out / name for name in re.findall(r"^!\[[^\]]*\]\(([\w.-]+\.png)\)$", text, re.M)]
    text = re.sub(r"^!\[[^\]]*\]\([\w.-]+\.png\)\n?", "", text, flags=re.M)
    return text, [p for p in plots if p.exists()]
