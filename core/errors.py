"""Named exceptions raised by the library; the CLI and UI print them as one line."""


class RagError(Exception):
    """Base class: the message says what was wrong, the value, and what to do."""


class SettingsError(RagError, ValueError):
    """A RAG_* environment variable holds a value that cannot be used."""


class EmptyQuestionError(RagError, ValueError):
    """The question was empty or only whitespace."""


class InvalidTextError(RagError, ValueError):
    """A question holds characters that are not text: a lone surrogate, as an API caller can
    send or Python makes of bytes on the command line that are not UTF-8."""


class FilterError(RagError, ValueError):
    """A filter's value cannot be used: a date that is not YYYY-MM-DD, say."""


class StoreNotFoundError(RagError):
    """No store at the given location, or a store holding no articles."""


class StoreUnavailableError(RagError):
    """The Chroma server named by --chroma-url / RAG_CHROMA_URL cannot be reached."""


class StoreIncompleteError(RagError):
    """An ingest into this store stopped part-way; running it again completes it."""


class StoreBusyError(RagError):
    """Another ingest is writing to this store (one writer at a time), and this one does not
    wait for it, or there is nothing complete to read until it has finished."""


class StoreMismatchError(RagError):
    """The store was built with another embedding model or format than this code uses."""


class IngestSourceError(RagError):
    """The folder to ingest is missing, not a folder, or holds no readable articles."""


class ArticleNotFoundError(RagError, KeyError):
    """No article with this id in the store."""

    def __str__(self) -> str:  # KeyError would print the message quoted
        return str(self.args[0]) if self.args else ""


class ModelFileError(RagError):
    """A local LLM's file is missing, of an untrusted version, or not the published one."""


class ModelMissingError(RagError):
    """A model the library needs (spaCy's English pipeline) is not installed."""
