"""Terminal output: the one package that imports rich (with markdown-it-py and Pygments).

An answer streams through `AnswerView`. In Markdown mode, blocks that can no longer
change (as markdown-it-py's block tokens say: `render.source`) are printed once into the
scrollback, drawn by rich's Markdown (`render.drawing`), and only the unfinished last
block lives in a small live region that is repainted at most `MAX_FPS` times a second
(blocks that settle meanwhile are printed with the repaint, in the same write) and
cleared in `finally`. The work per token is bounded by the size of that last block, so
the cost stays linear in the answer's length. In plain mode (a pipe, `--plain`,
`NO_COLOR`, `TERM=dumb`) text is written as it arrives, with no escape codes and without
importing rich. Every untrusted string goes through `sanitize` first and is never parsed
as rich markup or emoji codes.
"""

from __future__ import annotations

import functools
import sys
import time
from collections.abc import Callable, Iterable
from typing import IO, TYPE_CHECKING, Any

from chatrepl.render.plain import THINKING_HEADER, PlainView
from chatrepl.sanitize import sanitize
from chatrepl.wording import when

if TYPE_CHECKING:  # (the data model is not needed to draw the first prompt)
    from rich.console import Console

    from chatrepl.attach import Attachment
    from chatrepl.conversation import Conversation, Message, Summary
    from chatrepl.outcome import Line
    from chatrepl.render.view import AnswerView

__all__ = ["Renderer"]


def _text(message: str, style: str = "") -> Any:
    from rich.text import Text

    return Text(message, style=style)


