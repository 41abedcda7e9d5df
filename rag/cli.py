"""The `rag` command: ingest a folder, ask a question, serve the web chat."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys

from core.errors import RagError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rag", description="Ask questions of news articles; answers cite their sentences."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    store_help = "store folder (default: $RAG_STORE, else ~/.local/share/news-rag/store)"
    url_help = "a Chroma server, http://HOST:PORT, to hold the store (default: $RAG_CHROMA_URL)"

    ingest = commands.add_parser(
        "ingest", help="add a folder of .txt/.md/.html articles to the store"
    )
    ingest.add_argument("path", help="folder of articles, searched recursively")
    ingest.add_argument("--store", help=store_help)
    ingest.add_argument("--chroma-url", help=url_help)
    ingest.add_argument("--quiet", action="store_true", help="no progress bar")
    ingest.add_argument(
        "--replace",
        action="store_true",
        help="let a folder that shares no article with the store replace its contents",
    )
    ingest.add_argument(
        "--no-wait",
        action="store_true",
        help="when another ingest is writing to the store, stop (exit code 2) instead of "
        "waiting for it to finish",
    )

    ask = commands.add_parser("ask", help="answer a question from the store, with citations")
    ask.add_argument("question")
    ask.add_argument("--store", help=store_help)
    ask.add_argument("--chroma-url", help=url_help)
    ask.add_argument("--json", action="store_true", help="print the Answer as JSON")
    ask.add_argument(
        "--history", action="append", metavar="QUESTION", help="an earlier question (repeatable)"
    )
    ask.add_argument(
        "--llm",
        metavar="MODE",
        help="who writes the answer: none (the sentences themselves), local (the packaged "
        "model) or an OpenAI-compatible server's URL (default: $RAG_LLM, else none)",
    )

    commands.add_parser(
        "eval", help="score answers on a question set against gold evidence (rag eval --help)"
    )
    llm = commands.add_parser("llm", help="the local LLM's file (rag llm path)")
    llm_commands = llm.add_subparsers(dest="llm_command", required=True)
    path = llm_commands.add_parser(
        "path",
        help="print the path of the local model's GGUF file, assembling and checking it first "
        "if needed ($RAG_LLM_MODEL_PATH when set)",
    )
    path.add_argument(
        "--model",
        default=os.environ.get("RAG_LLM_LOCAL") or None,
        help="which packaged model (default: $RAG_LLM_LOCAL, else qwen2.5-coder-0.5b)",
    )
    serve = commands.add_parser("serve", help="start the web chat")
    serve.add_argument("--store", help=store_help)
    serve.add_argument("--chroma-url", help=url_help)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=7860)
    serve.add_argument(
        "--auth",
        default=os.environ.get("RAG_AUTH") or None,
        metavar="USER:PASSWORD",
        help="ask for this login before the chat (default: $RAG_AUTH; none when unset)",
    )
    serve.add_argument(
        "--library",
        metavar="DIR",
        help="folder the store was ingested from: the Library tab saves uploads there and "
        "ingests it",
    )
    return parser


def _print(text: str = "", file=None) -> None:
    """Print text from articles or file names as text: no escape sequence in it reaches the
    terminal (an article could recolour it, move the cursor or retitle the window)."""
    from core.text import printable

    print(printable(text), file=file)


def _print_answer(answer) -> None:
    if answer.query != answer.question:
        _print(f"(searched for: {answer.query})")
    _print(answer.text)
    if answer.note:
        _print(f"({answer.note})")
    if answer.mode == "llm":
        _print(f"\nWritten by {answer.model}; each sentence checked against what it cites:")
        for s in answer.sentences:
            mark = "supported" if s.supported else "NOT SUPPORTED"
            cites = "".join(f"[{n}]" for n in s.citations) or "no source"
            _print(f"  {mark} ({s.support:.2f}) {cites} {s.text}")
    sources = answer.citations or answer.related
    if sources:
        _print("\nSources:" if answer.citations else "\nRelated, not an answer:")
    for c in sources:
        details = ", ".join(part for part in (c.outlet, c.date) if part)
        _print(f"[{c.n}] {c.title or c.article}" + (f" ({details})" if details else ""))
        _print(f"    {c.article}, characters {c.start}-{c.end}")
        _print(f'    "{c.quote}"')
        if c.speaker:
            _print(f"    said by {c.speaker}")
        if c.also:
            _print(f"    also reported in: {', '.join(c.also)}")


class _Printable(logging.Formatter):
    """Warnings name files: printed as text, like answers."""

    def format(self, record: logging.LogRecord) -> str:
        from core.text import printable

        return printable(super().format(record))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["eval"]:  # the eval suite has its own options (`rag eval --help`)
        from evals.runner import main as run_eval

        return run_eval(argv[1:])
    args = _parser().parse_args(argv)
    handler = logging.StreamHandler()
    handler.setFormatter(_Printable("warning: %(message)s"))
    logging.basicConfig(level=logging.ERROR, handlers=[handler])
    # skipped files, a wait for another ingest; libraries stay quiet
    logging.getLogger("index").setLevel(logging.WARNING)
    try:
        from core.settings import Settings

        settings = Settings.from_env(
            store=getattr(args, "store", None), chroma_url=getattr(args, "chroma_url", None)
        )
        if args.command == "ingest":
            from index import ingest

            progress = not args.quiet and sys.stderr.isatty()
            report = ingest(
                args.path,
                settings=settings,
                progress=progress,
                replace=args.replace,
                wait=not args.no_wait,
            )
            _print(report.summary())
        elif args.command == "ask":
            from rag import ask

            answer = ask(args.question, history=args.history, settings=settings, llm=args.llm)
            if args.json:
                print(json.dumps(answer.to_dict(), ensure_ascii=False, indent=2))
            else:
                _print_answer(answer)
        elif args.command == "llm":
            from rag.local_model import DEFAULT, model_path

            print(model_path(args.model or DEFAULT, settings.cache))
        elif args.command == "serve":
            from ui.app import serve

            serve(
                settings=settings,
                host=args.host,
                port=args.port,
                auth=args.auth,
                library=args.library,
            )
    except RagError as error:
        _print(f"rag {args.command}: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
