"""The evaluation datasets are well formed and every gold sentence is one our splitter produces.

Gold evidence must match a sentence of split(clean(read(...))) exactly, or scoring a cited
sentence against it means nothing. Only the sentence splitter runs here, no embedding model.
"""

from __future__ import annotations

import itertools
import json
import re
from collections import Counter
from functools import cache
from pathlib import Path

import pytest

from index.clean import clean
from index.load import read
from index.records import Source
from index.split import split

HERE = Path(__file__).resolve()
DATASETS = HERE.parents[2] / "evals" / "datasets"
SEED_ROOT = HERE.parents[2] / "data" / "articles"
BBC_ROOT = HERE.parents[3] / "shared" / "corpora" / "bbc"

SEED_FILE = DATASETS / "seed_qa.jsonl"
BBC_FILE = DATASETS / "bbc_dev.jsonl"
TEST_FILE = DATASETS / "bbc_test.jsonl"
LONG_FILE = DATASETS / "bbc_dev_long.jsonl"
DESC_FILE = DATASETS / "bbc_dev_desc.jsonl"

TYPES = {
    "quote",
    "fact",
    "number",
    "why",
    "list",
    "cross-article",
    "follow-up",
    "unanswerable",
}
BBC_CATEGORIES = {"business", "entertainment", "politics", "sport", "tech"}
REQUIRED = {
    "id": str,
    "type": str,
    "question": str,
    "answerable": bool,
    "evidence": list,
    "reference": str,
    "corpus": str,
}
OPTIONAL = {"history": list}
BBC_ARTICLE = re.compile(r"^(?P<category>[a-z]+)/(?P<number>\d{3})\.txt$")


def load(path: Path) -> list[dict]:
    rows = []
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            assert line.strip(), f"{path.name}:{n}: blank line"
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as error:
                pytest.fail(f"{path.name}:{n}: not JSON: {error}")
    return rows


SEED = load(SEED_FILE)
BBC = load(BBC_FILE)
TEST = load(TEST_FILE)
LONG = load(LONG_FILE)
DESC = load(DESC_FILE)


@cache
def sentence_list(root: Path, article_id: str) -> list[str]:
    """An article's sentences as the pipeline splits them, in order."""
    source = read(root / article_id, root)
    assert isinstance(source, Source), f"{article_id}: not readable: {source}"
    article = split(clean(source))
    return [article.text[s:e] for s, e in article.sentences]


def sentences(root: Path, article_id: str) -> frozenset[str]:
    return frozenset(sentence_list(root, article_id))


def schema_problems(row: dict, optional: set[str] = frozenset()) -> list[str]:
    """What is wrong with a row (optional: further fields a set may carry)."""
    where = row.get("id", "?")
    problems = []
    unknown = set(row) - set(REQUIRED) - set(OPTIONAL) - set(optional)
    if unknown:
        problems.append(f"{where}: unknown fields {sorted(unknown)}")
    for key, kind in REQUIRED.items():
        if not isinstance(row.get(key), kind):
            problems.append(f"{where}: {key} missing or not {kind.__name__}")
    if problems:
        return problems
    if row["type"] not in TYPES:
        problems.append(f"{where}: unknown type {row['type']!r}")
    if not row["question"].strip() or not row["reference"].strip():
        problems.append(f"{where}: empty question or reference")
    if "history" in row:
        history = row["history"]
        if not history or not all(isinstance(h, str) and h.strip() for h in history):
            problems.append(f"{where}: history must be a non-empty list of questions")
    if row["type"] == "follow-up" and not row.get("history"):
        problems.append(f"{where}: follow-up without history")
    if (row["type"] == "unanswerable") == row["answerable"]:
        problems.append(f"{where}: type unanswerable iff answerable is false")
    evidence = row["evidence"]
    if row["answerable"] and not evidence:
        problems.append(f"{where}: answerable but no evidence")
    if not row["answerable"] and evidence:
        problems.append(f"{where}: unanswerable but has evidence")
    for item in evidence:
        if not isinstance(item, list) or not item:
            problems.append(f"{where}: evidence item must be a non-empty list of alternatives")
            continue
        for alt in item:
            if not (
                isinstance(alt, dict)
                and set(alt) == {"article", "sentence"}
                and all(isinstance(alt[k], str) and alt[k] for k in alt)
            ):
                problems.append(f"{where}: bad alternative {alt!r}")
        pairs = [(a.get("article"), a.get("sentence")) for a in item if isinstance(a, dict)]
        if len(set(pairs)) != len(pairs):
            problems.append(f"{where}: repeated alternative in one item")
    if row["type"] == "cross-article" and not problems:
        # Needs two articles: no single article can satisfy every required item.
        shared = set.intersection(*({a["article"] for a in item} for item in evidence))
        if len(evidence) < 2 or shared:
            problems.append(f"{where}: cross-article evidence answerable from one article")
    return problems


