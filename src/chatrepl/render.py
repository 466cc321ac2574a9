"""Terminal output: the one place that imports rich.

An answer streams through `AnswerView`. In Markdown mode, blocks that can no longer
change (paragraphs, lists, headings, whole fenced code blocks, tables) are printed once
into the scrollback, and only the unfinished last block lives in a small live region
that is repainted at most `MAX_FPS` times a second and cleared in `finally`. The work
per token is bounded by the size of that last block, so the cost stays linear in the
answer's length. In plain mode (a pipe, `--plain`, `NO_COLOR`, `TERM=dumb`) text is
written as it arrives, with no escape codes. Every untrusted string goes through
`sanitize` first and is never parsed as rich markup or emoji codes.
"""

from __future__ import annotations

import functools
import sys
import threading
from collections.abc import Iterable
from datetime import datetime
from typing import IO, TYPE_CHECKING, ClassVar

from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.segment import Segment
from rich.table import Table
from rich.text import Text

from chatrepl.blocks import Blocks
from chatrepl.conversation import Conversation, Summary

if TYPE_CHECKING:
    from rich.live import Live
    from rich.markdown import Markdown
from chatrepl.sanitize import Sanitizer, sanitize

MAX_FPS = 20


@functools.cache
def _markdown_class() -> type[Markdown]:
    """rich's Markdown with one shared parser, built on first use.

    Building a parser costs about 0.3 ms, which every streamed block would pay; and the
    Markdown stack (markdown-it, Pygments) is imported only when an answer is rendered,
    so `--list` and `--search` start faster.
    """
    from markdown_it import MarkdownIt
    from rich.cells import cell_len
    from rich.constrain import Constrain
    from rich.markdown import CodeBlock, Markdown, MarkdownElement
    from rich.syntax import Syntax

    parser = MarkdownIt().enable("strikethrough").enable("table")

    class FittedCodeBlock(CodeBlock):
        """A code block only as wide as its code, not the window: its background then
        does not wrap into blank rows when the terminal is made narrower."""

        def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
            code = str(self.text).rstrip()
            widest = max((cell_len(line.expandtabs(4)) for line in code.splitlines()), default=1)
            width = max(1, min(widest, options.max_width - 2))  # padding: one cell each side
            syntax = Syntax(code, self.lexer_name, theme=self.theme, word_wrap=True, padding=1)
            yield Constrain(syntax, width + 2)

    class SharedParserMarkdown(Markdown):
        """Links show their target (no hyperlinks); parsed by the shared parser."""

        elements: ClassVar[dict[str, type[MarkdownElement]]] = {
            **Markdown.elements,
            "fence": FittedCodeBlock,
            "code_block": FittedCodeBlock,
        }

        def __init__(self, markup: str, code_theme: str = "monokai") -> None:
            self.markup = markup
            self.parsed = parser.parse(markup)
            self.code_theme = code_theme
            self.justify = None
            self.style = "none"
            self.hyperlinks = False
            self.inline_code_lexer = None
            self.inline_code_theme = code_theme

    return SharedParserMarkdown


def markdown(source: str, code_theme: str = "monokai") -> Markdown:
    """A rich Markdown renderable for `source`."""
    return _markdown_class()(source, code_theme)


def make_console(
    file: IO[str] | None = None,
    *,
    plain: bool = False,
    force_terminal: bool | None = None,
    width: int | None = None,
) -> Console:
    return Console(
        file=file or sys.stdout,
        no_color=plain or None,
        force_terminal=force_terminal,
        color_system=None if plain else "auto",
        highlight=False,
        emoji=False,
        markup=False,
        width=width,
    )


def _blank(line: list[Segment]) -> bool:
    """A line that shows nothing: only spaces, and no background colour."""
    return all(
        not seg.text.strip() and not (seg.style and seg.style.bgcolor)
        for seg in line
        if not seg.control
    )


def _rstrip(line: list[Segment]) -> list[Segment]:
    """Drop the padding rich adds to the right of a line, unless it shows a background.

    Padded lines would wrap into blank ones when the terminal is made narrower.
    """
    line = list(line)
    while line:
        last = line[-1]
        if last.control or (last.style and last.style.bgcolor):
            break
        text = last.text.rstrip(" ")
        if text:
            line[-1] = Segment(text, last.style, last.control)
            break
        line.pop()
    return line


def trimmed_lines(
    console: Console, renderable: RenderableType, options: ConsoleOptions
) -> list[list[Segment]]:
    """Render, then drop blank lines at both ends (rich pads some blocks with them)."""
    lines = console.render_lines(renderable, options, pad=False)
    start, end = 0, len(lines)
    while start < end and _blank(lines[start]):
        start += 1
    while end > start and _blank(lines[end - 1]):
        end -= 1
    return [_rstrip(line) for line in lines[start:end]]


