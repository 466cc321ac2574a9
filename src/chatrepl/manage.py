"""Saved conversations from the command line: list, show, export, delete, search."""

from __future__ import annotations

import argparse
import errno
import os
from collections.abc import Callable
from pathlib import Path

from chatrepl import writer
from chatrepl.attach import occupant, overwrite_question
from chatrepl.conversation import Conversation, make_title, to_json, to_markdown
from chatrepl.environment import Environment
from chatrepl.errors import EXIT_FAILED, EXIT_OK, ChatreplError, NotFoundError, UsageError
from chatrepl.render import Renderer
from chatrepl.sanitize import escape_json, sanitize, shown
from chatrepl.store import Store
from chatrepl.wording import when


def export_text(conversation: Conversation, fmt: str) -> str:
    if fmt == "json":
        return to_json(conversation)
    return to_markdown(conversation, about=writer.describer(conversation.messages, always=True))


def write_export(conversation: Conversation, path: Path, fmt: str = "") -> str:
    """Write an export file, readable by its owner only (0600): the format given, else
    JSON for .json and Markdown for anything else; return the format used. Written
    through a symbolic link (the person said yes, or --yes), the file it points to keeps
    its own mode: it is theirs, not an export's."""
    fmt = fmt or ("json" if path.suffix.lower() == ".json" else "md")
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    try:
        try:
            fd = os.open(path, flags | os.O_NOFOLLOW, 0o600)
            os.fchmod(fd, 0o600)  # a file that was there keeps no wider mode
        except OSError as exc:
            if exc.errno != errno.ELOOP:  # ELOOP: the last part of the path is a link
                raise
            fd = os.open(path, flags, 0o600)
        with open(fd, "w", encoding="utf-8") as file:
            file.write(export_text(conversation, fmt) + "\n")
    except OSError as exc:
        raise ChatreplError(
            f"Could not write {sanitize(str(path))}: {exc.strerror or exc}."
        ) from None
    return fmt


def may_overwrite(path: Path, yes: bool, env: Environment) -> bool:
    """Whether `path` may be written: it is new, or --yes, or the person says so (a
    question on stderr, an answer on stdin: refused when stdin is not a terminal)."""
    label = shown(str(path))
    there = occupant(path, label)
    if not there or yes:
        return True
    if not env.stdin_isatty:
        raise UsageError(f"{there}.", "Add --yes to write it.")
    env.stderr.write(overwrite_question(path, label))
    env.stderr.flush()
    return env.stdin.readline().strip().lower() in ("y", "yes")


def show_code(conversation: Conversation, number: int, env: Environment) -> int:
    """`--show ID --code [N]`: the last answer's code blocks (or its N-th) to stdout."""
    from chatrepl.render.source import choose_code

    last = conversation.last_answer()
    whose = f"The last answer of {conversation.id}"
    chosen = choose_code(last.content if last is not None else "", number or None, whose)
    text = "\n".join(b.text.rstrip("\n") + "\n" for _, b in chosen)
    env.stdout.write(text if not env.stdout_isatty else sanitize(text))
    env.stdout.flush()
    return EXIT_OK


def header(conversation: Conversation) -> str:
    """The line `--show` starts with: title, id, when it was started, how many messages."""
    started = when(conversation.created)
    count = len(conversation)
    writers = sorted({w for m in conversation.messages if (w := writer.label(m.meta))})
    by = f" · {', '.join(writers)}" if writers else ""
    return f"# {conversation.title} · {conversation.id} · {started} · {count} messages{by}\n"


class Manage:
    """One management flag's work, on the store, for one run."""

    def __init__(
        self, args: argparse.Namespace, store: Store, renderer: Renderer, env: Environment
    ) -> None:
        self.args, self.store, self.renderer, self.env = args, store, renderer, env

    def _resolve(self, ref: str) -> str:
        """The conversation `ref` names, with the command line's hint if none does."""
        try:
            return self.store.resolve(ref)
        except NotFoundError as exc:
            hint = exc.hint if "more of it" in exc.hint else "chatrepl --list shows them."
            raise NotFoundError(exc.message, hint) from None

    def list(self) -> int:
        limit = None if self.args.all else self.args.limit or 50
        summaries = self.store.list_conversations(limit)
        costs = None
        if self.args.cost:
            costs = {cid: writer.money(spent) for cid, spent in self.store.costs().items()}
        self.renderer.conversations(summaries, costs=costs)
        return EXIT_OK

    def show(self) -> int:
        conversation = self.store.load(self._resolve(self.args.show))
        if self.args.code is not None:
            return show_code(conversation, self.args.code, self.env)
        self.renderer.info(header(conversation))
        self.renderer.transcript(
            conversation, reasoning=True, about=writer.describer(conversation.messages)
        )
        return EXIT_OK

    def export(self) -> int:
        args, env = self.args, self.env
        conversation = self.store.load(self._resolve(args.export))
        if args.output:
            target = Path(args.output).expanduser()
            if not may_overwrite(target, args.yes, env):
                self.renderer.note("Nothing was written.")
                return EXIT_FAILED
            fmt = write_export(conversation, target, args.format or "")
            self.renderer.note(f"Exported {conversation.id} to {sanitize(args.output)} ({fmt}).")
            return EXIT_OK
        fmt = args.format or "md"
        text = export_text(conversation, fmt)
        if env.stdout_isatty:  # made safe to look at; to a file or a pipe it stays exact
            text = escape_json(text) if fmt == "json" else sanitize(text)
        env.stdout.write(text + "\n")
        return EXIT_OK

    def rename(self) -> int:
        cid = self._resolve(self.args.rename[0])
        title = make_title(self.args.rename[1])
        self.store.rename(cid, title)
        self.renderer.note(f"Renamed {cid} to {title}.")
        return EXIT_OK

    def delete(self) -> int:
        env, cid = self.env, self._resolve(self.args.delete)
        conversation = self.store.load(cid)
        if not self.args.yes:
            if not env.stdin_isatty:
                raise UsageError("Deleting needs a confirmation.", "Add --yes to skip asking.")
            env.stderr.write(
                f"Delete {cid} ({sanitize(conversation.title)}, "
                f"{len(conversation)} messages)? [y/N] "
            )
            env.stderr.flush()
            if env.stdin.readline().strip().lower() not in ("y", "yes"):
                self.renderer.note("Nothing was deleted.")
                return EXIT_FAILED
        self.store.delete_conversation(cid)
        self.renderer.note(f"Deleted {cid}.")
        return EXIT_OK

    def search(self) -> int:
        hits = self.store.search(self.args.search)
        if not hits:
            self.renderer.note(f"No conversation mentions {self.args.search}.")
            return EXIT_FAILED
        self.renderer.search_hits(hits)
        return EXIT_OK


def run(
    action: str, args: argparse.Namespace, store: Store, renderer: Renderer, env: Environment
) -> int:
    """Do what the management flag `action` (see `cli.MANAGING`) asks."""
    method: Callable[[], int] = getattr(Manage(args, store, renderer, env), action)
    return method()
