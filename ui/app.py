"""The Gradio web chat over `ask()`: a streamed, cited answer beside its source cards."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import time
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

from ui.render import (  # noqa: E402  (analytics must be off before gradio is imported)
    CSS,
    EMPTY,
    SCROLL_JS,
    chat_markdown,
    cited_in,
    pieces,
    plain_text,
    safe,
    sources_html,
)

__all__ = ["EXAMPLES", "build", "serve", "safe", "render", "questions"]

EXAMPLES = [
    "What did Hussein say about mediation?",
    "What will Iraq supply to Syria?",
    "Who is Jonathan Schanzer?",
]
STREAM_DELAY = 0.04  # seconds between cited spans as the answer streams in


def render(answer) -> str:
    """The whole answer as one chat message of inert Markdown."""
    return chat_markdown(answer)


def message_text(message: dict) -> str:
    """A chat message's text: Gradio gives content as a string or as a list of typed parts."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return ""


def questions(history: list[dict]) -> list[str]:
    """The user's earlier questions in a messages-format chat, oldest first."""
    return [message_text(m) for m in history if m.get("role") == "user" and message_text(m)]


def _texts(answer, settings) -> dict[str, str]:
    from rag import article_text
    from rag.errors import RagError

    texts = {}
    for c in answer.citations + answer.related:
        if c.article not in texts:
            with contextlib.suppress(RagError):  # gone since: the card shows the quote alone
                texts[c.article] = article_text(c.article, settings=settings)
    return texts


def _catalog(settings):
    from rag.ask import open_store
    from rag.errors import RagError

    try:
        return open_store(settings.store, settings.chroma_url).list_articles()
    except RagError:
        return []


def library_rows(settings) -> list[list]:
    """One row per stored article: title, outlet, date, sentences, id."""
    return [[a.title or a.id, a.outlet, a.date, len(a.sentences), a.id] for a in _catalog(settings)]


