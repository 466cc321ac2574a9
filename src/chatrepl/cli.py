"""The command line: arguments, wiring, and the one boundary from errors to exit codes.

Only the standard library is imported at the top, so `--help` and `--version` answer
without loading rich, requests or prompt_toolkit. Everything else is imported once the
arguments say what to do.
"""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from chatrepl import __version__, heap
from chatrepl.errors import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    ChatreplError,
    StoreError,
    Terminated,
    UsageError,
)

if TYPE_CHECKING:
    from chatrepl.attach import Attachment
    from chatrepl.chat import Chat
    from chatrepl.config import Endpoint, Settings
    from chatrepl.render import Renderer
    from chatrepl.store import Store

DESCRIPTION = """\
Chat with a language model in the terminal. With no question and a terminal on stdin,
chatrepl starts an interactive session; with a question (as arguments or on stdin) it
streams one answer to stdout and exits. Conversations are saved and can be resumed."""

EPILOG = """\
environment:
  CHATREPL_URL      endpoint URL (default https://ai.callaback.workers.dev/api/chat)
  CHATREPL_API      auto, workers, openai or ollama
  CHATREPL_MODEL    model name (openai and ollama APIs)
  CHATREPL_TOKEN    bearer token, sent as Authorization: Bearer; never saved
  CHATREPL_HOME     one folder for config, conversations, input history and cache
  CHATREPL_CONTEXT  the model's context window in tokens (as --context)
  CHATREPL_OSC52    1: /copy through the terminal (OSC 52) whatever the terminal
  NO_COLOR          plain output, no colours

exit status: 0 success, 1 the request or answer failed, 2 usage,
78 bad configuration, 130 interrupted (Ctrl-C), 129 or 143 hung up or terminated.
Type /help inside the REPL for the slash commands."""


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="chatrepl",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("question", nargs="*", help="ask this once and print the answer")
    p.add_argument(
        "-c",
        "--continue",
        dest="cont",
        action="store_true",
        help="continue the most recent conversation",
    )
    p.add_argument(
        "-r", "--resume", metavar="ID", help="continue conversation ID (a unique prefix is enough)"
    )
    manage = p.add_argument_group("saved conversations")
    manage.add_argument("--list", action="store_true", help="list saved conversations")
    manage.add_argument("--all", action="store_true", help="with --list: list every one")
    manage.add_argument(
        "--limit",
        metavar="N",
        type=int,
        default=50,
        help="with --list: how many, newest first (default 50)",
    )
    manage.add_argument("--show", metavar="ID", help="print a conversation")
    manage.add_argument(
        "--code",
        metavar="N",
        nargs="?",
        const=0,
        type=_positive,
        help="with --show: print only the code blocks of the last answer (the N-th alone)",
    )
    manage.add_argument("--export", metavar="ID", help="export a conversation to stdout")
    manage.add_argument(
        "--format", choices=("md", "json"), default="md", help="with --export: md (default) or json"
    )
    manage.add_argument("-o", "--output", metavar="FILE", help="with --export: write to FILE")
    manage.add_argument(
        "--rename", nargs=2, metavar=("ID", "TITLE"), help="give a conversation a new title"
    )
    manage.add_argument("--delete", metavar="ID", help="delete a conversation (asks first)")
    manage.add_argument("--yes", action="store_true", help="with --delete: do not ask")
    manage.add_argument(
        "--search",
        metavar="TEXT",
        help="full-text search of every message, by word (word* for a prefix)",
    )
    conn = p.add_argument_group("endpoint and behaviour")
    conn.add_argument("--url", help="endpoint URL")
    conn.add_argument(
        "--api",
        choices=("auto", "workers", "openai", "ollama"),
        help="request format (default auto: from the URL)",
    )
    conn.add_argument("--model", help="model name, for the openai and ollama APIs")
    conn.add_argument("--endpoint", metavar="NAME", help="a named endpoint from config.toml")
    conn.add_argument(
        "--system", metavar="TEXT", help="system prompt (for a new or a continued conversation)"
    )
    conn.add_argument(
        "--context",
        metavar="N",
        type=_positive,
        help="the model's context window in tokens (default 8192): longer "
        "conversations are trimmed to fit",
    )
    conn.add_argument(
        "-f",
        "--file",
        metavar="PATH",
        action="append",
        default=[],
        dest="files",
        help="attach a text file to the question (repeatable; in the REPL: the first one)",
    )
    conn.add_argument("--no-save", action="store_true", help="do not save this conversation")
    conn.add_argument("--plain", action="store_true", help="plain text, no Markdown or colour")
    conn.add_argument(
        "--show-reasoning",
        action="store_true",
        help="show a model's reasoning in full (one-shot: on stderr, never stdout)",
    )
    conn.add_argument("--config", metavar="FILE", type=Path, help="read this config file")
    conn.add_argument("--debug", action="store_true", help="show tracebacks")
    conn.add_argument(
        "--print-config", action="store_true", help="show the effective settings (secrets masked)"
    )
    p.add_argument("--version", action="version", version=f"chatrepl {__version__}")
    return p


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, not {text!r}")
    return int(text)


