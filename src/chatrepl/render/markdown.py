"""Rich building blocks: the Markdown renderable with its shared parser, the console,
and rendered lines without the padding rich puts around them."""

from __future__ import annotations

import functools
import sys
from typing import IO, TYPE_CHECKING, ClassVar

from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.segment import Segment

if TYPE_CHECKING:
    from rich.markdown import Markdown


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


class Trimmed:
    """A renderable without the blank lines rich puts around it."""

    def __init__(self, renderable: RenderableType) -> None:
        self.renderable = renderable

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        for line in trimmed_lines(console, self.renderable, options):
            yield from line
            yield Segment.line()