def build(settings=None, library: str | Path | None = None):
    """The chat app over `ask()`, answering from the store settings name (default: from env);
    with a library folder, articles uploaded in the Library tab are saved there and ingested."""
    import gradio as gr

    from rag import ask
    from rag.errors import RagError
    from rag.settings import Settings

    settings = settings or Settings.from_env()
    catalog = _catalog(settings)
    outlet_choices = sorted({a.outlet for a in catalog if a.outlet})
    article_choices = [(f"{a.title or a.id} ({a.id})", a.id) for a in catalog]

    def respond(message, history, outlets, date_from, date_to, articles, top_k):
        """Answer the message; yields (chat, sources, copy text, textbox) as the answer grows."""
        message = (message or "").strip()
        history = list(history or [])
        earlier = questions(history)
        history.append({"role": "user", "content": message})
        yield history + [{"role": "assistant", "content": "…"}], gr.skip(), "", ""
        try:
            answer = ask(
                message,
                history=earlier,
                settings=dataclasses.replace(settings, top_k=int(top_k or settings.top_k)),
                outlets=outlets or None,
                date_from=(date_from or "").strip() or None,
                date_to=(date_to or "").strip() or None,
                articles=articles or None,
            )
        except RagError as error:
            reply = {"role": "assistant", "content": f"**Error:** {safe(str(error))}"}
            yield history + [reply], EMPTY, "", ""
            return
        texts = _texts(answer, settings)
        shown = ""
        for piece in pieces(answer.text) or [""]:
            shown += piece
            reply = {"role": "assistant", "content": chat_markdown(answer, shown)}
            yield history + [reply], sources_html(answer, texts, cited_in(shown)), "", ""
            time.sleep(STREAM_DELAY)
        reply = {"role": "assistant", "content": chat_markdown(answer)}
        yield history + [reply], sources_html(answer, texts), plain_text(answer), ""

    def retry(history, outlets, date_from, date_to, articles, top_k):
        history = list(history or [])
        last = max((i for i, m in enumerate(history) if m.get("role") == "user"), default=None)
        if last is None:
            yield history, EMPTY, "", ""
            return
        yield from respond(
            message_text(history[last]),
            history[:last],
            outlets,
            date_from,
            date_to,
            articles,
            top_k,
        )

    def undo(history):
        history = list(history or [])
        last = max((i for i, m in enumerate(history) if m.get("role") == "user"), default=None)
        if last is None:
            return history, EMPTY, "", ""
        return history[:last], EMPTY, "", message_text(history[last])

    def answer_api(question: str, history: list[str] | None = None) -> dict:
        """The Answer to a question as a dict: text, citations (with offsets), related."""
        return ask(question, history=history or None, settings=settings).to_dict()

    with gr.Blocks(title="News articles Q&A", analytics_enabled=False) as demo:
        gr.Markdown(
            "## News articles Q&A\n"
            "Answers come only from the ingested articles; each sentence cites its source."
        )
        with gr.Tabs():
            with gr.Tab("Ask"), gr.Row(equal_height=False):
                with gr.Column(scale=3, min_width=320):
                    chat = gr.Chatbot(
                        label="Chat",
                        elem_id="chat",
                        height=460,
                        buttons=["copy", "copy_all"],
                        feedback_options=None,
                        latex_delimiters=[],
                        placeholder="Ask a question about the articles.",
                    )
                    question = gr.Textbox(
                        show_label=False,
                        elem_id="question",
                        placeholder="Ask about the articles…",
                        submit_btn="Ask",
                        max_lines=4,
                    )
                    gr.Examples(EXAMPLES, inputs=question, label="Examples")
                    with gr.Accordion("Settings and filters", open=False):
                        outlets = gr.Dropdown(outlet_choices, multiselect=True, label="Outlets")
                        with gr.Row():
                            date_from = gr.Textbox(label="Published from", placeholder="YYYY-MM-DD")
                            date_to = gr.Textbox(label="Published to", placeholder="YYYY-MM-DD")
                        articles = gr.Dropdown(
                            article_choices, multiselect=True, label="Only these articles"
                        )
                        top_k = gr.Slider(
                            1, 50, value=settings.top_k, step=1, label="Passages retrieved"
                        )
                    with gr.Accordion("Copy the answer with its sources", open=False):
                        copy_text = gr.Textbox(
                            label="Answer and sources",
                            elem_id="copy-text",
                            lines=6,
                            interactive=False,
                            buttons=["copy"],
                        )
                with gr.Column(scale=2, min_width=300):
                    sources = gr.HTML(
                        EMPTY, elem_id="sources", css_template=CSS, js_on_load=SCROLL_JS
                    )
            with gr.Tab("Library"):
                _library_tab(gr, settings, library)

        filters = [outlets, date_from, date_to, articles, top_k]
        outputs = [chat, sources, copy_text, question]
        question.submit(respond, [question, chat, *filters], outputs, api_name="ask")
        chat.retry(retry, [chat, *filters], outputs, api_visibility="private")
        chat.undo(undo, [chat], outputs, api_visibility="private")
        chat.clear(lambda: (EMPTY, ""), None, [sources, copy_text], api_visibility="private")
        gr.api(answer_api, api_name="answer")
    return demo


def _library_tab(gr, settings, library) -> None:
    from ui.library import add_files

    heading = "The ingested articles."
    if library:
        heading += f" Upload .txt, .md or .html files to add them to `{safe(str(library))}`."
    gr.Markdown(heading)
    table = gr.Dataframe(
        library_rows(settings),
        headers=["Title", "Outlet", "Date", "Sentences", "Id"],
        interactive=False,
        wrap=True,
    )
    if not library:
        return
    files = gr.File(file_count="multiple", file_types=[".txt", ".md", ".html"], label="Articles")
    add = gr.Button("Add to the library", variant="primary")
    status = gr.Markdown()

    def upload(paths, progress=gr.Progress(track_tqdm=True)):  # noqa: B008  (Gradio injects progress)
        report = add_files(paths or [], library, settings, progress)
        return library_rows(settings), report, None

    add.click(upload, [files], [table, status, files], api_visibility="private")


def serve(
    settings=None,
    host: str = "127.0.0.1",
    port: int = 7860,
    auth: str | None = None,
    library: str | Path | None = None,
) -> None:
    """Serve the chat on host:port (loopback by default); auth "user:password" asks for a login."""
    from rag.ask import open_store
    from rag.errors import SettingsError
    from rag.settings import Settings

    settings = settings or Settings.from_env()
    credentials = None
    if auth:
        user, _, password = auth.partition(":")
        if not user or not password:
            raise SettingsError(
                f"auth {user!r}:... is not USER:PASSWORD; give both, e.g. --auth ann:s3cret"
            )
        credentials = (user, password)
    open_store(settings.store, settings.chroma_url)  # a missing store fails before serving
    build(settings, library=library).queue(default_concurrency_limit=4).launch(
        server_name=host,
        server_port=port,
        share=False,
        auth=credentials,
        footer_links=["api"],
        run_history=False,
    )