def _terminate(signum: int, frame: object) -> None:
    raise Terminated(signum)


def main(argv: Sequence[str] | None = None) -> int:
    heap.freeze_at_exit()
    args = parser().parse_args(argv)
    for name in ("SIGTERM", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), _terminate)
    try:
        return run(args)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except Terminated as exc:
        return exc.exit_code
    except ChatreplError as exc:
        if args.debug:
            import traceback

            traceback.print_exc()
        print(f"chatrepl: {exc}", file=sys.stderr)
        return exc.exit_code
    finally:
        _close_stores()


def _settings(args: argparse.Namespace) -> Settings:
    from chatrepl.config import Overrides, load

    return load(
        Overrides(
            url=args.url,
            api=args.api,
            model=args.model,
            endpoint=args.endpoint,
            system=args.system,
            save=False if args.no_save else None,
            plain=True if args.plain else None,
            debug=args.debug,
            config_file=args.config,
            show_reasoning=True if args.show_reasoning else None,
            context=args.context,
        )
    )


_opened: list[Store] = []  # closed when main returns (see _close_stores)


def _open_store(renderer: Renderer) -> Store:
    from chatrepl.config import find_paths
    from chatrepl.store import Store

    store = Store(find_paths().database)
    _opened.append(store)
    if store.notice:
        renderer.warn(store.notice)
    return store


def _close_stores() -> None:
    """Close the database as the run ends, not whenever its objects are freed: nothing
    is collected at exit (see heap), and SQLite tidies its journal on close."""
    while _opened:
        _opened.pop().close()


def _read_stdin(stream: TextIO) -> str:
    data = stream.buffer.read() if hasattr(stream, "buffer") else stream.read().encode()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = "\0"
    if "\0" in text:
        raise UsageError(
            "The input on stdin is binary data, not UTF-8 text.", "Pipe text, not binary data."
        )
    return text


