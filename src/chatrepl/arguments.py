"""The command line's words: the parser (help, usage and errors written to the run's own
streams), and the flags that contradict each other or go with another one.

Only the standard library is imported, so `--help` and `--version` answer at once.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TextIO

from chatrepl import __version__
from chatrepl.environment import Environment
from chatrepl.errors import EXIT_USAGE, UsageError

if TYPE_CHECKING:
    from _typeshed import SupportsWrite

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
  CHATREPL_REFLOW   1: the terminal rewraps as it narrows (known only under tmux)
  NO_COLOR          plain output, no colours

exit status: 0 success, 1 the request or answer failed, 2 usage,
78 bad configuration, 130 interrupted (Ctrl-C), 129 or 143 hung up or terminated.
Type /help inside the REPL for the slash commands."""


class Parser(argparse.ArgumentParser):
    """argparse, writing help, usage and errors to the run's own streams."""

    def __init__(self, out: TextIO, err: TextIO, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.out, self.err = out, err

    def print_help(self, file: SupportsWrite[str] | None = None) -> None:
        super().print_help(file or self.out)

    def print_usage(self, file: SupportsWrite[str] | None = None) -> None:
        super().print_usage(file or self.err)

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        if message:
            self.err.write(message)
        raise SystemExit(status)

    def error(self, message: str) -> NoReturn:
        """One line, as every other usage error is (the usage is `--help`'s)."""
        said = message[:1].upper() + message[1:]
        self.exit(EXIT_USAGE, f"{self.prog}: {said}. Run chatrepl --help for the usage.\n")


class _Version(argparse.Action):
    def __init__(self, option_strings: list[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, help="show the version and exit")

    def __call__(self, parser: argparse.ArgumentParser, *args: Any) -> None:
        assert isinstance(parser, Parser)
        parser.out.write(f"chatrepl {__version__}\n")
        parser.exit()


def parser(env: Environment | None = None) -> Parser:
    env = env or Environment()
    p = Parser(
        env.stdout,
        env.stderr,
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
        type=positive,
        help="with --list: how many, newest first (default 50)",
    )
    manage.add_argument(
        "--cost", action="store_true", help="with --list: a column of what each one cost"
    )
    manage.add_argument("--show", metavar="ID", help="print a conversation")
    manage.add_argument(
        "--code",
        metavar="N",
        nargs="?",
        const=0,
        type=positive,
        help="with --show: print only the code blocks of the last answer (the N-th alone)",
    )
    manage.add_argument("--export", metavar="ID", help="export a conversation to stdout")
    manage.add_argument(
        "--format",
        choices=("md", "json"),
        help="with --export: md or json (default: from -o's extension, .json is JSON; else md)",
    )
    manage.add_argument("-o", "--output", metavar="FILE", help="with --export: write to FILE")
    manage.add_argument(
        "--rename", nargs=2, metavar=("ID", "TITLE"), help="give a conversation a new title"
    )
    manage.add_argument("--delete", metavar="ID", help="delete a conversation (asks first)")
    manage.add_argument(
        "--yes", action="store_true", help="with --delete, or --export -o FILE: do not ask"
    )
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
        "--models", action="store_true", help="list the endpoint's models, one a line"
    )
    conn.add_argument(
        "-R", "--role", metavar="NAME", help="apply a role from config.toml ([roles.NAME])"
    )
    conn.add_argument(
        "--compare",
        metavar="A,B",
        help="ask the question of several endpoints at once (NAME or NAME:MODEL, "
        "comma-separated) and print each answer under a header",
    )
    conn.add_argument(
        "--system", metavar="TEXT", help="system prompt (for a new or a continued conversation)"
    )
    conn.add_argument(
        "--context",
        metavar="N",
        type=positive,
        help="the model's context window in tokens (default 8192): longer "
        "conversations are trimmed to fit",
    )
    conn.add_argument(
        "--context-reset",
        action="store_true",
        help="forget the window learnt from the endpoint's refusals (as /context reset)",
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
        "--raw",
        action="store_true",
        help="with a question: write the answer exactly as the server sent it, control "
        "characters and all (plain text; by default they are removed)",
    )
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
    p.add_argument("--version", action=_Version)
    return p


def positive(text: str) -> int:
    if not text.isdigit() or int(text) <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, not {text!r}")
    return int(text)


#: The management flags, each a method of `manage.Manage` (at most one a run).
MANAGING = ("list", "show", "export", "rename", "delete", "search")


def managing(args: argparse.Namespace) -> list[str]:
    """The management flags given: `--list` is a switch, the others take a value."""
    return [a for a in MANAGING if (args.list if a == "list" else getattr(args, a) is not None)]


def check(args: argparse.Namespace) -> None:
    """Flags that contradict each other, or that go with one that is missing."""
    chosen = [f"--{action}" for action in managing(args)]
    if len(chosen) > 1:
        raise UsageError(f"{chosen[0]} and {chosen[1]} cannot go together.", "Give one of them.")
    if chosen and (args.question or args.cont or args.resume is not None or args.files):
        what = "question" if args.question else "-c, -r or -f"
        raise UsageError(f"{chosen[0]} takes no {what}.", f"Run {chosen[0]} on its own.")
    _check_pairs(args)


def _check_pairs(args: argparse.Namespace) -> None:
    """Flags that go with another one."""
    if not args.list and (args.all or args.limit is not None or args.cost):
        raise UsageError("--all, --limit and --cost go with --list.", "Try: chatrepl --list --all.")
    if args.compare is not None and args.files:
        raise UsageError("--compare takes no -f.", "Attach files in the REPL, then /compare.")
    if args.compare is not None and (args.cont or args.resume is not None):
        raise UsageError(
            "--compare asks a new question in a new conversation: -c and -r do not go with it.",
            'Try: chatrepl --compare a,b "question".',
        )
    if args.all and args.limit is not None:
        raise UsageError("--all and --limit cannot go together.", "Give one of them.")
    if args.search is not None and not args.search.strip():
        raise UsageError("--search needs words to look for.", "Try: chatrepl --search penguin.")
    if args.code is not None and args.show is None:
        raise UsageError("--code goes with --show ID.", "Try: chatrepl --show ID --code.")
    if args.export is None and (args.format is not None or args.output is not None):
        raise UsageError("--format and -o go with --export ID.", "Try: chatrepl --export ID.")
    if args.resume is not None and not args.resume.strip():
        raise UsageError("-r needs a conversation id.", "chatrepl --list shows them.")
    if args.context_reset and args.no_save:
        raise UsageError(
            "--context-reset forgets what the store keeps: it cannot go with --no-save.",
            "Run chatrepl --context-reset on its own, or with a question.",
        )
    if args.cont and args.resume is not None:
        raise UsageError("-c and -r cannot go together.", "-c continues the newest; -r ID another.")
