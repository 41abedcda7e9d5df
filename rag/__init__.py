"""Ask questions of ingested news articles; every answer sentence cites its source sentence."""

from rag.answer import Answer, Citation
from rag.ask import article_text, ask

__all__ = ["ask", "Answer", "Citation", "article_text"]
