"""The reader's training questions: which articles they may use, and drafts turned into the dataset.

Training questions are written on BBC articles numbered 301 and above that neither the dev sets
nor the held-out test set use, and that do not copy a story numbered 001-300 (those stay for
testing). Writers work from numbered sentence sheets and cite sentences by reference
(`business/412#7`); `build` resolves the references through the pipeline's own load/clean/split,
so every gold sentence is byte for byte a sentence the pipeline produces, and refuses a draft
that breaks the rules below.

    .venv/bin/python -m evals.trainset sheet business/412 business/415     # numbered sentences
    .venv/bin/python -m evals.trainset build DRAFT.jsonl OUT.jsonl --name b01
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterable
from functools import cache
from pathlib import Path

from index.lexical import terms

ROOT = Path(__file__).resolve().parent.parent
BBC = ROOT.parent / "shared" / "corpora" / "bbc"
DATASETS = ROOT / "evals" / "datasets"
TRAIN = DATASETS / "train"
# Datasets whose articles training never uses: what the reader is measured on.
MEASURED = ("bbc_dev", "bbc_dev_long", "bbc_dev_desc", "bbc_test")
TYPES = ("quote", "fact", "number", "why", "list", "cross-article", "follow-up", "unanswerable")
MAX_OVERLAP = 0.5  # most of a question's content words its gold sentences may hold
COPY = 0.05  # share of an article's word 6-grams found in one 001-300 article that makes it a copy
TWIN = 0.85  # word-set Jaccard at which another sentence states the gold fact too
# Articles that tell a story an article numbered 001-300 tells, in other words (whole-article MiniLM
# cosine >= 0.9 to it, and read to confirm): business/279, business/192, tech/025.
SAME_STORY = ("business/319.txt", "business/391.txt", "tech/363.txt")
_REF = re.compile(r"^(?P<category>[a-z]+)/(?P<number>\d{3})(?:\.txt)?#(?P<index>\d+)$")


@cache
def article(article_id: str):
    """A BBC article ("business/412.txt") cleaned and split as ingest does."""
    from index.clean import clean
    from index.load import read
    from index.split import split

    return split(clean(read(BBC / article_id, BBC)))


def sentences(article_id: str) -> list[str]:
    a = article(article_id)
    return [a.text[s:e] for s, e in a.sentences]


@cache
def category_sentences(category: str) -> list[tuple[str, str, frozenset[str]]]:
    """(article, sentence, its set of words) for every sentence of a category."""
    rows = []
    for path in sorted((BBC / category).glob("*.txt")):
        article_id = f"{category}/{path.name}"
        for sentence in sentences(article_id):
            rows.append((article_id, sentence, frozenset(_words(sentence))))
    return rows


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def _with_txt(article_id: str) -> str:
    return article_id if article_id.endswith(".txt") else f"{article_id}.txt"


def number(article_id: str) -> int:
    return int(Path(article_id).stem)


def measured_articles() -> set[str]:
    """Every article a dev or test question cites or is about."""
    used = set()
    for name in MEASURED:
        for line in (DATASETS / f"{name}.jsonl").read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            used |= {alt["article"] for item in row["evidence"] for alt in item}
            if row.get("about"):
                used.add(row["about"])
    return used


def _shingles(text: str, n: int = 6) -> set[tuple[str, ...]]:
    words = _words(text)
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


@cache
def _test_range_shingles(category: str) -> list[set[tuple[str, ...]]]:
    return [
        _shingles(article(f"{category}/{p.name}").text)
        for p in sorted((BBC / category).glob("*.txt"))
        if number(p.name) <= 300
    ]


def copies_test_range(article_id: str) -> float:
    """The largest share of an article's word 6-grams that one article numbered 001-300 of its
    category holds (most of tech/302-343 copy earlier articles verbatim)."""
    own = _shingles(article(article_id).text)
    if not own:
        return 0.0
    category = article_id.split("/")[0]
    return max((len(own & other) / len(own) for other in _test_range_shingles(category)), default=0)


def overlap(question: str, gold: Iterable[str]) -> float:
    """Share of a question's content words (stems) that its gold sentences hold."""
    asked = set(terms(question))
    held = set().union(*(set(terms(s)) for s in gold)) if gold else set()
    return len(asked & held) / len(asked) if asked else 0.0


def _resolve(ref: str, allowed: set[str]) -> tuple[str, str]:
    match = _REF.match(ref.strip())
    if not match:
        raise ValueError(f"bad reference {ref!r}: write it as business/412#7")
    article_id = f"{match['category']}/{match['number']}.txt"
    if article_id not in allowed:
        raise ValueError(f"{article_id} is not an article training may use")
    found = sentences(article_id)
    index = int(match["index"])
    if index >= len(found):
        raise ValueError(f"{article_id} has {len(found)} sentences, no [{index}]")
    return article_id, found[index]


def twins(article_id: str, sentence: str) -> list[tuple[str, str]]:
    """Other sentences of the category that state the same (word-set Jaccard >= TWIN)."""
    words = frozenset(_words(sentence))
    found = []
    for other, text, other_words in category_sentences(article_id.split("/")[0]):
        if (other, text) == (article_id, sentence) or not words:
            continue
        if len(words & other_words) / len(words | other_words) >= TWIN:
            found.append((other, text))
    return found


