"""Slash commands: one registry that is the only source of truth.

Each command is registered once with its name, aliases, usage, one-line summary and the
kind of argument it takes. Dispatch, `/help`, tab completion and the README's table all
derive from `REGISTRY`. An unambiguous prefix of a name is accepted (`/he` is `/help`);
an ambiguous one says which commands it could be. Handlers act on the running REPL
through the `App` protocol, so this module imports nothing above it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

from chatrepl.attach import complete_path
from chatrepl.errors import UsageError


class App(Protocol):
    """What slash commands may do to the running REPL."""

    def show_help(self, rows: list[tuple[str, str]]) -> None: ...
    def new_conversation(self) -> None: ...
    def show_conversations(self) -> None: ...
    def resume(self, ref: str) -> None: ...
    def rename(self, title: str) -> None: ...
    def delete(self, ref: str) -> None: ...
    def export(self, path: str) -> None: ...
    def search(self, text: str) -> None: ...
    def retry(self) -> None: ...
    def undo(self) -> None: ...
    def edit(self, arg: str) -> None: ...
    def history(self) -> None: ...
    def step(self, delta: int) -> None: ...
    def branches(self) -> None: ...
    def branch(self, arg: str) -> None: ...
    def copy(self, arg: str) -> None: ...
    def attach(self, arg: str) -> None: ...
    def run_command(self, command: str) -> None: ...
    def save(self, arg: str) -> None: ...
    def system(self, text: str) -> None: ...
    def endpoint(self, name: str) -> None: ...
    def model(self, name: str) -> None: ...
    def markdown(self, setting: str) -> None: ...
    def think(self, setting: str) -> None: ...
    def compact(self, arg: str) -> None: ...
    def stats(self) -> None: ...
    def request_exit(self) -> None: ...


Handler = Callable[[App, str], None]


@dataclass(frozen=True)
class Command:
    name: str
    summary: str
    handler: Handler
    usage: str = ""
    aliases: tuple[str, ...] = ()
    #: What the argument completes to: "" (nothing), "command", or the name of a
    #: provider given to `complete` ("conversation", "endpoint", "model", "onoff", "think",
    #: "copy"); "path" and "paths" complete file names (the first word, or the last).
    argument: str = ""

    def signature(self) -> str:
        names = ", ".join("/" + n for n in (self.name, *self.aliases))
        return f"{names} {self.usage}".rstrip()


REGISTRY: dict[str, Command] = {}


def command(
    name: str, summary: str, usage: str = "", aliases: Iterable[str] = (), argument: str = ""
) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        cmd = Command(name, summary, handler, usage, tuple(aliases), argument)
        for key in (name, *cmd.aliases):
            if key in REGISTRY:
                raise ValueError(f"/{key} is registered twice")
            REGISTRY[key] = cmd
        return handler

    return register


def commands() -> list[Command]:
    """Each command once, in registration order."""
    seen: dict[str, Command] = {}
    for cmd in REGISTRY.values():
        seen.setdefault(cmd.name, cmd)
    return list(seen.values())


class CommandError(UsageError):
    """An unknown, ambiguous or misused slash command."""


def lookup(word: str) -> Command:
    """The command named `word` (without the slash), or its unique prefix."""
    if word in REGISTRY:
        return REGISTRY[word]
    matches = sorted({cmd.name for key, cmd in REGISTRY.items() if key.startswith(word)})
    if len(matches) == 1:
        return REGISTRY[matches[0]]
    if matches and word:
        names = ", ".join("/" + m for m in matches)
        raise CommandError(f"/{word} is ambiguous: {names}.", "Type more of the name.")
    raise CommandError(f"Unknown command /{word}.", "Type /help for the list.")


def is_command(line: str) -> bool:
    """A line is a command when it starts with one slash; `//text` sends `/text`."""
    return line.startswith("/") and not line.startswith("//")


def split(line: str) -> tuple[str, str]:
    word, _, arg = line[1:].strip().partition(" ")
    return word, arg.strip()


def dispatch(app: App, line: str) -> None:
    word, arg = split(line)
    lookup(word).handler(app, arg)


def help_rows(name: str = "") -> list[tuple[str, str]]:
    if name:
        cmd = lookup(name.lstrip("/"))
        return [(cmd.signature(), cmd.summary)]
    return [(cmd.signature(), cmd.summary) for cmd in commands()]


Provider = Callable[[], list[tuple[str, str]]]


def complete(line: str, providers: Mapping[str, Provider]) -> list[tuple[str, str, int]]:
    """Completions for the text before the cursor: (text, description, start offset).

    Command names come from the registry; an argument from the provider named by the
    command's `argument` (a list of (value, description)). The start offset is
    negative, counted from the cursor, as prompt_toolkit wants it.
    """
    if not is_command(line):
        return []
    word, sep, arg = line[1:].partition(" ")
    if not sep:
        return [
            ("/" + key, cmd.summary, -len(line))
            for key, cmd in REGISTRY.items()
            if key.startswith(word)
        ]
    try:
        cmd = lookup(word)
    except CommandError:
        return []
    arg = arg.lstrip()
    if cmd.argument in ("path", "paths"):
        if cmd.argument == "path" and " " in arg:
            return []
        word = arg.rsplit(" ", 1)[-1]
        return [(value, shown, -len(word)) for value, shown in complete_path(word)]
    if cmd.argument == "command":
        candidates = [(c.name, c.summary) for c in commands()]
    elif cmd.argument in providers:
        candidates = providers[cmd.argument]()
    else:
        return []
    return [(value, meta, -len(arg)) for value, meta in candidates if value.startswith(arg)]


ON_OFF = [("on", "Render answers as Markdown."), ("off", "Show answers as plain text.")]
COPY = [("code", "A code block of the last answer: the last one, or code N.")]
THINK_ON_OFF = [
    ("on", "Stream reasoning in full, kept on screen."),
    ("off", "Collapse reasoning to one line when the answer starts."),
]


# ---------------------------------------------------------------- the commands


@command("help", "Show the commands, or the usage of one.", "[COMMAND]", argument="command")
def _help(app: App, arg: str) -> None:
    app.show_help(help_rows(arg))


@command(
    "reset", "Start a new conversation; the current one stays saved.", aliases=("new", "clear")
)
def _reset(app: App, arg: str) -> None:
    app.new_conversation()


@command("list", "List saved conversations, newest first.")
def _list(app: App, arg: str) -> None:
    app.show_conversations()


@command(
    "resume",
    "Continue a saved conversation (a unique id prefix is enough).",
    "ID",
    argument="conversation",
)
def _resume(app: App, arg: str) -> None:
    if not arg:
        raise CommandError("/resume needs a conversation id.", "Type /list to see them.")
    app.resume(arg)


@command("rename", "Give the current conversation a new title.", "TITLE")
def _rename(app: App, arg: str) -> None:
    if not arg:
        raise CommandError("/rename needs a title.", "Type /rename followed by the new title.")
    app.rename(arg)


@command(
    "delete",
    "Delete the current conversation, or the one given (asks first).",
    "[ID]",
    argument="conversation",
)
def _delete(app: App, arg: str) -> None:
    app.delete(arg)


@command("export", "Save the conversation to a file (Markdown, or JSON for .json).", "[PATH]")
def _export(app: App, arg: str) -> None:
    app.export(arg)


@command("search", "Find saved conversations whose messages contain the words.", "TEXT")
def _search(app: App, arg: str) -> None:
    if not arg:
        raise CommandError("/search needs words to look for.", "Type /search followed by them.")
    app.search(arg)


@command("retry", "Ask the last question again; the earlier answer stays (/prev, /next).")
def _retry(app: App, arg: str) -> None:
    app.retry()


@command(
    "undo",
    "Take back the last question and answer (kept as a branch); the question returns to "
    "the prompt.",
)
def _undo(app: App, arg: str) -> None:
    app.undo()


@command(
    "edit",
    "Put question N (from /history; the last by default) back at the prompt; sending it "
    "starts a new branch.",
    "[N]",
)
def _edit(app: App, arg: str) -> None:
    if arg and not arg.isdigit():
        raise CommandError("/edit takes a question's number, as /history shows it.")
    app.edit(arg)


@command("history", "List the questions of the branch on screen, numbered for /edit.")
def _history(app: App, arg: str) -> None:
    app.history()


@command("prev", "Show the previous answer to the last question (Alt+Left).")
def _prev(app: App, arg: str) -> None:
    app.step(-1)


@command("next", "Show the next answer to the last question (Alt+Right).")
def _next(app: App, arg: str) -> None:
    app.step(1)


@command("branches", "Show where the conversation forked, each branch with its number.")
def _branches(app: App, arg: str) -> None:
    app.branches()


@command("branch", "Put branch K (from /branches) on screen.", "K")
def _branch(app: App, arg: str) -> None:
    if not arg.isdigit():
        raise CommandError("/branch takes a branch's number, as /branches shows it.")
    app.branch(arg)


@command(
    "copy",
    "Copy the last answer to the clipboard; code [N]: its N-th code block (the last).",
    "[code [N]]",
    argument="copy",
)
def _copy(app: App, arg: str) -> None:
    app.copy(arg)


@command(
    "save",
    "Write a code block of the last answer to a file (the last block).",
    "PATH [N]",
    argument="path",
)
def _save(app: App, arg: str) -> None:
    app.save(arg)


@command(
    "file",
    "Attach files (globs, ~) to the next question; alone: list them; clear: drop them.",
    "[PATH...|clear]",
    argument="paths",
)
def _file(app: App, arg: str) -> None:
    app.attach(arg)


@command(
    "run", "Run a shell command; its output goes with the next question (as !COMMAND).", "COMMAND"
)
def _run(app: App, arg: str) -> None:
    app.run_command(arg)


@command("system", "Show this conversation's system prompt, or set it.", "[TEXT]")
def _system(app: App, arg: str) -> None:
    app.system(arg)


@command(
    "endpoint",
    "Show the endpoint, or switch to one from the config file.",
    "[NAME]",
    argument="endpoint",
)
def _endpoint(app: App, arg: str) -> None:
    app.endpoint(arg)


@command(
    "model", "Show the model, or choose another for this endpoint.", "[NAME]", argument="model"
)
def _model(app: App, arg: str) -> None:
    app.model(arg)


@command("markdown", "Render answers as Markdown, or not.", "on|off", argument="onoff")
def _markdown(app: App, arg: str) -> None:
    app.markdown(arg)


@command(
    "think",
    "Show the last answer's reasoning in full; on or off: stream reasoning expanded.",
    "[on|off]",
    argument="think",
)
def _think(app: App, arg: str) -> None:
    app.think(arg)


@command(
    "compact",
    "Summarise all but the last N turns (default 2) and send the summary in their place; "
    "undo sends them again.",
    "[N|undo]",
)
def _compact(app: App, arg: str) -> None:
    app.compact(arg)


@command("stats", "Show tokens, time to first token and speed, of the last answer and all.")
def _stats(app: App, arg: str) -> None:
    app.stats()


@command("exit", "Leave chatrepl (Ctrl-D does the same).", aliases=("quit",))
def _exit(app: App, arg: str) -> None:
    app.request_exit()
