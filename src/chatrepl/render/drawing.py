"""Rich building blocks: the Markdown renderable with its shared parser, the console,
and rendered lines without the padding rich puts around them."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import IO, TYPE_CHECKING, Any, ClassVar

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.segment import Segment
from rich.style import Style

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
    from rich.constrain import Constrain
    from rich.markdown import CodeBlock, Markdown, MarkdownElement
    from rich.syntax import Syntax

    parser = MarkdownIt().enable("strikethrough").enable("table")

    class FittedCodeBlock(CodeBlock):
        """A code block only as wide as its code, not the window: its background then
        does not wrap into blank rows when the terminal is made narrower.

        Code that fits is drawn straight from Pygments' tokens (`code_lines`), the same
        cells and colours rich's Syntax draws at a fraction of its cost; code that must
        wrap, or a theme without a background, goes through Syntax.
        """

        def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
            code = str(self.text).rstrip()
            widest = max((cell_len(line.expandtabs(4)) for line in code.splitlines()), default=1)
            width = max(1, min(widest, options.max_width - 2))  # padding: one cell each side
            lines = (
                code_lines(code, self.lexer_name, self.theme, width) if widest == width else None
            )
            if lines is not None:
                for line in lines:
                    yield from line
                    yield Segment.line()
                return
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


@functools.cache
def _lexer(name: str) -> Any:
    """A Pygments lexer, made once per name (rich's Syntax looks one up at every use)."""
    from pygments.lexers import get_lexer_by_name  # type: ignore[import-untyped]
    from pygments.util import ClassNotFound  # type: ignore[import-untyped]

    try:
        return get_lexer_by_name(name or "text", stripnl=False, ensurenl=True, tabsize=4)
    except ClassNotFound:
        return get_lexer_by_name("text", stripnl=False, ensurenl=True, tabsize=4)


@functools.cache
def _token_styles(theme: str) -> tuple[Style, Callable[[Any], Style], dict[Any, Style]] | None:
    """A theme's background style, its token styles and a cache of those on that
    background; None for a theme without a background (rich's Syntax draws those)."""
    from rich.syntax import Syntax

    syntax_theme = Syntax.get_theme(theme)
    base = syntax_theme.get_background_style()
    if base.transparent_background:
        return None
    return base, syntax_theme.get_style_for_token, {}


def code_lines(code: str, lexer_name: str, theme: str, width: int) -> list[list[Segment]] | None:
    """Highlighted code as lines of segments, padded by one cell all round and to
    `width` columns; None when rich's Syntax must draw it (see FittedCodeBlock)."""
    styles = _token_styles(theme)
    if styles is None:
        return None
    base, style_for, cache = styles
    rows: list[list[Segment]] = [[Segment(" ", base)]]
    used = [0]
    for token, value in _lexer(lexer_name).get_tokens(code.expandtabs(4) + "\n"):
        style = cache.get(token)
        if style is None:
            style = cache[token] = base + style_for(token)
        parts = value.split("\n")
        for n, part in enumerate(parts):
            if n:
                rows.append([Segment(" ", base)])
                used.append(0)
            if part:
                rows[-1].append(Segment(part, style))
                used[-1] += cell_len(part)
    if len(rows) > 1 and used[-1] == 0 and len(rows[-1]) == 1:
        rows.pop()  # the newline the lexer ensures
        used.pop()
    if any(n > width for n in used):
        return None
    for row, n in zip(rows, used, strict=True):
        row.append(Segment(" " * (width - n + 1), base))
    blank = [Segment(" " * (width + 2), base)]
    return [blank, *rows, blank]


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