def build_row(draft: dict, allowed: set[str], row_id: str) -> dict:
    """One dataset row from a draft; ValueError says what breaks the rules."""
    kind = draft.get("type")
    if kind not in TYPES:
        raise ValueError(f"type {kind!r} is not one of {', '.join(TYPES)}")
    question = str(draft.get("question", "")).strip()
    if len(question.split()) < 4 or not question.endswith("?"):
        raise ValueError("a question has at least 4 words and ends with '?'")
    history = draft.get("history") or []
    if kind == "follow-up" and not history:
        raise ValueError("a follow-up needs its history (the earlier questions)")
    refs = draft.get("evidence") or []
    answerable = kind != "unanswerable"
    if answerable != bool(refs):
        raise ValueError("evidence is required, except on unanswerable questions, which have none")
    evidence = []
    for item in refs:
        alternatives = [item] if isinstance(item, str) else list(item)
        if not alternatives:
            raise ValueError("an evidence item is a list of one or more references")
        resolved = [_resolve(ref, allowed) for ref in alternatives]
        for article_id, sentence in list(resolved):
            for twin in twins(article_id, sentence):
                if number(twin[0]) <= 300:
                    raise ValueError(f"{twin[0]} (test range) states the same: {twin[1]!r}")
                if twin not in resolved:
                    resolved.append(twin)
        evidence.append([{"article": a, "sentence": s} for a, s in dict.fromkeys(resolved)])
    about = str(draft.get("about") or (evidence[0][0]["article"] if evidence else ""))
    about = _with_txt(about) if about else ""
    if about not in allowed:
        raise ValueError(f"'about' must name the article the question is on, not {about!r}")
    if kind == "list" and len(evidence) < 2:
        raise ValueError("a list question needs two or more evidence items")
    if kind == "cross-article":
        shared = set.intersection(*({alt["article"] for alt in item} for item in evidence))
        if len(evidence) < 2 or shared:
            raise ValueError("a cross-article question needs items no single article meets")
    if evidence:
        share = overlap(question, [item[0]["sentence"] for item in evidence])
        if share > MAX_OVERLAP:
            raise ValueError(
                f"the question reuses {share:.0%} of its words from the gold sentences "
                f"(at most {MAX_OVERLAP:.0%}): reword it"
            )
    row = {"id": row_id, "type": kind, "question": question}
    if history:
        row["history"] = [str(h).strip() for h in history]
    row.update(
        answerable=answerable,
        evidence=evidence,
        reference=str(draft.get("reference") or "The articles do not say.").strip(),
        corpus=about.split("/")[0],
        about=about,
    )
    return row


def choose_articles() -> dict:
    """The articles training may use, and why each other article numbered 301+ is left out."""
    measured, chosen, left_out = measured_articles(), [], {}
    for category in sorted(p.name for p in BBC.iterdir() if p.is_dir()):
        for path in sorted((BBC / category).glob("*.txt")):
            article_id = f"{category}/{path.name}"
            if number(article_id) <= 300:
                continue
            if article_id in measured:
                left_out[article_id] = "a dev or test question uses it"
            elif article_id in SAME_STORY:
                left_out[article_id] = "tells a story an article numbered 001-300 tells"
            elif (share := copies_test_range(article_id)) >= COPY:
                left_out[article_id] = (
                    f"copies an article numbered 001-300 ({share:.0%} of 6-grams)"
                )
            else:
                chosen.append(article_id)
    return {"articles": chosen, "left_out": left_out}


def allowed_articles() -> set[str]:
    """The articles training may use (see `evals/datasets/train/articles.json`)."""
    return set(json.loads((TRAIN / "articles.json").read_text())["articles"])


def build(draft_path: Path, out_path: Path, name: str) -> int:
    """Resolve a draft file into dataset rows; print every problem; the count of problems."""
    allowed = allowed_articles()
    rows, problems, seen = [], [], set()
    lines = draft_path.read_text(encoding="utf-8").splitlines()
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            draft = json.loads(line)
            key = (draft.get("question", "").strip(), tuple(draft.get("history") or []))
            if key in seen:
                raise ValueError("the same question is already in this file")
            seen.add(key)
            rows.append(build_row(draft, allowed, f"train-{name}-{len(rows) + 1:04d}"))
        except (ValueError, json.JSONDecodeError) as error:
            problems.append(f"line {n}: {error}")
    for problem in problems:
        print(problem)
    out_path.write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8"
    )
    kinds = {k: sum(r["type"] == k for r in rows) for k in TYPES}
    print(f"{len(rows)} rows written to {out_path}, {len(problems)} problems; {kinds}")
    return len(problems)


def sheet(article_ids: Iterable[str]) -> str:
    """Numbered sentences of articles, as writers read them."""
    out = []
    for raw in article_ids:
        article_id = _with_txt(raw)
        a = article(article_id)
        out.append(f"=== {article_id.removesuffix('.txt')} | {a.title}")
        out.extend(f"[{i}] {s}" for i, s in enumerate(sentences(article_id)))
        out.append("")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    show = sub.add_parser("sheet", help="print articles as numbered sentences")
    show.add_argument("articles", nargs="+")
    make = sub.add_parser("build", help="resolve a draft file into dataset rows")
    make.add_argument("draft", type=Path)
    make.add_argument("out", type=Path)
    make.add_argument("--name", required=True, help="part of every id: train-NAME-0001")
    sub.add_parser("articles", help="write the articles training may use to articles.json")
    args = parser.parse_args(argv)
    if args.command == "articles":
        chosen = choose_articles()
        TRAIN.mkdir(parents=True, exist_ok=True)
        (TRAIN / "articles.json").write_text(json.dumps(chosen, indent=1) + "\n")
        print(f"{len(chosen['articles'])} articles, {len(chosen['left_out'])} left out")
        return 0
    if args.command == "sheet":
        print(sheet(args.articles))
        return 0
    return 1 if build(args.draft, args.out, args.name) else 0


if __name__ == "__main__":
    sys.exit(main())
