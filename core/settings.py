"""One frozen settings object, read once from RAG_* environment variables."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlparse

from core.errors import SettingsError

# index.embed.PRECISIONS (a test checks they agree): importing index.embed here would import all of
# ingest and Chroma (0.4 s) wherever settings are read.
PRECISIONS = ("int8", "fp32")


def default_store() -> Path:
    """The store used when neither `store=`, `--store` nor RAG_STORE names one."""
    data_home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data_home) / "news-rag" / "store"


def _default_cache() -> Path:
    from index.embed import default_cache

    return default_cache()


@dataclass(frozen=True)
class Settings:
    """Everything that changes behaviour, in one place, passed in explicitly.

    Attributes:
        store: folder of the store: the embedded Chroma database, or with chroma_url only the
            local BM25 index.
        chroma_url: a Chroma server (http://host:port) holding passages, sentences and articles.
        cache: folder for files derived from the model (its ONNX export, made once).
        top_k: passages retrieved per question before sentences are picked.
        max_citations: most sentences cited in one answer.
        read_depth: candidate sentences the reader scores per question (the first stage's best).
        threads: ONNX Runtime threads for one question (2 is fastest on this 2-core machine; see
            README).
        ingest_threads: encoder batches run at once at ingest, one thread each (see README).
        batch_size: passages per encoder batch at ingest; 0 lets the encoder choose (8 in ONNX
            Runtime on CPU, 32 on torch).
        chunk_articles: articles embedded and written per step at ingest (the unit of crash
            safety); the first two steps take an eighth and a half as many, so the encoder
            starts sooner.
        precision: of ingest's batches on CPU: "fp32" (sentence-transformers' own vectors) or
            "int8" (an int8 copy of the model: the bare encoder 1.3 times as fast on BBC
            articles, but its vectors move some answers; see README). Questions and a GPU
            always run float32.
        max_article_bytes: the largest article file ingest reads (and the Library accepts as
            an upload); a larger one is skipped with a message saying so. Ingest is linear
            in an article's size (benchmarks/large_article.py), so the limit is about
            memory and waiting, not correctness: 5 MB is a thousand times a news story.
        llm: who writes answers: "none" (the article sentences themselves), "local" (the
            packaged GGUF model, in-process) or the URL of an OpenAI-compatible server.
        llm_model, llm_key: the model name and API key sent to that server.
        llm_timeout: seconds to wait for the server before answering without it.
        llm_local: which packaged model "local" runs (rag.local_model.MODELS).
        llm_sources: candidate sentences the LLM is given, numbered.
    """

    store: Path = field(default_factory=default_store)
    chroma_url: str | None = None
    cache: Path = field(default_factory=lambda: _default_cache())
    top_k: int = 8
    max_citations: int = 4
    read_depth: int = 20
    threads: int = field(default_factory=lambda: min(os.cpu_count() or 1, 2))
    ingest_threads: int = field(default_factory=lambda: min(os.cpu_count() or 1, 4))
    batch_size: int = 0
    chunk_articles: int = 64
    precision: str = "fp32"
    max_article_bytes: int = 5_000_000
    llm: str = "none"
    llm_model: str = ""
    llm_key: str = field(default="", repr=False)
    llm_timeout: float = 60.0
    llm_local: str = "qwen2.5-coder-0.5b"  # rag.local_model.DEFAULT
    llm_sources: int = 6

    def __post_init__(self):
        url = urlparse(self.llm)
        if self.llm not in ("none", "local") and not (
            url.scheme in ("http", "https") and url.netloc
        ):
            raise SettingsError(
                f"RAG_LLM={self.llm!r} is not 'none', 'local' or the http(s):// URL of an "
                "OpenAI-compatible server; set it to one of those or unset it"
            )
        if self.precision not in PRECISIONS:
            raise SettingsError(
                f"RAG_PRECISION={self.precision!r} is not one of {', '.join(PRECISIONS)}; "
                "set it to one or unset it"
            )
        if self.max_article_bytes < 1:
            raise SettingsError(
                f"RAG_MAX_ARTICLE_BYTES={self.max_article_bytes} is not a size in bytes; "
                "set it to a positive number (default 5000000) or unset it"
            )

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides) -> Settings:
        env = os.environ if env is None else env
        values: dict = {}
        if env.get("RAG_STORE"):
            values["store"] = Path(env["RAG_STORE"]).expanduser()
        if env.get("RAG_CHROMA_URL"):
            values["chroma_url"] = env["RAG_CHROMA_URL"]
        if env.get("RAG_CACHE"):
            values["cache"] = Path(env["RAG_CACHE"]).expanduser()
        if env.get("RAG_PRECISION"):
            values["precision"] = env["RAG_PRECISION"]
        for name in ("llm", "llm_model", "llm_key", "llm_local"):
            if env.get(f"RAG_{name.upper()}"):
                values[name] = env[f"RAG_{name.upper()}"]
        if env.get("RAG_LLM_TIMEOUT"):
            try:
                values["llm_timeout"] = float(env["RAG_LLM_TIMEOUT"])
            except ValueError:
                raise SettingsError(
                    f"RAG_LLM_TIMEOUT={env['RAG_LLM_TIMEOUT']!r} is not a number of seconds; "
                    "set it to one or unset it"
                ) from None
        for name in (
            "top_k",
            "max_citations",
            "read_depth",
            "threads",
            "ingest_threads",
            "batch_size",
            "chunk_articles",
            "max_article_bytes",
            "llm_sources",
        ):
            raw = env.get(f"RAG_{name.upper()}")
            if raw:
                try:
                    values[name] = int(raw)
                except ValueError:
                    raise SettingsError(
                        f"RAG_{name.upper()}={raw!r} is not a whole number; "
                        "set it to one or unset it"
                    ) from None
        values.update({k: v for k, v in overrides.items() if v is not None})
        if "store" in values:
            values["store"] = Path(values["store"]).expanduser()
        return cls(**values)

    def encoder(self):
        """The encoder these settings call for, loaded once per process."""
        from index.embed import encoder_for

        return encoder_for(
            self.threads, self.ingest_threads, self.batch_size, self.cache, self.precision
        )

    def with_store(self, store: str | os.PathLike | None) -> Settings:
        return self if store is None else replace(self, store=Path(store).expanduser())
