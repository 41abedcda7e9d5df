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

from rag.answer import Citation
from rag.ask import ask, open_store
from rag.settings import Settings


class NewsRetriever(BaseRetriever):
    """Passages nearest to the query, as TextNodes with article, title, outlet, date, offsets."""

    def __init__(self, store: str | None = None, top_k: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self._settings = Settings.from_env().with_store(store)
        self._top_k = top_k or self._settings.top_k

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        from index.embed import encoder_for

        s = self._settings
        encoder = encoder_for(s.threads, s.ingest_threads, s.batch_size)
        hits = open_store(s.store).search(encoder.embed_query(query_bundle.query_str), self._top_k)
        return [
            NodeWithScore(
                node=TextNode(
                    id_=hit.id,
                    text=hit.text,
                    start_char_idx=hit.start,
                    end_char_idx=hit.end,
                    metadata={
                        "article": hit.article,
                        "title": hit.title,
                        "outlet": hit.outlet,
                        "date": hit.date,
                        "first_sentence": hit.first,
                        "last_sentence": hit.last,
                    },
                    relationships={NodeRelationship.SOURCE: RelatedNodeInfo(node_id=hit.article)},
                ),  # fmt: skip
                score=hit.score,
            )
            for hit in hits
        ]


def citation_node(citation: Citation) -> NodeWithScore:
    """A cited sentence as a node: its text is the quote, its offsets those of the article."""
    return NodeWithScore(
        node=TextNode(
            id_=f"{citation.article}:{citation.start}-{citation.end}",
            text=citation.quote,
            start_char_idx=citation.start,
            end_char_idx=citation.end,
            metadata={
                "n": citation.n,
                "article": citation.article,
                "title": citation.title,
                "outlet": citation.outlet,
                "date": citation.date,
            },
            relationships={NodeRelationship.SOURCE: RelatedNodeInfo(node_id=citation.article)},
        ),  # fmt: skip
        score=citation.score,
    )


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