def gold(rows: list[dict]):
    for row in rows:
        for item in row.get("evidence") or []:
            for alt in item:
                yield row["id"], alt["article"], alt["sentence"]


@pytest.mark.parametrize(
    "rows", [SEED, BBC, TEST, LONG, DESC], ids=["seed", "bbc", "test", "long", "desc"]
)
def test_schema(rows):
    problems = [p for row in rows for p in schema_problems(row)]
    assert not problems, "\n".join(problems)


def test_ids_unique_across_files():
    ids = Counter(row.get("id") for row in SEED + BBC + TEST + LONG + DESC)
    assert not [i for i, n in ids.items() if n > 1], "duplicate ids"


@pytest.mark.parametrize(
    "rows", [SEED, BBC, TEST, LONG, DESC], ids=["seed", "bbc", "test", "long", "desc"]
)
def test_questions_unique(rows):
    keys = Counter((row["question"], tuple(row.get("history", []))) for row in rows)
    assert not [k for k, n in keys.items() if n > 1], "duplicate questions"


def test_seed_counts():
    types = Counter(row["type"] for row in SEED)
    assert len(SEED) >= 40
    assert types["unanswerable"] >= 10
    assert set(types) == TYPES, f"missing types: {TYPES - set(types)}"
    assert {row["corpus"] for row in SEED} == {"seed"}
    assert all(row["id"].startswith("seed-") for row in SEED)


def test_bbc_counts():
    types = Counter(row["type"] for row in BBC)
    assert len(BBC) >= 60
    assert types["unanswerable"] >= 10
    assert set(types) == TYPES, f"missing types: {TYPES - set(types)}"
    categories = Counter(row["corpus"] for row in BBC)
    assert set(categories) == BBC_CATEGORIES
    assert min(categories.values()) >= 12, categories
    assert all(row["id"].startswith("bbc-") for row in BBC)


def test_test_counts():
    types = Counter(row["type"] for row in TEST)
    assert len(TEST) >= 50
    assert types["unanswerable"] >= 10
    categories = Counter(row["corpus"] for row in TEST)
    assert set(categories) == BBC_CATEGORIES
    assert min(categories.values()) >= 10, categories
    assert all(row["id"].startswith("test-") for row in TEST)


@pytest.mark.parametrize("rows, prefix", [(LONG, "long-"), (DESC, "desc-")], ids=["long", "desc"])
def test_long_counts(rows, prefix):
    assert len(rows) >= 50
    assert sum(not row["answerable"] for row in rows) >= 10
    assert {row["corpus"] for row in rows} == BBC_CATEGORIES
    assert all(row["id"].startswith(prefix) for row in rows)
    # long and descriptive: a follow-up's first question is
    asked = [row.get("history", [row["question"]])[0] for row in rows]
    assert min(len(question.split()) for question in asked) >= 16


