"""Turn a folder of news articles into a store: load -> clean -> split -> embed -> write."""

from index.ingest import IngestReport, ingest

__all__ = ["ingest", "IngestReport"]
