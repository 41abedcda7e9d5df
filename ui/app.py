"""The Gradio web chat over `ask()`: a streamed, cited answer beside its source cards."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import logging
import os
import queue
import threading
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

__all__ = ["EXAMPLES", "build", "serve", "safe", "questions"]

EXAMPLES = [
    "What did Hussein say about mediation?",
    "What will Iraq supply to Syria?",
    "Who is Jonathan Schanzer?",
]
STREAM_DELAY = 0.04  # seconds between cited spans as the answer streams in
# Chats run at once: the encoder and store are shared, and a chat mostly waits on numpy/torch,
# which release the GIL; more waiting chats queue (20 at once must be held, see tests/ui).
CONCURRENCY = 8
QUEUE_SIZE = 64
log = logging.getLogger("ui")


def message_text(message: dict) -> str:
    """A chat message's text: Gradio gives content as a string or as a list of typed parts."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return ""


def last_question(history: list[dict]) -> int | None:
    """Index of the last user message in a messages-format chat, or None."""
    return max((i for i, m in enumerate(history) if m.get("role") == "user"), default=None)


def questions(history: list[dict]) -> list[str]:
    """The user's earlier questions in a messages-format chat, oldest first."""
    return [message_text(m) for m in history if m.get("role") == "user" and message_text(m)]


def _texts(answer, settings) -> dict[str, str]:
    from core.errors import RagError
    from rag import article_text

    texts = {}
    for c in answer.citations + answer.related:
        if c.article not in texts:
            with contextlib.suppress(RagError):  # gone since: the card shows the quote alone
                texts[c.article] = article_text(c.article, settings=settings)
    return texts


def _catalog(settings):
    from core.errors import RagError
    from rag.ask import open_store

    try:
        return open_store(settings.store, settings.chroma_url).list_articles()
    except RagError:
        return []


def library_rows(settings) -> list[list]:
    """One row per stored article: title, outlet, date, passages, id."""
    return [[a.title or a.id, a.outlet, a.date, a.passages, a.id] for a in _catalog(settings)]


