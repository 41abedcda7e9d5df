"""Named exceptions raised by the library; the CLI and UI print them as one line."""


class RagError(Exception):
    """Base class: the message says what was wrong, the value, and what to do."""


class SettingsError(RagError, ValueError):
    """A RAG_* environment variable holds a value that cannot be used."""


class EmptyQuestionError(RagError, ValueError):
    """The question was empty or only whitespace."""


class StoreNotFoundError(RagError):
    """No store at the given location, or a store holding no articles."""


class StoreUnavailableError(RagError):
    """The Chroma server named by --chroma-url / RAG_CHROMA_URL cannot be reached."""


class StoreIncompleteError(RagError):
    """An ingest into this store stopped part-way; running it again completes it."""


class StoreMismatchError(RagError):
    """The store was built with another embedding model or format than this code uses."""


class IngestSourceError(RagError):
    """The folder to ingest is missing, not a folder, or holds no readable articles."""


class ArticleNotFoundError(RagError, KeyError):
    """No article with this id in the store."""

    def __str__(self) -> str:  # KeyError would print the message quoted
        return str(self.args[0]) if self.args else ""
