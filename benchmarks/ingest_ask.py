"""Ingest and ask() at every size: the sample articles, 500 and all 2,225 BBC articles, and a
synthetic ~9,000 (the BBC corpus four times over, ids changed).

Per corpus, each in a process of its own so that its peak RSS is its own: ingest wall time,
articles/s and word pieces/s; re-ingest of the unchanged corpus; ask() p50/p95 warm; cold start
(a new process, to its first answer) and that process's peak RSS; store size. Side by side, on the
same articles: (a) the bare encoder on exactly the passages ingest embedded, the floor for
ingestion with this model; (b) llama-index's default pipeline (SimpleDirectoryReader,
VectorStoreIndex defaults, the same MiniLM through HuggingFaceEmbedding, Chroma, top-k 2; no LLM):
its ingestion and its retrieval per question. The machine is shared and noisy, so ratios are
printed beside the times, and ingest's CPU time (all its threads) over the bare encoder's: a
ratio of wall times at 500 articles was 1.16, 1.23 and 1.36 in three runs of one version.
How near the encoder runs to this CPU's limit: its rate of floating-point operations (counted by
`Encoder.flops`, checked against torch's counter) beside that of a bare float32 matrix product at
its shapes; and the bare encoder's time over llama-index's whole ingest (over 1: no ingest that
embeds all the text, as ours does, can beat llama-index's, which embeds the first 256 word pieces
of each 1,024-token chunk).

The BBC corpus is read from ../shared/corpora/bbc (or --bbc / $BBC_CORPUS) and skipped with a
message when absent; it is copied to a temp folder, never into the project. The synthetic corpus
is ingested into a copy of the 2,225-article store: its passages' vectors are already there, so it
measures writing and answering at that size, not the encoder (the row says how many were reused).

    .venv/bin/python benchmarks/ingest_ask.py [--corpora seed bbc500 bbc2225 synthetic]

With RAG_PRECISION=int8 in the environment, ingest and the bare encoder run their batches on the
int8 copy of the model (llama-index's pipeline is unchanged: float32 on torch).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CORPORA = ("seed", "bbc500", "bbc2225", "synthetic")
COPIES = 4  # the synthetic corpus: the BBC corpus this many times
MIN_ASKS = 200  # timings per corpus, for a p95 that is not one slow outlier
SEED_QUESTIONS = [
    {"question": "What did Hussein say about mediation?"},
    {"question": "What will Iraq supply to Syria?"},
    {"question": "Who is Inna Rudolf?"},
    {"question": "Why is Iraq worried about ISIS?"},
    {"question": "What is the capital of France?"},
    {"question": "Does Hussein think Iraq is the next target?"},
    {"question": "When do elections take place in Iraq?"},
    {"question": "What did Caroline Rose note?"},
    {"question": "And what did he say about ISIS?", "history": ["What did Hussein say?"]},
]
COLD_START = """
import json, resource, sys, time
began = time.perf_counter()
from rag import ask
answer = ask(sys.argv[1], store=sys.argv[2])
print(json.dumps({"seconds": time.perf_counter() - began, "cited": len(answer.citations),
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def bbc_questions() -> list[dict]:
    """The BBC dev set's questions (follow-ups with their history): a realistic mix of kinds."""
    rows = (ROOT / "evals" / "datasets" / "bbc_dev.jsonl").read_text().splitlines()
    return [
        {"question": item["question"], "history": item.get("history") or []}
        for item in map(json.loads, rows)
    ]


def prepare(name: str, bbc: Path, into: Path) -> Path:
    """The folder of articles for a corpus, copied into `into` (BBC: the category folders only)."""
    if name == "seed":
        return ROOT / "data" / "articles"
    folder = into / name
    copies = COPIES if name == "synthetic" else 1
    for category in sorted(p for p in bbc.iterdir() if p.is_dir()):
        files = sorted(category.glob("*.txt"))
        if name == "bbc500":
            files = files[: 500 // 5]
        for copy in range(copies):  # the first copy keeps the corpus's ids
            target = folder / (f"copy{copy}" if copy else "") / category.name
            target.mkdir(parents=True)
            for path in files:
                shutil.copy(path, target / path.name)
    return folder


def passes(repeats: int, questions: list[dict]) -> int:
    """Passes over the questions: at least repeats, and enough for MIN_ASKS timings (a p95 of
    18 timings, the sample questions twice, is their slowest but one)."""
    return max(repeats, -(-MIN_ASKS // max(1, len(questions))))


def cpu_s() -> float:
    """CPU seconds this process has used so far, all its threads."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measure(name: str, folder: Path, store: Path, questions: list[dict], repeats: int) -> dict:
    """Ingest, re-ingest, bare encoder and warm asks, in this process (see `main`)."""
    import bm25s  # noqa: F401 - libraries are imported before the clock starts, as for llama-index
    import chromadb  # noqa: F401
    import llama_index.vector_stores.chroma  # noqa: F401
    import nltk  # noqa: F401
    import onnxruntime  # noqa: F401

    from core.settings import Settings
    from index import ingest
    from index.store import Store
    from rag import ask

    began, cpu = time.perf_counter(), cpu_s()
    report = ingest(folder, store, replace=True)
    ingest_s, ingest_cpu = time.perf_counter() - began, cpu_s() - cpu
    began = time.perf_counter()
    again = ingest(folder, store)
    reingest_s = time.perf_counter() - began
    assert again.passages == 0, "an unchanged corpus was embedded again"
    ingest_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    # The bare encoder's work: each distinct passage once (the store was empty, except for the
    # synthetic corpus, whose passages were all there already). Ingest may have embedded a few
    # twice: duplicates in chunks written while it embedded are not seen in time.
    encoder = Settings.from_env().encoder()
    embedded = report.passages - report.reused
    bare_s = bare_cpu = pieces = None
    products: dict = {}  # the encoder's rate of products against the CPU's (float32 only)
    if embedded:
        db = Store(store, encoder.name)
        snapshot = db.snapshot()
        columns, row_of = snapshot.passages, snapshot.row_of
        rows = db.passages.get(include=["metadatas"])
        texts = {}
        for id_, meta in zip(rows["ids"], rows["metadatas"], strict=True):
            title, text = columns["title"][row_of[id_]], columns["text"][row_of[id_]]
            texts[meta["key"]] = f"{title}\n{text}" if title else text
        lengths = [n + 2 for n in encoder.count_tokens(list(texts.values()))]  # [CLS], [SEP]
        pieces = sum(lengths)
        began, cpu = time.perf_counter(), cpu_s()
        encoder.embed(list(texts.values()))  # the same passages, through the encoder alone
        bare_s, bare_cpu = time.perf_counter() - began, cpu_s() - cpu
        if encoder.device == "cpu" and encoder.precision == "fp32":
            products = {
                "encoder_gflops": round(encoder.flops(lengths) / bare_s / 1e9, 1),
                "product_gflops": round(product_rate(encoder) / 1e9, 1),
            }

    ask(questions[0]["question"], store=store)  # warm: model and store loaded
    latencies, abstained = [], 0
    for _ in range(passes(repeats, questions)):
        for item in questions:
            began = time.perf_counter()
            answer = ask(item["question"], history=item.get("history"), store=store)
            latencies.append((time.perf_counter() - began) * 1000)
            abstained += answer.abstained
    latencies.sort()
    bare_reader, reading = _reader_times(store, questions)
    ingested = len(report.added) + len(report.updated)
    return {
        "corpus": name,
        "precision": encoder.precision,  # of the batches: RAG_PRECISION
        "articles": ingested + len(report.unchanged),
        "passages": report.passages,
        "reused": report.reused,
        "embedded": embedded,
        "ingest_s": round(ingest_s, 2),
        "articles_per_s": round(ingested / ingest_s, 1),
        "pieces_per_s": round(pieces / ingest_s) if pieces else None,
        "bare_encoder_s": round(bare_s, 2) if bare_s else None,
        "ingest_over_encoder": round(ingest_s / bare_s, 2) if bare_s else None,
        "cpu_over_encoder": round(ingest_cpu / bare_cpu, 2) if bare_cpu else None,
        **products,
        "reingest_s": round(reingest_s, 2),
        "ask_p50_ms": round(statistics.median(latencies), 1),
        "ask_p95_ms": round(latencies[int(0.95 * (len(latencies) - 1))], 1),
        "asks": len(latencies),
        # the cross-encoder alone on each question's candidates, and the whole read step
        "cross_encoder_p50_ms": bare_reader,
        "read_p50_ms": reading,
        "abstained": round(abstained / len(latencies), 2),
        "ingest_rss_mb": round(ingest_rss_mb),  # before the bare encoder and the asks
        "store_mb": round(sum(f.stat().st_size for f in store.rglob("*") if f.is_file()) / 1e6),
    }


def _reader_times(store: Path, questions: list[dict]) -> tuple[float | None, float]:
    """p50 ms of the bare cross-encoder on each question's candidates (None when the shipped
    reader has none), and of the whole read step (features, both small models, the choice)."""
    from core.settings import Settings
    from rag import read, retrieve
    from rag.ask import open_store
    from rag.understand import resolve

    settings, reader = Settings.from_env(), read.reader()
    db = open_store(store)
    bare, whole = [], []
    for item in questions:
        query = resolve(item["question"], item.get("history"))
        found = retrieve.find(db, query, settings)
        if reader.uses_logit:
            texts = [read.candidate_text(c) for c in found.candidates]
            began = time.perf_counter()
            reader.logits(query.text, texts)
            bare.append((time.perf_counter() - began) * 1000)
        began = time.perf_counter()
        read.read(query, found, reader, settings.max_citations)
        whole.append((time.perf_counter() - began) * 1000)
    p50 = lambda v: round(statistics.median(v), 1) if v else None  # noqa: E731
    return p50(bare), p50(whole)


def product_rate(encoder, seconds: float = 1.0) -> float:
    """FLOP/s of ONNX Runtime's float32 matrix product on this CPU: the best over the shapes of
    the encoder's products (attention projection, feed-forward in and out, for a batch of 8
    passages of 106 word pieces, the BBC average), each run as ingest runs its batches:
    `batch_threads` at once, one ONNX Runtime thread each. Nearly all of the encoder's work is
    such products (`Encoder.flops`), so an encoder near this rate has no runtime left to gain
    from in float32."""
    import numpy as np
    import onnx
    import onnxruntime
    from onnx import TensorProto, helper

    config = encoder.config
    rows, hidden, inner = 8 * 106, config["hidden_size"], config["intermediate_size"]
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    random = np.random.default_rng(0)
    best = 0.0
    for into, out in ((hidden, hidden), (hidden, inner), (inner, hidden)):
        graph = helper.make_graph(
            [helper.make_node("MatMul", ["x", "w"], ["y"])],
            "product",
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, [rows, into])],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, [rows, out])],
            [onnx.numpy_helper.from_array(random.standard_normal((into, out), np.float32), "w")],
        )
        # The IR version of the export (torch's), which any ONNX Runtime reads; onnx's own
        # newest may not be.
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
        feeds = {"x": random.standard_normal((rows, into), np.float32)}
        sessions = [
            onnxruntime.InferenceSession(
                model.SerializeToString(), options, providers=["CPUExecutionProvider"]
            )
            for _ in range(encoder.batch_threads)
        ]
        once = time.perf_counter()
        for session in sessions:
            session.run(None, feeds)
        repeats = max(3, int(seconds / (time.perf_counter() - once)))
        threads = [
            threading.Thread(target=_run, args=(session, feeds, repeats)) for session in sessions
        ]
        began = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        flops = 2 * rows * into * out * repeats * len(sessions)
        best = max(best, flops / (time.perf_counter() - began))
    return best


def _run(session, feeds: dict, repeats: int) -> None:
    for _ in range(repeats):
        session.run(None, feeds)


def llama_default(folder: Path, questions: list[dict], repeats: int) -> dict:
    """llama-index's default pipeline on the same folder: build time, then retrieval per
    question (the query embedding included; no LLM, so no synthesis)."""
    import chromadb
    from llama_index.core import Settings, SimpleDirectoryReader, StorageContext, VectorStoreIndex
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding
    from llama_index.vector_stores.chroma import ChromaVectorStore

    from index.embed import model_path

    # The clock starts with the libraries imported and nothing loaded, as for ours.
    with tempfile.TemporaryDirectory(prefix="bench-llama-") as where:
        began = time.perf_counter()
        Settings.embed_model = HuggingFaceEmbedding(model_name=str(model_path()))
        Settings.llm = None
        collection = chromadb.PersistentClient(where).get_or_create_collection("default")
        storage = StorageContext.from_defaults(
            vector_store=ChromaVectorStore(chroma_collection=collection)
        )
        documents = SimpleDirectoryReader(str(folder), recursive=True).load_data()
        index = VectorStoreIndex.from_documents(documents, storage_context=storage)
        build_s = time.perf_counter() - began
        retriever = index.as_retriever(similarity_top_k=2)
        retriever.retrieve(questions[0]["question"])
        latencies = []
        for _ in range(passes(repeats, questions)):
            for item in questions:
                began = time.perf_counter()
                retriever.retrieve(item["question"])
                latencies.append((time.perf_counter() - began) * 1000)
        chunks = collection.count()
    latencies.sort()
    return {
        "llama_ingest_s": round(build_s, 2),
        "llama_chunks": chunks,
        "llama_query_p50_ms": round(statistics.median(latencies), 1),
        "llama_query_p95_ms": round(latencies[int(0.95 * (len(latencies) - 1))], 1),
    }


def cold_start(question: str, store: Path, runs: int = 3) -> dict:
    """A new Python process, to its first answer: the median of a few runs."""
    timings, rss = [], 0.0
    for _ in range(runs):
        began = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-c", COLD_START, question, str(store)],
            capture_output=True, text=True, check=True, cwd=ROOT,
        )  # fmt: skip
        timings.append(time.perf_counter() - began)
        rss = max(rss, json.loads(done.stdout.splitlines()[-1])["rss_mb"])
    return {"cold_start_s": round(statistics.median(timings), 2), "ask_rss_mb": round(rss)}


def child(args) -> None:
    """One corpus, in this process: writes its row as JSON to args.out."""
    questions = json.loads(Path(args.questions).read_text())
    folder, store = Path(args.folder), Path(args.store)
    if args.part == "ours":
        row = measure(args.one, folder, store, questions, args.repeats)
    else:
        row = llama_default(folder, questions, args.repeats)
    Path(args.out).write_text(json.dumps(row))


def run_child(part: str, name: str, folder: Path, store: Path, questions, repeats: int) -> dict:
    with tempfile.TemporaryDirectory() as scratch:
        asked, out = Path(scratch) / "questions.json", Path(scratch) / "row.json"
        asked.write_text(json.dumps(questions))
        subprocess.run(
            [sys.executable, __file__, "--one", name, "--part", part, "--folder", str(folder),
             "--store", str(store), "--questions", str(asked), "--out", str(out),
             "--repeats", str(repeats)],
            check=True, cwd=ROOT,
        )  # fmt: skip
        return json.loads(out.read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpora", nargs="+", choices=CORPORA, default=list(CORPORA))
    parser.add_argument(
        "--bbc", default=os.environ.get("BBC_CORPUS", ROOT.parent / "shared/corpora/bbc")
    )
    parser.add_argument("--repeats", type=int, default=2, help="passes over the questions")
    parser.add_argument("--no-llama", action="store_true", help="leave out llama-index's pipeline")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "ingest_ask.json"))
    for hidden in ("--one", "--part", "--folder", "--store", "--questions"):
        parser.add_argument(hidden, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        return child(args)

    bbc = Path(args.bbc)
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-") as scratch:
        scratch = Path(scratch)
        for name in args.corpora:
            if name != "seed" and not bbc.is_dir():
                print(f"{name}: skipped, no BBC corpus at {bbc} (set --bbc or BBC_CORPUS)")
                continue
            print(f"{name}: preparing", flush=True)
            folder = prepare(name, bbc, scratch)
            store = scratch / f"store-{name}"
            if name == "synthetic":
                if not (scratch / "store-bbc2225").exists():
                    print("synthetic: needs bbc2225 in the same run; skipped")
                    continue
                shutil.copytree(scratch / "store-bbc2225", store)
            questions = SEED_QUESTIONS if name == "seed" else bbc_questions()
            row = run_child("ours", name, folder, store, questions, args.repeats)
            row.update(cold_start(questions[0]["question"], store))
            if not args.no_llama and name != "synthetic":
                row.update(run_child("llama", name, folder, store, questions, args.repeats))
                row["ingest_vs_llama"] = round(row["ingest_s"] / row["llama_ingest_s"], 2)
                if row.get("bare_encoder_s"):  # over 1: no ingest of all the text beats it
                    encoder_s = row["bare_encoder_s"]
                    row["encoder_vs_llama"] = round(encoder_s / row["llama_ingest_s"], 2)
            rows.append(row)
            print(json.dumps(row), flush=True)
            if name == "synthetic":
                shutil.rmtree(folder)

    show(rows)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(rows, indent=2))
    print(f"written to {out}")


def show(rows: list[dict]) -> None:
    if not rows:
        return
    columns = [c for c in rows[0] if any(c in row for row in rows)]
    columns += [c for row in rows for c in row if c not in columns]
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    for row in rows:
        print("| " + " | ".join(str(row.get(c, "")) for c in columns) + " |")
    base = rows[0]
    print("\nask() p50 against corpus size (relative to the first corpus):")
    for row in rows:
        size = row["articles"] / base["articles"]
        p50 = row["ask_p50_ms"] / base["ask_p50_ms"]
        print(f"  {row['corpus']:>10}: {row['articles']:>5} articles (x{size:.0f}) "
              f"-> p50 {row['ask_p50_ms']} ms (x{p50:.2f})")  # fmt: skip


if __name__ == "__main__":
    main()