def run(args: argparse.Namespace) -> int:
    from chatrepl.config import find_paths

    settings = _settings(args)
    paths = find_paths()
    if args.print_config:
        from chatrepl.printconfig import describe

        print(describe(settings, paths, args.config or paths.config_file))
        return EXIT_OK
    from chatrepl.render import Renderer

    out_tty = sys.stdout.isatty()
    plain = settings.plain or not out_tty
    renderer = Renderer(
        out=sys.stdout,
        err=sys.stderr,
        markdown=settings.markdown,
        plain=plain,
        code_theme=settings.code_theme,
        show_reasoning=settings.show_reasoning,
        reasoning_file=sys.stderr if args.show_reasoning else None,
        regex_cache=paths.regex_cache,
    )
    for warning in settings.warnings:
        renderer.warn(warning)

    if args.code is not None and args.show is None:
        raise UsageError("--code goes with --show ID.", "Try: chatrepl --show ID --code.")
    managing = (args.show, args.export, args.delete, args.search, args.rename)
    if args.list or any(value is not None for value in managing):
        from chatrepl import manage

        return manage.run(args, _open_store(renderer), renderer)

    question = " ".join(args.question).strip()
    if not sys.stdin.isatty():
        piped = _read_stdin(sys.stdin).strip()
        if piped:
            question = f"{question}\n\n{piped}" if question else piped
        if not question:
            raise UsageError(
                "No question was given on stdin or as arguments.", 'Try: chatrepl "your question".'
            )

    attached = _attachments(args.files, settings.max_file_kb * 1024, question)
    chat = _chat(settings, renderer, args)
    if question:
        renderer.console_reasoning = False
        return _one_shot(chat, question, attached)
    from chatrepl.repl import Repl

    repl = Repl(chat, attached=attached)
    if args.cont or args.resume:
        repl.show_resumed()
    return repl.run()


def _attachments(files: list[str], max_bytes: int, question: str) -> list[Attachment]:
    """The files of -f and of `@path` in the question; one line for the first that fails."""
    from chatrepl import attach

    return attach.gather([*files, *attach.mentions(question)], max_bytes, "Nothing was sent.")


def _chat(settings: Settings, renderer: Renderer, args: argparse.Namespace) -> Chat:
    from chatrepl.chat import Chat

    resuming = bool(args.cont or args.resume)
    store = None
    if settings.save or resuming:
        try:
            store = _open_store(renderer)
        except StoreError as exc:
            if resuming:
                raise
            renderer.warn(f"chatrepl: {exc} This session is not saved for now.")
    transport = LazyTransport(
        connect_timeout=settings.connect_timeout,
        idle_timeout=settings.idle_timeout,
        on_retry=renderer.aside,
    )
    chat = Chat(
        settings, transport, renderer, store if settings.save else None, token=settings.token()
    )
    if settings.save and store is None:
        chat.open_store = lambda: _open_store(renderer)
    if resuming:
        assert store is not None
        ref = args.resume or store.latest()
        if ref is None:
            raise UsageError(
                "There is no saved conversation to continue yet.", "Start one with chatrepl."
            )
        if settings.save:
            chat.load(ref)
        else:  # --no-save: continue in memory, claim nothing
            chat.conversation = store.load(store.resolve(ref))
        if settings.system:
            chat.conversation.system = settings.system
    return chat


class LazyTransport:
    """The transport, imported when the first question is sent, not before the prompt.

    requests and urllib3 are most of what a fresh start would import; the prompt does
    not need them.
    """

    def __init__(self, **options: Any) -> None:
        self.options = options
        self._transport: Any = None

    def stream(self, endpoint: Endpoint, messages: list[dict[str, str]], token: str = "") -> Any:
        if self._transport is None:
            with heap.loading():  # requests and urllib3: most of a run's objects
                from chatrepl.transport import Transport

            self._transport = Transport(**self.options)
        return self._transport.stream(endpoint, messages, token)


def _one_shot(chat: Chat, question: str, attached: list[Attachment]) -> int:
    renderer = chat.renderer
    if chat.copied_from:
        renderer.warn(f"chatrepl: {chat.copy_notice()}")
    try:
        outcome = chat.ask(question, attached)
    finally:
        chat.release()
    if outcome.error is not None:
        renderer.error(f"chatrepl: {outcome.error}")
    elif outcome.status == "failed":
        renderer.error(f"chatrepl: The server reported an error: {outcome.reply.error}")
    elif outcome.status == "truncated":
        renderer.error("chatrepl: The answer ended early: the stream closed before its end.")
    elif outcome.reply.finish_reason == "length":
        renderer.warn("chatrepl: The answer was cut at the length limit.")
    if outcome.status == "interrupted":
        return EXIT_INTERRUPTED
    return EXIT_OK if outcome.status == "complete" else EXIT_FAILED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
