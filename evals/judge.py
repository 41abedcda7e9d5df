"""An optional LLM judge: llama-index's FaithfulnessEvaluator behind the support scorer's interface.

`rag eval --judge llm` scores every answer segment with the LLM's YES/NO verdict instead of
`evals.support`, through the same aggregation (citation recall and precision, groundedness), so the
figures of both judges compare directly. The LLM is any OpenAI-compatible endpoint, configured by
RAG_LLM_URL (e.g. http://127.0.0.1:8080/v1), RAG_LLM_MODEL and RAG_LLM_API_KEY.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence

from core.errors import SettingsError

SupportBatch = Callable[[Sequence[tuple[str, Sequence[str]]]], list[float]]


def llm_from_env(env: Mapping[str, str] | None = None):
    """The llama-index LLM the environment configures; a clear error when there is none."""
    env = os.environ if env is None else env
    url = env.get("RAG_LLM_URL")
    if not url:
        raise SettingsError(
            "--judge llm needs an LLM: set RAG_LLM_URL to an OpenAI-compatible endpoint "
            "(e.g. http://127.0.0.1:8080/v1) and RAG_LLM_MODEL to its model name"
        )
    from llama_index.llms.openai_like import OpenAILike

    return OpenAILike(
        model=env.get("RAG_LLM_MODEL", "default"),
        api_base=url,
        api_key=env.get("RAG_LLM_API_KEY", "none"),
        is_chat_model=True,
        context_window=int(env.get("RAG_LLM_CONTEXT", "8192")),
        max_tokens=16,
        timeout=float(env.get("RAG_LLM_TIMEOUT", "60")),
    )


def llm_support_batch(llm) -> SupportBatch:
    """(claim, passages) pairs -> 1.0 where the LLM judges the passages support the claim."""
    from llama_index.core.evaluation import FaithfulnessEvaluator

    evaluator = FaithfulnessEvaluator(llm=llm)

    def judge(pairs: Sequence[tuple[str, Sequence[str]]]) -> list[float]:
        verdicts = []
        for claim, passages in pairs:
            texts = [p for p in passages if p.strip()]
            passing = bool(texts) and evaluator.evaluate(response=claim, contexts=texts).passing
            verdicts.append(1.0 if passing else 0.0)
        return verdicts

    return judge
