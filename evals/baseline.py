"""llama-index's default pipeline on the same dev questions, for a side-by-side with `ask()`.

SimpleDirectoryReader over the same folder, VectorStoreIndex with its defaults (SentenceSplitter
chunks of 1024 tokens), the same MiniLM embedder, a Chroma collection, top-k 2. Without an LLM its
answer is the text of the two retrieved chunks, so it is scored on what a reader gets: whether
every gold sentence is in those chunks, how many words they hold, and whether it ever declines
(it cannot: it always returns two chunks).

    .venv/bin/python -m evals.baseline evals/datasets/seed_qa.jsonl evals/datasets/bbc_dev.jsonl
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

from evals.devset import CACHE, corpus_folder, load, store_id

TOP_K = 2


def build(corpus: str):
    import chromadb
    from llama_index.core import Settings, SimpleDirectoryReader, StorageContext, VectorStoreIndex
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding
    from llama_index.vector_stores.chroma import ChromaVectorStore

    from index.embed import model_path

    Settings.embed_model = HuggingFaceEmbedding(model_name=str(model_path()))
    Settings.llm = None
    client = chromadb.PersistentClient(str(CACHE / "baseline" / corpus))
    collection = client.get_or_create_collection("default")
    vector_store = ChromaVectorStore(chroma_collection=collection)
    if collection.count():
        index = VectorStoreIndex.from_vector_store(vector_store)
        return index.as_retriever(similarity_top_k=TOP_K), 0.0
    began = time.perf_counter()
    documents = SimpleDirectoryReader(str(corpus_folder(corpus)), recursive=True).load_data()
    storage = StorageContext.from_defaults(vector_store=vector_store)
    index = VectorStoreIndex.from_documents(documents, storage_context=storage)
    return index.as_retriever(similarity_top_k=TOP_K), time.perf_counter() - began


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("datasets", nargs="+")
    args = parser.parse_args(argv)
    retrievers = {}
    for path in args.datasets:
        complete = answerable = 0
        words, latencies = [], []
        unanswerable = 0
        for item in load(path):
            corpus = item["corpus"]
            if not corpus_folder(corpus):
                continue
            if corpus not in retrievers:
                retrievers[corpus], seconds = build(corpus)
                if seconds:
                    print(f"  built {corpus} in {seconds:.0f} s")
            began = time.perf_counter()
            nodes = retrievers[corpus].retrieve(item["question"])
            latencies.append((time.perf_counter() - began) * 1000)
            chunks = [
                (n.node.metadata.get("file_path", ""), " ".join(n.node.get_content().split()))
                for n in nodes
            ]
            words.append(sum(len(text.split()) for _, text in chunks))
            if not item["answerable"]:
                unanswerable += 1
                continue
            answerable += 1
            complete += all(
                any(
                    file.endswith("/" + store_id(alt["article"], corpus))
                    and " ".join(alt["sentence"].split()) in text
                    for alt in need
                    for file, text in chunks
                )
                for need in item["evidence"]
            )
        summary = {
            "all_gold_in_answer": round(complete / max(answerable, 1), 3),
            "unanswerable_abstained": 0.0,
            "false_abstentions": 0.0,
            "median_words": statistics.median(words) if words else 0,
            "p50_ms": round(statistics.median(latencies), 1) if latencies else 0,
            "unanswerable_questions": unanswerable,
        }
        print(path.rsplit("/", 1)[-1], json.dumps(summary))


if __name__ == "__main__":
    main()
