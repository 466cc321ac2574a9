"""Slash commands: one registry that is the only source of truth.

A command is defined once, where it is handled: a method marked with `@command(name,
summary, usage, aliases, argument)` on one of the parts composed into a REPL session
(conversations, branches, material, controls: see `chatrepl.session`). `Registry`
collects the marked methods of those parts, bound to them, and dispatch, `/help`, tab
completion and the README's table all derive from it. An unambiguous prefix of a name is
accepted (`/he` is `/help`); an ambiguous one says which commands it could be. This
module imports nothing above it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from chatrepl.attach import complete_path
from chatrepl.errors import UsageError

Handler = Callable[[str], None]
Method = TypeVar("Method", bound=Callable[..., None])
MARK = "chatrepl_command"  # the attribute `@command` sets on a method


@dataclass(frozen=True)
class Command:
    name: str
    summary: str
    usage: str = ""
    aliases: tuple[str, ...] = ()
    #: What the argument completes to: "" (nothing), "command", or the name of a
    #: provider given to `complete` ("conversation", "endpoint", "model", "onoff", "think",
    #: "copy"); "path" and "paths" complete file names (the first word, or the last).
    argument: str = ""
    #: The title of the group it is listed under in /help (its part's `TITLE`).
    group: str = ""
    #: The bound method that does it (None on the unbound declaration).
    handler: Handler | None = None

    def signature(self) -> str:
        names = ", ".join("/" + n for n in (self.name, *self.aliases))
        return f"{names} {self.usage}".rstrip()


def command(
    name: str, summary: str, usage: str = "", aliases: Iterable[str] = (), argument: str = ""
) -> Callable[[Method], Method]:
    """Mark a part's method `(self, arg: str) -> None` as the slash command `/name`."""

    def mark(method: Method) -> Method:
        setattr(method, MARK, Command(name, summary, usage, tuple(aliases), argument))
        return method

    return mark


def declared(part: type) -> list[tuple[str, Command]]:
    """The commands a part's class declares: (method name, Command), in their order."""
    found = []
    for attribute, value in vars(part).items():
        spec = getattr(value, MARK, None)
        if isinstance(spec, Command):
            found.append((attribute, replace(spec, group=getattr(part, "TITLE", ""))))
    return found


class CommandError(UsageError):
    """An unknown, ambiguous or misused slash command."""


class Registry:
    """The commands of the parts given, in their order, each bound to its part."""

    def __init__(self, parts: Iterable[Any]) -> None:
        self.by_key: dict[str, Command] = {}
        self.ordered: list[Command] = []
        for part in parts:
            for attribute, spec in declared(type(part)):
                cmd = replace(spec, handler=getattr(part, attribute))
                for key in (cmd.name, *cmd.aliases):
                    if key in self.by_key:
                        raise ValueError(f"/{key} is registered twice")
                    self.by_key[key] = cmd
                self.ordered.append(cmd)

    def lookup(self, word: str) -> Command:
        """The command named `word` (without the slash), or its unique prefix."""
        if word in self.by_key:
            return self.by_key[word]
        matches = sorted({cmd.name for key, cmd in self.by_key.items() if key.startswith(word)})
        if len(matches) == 1:
            return self.by_key[matches[0]]
        if matches and word:
            names = ", ".join("/" + m for m in matches)
            raise CommandError(f"/{word} is ambiguous: {names}.", "Type more of the name.")
        raise CommandError(f"Unknown command /{word}.", "Type /help for the list.")

    def dispatch(self, line: str) -> None:
        word, arg = split(line)
        handler = self.lookup(word).handler
        assert handler is not None  # every registered command is bound
        handler(arg)

    def help_rows(self, name: str = "") -> list[tuple[str, list[tuple[str, str]]]]:
        """(group title, [(signature, summary)]) for /help: every group, or one command."""
        if name:
            cmd = self.lookup(name.lstrip("/"))
            return [("", [(cmd.signature(), cmd.summary)])]
        groups: dict[str, list[tuple[str, str]]] = {}
        for cmd in self.ordered:
            groups.setdefault(cmd.group, []).append((cmd.signature(), cmd.summary))
        return list(groups.items())

    def complete(self, line: str, providers: Mapping[str, Provider]) -> list[tuple[str, str, int]]:
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
                for key, cmd in self.by_key.items()
                if key.startswith(word)
            ]
        try:
            cmd = self.lookup(word)
        except CommandError:
            return []
        arg = arg.lstrip()
        if cmd.argument in ("path", "paths"):
            if cmd.argument == "path" and " " in arg:
                return []
            word = arg.rsplit(" ", 1)[-1]
            offered = complete_path(word, attachable=cmd.argument == "paths")  # /file: text
            return [(value, shown, -len(word)) for value, shown in offered]
        named: set[str] = set()
        if cmd.argument == "writers":  # several words: the last one is completed
            *before, arg = arg.split(" ")
            named = set(before)
        if cmd.argument == "command":
            candidates = [(c.name, c.summary) for c in self.ordered]
        elif cmd.argument in providers:
            candidates = providers[cmd.argument]()
        else:
            return []
        return [
            (value, meta, -len(arg))
            for value, meta in candidates
            if value.startswith(arg) and value not in named
        ]


def is_command(line: str) -> bool:
    """A line is a command when it starts with one slash; `//text` sends `/text`."""
    return line.startswith("/") and not line.startswith("//")


def split(line: str) -> tuple[str, str]:
    word, _, arg = line[1:].strip().partition(" ")
    return word, arg.strip()


Provider = Callable[[], list[tuple[str, str]]]

ON_OFF = [("on", "Render answers as Markdown."), ("off", "Show answers as plain text.")]
COPY = [("code", "A code block of the last answer: the last one, or code N.")]
THINK_ON_OFF = [
    ("on", "Stream reasoning in full, kept on screen."),
    ("off", "Collapse reasoning to one line when the answer starts."),
]