class _Trimmed:
    """A renderable without the blank lines rich puts around it."""

    def __init__(self, renderable: RenderableType) -> None:
        self.renderable = renderable

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        for line in trimmed_lines(console, self.renderable, options):
            yield from line
            yield Segment.line()


class _Tail:
    """The live region: the unsettled tail, rendered, cut to its last lines.

    Rich's refresh thread renders it up to MAX_FPS times a second; the rendered lines
    are cached, so a repaint with nothing new costs almost nothing.
    """

    def __init__(self, renderer: Renderer) -> None:
        self.r = renderer
        self.source = ""  # replaced whole (atomic) by the streaming thread
        self._key: tuple[str, int, int] | None = None
        self._lines: list[list[Segment]] = []

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        source = self.source
        height = max(1, console.size.height - 2)
        key = (source, options.max_width, height)
        if key != self._key:
            if source.strip():
                lines = trimmed_lines(console, self.r.markdown_renderable(source), options)
            else:
                lines = []
            self._lines = lines[-height:]
            self._key = key
        for line in self._lines:
            yield from line
            yield Segment.line()


class _Refresher(threading.Thread):
    """Repaints the live region at most MAX_FPS times a second, when it has changed.

    rich's own refresh thread renders and writes the live region without holding the
    lock that `console.print` takes, so a print from the streaming thread could erase
    the wrong number of lines and leave stale ones. Here every write to the terminal,
    from either thread, happens under the view's one lock.
    """

    def __init__(self, view: AnswerView) -> None:
        super().__init__(name="chatrepl-refresh", daemon=True)
        self.view = view
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(1 / MAX_FPS):
            self.view.repaint()


class AnswerView:
    """Shows one answer as it streams. Use as a context manager; `close` is idempotent."""

    def __init__(self, renderer: Renderer) -> None:
        self.r = renderer
        self.console = renderer.console
        self.markdown = renderer.markdown and not renderer.plain
        self._text = Sanitizer()
        self._reasoning = Sanitizer()
        self._blocks = Blocks()
        self._tail = _Tail(renderer)
        self._printed_blocks = 0
        self._live: Live | None = None
        self._refresher: _Refresher | None = None
        self._lock = threading.RLock()
        self._dirty = False
        self._ends_with_newline = True
        self._reasoning_line = ""
        self._closed = False

    def __enter__(self) -> AnswerView:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---------------------------------------------------------- input

    def text(self, piece: str) -> None:
        safe = self._text.feed(piece)
        if not safe:
            return
        self._flush_reasoning()
        if not self.markdown:
            self.console.file.write(safe)
            self.console.file.flush()
            self._ends_with_newline = safe.endswith("\n")
            return
        blocks = self._blocks.feed(safe)
        # Only a screenful of the tail is ever rendered, so this costs the same at any
        # length of the answer.
        height, width = self.console.size.height, self.console.size.width
        source = self._blocks.tail(height, height * width).strip("\n")
        with self._lock:
            # The new tail first: printing repaints the live region below the blocks.
            self._tail.source = source
            for block in blocks:
                self._print_block(block)
            if self._live is None:
                if source.strip():
                    self._start_live()  # the first token is shown at once
            elif not blocks:
                self._dirty = True  # the refresher paints it within 1/MAX_FPS s

    def reasoning(self, piece: str) -> None:
        safe = self._reasoning.feed(piece)
        if not safe or not self.markdown:
            return  # pipes get the answer only
        self._reasoning_line += safe
        *done, self._reasoning_line = self._reasoning_line.split("\n")
        with self._lock:
            for line in done:
                self.console.print(Text(line, style="dim italic"))

    # ---------------------------------------------------------- output

    def _start_live(self) -> None:
        from rich.live import Live

        self._live = Live(
            self._tail,
            console=self.console,
            auto_refresh=False,
            transient=True,
            redirect_stdout=False,
            redirect_stderr=False,
        )
        self._live.start(refresh=True)
        self._refresher = _Refresher(self)
        self._refresher.start()

    def repaint(self) -> None:
        with self._lock:
            if self._dirty and self._live is not None:
                self._dirty = False
                self._live.refresh()

    def _print_block(self, block: str) -> None:
        if self._printed_blocks:
            self.console.print()
        self.console.print(_Trimmed(self.r.markdown_renderable(block)))
        self._printed_blocks += 1

    def _flush_reasoning(self) -> None:
        if self._reasoning_line:
            with self._lock:
                self.console.print(Text(self._reasoning_line, style="dim italic"))
            self._reasoning_line = ""

    def close(self) -> None:
        """Settle everything: stop the live region, print what it showed, once."""
        if self._closed:
            return
        self._closed = True
        self._text.flush()
        self._flush_reasoning()
        if self._refresher is not None:
            self._refresher.stopped.set()
            self._refresher.join()
        with self._lock:
            try:
                if self._live is not None:
                    self._tail.source = ""
                    self._live.stop()
                    self._live = None
            finally:
                if self.markdown:
                    tail = self._blocks.tail().strip("\n")
                    if tail.strip():
                        self._print_block(tail)
                    if self._printed_blocks:
                        self.console.print()  # a blank line between the answer and the prompt
                elif not self._ends_with_newline:
                    self.console.file.write("\n")
                    self.console.file.flush()