def build(settings=None, library: str | Path | None = None):
    """The chat app over `ask()`, answering from the store settings name (default: from env);
    with a library folder, articles uploaded in the Library tab are saved there and ingested."""
    import gradio as gr

    from core.errors import RagError
    from core.settings import Settings
    from rag import ask

    settings = settings or Settings.from_env()

    def respond(message, history, outlets, date_from, date_to, articles, top_k, writer=None):
        """Answer the message; yields (chat, sources, copy text, textbox) as the answer grows:
        an LLM's reply token by token, then checked; an extractive answer span by span."""
        message = (message or "").strip()
        history = list(history or [])
        earlier = questions(history)
        history.append({"role": "user", "content": message})
        yield history + [{"role": "assistant", "content": "…"}], gr.skip(), "", ""
        asked = functools.partial(
            ask,
            message,
            history=earlier,
            settings=dataclasses.replace(settings, top_k=int(top_k or settings.top_k)),
            outlets=outlets or None,
            date_from=(date_from or "").strip() or None,
            date_to=(date_to or "").strip() or None,
            articles=articles or None,
            llm=writer or settings.llm,
        )
        try:
            if (writer or settings.llm) == "none":
                answer = asked()
            else:
                for written in _streamed(asked):
                    if isinstance(written, str):
                        reply = {"role": "assistant", "content": f"{safe(written)} …"}
                        yield history + [reply], gr.skip(), "", ""
                    else:
                        answer = written
        except RagError as error:
            reply = {"role": "assistant", "content": f"**Error:** {safe(str(error))}"}
            yield history + [reply], EMPTY, "", ""
            return
        except Exception as error:  # said in the chat, not a blank "Error"
            log.exception("answering %r failed", message)
            reply = {"role": "assistant", "content": f"**Error:** {safe(_failure(error))}"}
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

    def retry(history, outlets, date_from, date_to, articles, top_k, writer=None):
        history = list(history or [])
        last = last_question(history)
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
            writer,
        )

    def undo(history):
        history = list(history or [])
        last = last_question(history)
        if last is None:
            return history, EMPTY, "", ""
        return history[:last], EMPTY, "", message_text(history[last])

    def answer_api(question: str, history: list[str] | None = None, llm: str | None = None) -> dict:
        """The Answer to a question as a dict: text, citations (with offsets), related; with
        llm ("local" or a server's URL), mode, model, note and each written sentence's check."""
        try:
            return ask(question, history=history or None, settings=settings, llm=llm).to_dict()
        except RagError as error:  # its message reaches the caller; other errors' do not
            raise gr.Error(str(error)) from None

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
                    writer = gr.Radio(
                        _writers(settings),
                        value=settings.llm,
                        label="Answer written by",
                        elem_id="writer",
                    )
                    gr.Examples(EXAMPLES, inputs=question, label="Examples")
                    with gr.Accordion("Settings and filters", open=False):
                        # Their choices come when the page loads (after a login, with --auth):
                        # built in, they were in the API description of the login page. An API
                        # caller's values are not held to the (then empty) choices.
                        outlets = gr.Dropdown(
                            [], multiselect=True, label="Outlets", allow_custom_value=True
                        )
                        with gr.Row():
                            date_from = gr.Textbox(label="Published from", placeholder="YYYY-MM-DD")
                            date_to = gr.Textbox(label="Published to", placeholder="YYYY-MM-DD")
                        articles = gr.Dropdown(
                            [],
                            multiselect=True,
                            label="Only these articles",
                            allow_custom_value=True,
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
                listed = _library_tab(gr, settings, library, outlets, articles)
            with gr.Tab("Eval"):
                _eval_tab(gr)

        filters = [outlets, date_from, date_to, articles, top_k]
        outputs = [chat, sources, copy_text, question]
        question.submit(respond, [question, chat, *filters, writer], outputs, api_name="ask")
        chat.retry(retry, [chat, *filters, writer], outputs, api_visibility="private")
        chat.undo(undo, [chat], outputs, api_visibility="private")
        chat.clear(lambda: (EMPTY, ""), None, [sources, copy_text], api_visibility="private")
        gr.api(answer_api, api_name="answer")
        demo.load(
            lambda: _listing(gr, settings, len(listed)),
            None,
            [outlets, articles, *listed],
            api_visibility="private",
            queue=False,
        )
    return demo


def _writers(settings) -> list[tuple[str, str]]:
    """Who may write answers: the sentences themselves, the packaged model, and the server
    RAG_LLM names, if it names one."""
    choices = [("The articles' sentences (no LLM)", "none"), ("Local model (in-process)", "local")]
    if settings.llm not in ("none", "local"):
        choices.append((f"Server at {settings.llm}", settings.llm))
    return choices


def _streamed(asked):
    """Runs asked (an `ask` awaiting on_token) in a thread; yields the reply so far after each
    token, then the Answer. An error in the thread is raised here."""
    tokens: queue.Queue = queue.Queue()
    done = object()
    result: dict = {}

    def run():
        try:
            result["answer"] = asked(on_token=tokens.put)
        except BaseException as error:  # re-raised in the chat's own thread below
            result["error"] = error
        finally:
            tokens.put(done)

    threading.Thread(target=run, daemon=True).start()
    text = ""
    while (token := tokens.get()) is not done:
        text += token
        yield text
    if "error" in result:
        raise result["error"]
    yield result["answer"]


def _failure(error: Exception) -> str:
    return (
        f"something failed while answering ({type(error).__name__}: {error}); the server's "
        "log has the details"
    )


def _choices(settings) -> tuple[list[str], list[tuple[str, str]]]:
    catalog = _catalog(settings)
    outlets = sorted({a.outlet for a in catalog if a.outlet})
    return outlets, [(f"{a.title or a.id} ({a.id})", a.id) for a in catalog]


def _listing(gr, settings, library_outputs: int) -> tuple:
    """As the page loads: the filters' choices, the Library's table and (when the library can
    be changed, library_outputs 2) its list of articles to delete."""
    outlets, articles = _choices(settings)
    filled = [gr.update(choices=outlets), gr.update(choices=articles), library_rows(settings)]
    if library_outputs > 1:
        filled.append(gr.update(choices=[a for _, a in articles]))
    return tuple(filled)


def _library_tab(gr, settings, library, outlet_filter, article_filter) -> list:
    """The Library tab; returns what the page fills as it loads (see `_listing`)."""
    from ui.library import add_files, delete_article, reindex

    heading = "The ingested articles."
    if library:
        heading += f" Upload .txt, .md or .html files to add them to {safe(str(library))}."
    else:
        heading += (
            " The library is read-only: the server was started without `--library FOLDER`, so "
            "articles cannot be added, deleted or re-indexed here; restart it with one to do so."
        )
    gr.Markdown(heading, elem_id="library-heading")
    table = gr.Dataframe(
        [],
        headers=["Title", "Outlet", "Date", "Passages", "Id"],
        interactive=False,
        wrap=True,
        elem_id="library-table",
    )
    if not library:
        return [table]
    with gr.Row(equal_height=False):
        files = gr.File(
            file_count="multiple",
            file_types=[".txt", ".md", ".html"],
            label="Articles to add",
            elem_id="library-files",
            height=150,
            scale=2,
        )
        with gr.Column(scale=1, min_width=240):
            add = gr.Button("Add to the library", variant="primary", elem_id="library-add")
            reindex_button = gr.Button("Re-index the folder", elem_id="library-reindex")
    with gr.Row(equal_height=False):
        doomed = gr.Dropdown(
            [],
            value=None,
            label="Article to delete (its file too)",
            elem_id="library-doomed",
            scale=2,
        )
        with gr.Column(scale=1, min_width=240):
            delete = gr.Button("Delete the article", variant="stop", elem_id="library-delete")
    status = gr.Markdown(elem_id="library-status")

    def refreshed(report):
        outlets, articles = _choices(settings)
        return (
            library_rows(settings),
            report,
            gr.update(choices=[a for _, a in articles], value=None),
            gr.update(choices=outlets),
            gr.update(choices=articles),
        )

    outputs = [table, status, doomed, outlet_filter, article_filter]

    def upload(paths, progress=gr.Progress()):  # noqa: B008  (Gradio injects progress)
        return (*refreshed(_said(add_files, paths or [], library, settings, progress)), None)

    def remove(article_id, progress=gr.Progress()):  # noqa: B008
        return refreshed(_said(delete_article, article_id, library, settings, progress))

    def again(progress=gr.Progress()):  # noqa: B008
        return refreshed(_said(reindex, library, settings, progress))

    add.click(upload, [files], [*outputs, files], api_visibility="private")
    delete.click(remove, [doomed], outputs, api_visibility="private")
    reindex_button.click(again, None, outputs, api_visibility="private")
    return [table, doomed]


def _said(action, *args) -> str:
    """A Library action's Markdown report, or what went wrong as one (not a blank "Error")."""
    from ui.render import safe

    try:
        return action(*args)
    except Exception as error:  # said in the page, not a blank "Error"
        log.exception("%s failed", action.__name__)
        return f"**Failed:** {safe(f'{type(error).__name__}: {error}')}"


def _eval_tab(gr) -> None:
    from ui.evaluation import ARTICLES, DATASET, run_sample_eval

    gr.Markdown(
        f"Score the answers on the sample question set (`{DATASET.name}`) over the sample "
        f"articles (`{ARTICLES.name}`), ingested into a temporary store. It takes about a minute."
    )
    run_button = gr.Button("Run the evaluation", variant="primary", elem_id="eval-run")
    status = gr.Markdown(elem_id="eval-status")
    with gr.Row(elem_id="eval-plots"):
        plots = [
            gr.Image(
                type="filepath",
                interactive=False,
                show_label=False,
                buttons=["download", "fullscreen"],  # no "share": nothing leaves this host
            )
            for _ in range(3)
        ]
    report = gr.Markdown(elem_id="eval-report")

    def evaluate(progress=gr.Progress(track_tqdm=True)):  # noqa: B008  (Gradio injects progress)
        yield "Running the evaluation: ingesting, then answering every question…", *[gr.skip()] * 4
        began = time.perf_counter()
        text, paths = run_sample_eval()
        shown = [str(p) for p in paths[:3]] + [None] * (3 - len(paths[:3]))
        yield f"Finished in {time.perf_counter() - began:.0f} s.", text, *shown

    run_button.click(evaluate, None, [status, report, *plots], api_visibility="private")


def serve(
    settings=None,
    host: str = "127.0.0.1",
    port: int = 7860,
    auth: str | None = None,
    library: str | Path | None = None,
) -> None:
    """Serve the chat on host:port (loopback by default); auth "user:password" asks for a login."""
    from core.errors import SettingsError
    from core.settings import Settings
    from rag.ask import open_store

    settings = settings or Settings.from_env()
    if library and Path(library).expanduser().exists() and not Path(library).expanduser().is_dir():
        raise SettingsError(f"--library {library} is a file; give the folder of the articles")
    credentials = None
    if auth:
        user, _, password = auth.partition(":")
        if not user or not password:
            raise SettingsError(
                f"auth {user!r}:... is not USER:PASSWORD; give both, e.g. --auth ann:s3cret"
            )
        credentials = (user, password)
    open_store(settings.store, settings.chroma_url)  # a missing store fails before serving
    # Load the model before the first chats arrive, so concurrent ones share one copy.
    settings.encoder().embed_query("warm up")
    demo = build(settings, library=library)
    from starlette.middleware import Middleware

    from ui.login import LoginThrottle

    demo.queue(default_concurrency_limit=CONCURRENCY, max_size=QUEUE_SIZE).launch(
        server_name=host,
        server_port=port,
        share=False,
        auth=credentials,
        footer_links=["api"],
        run_history=False,
        max_file_size=settings.max_article_bytes,  # an upload is an article: no larger
        app_kwargs={"middleware": [Middleware(LoginThrottle)]},
    )
