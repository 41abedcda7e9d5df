"""The user's LLM through llama-index: a packaged GGUF model run in-process (`LlamaCPP`), or any
OpenAI-compatible server (`OpenAILike`: Ollama, vLLM, llama.cpp's server, a hosted API)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from pathlib import Path
from urllib.parse import urlparse

from core.errors import SettingsError
from core.settings import Settings

CONTEXT = 2048  # tokens: the prompt (about 600 with 6 sources) and the reply fit with room
REPLY_TOKENS = 200  # three short sentences with their markers take about 90
TEMPERATURE = 0.0  # greedy: the same question gets the same answer


def chatml(messages: Sequence) -> str:
    """Qwen's chat template (ChatML). llama-index's LlamaCPP defaults to Llama 2's [INST]
    format, which Qwen models follow poorly."""
    turns = [f"<|im_start|>{m.role.value}\n{m.content}<|im_end|>\n" for m in messages]
    return "".join(turns) + "<|im_start|>assistant\n"


def _completion(text: str) -> str:
    return f"<|im_start|>user\n{text}<|im_end|>\n<|im_start|>assistant\n"


def api_base(url: str) -> str:
    """An OpenAI-compatible server's API root: the URL as given, with /v1 added when it names
    no path ("http://127.0.0.1:8080" -> "http://127.0.0.1:8080/v1")."""
    url = url.rstrip("/")
    return url if urlparse(url).path else f"{url}/v1"


def connect(settings: Settings):
    """(llm, name) for settings.llm, made once per process and settings."""
    return _connect(
        settings.llm, settings.llm_model, settings.llm_key, settings.llm_timeout,
        settings.llm_local, settings.threads, settings.cache,
    )  # fmt: skip


@cache
def _connect(mode, model, key, timeout, local, threads, cache_dir: Path):
    if mode == "local":
        try:
            from llama_index.llms.llama_cpp import LlamaCPP
        except ImportError:
            raise SettingsError(
                "RAG_LLM=local needs llama-cpp-python and llama-index-llms-llama-cpp, which are "
                "not installed; run `make install-llm` (or pip install -e '.[llm]')"
            ) from None

        from rag.local_model import model_path

        path = model_path(local, cache_dir)
        llm = LlamaCPP(
            model_path=str(path),
            temperature=TEMPERATURE,
            max_new_tokens=REPLY_TOKENS,
            context_window=CONTEXT,
            messages_to_prompt=chatml,
            completion_to_prompt=_completion,
            generate_kwargs={"stop": ["<|im_end|>", "<|endoftext|>"]},
            model_kwargs={"n_threads": threads, "n_threads_batch": threads},
            verbose=False,
        )
        return llm, path.stem
    from llama_index.llms.openai_like import OpenAILike

    llm = OpenAILike(
        model=model or "default",
        api_base=api_base(mode),
        api_key=key or "none",  # local servers ignore it; the client insists on one
        is_chat_model=True,  # the chat endpoint applies the model's own template
        context_window=CONTEXT,
        max_tokens=REPLY_TOKENS,
        temperature=TEMPERATURE,
        timeout=timeout,
        max_retries=0,  # a server that is down says so at once; the answer falls back
    )
    return llm, f"{model or 'default'} at {mode}"
