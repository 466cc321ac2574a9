"""One answer as it streams: settled blocks printed once, a live region for the rest,
and the model's reasoning shown apart (see `AnswerView`)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

from chatrepl import heap
from chatrepl.blocks import Blocks, code_blocks
from chatrepl.render.plain import THINKING_HEADER, PlainView
from chatrepl.sanitize import sanitize
from chatrepl.think import Thought

if TYPE_CHECKING:
    from rich.console import Console, ConsoleOptions, RenderResult
    from rich.live import Live
    from rich.segment import Segment

    from chatrepl.render import Renderer

# rich is imported by the warm-up thread while the request is on its way (see
# `warm_up`), not when a view is made: its 20 ms would delay the request.

MAX_FPS = 20


_warming: threading.Thread | None = None


def _warm_up(code_theme: str) -> None:
    """Import what draws Markdown, load the code theme and read the compiled regexes
    (some 45 ms together), while the request is on its way, so the request leaves at
    once and the first token is drawn as soon as it arrives. markdown-it and each
    language's lexer wait until a block needs them (made from the regex file's table
    when it holds one, without importing Pygments' lexers: see `render.tables`). The
    regexes these modules compile as they load come from the regex file too."""
    from chatrepl.render import regex_cache

    regex_cache.load()
    with heap.loading(), regex_cache.compiling():
        import pygments.token  # type: ignore[import-untyped]  # noqa: F401
        from rich.live import Live  # noqa: F401

        import chatrepl.render.layout  # noqa: F401
        from chatrepl.render.drawing import _token_styles

        _token_styles(code_theme)


def warm_up(code_theme: str, regex_cache: Path | None = None) -> None:
    """Start `_warm_up` in the background, once per process; compiled regexes are kept
    in `regex_cache`, if given.

    An answer starts it as its request goes (`AnswerView.waiting`): after the transport
    is imported, not beside it, so the two never contend for the interpreter, and the
    request is not held up by what only the answer needs."""
    global _warming
    if _warming is None:
        if regex_cache is not None:
            from chatrepl.render import regex_cache as cache

            cache.use(regex_cache)
        _warming = threading.Thread(
            target=_warm_up, args=(code_theme,), name="chatrepl-warm-up", daemon=True
        )
        _warming.start()


def _may_hold_code(block: str) -> bool:
    return "```" in block or "~~~" in block or "    " in block


class _Tail:
    """The live region: the unsettled tail, rendered, cut to its last lines.

    The refresher renders it up to MAX_FPS times a second; the rendered lines are
    cached, so a repaint with nothing new costs almost nothing.
    """

    def __init__(self, renderer: Renderer) -> None:
        self.r = renderer
        #: The answer's blocks while they are shown, and those settled but not printed
        #: yet (see `AnswerView.repaint`); read only under the view's lock.
        self.blocks: Blocks | None = None
        self.settled: list[str] = []
        self.thinking: Thought | None = None  # reasoning shown dimmed under a header
        self._key: tuple[str, int, int, int] | None = None
        self._lines: list[list[Segment]] = []

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        from rich.segment import Segment
        from rich.text import Text

        from chatrepl.render.drawing import trimmed_lines

        thinking, blocks, size = self.thinking, self.blocks, console.size
        # Only a screenful of the tail is ever rendered, so a repaint costs the same at
        # any length of the answer; it is cut here, at a repaint, not at every token.
        source = ""
        if thinking is None and blocks is not None:
            source = blocks.tail(size.height, size.height * size.width).strip("\n")
            if self.settled:  # (none at a repaint, which prints them first)
                source = "\n\n".join([*self.settled, source])
        height = max(1, size.height - 2)
        key = (source, -1 if thinking is None else thinking.size, options.max_width, height)
        if key != self._key:
            if thinking is not None:
                text = Text(thinking.tail(height * options.max_width), style="dim italic")
                body = trimmed_lines(console, text, options)
                header = Text(THINKING_HEADER, style="dim bold")
                lines = console.render_lines(header, options, pad=False)[:1]
                lines += body[-(height - 1) :] if height > 1 else []
            elif source.strip():
                lines = trimmed_lines(console, self.r.markdown_renderable(source, True), options)
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


class AnswerView(PlainView):
    """Shows one answer as it streams. Use as a context manager; `close` is idempotent.

    Without Markdown the text is written as `PlainView` writes it; without a REPL's
    terminal (`fancy`), reasoning is handled as `PlainView` handles it.
    """

    def __init__(self, renderer: Renderer) -> None:
        super().__init__(renderer)
        self.markdown = renderer.markdown and not renderer.plain
        self._blocks = Blocks()
        self._tail = _Tail(renderer)
        self._printed_blocks = 0
        self._code_blocks = 0  # code blocks printed so far, numbered from 1
        self._live: Live | None = None
        self._refresher: _Refresher | None = None
        self._lock = threading.RLock()
        self._dirty = False
        self._settled: list[str] = []  # settled while the region shows: printed at a repaint
        self._tail.settled = self._settled
        self._reasoning_line = ""
        # A terminal in the REPL: reasoning is shown, then collapsed.
        self.fancy = not renderer.plain and renderer.console_reasoning

    def waiting(self) -> None:
        if self.markdown:
            warm_up(self.r.code_theme, self.r.regex_cache)

    def _ready(self) -> None:
        """What draws, imported: by the warm-up, waited for (and started now if no
        request started it: a saved answer shown again)."""
        self.waiting()
        if _warming is not None and _warming.is_alive():
            _warming.join()

    @property
    def console(self) -> Console:
        return self.r.console

    # ---------------------------------------------------------- input

    def text(self, piece: str) -> None:
        if not self.markdown:
            super().text(piece)
            return
        safe = self._text.feed(piece)
        if not safe:
            return
        if self.thought.pending:
            self._end_thinking()
        with self._lock:  # the live region reads the blocks under it
            blocks = self._blocks.feed(safe)
            if self._live is None:
                if blocks:
                    self._print_blocks(blocks)
                if self._blocks.tail().strip():
                    self._start_live()  # the first token is shown at once
            else:
                # The refresher prints settled blocks and paints the region within
                # 1/MAX_FPS s; until then the region shows them as it last did.
                self._settled += blocks
                self._dirty = True

    def whole(self, text: str) -> None:
        """A saved answer, all at once: the same blocks it streamed as, printed together
        with no live region (resume, --show)."""
        if not self.markdown:
            super().whole(text)
            return
        safe = self._text.feed(text)
        blocks = self._blocks.feed(safe)
        tail = self._blocks.tail().strip("\n")
        self._blocks = Blocks()
        if tail.strip():
            blocks.append(tail)
        if blocks:
            self._print_blocks(blocks)

    def reasoning(self, piece: str) -> None:
        if not self.fancy:  # the answer only; reasoning to stderr if asked
            super().reasoning(piece)
            return
        safe = self._reasoning.feed(piece)
        if not safe:
            return
        with self._lock:
            self.thought.add(safe)
        if self.r.show_reasoning:  # expanded: dim lines that stay in the scrollback
            from rich.text import Text

            if self.thought.size == len(safe):  # the first piece: the header once
                with self._lock:
                    self.console.print(Text(THINKING_HEADER, style="dim bold"))
            self._reasoning_line += safe
            *done, self._reasoning_line = self._reasoning_line.split("\n")
            with self._lock:
                for line in done:
                    self.console.print(Text(line, style="dim italic"))
            return
        with self._lock:
            self._tail.thinking = self.thought
            if self._live is None:
                self._start_live()
            else:
                self._dirty = True

    def recast(self, into: str, text: str) -> None:
        """What was shown as one kind was the other (see `think.Recast`)."""
        if into == "answer" or not self.fancy:
            super().recast(into, text)
            return
        # The answer so far was reasoning: say so; the real answer follows.
        self._stop_live()
        self._settle_markdown()
        self.thought.recast(text)
        self.r.note("↑ That was the model's reasoning (it sent no opening <think> tag).")
        self._blocks = Blocks()
        self._printed_blocks = 0
        self._code_blocks = 0

    # ---------------------------------------------------------- output

    def _start_live(self) -> None:
        self._ready()
        from rich.live import Live

        self._tail.blocks = self._blocks
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
        """Print the blocks settled since the last repaint, in one write that repaints
        the live region below them, or only repaint it if it changed."""
        with self._lock:
            if self._dirty and self._live is not None:
                self._dirty = False
                if self._settled:
                    blocks = self._settled[:]
                    self._settled.clear()
                    self._print_blocks(blocks)
                else:
                    self._live.refresh()

    def _print_blocks(self, blocks: list[str]) -> None:
        """Print settled blocks at once: one write, one repaint of the live region."""
        self._ready()
        from chatrepl.render.drawing import Lines, label_lines, trimmed_lines

        console = self.console
        options = console.options
        lines: list[list[Segment]] = []
        for block in blocks:
            if self._printed_blocks:
                lines.append([])
            codes = code_blocks(block) if _may_hold_code(block) else []
            if codes:  # numbered, for /copy code N and /save PATH N
                first = self._code_blocks + 1
                self._code_blocks += len(codes)
                label = f"code {first}" if len(codes) == 1 else f"code {first}–{self._code_blocks}"
                language = sanitize(codes[0].language) if len(codes) == 1 else ""
                lines += label_lines(console, label + (f" · {language}" if language else ""), "dim")
            lines += trimmed_lines(console, self.r.markdown_renderable(block), options)
            self._printed_blocks += 1
        console.print(Lines(lines), crop=False)

    def _flush_reasoning(self) -> None:
        if self._reasoning_line:
            from rich.text import Text

            with self._lock:
                self.console.print(Text(self._reasoning_line, style="dim italic"))
            self._reasoning_line = ""

    def _end_thinking(self) -> None:
        """The answer starts: the reasoning collapses to one line."""
        if not self.fancy:
            super()._end_thinking()
            return
        summary = self.thought.end()
        self._flush_reasoning()
        self._stop_live()
        if summary:
            hint = "" if self.r.show_reasoning else "; /think to show"
            self.r.note(f"{summary}{hint}.")

    def _stop_live(self) -> None:
        if self._refresher is not None:
            self._refresher.stopped.set()
            self._refresher.join()
            self._refresher = None
        with self._lock:
            if self._live is not None:
                self._tail.blocks = None
                self._tail.thinking = None
                self._live.stop()
                self._live = None

    def _settle_markdown(self) -> None:
        tail = self._blocks.tail().strip("\n")
        blocks = self._settled[:]
        self._settled.clear()
        if tail.strip():
            blocks.append(tail)
        if blocks:
            self._print_blocks(blocks)
        if self._printed_blocks:
            self.console.print()  # a blank line between the answer and what follows

    def _stop(self) -> None:
        self._flush_reasoning()
        self._stop_live()

    def _settle(self) -> None:
        """Print what the live region showed, once."""
        if self.markdown:
            self._settle_markdown()
        else:
            super()._settle()
