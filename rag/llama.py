"""Our retriever and answerer as llama-index components, to drop into a llama-index pipeline.

from rag.llama import NewsRetriever, CitedQueryEngine
nodes = NewsRetriever(store="~/news-store").retrieve("What did Hussein say about mediation?")
response = CitedQueryEngine(store="~/news-store").query("What did Hussein say about mediation?")
response.source_nodes  # one node per cited sentence, numbered as in response.response
ReaderPostprocessor(top_n=3)  # the reader's cross-encoder, to rerank any llama-index nodes
"""

from __future__ import annotations

from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.base.response.schema import Response
from llama_index.core.postprocessor.types import BaseNodePostprocessor
from llama_index.core.query_engine import CustomQueryEngine
from llama_index.core.schema import (
    NodeRelationship,
    NodeWithScore,
    QueryBundle,
    RelatedNodeInfo,
    TextNode,
)

from core.settings import Settings
from rag import read, retrieve
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


class ReaderPostprocessor(BaseNodePostprocessor):
    """The reader's cross-encoder (rag/read.py) as a llama-index node postprocessor: nodes
    reranked by how well their text answers the query, the `top_n` best kept, each node's score
    the cross-encoder's logit.

    from rag.llama import ReaderPostprocessor
    engine = index.as_query_engine(node_postprocessors=[ReaderPostprocessor(top_n=3)])
    """

    top_n: int = 5

    @classmethod
    def class_name(cls) -> str:
        return "NewsRagReaderPostprocessor"

    def _postprocess_nodes(
        self, nodes: list[NodeWithScore], query_bundle: QueryBundle | None = None
    ) -> list[NodeWithScore]:
        if query_bundle is None:
            raise ValueError("the reader needs the query to rerank nodes; none was given")
        if not nodes:
            return []
        texts = [n.node.get_content() for n in nodes]
        logits = read.reader().logits(query_bundle.query_str, texts)
        scored = [
            NodeWithScore(node=n.node, score=float(x)) for n, x in zip(nodes, logits, strict=True)
        ]
        return sorted(scored, key=lambda n: -n.score)[: self.top_n]