def test_test_set_is_about_articles_the_dev_set_leaves_out():
    """Every evidence item of the held-out set can be met from an article numbered 001-300,
    which the dev set never cites; an alternative may be a later article telling the same."""
    problems = []
    for row in TEST:
        for item in row["evidence"]:
            matches = [BBC_ARTICLE.match(alt["article"]) for alt in item]
            if not all(matches):
                problems.append(f"{row['id']}: bad article id in {item!r}")
            elif any(m["category"] != row["corpus"] for m in matches):
                problems.append(f"{row['id']}: an article not in {row['corpus']}")
            elif not any(int(m["number"]) <= 300 for m in matches):
                problems.append(f"{row['id']}: no evidence numbered 300 or below")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("rows", [BBC, LONG, DESC], ids=["bbc", "long", "desc"])
def test_bbc_articles_are_from_the_held_out_range_and_category(rows):
    problems = []
    for row in rows:
        for item in row["evidence"]:
            for alt in item:
                match = BBC_ARTICLE.match(alt["article"])
                if not match:
                    problems.append(f"{row['id']}: bad article id {alt['article']!r}")
                elif int(match["number"]) < 301:
                    problems.append(f"{row['id']}: {alt['article']} is below 301")
                elif match["category"] != row["corpus"]:
                    problems.append(f"{row['id']}: {alt['article']} not in {row['corpus']}")
    assert not problems, "\n".join(problems)


def test_seed_gold_sentences_are_split_sentences():
    problems = [
        f"{qid}: not a sentence of {article}: {sentence!r}"
        for qid, article, sentence in gold(SEED)
        if sentence not in sentences(SEED_ROOT, article)
    ]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("rows", [BBC, TEST, LONG, DESC], ids=["bbc", "test", "long", "desc"])
def test_bbc_gold_sentences_are_split_sentences(rows):
    if not BBC_ROOT.is_dir():
        pytest.skip(f"BBC corpus not found at {BBC_ROOT}; gold sentences not checked")
    problems = [
        f"{qid}: not a sentence of {article}: {sentence!r}"
        for qid, article, sentence in gold(rows)
        if sentence not in sentences(BBC_ROOT, article)
    ]
    assert not problems, "\n".join(problems)


SPEAKER_SETS = ["speakers.jsonl", "speakers_wide.jsonl", "speakers_test.jsonl"]
SPEAKER_KINDS = {"direct", "indirect", "according", "continued", "organisation", "none"}


def speaker_problems(row: dict) -> list[str]:
    where = f"{row['article']}#{row['index']}"
    problems = []
    if row["kind"] not in SPEAKER_KINDS:
        problems.append(f"{where}: kind {row['kind']!r}")
    if row["kind"] in {"none", "organisation"} and row["speaker"]:
        problems.append(f"{where}: {row['kind']} with a speaker")
    if row["kind"] in {"direct", "indirect", "according"} and not row["speaker"]:
        problems.append(f"{where}: {row['kind']} without a speaker")
    split_sentences = sentence_list(BBC_ROOT, row["article"])
    if row["index"] >= len(split_sentences) or split_sentences[row["index"]] != row["sentence"]:
        problems.append(f"{where}: not the pipeline's sentence there")
    return problems


@pytest.mark.parametrize("name", SPEAKER_SETS)
def test_speaker_labels_are_the_pipelines_sentences_of_articles_301_and_above(name):
    if not BBC_ROOT.is_dir():
        pytest.skip(f"BBC corpus not found at {BBC_ROOT}; speaker labels not checked")
    problems = []
    for row in load(DATASETS / name):
        match = BBC_ARTICLE.match(row["article"])
        if not match or int(match["number"]) < 301:
            problems.append(f"{row['article']}: not an article numbered 301 or above")
        problems += speaker_problems(row)
    assert not problems, "\n".join(problems[:20])


def test_speaker_sets_share_no_article():
    articles = {name: {row["article"] for row in load(DATASETS / name)} for name in SPEAKER_SETS}
    for first, second in itertools.combinations(SPEAKER_SETS, 2):
        assert not articles[first] & articles[second], (first, second)
