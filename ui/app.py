"""A basic Gradio chat over `ask()`: the answer with its numbered sources beneath."""

from __future__ import annotations

import os
import re

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

EXAMPLES = [
    "What did Hussein say about mediation?",
    "What will Iraq supply to Syria?",
    "Who is Jonathan Schanzer?",
]


def safe(text: str) -> str:
    """Article text as inert Markdown: every character Markdown or HTML would act on is
    backslash-escaped, so it shows as itself."""
    return re.sub(r"([\\`*_{}\[\]()#+!|<>~&-])", r"\\\1", text)


def render(answer) -> str:
    """The answer and its sources as Markdown; article text is escaped, never markup."""
    lines = []
    if answer.query != answer.question:
        lines.append(f"*Searched for: {safe(answer.query)}*\n")
    lines.append(safe(answer.text))
    sources = answer.citations or answer.related
    if sources:
        lines.append("\n**Sources**" if answer.citations else "\n**Related, not an answer**")
    for c in sources:
        details = ", ".join(safe(p) for p in (c.outlet, c.date) if p)
        title = safe(c.title or c.article)
        lines.append(f"\n[{c.n}] *{title}*" + (f" ({details})" if details else ""))
        lines.append(f"> {safe(' '.join(c.quote.split()))}")
        if c.also:
            lines.append(f"\nAlso reported in: {safe(', '.join(c.also))}")
    return "\n".join(lines)


def build(settings=None):
    """The chat app over `ask()`, answering from the store settings name (default: from env)."""
    import gradio as gr

    from rag import ask
    from rag.errors import RagError

    def respond(message: str, history: list[dict]) -> str:
        earlier = [
            m["content"]
            for m in history
            if m.get("role") == "user" and isinstance(m.get("content"), str)
        ]
        try:
            return render(ask(message, history=earlier, settings=settings))
        except RagError as error:
            return f"**Error:** {safe(str(error))}"

    return gr.ChatInterface(
        respond,
        title="News articles Q&A",
        description="Answers come only from the ingested articles; each sentence cites its source.",
        examples=EXAMPLES,
        cache_examples=False,
        analytics_enabled=False,
    )


def serve(settings=None, host: str = "127.0.0.1", port: int = 7860) -> None:
    from rag.ask import open_store
    from rag.settings import Settings

    settings = settings or Settings.from_env()
    open_store(settings.store, settings.chroma_url)  # a missing store fails before serving
    build(settings).queue(default_concurrency_limit=4).launch(
        server_name=host, server_port=port, share=False
    )
