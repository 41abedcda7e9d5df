"""Our components inside llama-index, and llama-index's own reader over our store."""

import pytest
from llama_index.core.base.response.schema import Response

from rag import article_text
from rag.llama import CitedQueryEngine, NewsRetriever
from tests.conftest import BNE


def test_retriever_returns_passages_as_nodes(seed_store):
    nodes = NewsRetriever(store=str(seed_store), top_k=3).retrieve(
        "Iraq mediation between Saudi Arabia and Iran"
    )
    assert len(nodes) == 3
    assert nodes[0].score >= nodes[-1].score
    top = nodes[0].node
    assert top.metadata["article"] == BNE and top.ref_doc_id == BNE
    assert article_text(BNE, store=seed_store)[top.start_char_idx : top.end_char_idx] == top.text


def test_query_engine_gives_cited_source_nodes(seed_store):
    response = CitedQueryEngine(store=str(seed_store)).query("What will Iraq supply to Syria?")
    assert isinstance(response, Response) and not response.metadata["abstained"]
    assert response.source_nodes
    for n, source in enumerate(response.source_nodes, start=1):
        assert f"[{n}]" in response.response and source.node.metadata["n"] == n
        text = article_text(source.node.metadata["article"], store=seed_store)
        assert text[source.node.start_char_idx : source.node.end_char_idx] == source.node.text


def test_llama_index_reads_our_store_with_its_chroma_integration(seed_store):
    import chromadb
    from llama_index.core import VectorStoreIndex
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding
    from llama_index.vector_stores.chroma import ChromaVectorStore

    from index.embed import model_path

    collection = chromadb.PersistentClient(str(seed_store)).get_collection("passages")
    index = VectorStoreIndex.from_vector_store(
        ChromaVectorStore(chroma_collection=collection),
        embed_model=HuggingFaceEmbedding(model_name=str(model_path())),
    )
    nodes = index.as_retriever(similarity_top_k=2).retrieve("grain and oil for Syria")
    assert any("supply grain and oil" in n.node.get_content() for n in nodes)
    assert all(n.node.ref_doc_id for n in nodes)


def test_the_reader_reranks_llama_index_nodes_by_what_answers():
    from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode

    from rag.llama import ReaderPostprocessor

    texts = [
        "The weather in Baghdad was mild on Sunday.",
        "Hussein cited Iraq's previous mediation between Saudi Arabia and Iran as evidence of "
        "Baghdad's diplomatic capabilities.",
        "Oil prices rose on Monday.",
    ]
    nodes = [NodeWithScore(node=TextNode(text=t), score=1.0) for t in texts]
    kept = ReaderPostprocessor(top_n=2).postprocess_nodes(
        nodes, QueryBundle("What did Hussein say about mediation?")
    )
    assert len(kept) == 2 and kept[0].node.get_content() == texts[1]
    assert kept[0].score > kept[1].score
    with pytest.raises(ValueError, match="needs the query"):
        ReaderPostprocessor().postprocess_nodes(nodes)
