"""One answer as it streams: settled blocks printed once, a live region for the rest,
and the model's reasoning shown apart (see `AnswerView`)."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from chatrepl.environment import isatty
from chatrepl.render import loading
from chatrepl.render.loading import Preview, Waiter, erased, load, reflowed
from chatrepl.render.plain import THINKING_HEADER, PlainView
from chatrepl.render.source import Batch, Source
from chatrepl.sanitize import sanitize

if TYPE_CHECKING:
    from rich.console import Console, ConsoleOptions, RenderResult
    from rich.live import Live
    from rich.segment import Segment

    from chatrepl.render import Renderer

MAX_FPS = 20


class AnswerView(PlainView):
    """Shows one answer as it streams: its text as `PlainView` does without Markdown,
    its reasoning as `PlainView` does without a REPL's terminal (`fancy`)."""

    def __init__(self, renderer: Renderer) -> None:
        super().__init__(renderer)
        self.markdown = renderer.markdown  # (a plain renderer's answers are PlainViews)
        self.source = Source()
        self.codes = 0  # code blocks printed so far, numbered from 1
        self.lock = threading.RLock()
        self._thinking = False  # the live region shows the reasoning, dimmed under a header
        self._footer: tuple[str, ...] = ()  # dim lines under it (a compare's other writers)
        self._key: tuple[object, ...] | None = None  # what the live region was drawn from
        self._lines: list[list[Segment]] = []  # the live region, drawn
        self._width = 0  # the width it was drawn at
        self._before = ""  # stands for the last block printed: "x", or "***" for a rule
        self._held = 0  # blank lines drawn at the end of the last block, not printed yet
        self._live: Live | None = None
        self._refresher: threading.Thread | None = None
        self._stopped = threading.Event()  # (the refresher's)
        self._waiter: Waiter | None = None
        self._dirty = False
        self._preview = Preview(renderer.out, renderer.write_control)  # until rich is in
        self._reasoning_line = ""
        self.fancy = renderer.console_reasoning  # in the REPL: reasoning shown, then collapsed

    def waiting(self, host: str = "") -> None:
        if self.markdown:
            load(self.r.code_theme, wait=False)
        if host and self._waiter is None and isatty(self.r.out):
            self._waiter = Waiter(host, self.r.write_control, self.lock, self.r.out, self.r.reflows)
            self._waiter.start()

    def _arrived(self) -> None:
        """The waiting line goes."""
        if self._waiter is not None:
            waiter, self._waiter = self._waiter, None
            waiter.stop()

    # ---------------------------------------------------------- input

    def _show(self, safe: str) -> None:
        if not self.markdown:
            super()._show(safe)
            return
        with self.lock:
            self.source.feed(safe)
            self._dirty = True
            if self._live is None and not loading.loaded.is_set() and self.r.out.isatty():
                self._preview.show(safe)  # the first token at once, rich or not
            self._start()

    def whole(self, text: str) -> None:
        """A saved answer, all at once: drawn as it was when it streamed, with no live
        region (resume, --show), as the view closes."""
        if not self.markdown:
            super().whole(text)
            return
        self.source.feed(self._text.feed(text))

    def _think(self, safe: str) -> None:
        if not self.fancy:  # the answer only; reasoning to stderr if asked
            super()._think(safe)
            return
        load(self.r.code_theme)
        with self.lock:
            self.thought.add(safe)
        if self.r.show_reasoning:  # expanded: dim lines that stay in the scrollback
            if self.thought.size == len(safe):  # the first piece: the header once
                self._dim(THINKING_HEADER, "dim bold")
            *done, self._reasoning_line = (self._reasoning_line + safe).split("\n")
            for line in done:
                self._dim(line)
            return
        with self.lock:
            self._thinking = True
            self._dirty = True
            self._start()

    def recast(self, into: str, text: str) -> None:
        """What was shown as one kind was the other (see `think.Recast`)."""
        if into == "answer" or not self.fancy:
            super().recast(into, text)
            return
        # The answer so far was reasoning: say so; the real answer follows.
        self._stop_live()
        self._settle()
        self.thought.recast(text)
        self.r.note("↑ That was the model's reasoning (it sent no opening <think> tag).")
        self.source = Source()
        self._before = ""
        self.codes = self._held = 0

    def footer(self, lines: list[str]) -> None:
        """Dim lines under the live tail until the answer ends, never printed."""
        shown = tuple(sanitize(line) for line in lines)
        with self.lock:
            if shown != self._footer:
                self._footer, self._dirty = shown, True

    # ---------------------------------------------------------- output

    def _start(self) -> None:
        """The live region (once rich is in: the first text shows until then) and the
        thread that repaints it (under the lock)."""
        if self._live is None and (loading.loaded.is_set() or not self.r.out.isatty()):
            load(self.r.code_theme)  # (not a terminal: no first text to show meanwhile)
            self.start_live()
        if self._refresher is None:
            self._stopped.clear()
            self._refresher = threading.Thread(
                target=self._refresh, name="chatrepl-refresh", daemon=True
            )
            self._refresher.start()

    def _refresh(self) -> None:
        """The refresher: hands the first text over to the live region once rich is
        loaded, then repaints it at most MAX_FPS times a second, when it has changed.

        rich's own refresh thread renders and writes the live region without holding the
        lock that `console.print` takes, so a print from the streaming thread could erase
        the wrong number of lines and leave stale ones. Here every write to the terminal,
        from either thread, happens under the view's one lock.
        """
        load(self.r.code_theme)
        with self.lock:
            if not self._stopped.is_set() and self._live is None:
                self.start_live()
        while not self._stopped.wait(1 / MAX_FPS):
            self.repaint()

    def start_live(self) -> None:
        """The live region, in place of the first text's preview (under the lock)."""
        from rich.live import Live

        self._preview.clear()
        self._live = Live(
            self,
            console=self.r.console,
            auto_refresh=False,
            transient=True,
            redirect_stdout=False,
            redirect_stderr=False,
        )
        self._live.start(refresh=False)
        self._dirty = True
        self.repaint()

    def repaint(self) -> None:
        """Print the blocks settled since the last repaint, in one write that repaints
        the live region below them, or only repaint it if it changed."""
        with self.lock:
            if self._dirty and self._live is not None:
                self._dirty = False
                self._unflow()
                if self._thinking or not self._print(self.source.settle()):
                    self._live.refresh()

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        """The live region: the unsettled tail (or the reasoning), drawn, cut to its last
        lines; drawn again only when its source or the window changed."""
        from rich.segment import SegmentLines
        from rich.text import Text

        from chatrepl.render.drawing import drawn_lines, trimmed

        size = console.size
        # Only a screenful of the tail is drawn, so a repaint costs the same at any length
        # of the answer.
        source = ""
        if not self._thinking:
            source = self.source.tail(size.height, size.height * size.width).strip("\n")
        height = max(1, size.height - 2 - len(self._footer))
        size_of = self.thought.size if self._thinking else -1
        spacing = (self.codes, self._held, self._before)  # what draw() depends on besides its text
        key = (source, size_of, options.max_width, height, spacing, self._footer)
        if key != self._key:
            if self._thinking:
                text = Text(self.thought.tail(height * options.max_width), style="dim italic")
                body = trimmed(drawn_lines(console, text, options))
                header = Text(THINKING_HEADER, style="dim bold")
                lines = console.render_lines(header, options, pad=False)[:1]
                lines += body[-(height - 1) :] if height > 1 else []
            elif source.strip():
                lines = trimmed(self.draw(source, plain_code=True), start=False)
            else:
                lines = []
            self._lines = lines[-height:]
            for line in self._footer:  # one row each, cut at the edge
                row = Text(line, style="dim", no_wrap=True, overflow="ellipsis")
                self._lines += console.render_lines(row, options, pad=False)[:1]
            self._key, self._width = key, options.max_width
        yield SegmentLines(self._lines, new_lines=True)

    def draw(self, source: str, plain_code: bool = False) -> list[list[Segment]]:
        """Markdown `source` drawn as rich draws it after what is printed, its code
        numbered on from the code printed so far.

        The space between blocks is rich's: the blank lines it drew at the end of the
        last block printed, then what it puts between that kind of block (a paragraph
        stands in for any but a rule) and these, drawn with them and cut off; none
        before the answer's first line."""
        from chatrepl.render.drawing import Answer, drawn_lines, trimmed

        drawn = Answer(f"{self._before}\n\n{source}", self.r.code_theme, self.codes + 1, plain_code)
        console = self.r.console
        lines = drawn_lines(console, drawn, console.options)
        if not plain_code:
            self.codes = drawn.next_code - 1
        if self._before:
            return [[] for _ in range(self._held)] + lines[1:]
        return trimmed(lines, end=False)

    def _print(self, batch: Batch | None) -> bool:
        """Print settled blocks at once: one write, one repaint of the live region (false
        if nothing showed). Blank lines at their end are held back until a block follows."""
        from rich.segment import SegmentLines

        from chatrepl.render.drawing import trimmed

        if batch is None:
            return False
        lines = self.draw(batch.source)
        shown = trimmed(lines, start=False)  # (blank lines at its end: held back)
        if not shown:
            return False
        self._held, self._before = len(lines) - len(shown), "***" if batch.rule_last else "x"
        self.r.console.print(SegmentLines(shown, new_lines=True), crop=False)
        return True

    def _dim(self, line: str, style: str = "dim italic") -> None:
        from rich.text import Text

        with self.lock:
            self.r.console.print(Text(line, style=style))

    def _end_thinking(self) -> None:
        """The answer starts: the reasoning collapses to one line."""
        if not self.fancy:
            super()._end_thinking()
            return
        summary = self.thought.end()
        if self._reasoning_line:  # (the last line of expanded reasoning, unfinished)
            self._dim(self._reasoning_line)
            self._reasoning_line = ""
        self._stop_live()
        if summary:
            hint = "" if self.r.show_reasoning else "; /think to show"
            self.r.note(f"{summary}{hint}.")

    def _unflow(self) -> None:
        """In a terminal that reflows (tmux), the live region's rows, drawn wider than the
        window now is, were rewrapped into more rows than rich will erase: erase them all
        and leave the cursor on the row where rich expects the region's last one."""
        from rich.segment import Segment

        width = self.r.console.width
        if not self.r.reflows or not self._lines or width >= self._width:
            return
        drawn = len(self._lines)
        rows = reflowed(map(Segment.get_line_length, self._lines), width)
        if rows > drawn:
            down = f"\x1b[{drawn - 1}B" if drawn > 1 else ""
            self.r.write_control(erased(rows) + down)
        self._width = width

    def _stop_live(self) -> None:
        if self._refresher is not None:
            self._stopped.set()
            self._refresher.join()
            self._refresher = None
        with self.lock:
            self._preview.clear()
            if self._live is not None:
                self._thinking = False
                self._unflow()
                self._live.stop()
                self._live = None

    def _stop(self) -> None:
        self._arrived()
        self._stop_live()

    def _settle(self) -> None:
        """Print what the live region showed, once."""
        if not self.markdown:
            super()._settle()
            return
        load(self.r.code_theme)
        self._print(self.source.settle(final=True))
        if self._before:
            self.r.console.print()  # a blank line between the answer and what follows
