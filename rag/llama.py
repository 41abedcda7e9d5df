"""Our retriever and answerer as llama-index components, to drop into a llama-index pipeline.

from rag.llama import NewsRetriever, CitedQueryEngine
nodes = NewsRetriever(store="~/news-store").retrieve("What did Hussein say about mediation?")
response = CitedQueryEngine(store="~/news-store").query("What did Hussein say about mediation?")
response.source_nodes  # one node per cited sentence, numbered as in response.response
"""

from __future__ import annotations

from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.base.response.schema import Response
from llama_index.core.query_engine import CustomQueryEngine
from llama_index.core.schema import (
    NodeRelationship,
    NodeWithScore,
    QueryBundle,
    RelatedNodeInfo,
    TextNode,
)

from core.settings import Settings
from rag import retrieve
from rag.answer import Citation
from rag.ask import ask, open_store


def _node(id_: str, text: str, start: int, end: int, score: float, **metadata) -> NodeWithScore:
    """A span of an article as a scored llama-index node whose source is the article."""
    return NodeWithScore(
        node=TextNode(
            id_=id_,
            text=text,
            start_char_idx=start,
            end_char_idx=end,
            metadata=metadata,
            relationships={NodeRelationship.SOURCE: RelatedNodeInfo(node_id=metadata["article"])},
        ),
        score=score,
    )


class NewsRetriever(BaseRetriever):
    """Passages for a query (dense and BM25, fused), as TextNodes with article metadata."""

    def __init__(self, store: str | None = None, top_k: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self._settings = Settings.from_env().with_store(store)
        self._top_k = top_k or self._settings.top_k

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        query = query_bundle.query_str
        vector = self._settings.encoder().embed_query(query)
        db = open_store(self._settings.store, self._settings.chroma_url)
        hits = retrieve.passages(db, vector, query, self._top_k)
        return [
            _node(
                hit.id,
                hit.text,
                hit.start,
                hit.end,
                hit.score,
                article=hit.article,
                title=hit.title,
                outlet=hit.outlet,
                date=hit.date,
                first_sentence=hit.first,
                last_sentence=hit.last,
            )  # fmt: skip
            for hit in hits
        ]


def citation_node(citation: Citation) -> NodeWithScore:
    """A cited sentence as a node: its text is the quote, its offsets those of the article."""
    return _node(
        f"{citation.article}:{citation.start}-{citation.end}", citation.quote, citation.start,
        citation.end, citation.score, n=citation.n, article=citation.article,
        title=citation.title, outlet=citation.outlet, date=citation.date,
    )  # fmt: skip


class CitedQueryEngine(CustomQueryEngine):
    """`ask()` as a query engine: the answer text with [n] markers, one source node per citation."""

    store: str | None = None

    def custom_query(self, query_str: str) -> Response:
        answer = ask(query_str, store=self.store)
        return Response(
            response=answer.text,
            source_nodes=[citation_node(c) for c in answer.citations],
            metadata={"abstained": answer.abstained, "query": answer.query,
                      "related": [citation_node(c) for c in answer.related]},
        )  # fmt: skip