class Renderer:
    """Everything the program shows. The rich Consoles are made on first use (or given,
    as tests do); plain answers are written to `out` without them."""

    def __init__(
        self,
        console: Console | None = None,
        *,
        markdown: bool = True,
        plain: bool = False,
        raw: bool = False,
        code_theme: str = "monokai",
        err_console: Console | None = None,
        show_reasoning: bool = False,
        reasoning_file: IO[str] | None = None,
        clock: Callable[[], float] = time.monotonic,
        out: IO[str] | None = None,
        err: IO[str] | None = None,
        reflows: bool = False,
    ) -> None:
        if console is not None:
            self.console = console
        if err_console is not None:
            self.err_console = err_console
        #: Where answers go: the console's file, else stdout.
        self.out: IO[str] = console.file if console is not None else (out or sys.stdout)
        self._err = err
        self.markdown = markdown
        self.plain = plain
        #: Plain answers written exactly as the server sent them, controls and all.
        self.raw = raw
        self.code_theme = code_theme
        #: Stream reasoning expanded into the scrollback, not collapsed (/think on).
        self.show_reasoning = show_reasoning
        #: Where plain output writes reasoning (stderr with --show-reasoning), if anywhere.
        self.reasoning_file = reasoning_file
        #: Reasoning shown on the console (the REPL); off in one-shot use, where the
        #: console carries the answer only, even on a terminal.
        self.console_reasoning = True
        self.clock = clock
        #: The terminal rewraps what it shows when made narrower (tmux).
        self.reflows = reflows

    @functools.cached_property
    def console(self) -> Console:
        from chatrepl.render.drawing import make_console

        return make_console(self.out, plain=self.plain)

    @functools.cached_property
    def err_console(self) -> Console:
        if self._err is None:
            return self.console
        from chatrepl.render.drawing import make_console

        return make_console(self._err, plain=self.plain or not self._err.isatty())

    def answer(self) -> AnswerView | PlainView:
        if self.plain:
            return PlainView(self)
        from chatrepl.render.view import AnswerView

        return AnswerView(self)

    # ---------------------------------------------------------- lines

    def output(self, text: str) -> None:
        """Write what is ours or already sanitized (a command's output, as it comes; a
        control sequence of our own, as `write_control`), never untrusted text."""
        self.out.write(text)
        self.out.flush()

    write_control = output

    def _line(self, console: Console, message: str, style: str = "") -> None:
        """One line of ours: on a terminal wrapped at words, with the lines after the
        first indented under it; to a pipe or a file, never wrapped."""
        text = _text(sanitize(message), style)
        if not console.is_terminal:
            console.print(text, soft_wrap=True)
            return
        for n, line in enumerate(text.wrap(console, max(console.width - 2, 20))):
            line.rstrip()
            console.print(_text("  ") + line if n else line, soft_wrap=True)

    def error(self, message: str) -> None:
        self._line(self.err_console, message, "bold red")

    def warn(self, message: str) -> None:
        self._line(self.err_console, message, "yellow")

    def aside(self, message: str) -> None:
        """A dim line on stderr: notices of a turn (retries, saving), never on stdout,
        which in one-shot use carries the answer only."""
        self._line(self.err_console, message, "dim")

    def tell(self, line: Line, prefix: str = "") -> None:
        """A line about how a turn ended, shown as its level says (see outcome.told)."""
        from chatrepl.outcome import Level

        show = {Level.ERROR: self.error, Level.WARNING: self.warn, Level.NOTE: self.note}
        show[line.level](prefix + line.text)

    def note(self, message: str) -> None:
        self._line(self.console, message, "dim")

    def info(self, message: str) -> None:
        self._line(self.console, message)

    def attachments(self, attachments: Iterable[Attachment]) -> None:
        """Attachments collapsed to a line each: `📎 src/app.py, 212 lines`."""
        for attachment in attachments:
            self.console.print(
                _text(f"📎 {sanitize(attachment.describe())}", "cyan"), soft_wrap=True
            )

    def reasoning(self, text: str) -> None:
        """A saved reasoning in full, dimmed under its header."""
        unwrapped = not self.console.is_terminal  # to a pipe or a file: never wrapped
        self.console.print(_text(THINKING_HEADER, "dim bold"))  # as it was while streaming
        self.console.print(_text(sanitize(text), "dim italic"), soft_wrap=unwrapped)
        self.console.print()

    def summary(self, message: Message) -> None:
        """A summary of /compact: a dim header, then the summary as Markdown."""
        covers = message.meta.get("covers")
        state = "sent in their place" if message.meta.get("active") else "set aside"
        self.note(f"Summary of the first {covers} messages ({state}):")
        with self.answer() as view:
            view.whole(message.content)

    def rows(self, rows: Iterable[tuple[str, str]]) -> None:
        """Two columns: a name and its summary (/history, /stats)."""
        self.sections([("", rows)])

    def sections(self, groups: Iterable[tuple[str, Iterable[tuple[str, str]]]]) -> None:
        """Two columns, a name and its summary, in titled sections aligned as one table."""
        from rich.table import Table

        table = Table(show_header=False, box=None, padding=(0, 2))
        table.add_column(style="bold cyan", no_wrap=True)
        table.add_column()
        for n, (title, rows) in enumerate(groups):
            if title:
                if n:
                    table.add_row("", "")
                table.add_row(_text(sanitize(title), "bold"), "")
            for name, summary in rows:
                table.add_row(sanitize(name), sanitize(summary))
        self.console.print(table)

    def _listing(self, columns: dict[str, dict[str, Any]], rows: list[list[str]]) -> None:
        """A listing: tab-separated lines to a pipe or a file; a table on a terminal."""
        if self.plain:
            self.out.write("".join("\t".join(map(sanitize, row)) + "\n" for row in rows))
            return
        from rich.table import Table

        table = Table(box=None, padding=(0, 2), header_style="bold")
        for name, options in columns.items():
            table.add_column(name, **options)
        for row in rows:
            table.add_row(*map(sanitize, row))
        self.console.print(table)

    def search_hits(self, hits: list[tuple[str, str, str]]) -> None:
        """Search results: id, title, and the matching words in [brackets]."""
        title: dict[str, Any] = {"overflow": "ellipsis", "no_wrap": True, "max_width": 30}
        columns = {"id": {"style": "cyan", "no_wrap": True}, "title": title, "where": {}}
        self._listing(columns, [list(hit) for hit in hits])

    def conversations(
        self, summaries: list[Summary], current: str = "", costs: dict[str, str] | None = None
    ) -> None:
        """Saved conversations; with `costs` (by id), a column of what each cost."""
        if not summaries:
            self.note("No saved conversations yet.")
            return
        mark = "" if self.plain else " *"  # the one open (only on a terminal)
        rows = [
            [s.id + (mark if s.id == current else ""), when(s.updated), str(s.count)]
            + ([costs.get(s.id, "")] if costs is not None else [])
            + [s.title]
            for s in summaries
        ]
        one: dict[str, Any] = {"no_wrap": True}
        columns = {"id": {"style": "cyan", **one}, "date": one, "msgs": {"justify": "right"}}
        if costs is not None:
            columns["cost"] = {"justify": "right"}
        self._listing(columns | {"title": {"overflow": "ellipsis", **one}}, rows)

    def tree(self, lines: list[tuple[str, str, bool]]) -> None:
        """The branches of a conversation, a line per run between forks: the number of
        the branch a run ends, a marker (▶) in a column of its own for the branch on
        screen, then the tree and its plain first words (bold on the branch on screen)."""
        from rich.table import Table

        table = Table(show_header=False, box=None, padding=(0, 1))
        table.add_column(justify="right", style="bold cyan", no_wrap=True)
        table.add_column(no_wrap=True)
        table.add_column(overflow="ellipsis", no_wrap=True)
        for number, text, on_screen in lines:
            table.add_row(
                f"[{number}]" if number else "",
                "▶" if on_screen else "",
                _text(sanitize(text), "bold" if on_screen else ""),
            )
        self.console.print(table)

    def transcript(
        self,
        conversation: Conversation,
        last: int | None = None,
        reasoning: bool = False,
        messages: list[Message] | None = None,
        about: Callable[[Message], str] | None = None,
    ) -> None:
        """Show saved turns (the last `last` of them, or the `messages` given), rendered
        as they were; each answer's reasoning in full with `reasoning`, else collapsed."""
        from chatrepl.think import describe_words

        messages = conversation.messages if messages is None else messages
        if last is not None and len(messages) > last:
            self.note(f"… {len(messages) - last} earlier messages not shown.")
            messages = messages[-last:]
        for message in messages:
            if message.role == "summary":
                self.summary(message)
            elif message.role == "user":
                self.console.print(
                    _text("> " + sanitize(message.content), "bold"),
                    soft_wrap=not self.console.is_terminal,
                )
                self.attachments(message.attachments())
            elif message.role == "assistant":
                thought = message.meta.get("reasoning")
                if isinstance(thought, str) and thought:
                    if reasoning:
                        self.reasoning(thought)
                    elif not self.plain:
                        self.note(f"Thought, {describe_words(thought)}.")
                with self.answer() as view:  # exactly as it looked when it streamed
                    view.whole(message.content)
                if message.status not in ("complete", "streaming"):
                    self.note(f"[{message.status}]")
                    self.console.print()
                if about is not None and (said := about(message)):
                    self.note(f"— {said}")  # who wrote it (--show)