class Renderer:
    """Everything the program shows, on an injected rich Console."""

    def __init__(
        self,
        console: Console | None = None,
        *,
        markdown: bool = True,
        plain: bool = False,
        code_theme: str = "monokai",
        err_console: Console | None = None,
    ) -> None:
        self.console = console or make_console(plain=plain)
        self.err_console = err_console or self.console
        self.markdown = markdown
        self.plain = plain
        self.code_theme = code_theme

    def markdown_renderable(self, source: str) -> Markdown:
        return markdown(source, self.code_theme)

    def answer(self) -> AnswerView:
        return AnswerView(self)

    # ---------------------------------------------------------- lines

    def write_control(self, sequence: str) -> None:
        """Write a control sequence of our own (never untrusted text) to the terminal."""
        self.console.file.write(sequence)
        self.console.file.flush()

    def error(self, message: str) -> None:
        self.err_console.print(Text(sanitize(message), style="bold red"), soft_wrap=True)

    def warn(self, message: str) -> None:
        self.err_console.print(Text(sanitize(message), style="yellow"), soft_wrap=True)

    def note(self, message: str) -> None:
        self.console.print(Text(sanitize(message), style="dim"), soft_wrap=True)

    def info(self, message: str) -> None:
        self.console.print(Text(sanitize(message)), soft_wrap=True)

    def rows(self, rows: Iterable[tuple[str, str]], title: str = "") -> None:
        """Two columns: a name and its summary (used by /help)."""
        table = Table(show_header=False, box=None, padding=(0, 2), title=title or None)
        table.add_column(style="bold cyan", no_wrap=True)
        table.add_column()
        for name, summary in rows:
            table.add_row(sanitize(name), sanitize(summary))
        self.console.print(table)

    def search_hits(self, hits: list[tuple[str, str, str]]) -> None:
        """Search results: id, title, and the matching words in [brackets]."""
        if self.plain:
            for cid, title, snippet in hits:
                self.console.file.write(f"{cid}\t{sanitize(title)}\t{sanitize(snippet)}\n")
            return
        table = Table(box=None, padding=(0, 2), header_style="bold")
        table.add_column("id", style="cyan", no_wrap=True)
        table.add_column("title", overflow="ellipsis", no_wrap=True, max_width=30)
        table.add_column("where")
        for cid, title, snippet in hits:
            table.add_row(cid, sanitize(title), sanitize(snippet))
        self.console.print(table)

    def conversations(self, summaries: list[Summary], current: str = "") -> None:
        if not summaries:
            self.note("No saved conversations yet.")
            return
        if self.plain:
            for s in summaries:
                self.console.file.write(
                    f"{s.id}\t{_date(s.updated)}\t{s.count}\t{sanitize(s.title)}\n"
                )
            return
        table = Table(box=None, padding=(0, 2), header_style="bold")
        table.add_column("id", style="cyan", no_wrap=True)
        table.add_column("date", no_wrap=True)
        table.add_column("msgs", justify="right")
        table.add_column("title", overflow="ellipsis", no_wrap=True)
        for s in summaries:
            marker = " *" if s.id == current else ""
            table.add_row(s.id + marker, _date(s.updated), str(s.count), sanitize(s.title))
        self.console.print(table)

    def transcript(self, conversation: Conversation, last: int | None = None) -> None:
        """Show saved turns (the last `last` of them), rendered as they were."""
        messages = conversation.messages
        if last is not None and len(messages) > last:
            self.note(f"… {len(messages) - last} earlier messages not shown.")
            messages = messages[-last:]
        for message in messages:
            if message.role == "user":
                self.console.print(Text("> " + sanitize(message.content), style="bold"))
            elif message.role == "assistant":
                with self.answer() as view:  # exactly as it looked when it streamed
                    view.text(message.content)
                if message.status not in ("complete", "streaming"):
                    self.note(f"[{message.status}]")
                    self.console.print()


def _date(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp).strftime("%Y-%m-%d %H:%M")
