"""Rich building blocks: the Markdown renderable with its shared parser, the console,
and rendered lines without the padding rich puts around them."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Iterator
from typing import IO, TYPE_CHECKING, Any, ClassVar

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.segment import Segment
from rich.style import Style

from chatrepl.render.lexers import lexer

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
    from rich.markdown import CodeBlock, Markdown, MarkdownElement

    parser = MarkdownIt().enable("strikethrough").enable("table")

    class FittedCodeBlock(CodeBlock):
        """A code block drawn by `code_block_lines`."""

        def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
            code = str(self.text).rstrip()
            for line in code_block_lines(console, options, code, self.lexer_name, self.theme):
                yield from line
                yield Segment.line()

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


#: rich's own code themes (rich.syntax.RICH_SYNTAX_THEMES), drawn by its Syntax.
ANSI_THEMES = ("ansi_dark", "ansi_light")


class _Theme:
    """A code theme's styles on its background, made once per token and per look; each
    with the number of its look (`space_look`: equal numbers, the same look)."""

    def __init__(self, base: Style, style_for: Callable[[Any], Style]) -> None:
        self.base = base
        self.style_for = style_for
        self.by_token: dict[Any, tuple[Style, int]] = {}
        self.same: dict[Style, Style] = {}  # one object for equal styles
        self.looks: dict[tuple[Any, ...], int] = {}
        self.base_look = self.look(base)

    def look(self, style: Style) -> int:
        return self.looks.setdefault(space_look(style), len(self.looks))

    def style(self, token: Any) -> tuple[Style, int]:
        found = self.by_token.get(token)
        if found is None:
            made = self.base + self.style_for(token)
            style = self.same.setdefault(made, made)
            found = self.by_token[token] = (style, self.look(style))
        return found


#: A code theme as plain data: its background, and for each token type it styles (as a
#: tuple of names), its colour, background, bold, italic and underline.
ThemeTable = tuple[str, dict[tuple[str, ...], tuple[str, str, bool, bool, bool]]]


def _theme_table(theme: str) -> ThemeTable:
    """What Pygments' style `theme` (else "default") gives each token type."""
    from pygments.styles import get_style_by_name  # type: ignore[import-untyped]
    from pygments.util import ClassNotFound  # type: ignore[import-untyped]

    try:
        pygments_style = get_style_by_name(theme)
    except ClassNotFound:
        pygments_style = get_style_by_name("default")
    by_token = {}
    for token in pygments_style._styles:
        found = pygments_style.style_for_token(token)
        by_token[tuple(token)] = (found["color"] or "", found["bgcolor"] or "",
                                  bool(found["bold"]), bool(found["italic"]),
                                  bool(found["underline"]))  # fmt: skip
    return pygments_style.background_color or "", by_token


def _theme_table_is_whole(table: Any) -> bool:
    kinds = (str, str, bool, bool, bool)
    return (
        isinstance(table, tuple)
        and len(table) == 2
        and isinstance(table[0], str)
        and isinstance(table[1], dict)
        and all(
            isinstance(token, tuple)
            and isinstance(entry, tuple)
            and len(entry) == 5
            and all(isinstance(v, kind) for v, kind in zip(entry, kinds, strict=True))
            for token, entry in table[1].items()
        )
    )


@functools.cache
def _token_styles(theme: str) -> _Theme | None:
    """A theme's background style and token styles; None for a theme without a
    background (rich's Syntax draws those).

    The styles are made as rich.syntax's PygmentsSyntaxTheme makes them, without
    importing rich.syntax (a test compares them); rich's own ANSI themes have no
    background. The theme's table is kept in the regex file, so a run that has it
    imports none of Pygments' styles (nor, with them, its utilities and `html`).
    """
    from pygments import __version__ as version  # type: ignore[import-untyped]

    from chatrepl.render import regex_cache

    if theme in ANSI_THEMES:
        return None
    key = ("theme", 1, version, theme)
    # (a damaged table is made again and kept in its place)
    background, by_token = regex_cache.kept(
        key, lambda: _theme_table(theme), tuple, valid=_theme_table_is_whole
    )
    base = Style(bgcolor=background or None)
    if base.transparent_background:
        return None

    def style_for(token: Any) -> Style:
        found = by_token.get(token)
        if found is None:
            return Style.null()
        color, bgcolor, bold, italic, underline = found
        return Style(
            color="#" + color if color else "#000000",
            bgcolor="#" + bgcolor if bgcolor else background,
            bold=bold,
            italic=italic,
            underline=underline,
        )

    return _Theme(base, style_for)


@functools.cache
def space_look(style: Style) -> tuple[Any, ...]:
    """What of a style shows on a space: its background and lines, not its colour or
    weight. Spaces of the same look can take either style."""
    lines = (style.underline, style.underline2, style.strike, style.overline, style.reverse,
             style.blink, style.blink2, style.conceal)  # fmt: skip
    return (style.bgcolor, style.link, *(bool(flag) for flag in lines))


def _tokens(code: str, lexer_name: str, ascii: bool) -> Iterator[tuple[int, Any, str]]:
    """Pygments' tokens of `code` (tabs expanded, ending in a new line), with where each
    starts: its lexer's own, for code Pygments would not tidy first."""
    found = lexer(lexer_name, ascii)
    if "\r" in code or code.startswith("\ufeff"):
        return ((0, token, value) for token, value in found.get_tokens(code))
    tokens: Iterator[tuple[int, Any, str]] = found.get_tokens_unprocessed(code)
    return tokens


_segment = functools.partial(tuple.__new__, Segment)  # Segment((text, style, None)), in C


def code_lines(code: str, lexer_name: str, theme: str, width: int) -> list[list[Segment]] | None:
    """Highlighted code as lines of segments, padded by one cell all round and to
    `width` columns; None when rich's Syntax must draw it (see FittedCodeBlock).

    The cells are rich's Syntax's, with fewer segments (each costs an escape code):
    neighbouring tokens of the same style make one, and spaces join the token beside
    them when they look the same there (`space_look`)."""
    found = _token_styles(theme)
    if found is None:
        return None
    base, base_look = found.base, found.base_look
    # runs of [text, style, spaces only, look]
    row: list[list[Any]] = [[" ", base, True, base_look]]
    rows = [row]
    last = row[0]
    used: list[int] = []  # cells of each row but the last
    count = 0  # cells of the last row
    code = code.expandtabs(4) + "\n"
    ascii = code.isascii()
    measure = len if ascii else cell_len  # an ASCII character takes one cell
    known = found.by_token.get
    for _, token, value in _tokens(code, lexer_name, ascii):
        pair = known(token)
        if pair is None:
            pair = found.style(token)
        style, look = pair
        first = True
        for part in value.split("\n") if "\n" in value else (value,):
            if first:
                first = False
            else:  # a new line
                used.append(count)
                count = 0
                row = [[" ", base, True, base_look]]
                rows.append(row)
                last = row[0]
            if not part:
                continue
            count += measure(part)
            blank = not part.strip(" ")
            if last[1] is style:
                last[0] += part
                if not blank:
                    last[2] = False
            elif last[3] == look and (blank or last[2]):
                last[0] += part  # spaces in the look of what is before them
                if not blank:  # or what was spaces takes this token's style
                    last[1], last[2] = style, False
            else:
                last = [part, style, blank, look]
                row.append(last)
    used.append(count)
    if len(rows) > 1 and used[-1] == 0:
        rows.pop()  # the newline the lexer ensures
        used.pop()
    if max(used) > width:
        return None
    lines = []
    for row, n in zip(rows, used, strict=True):
        pad = " " * (width - n + 1)
        end = row[-1]
        if end[3] == base_look:
            end[0] += pad
        else:
            row.append([pad, base])
        lines.append([_segment((run[0], run[1], None)) for run in row])
    blank_line = [Segment(" " * (width + 2), base)]
    return [blank_line, *lines, blank_line]


def code_block_lines(
    console: Console, options: ConsoleOptions, code: str, lexer_name: str, theme: str
) -> list[list[Segment]]:
    """A code block only as wide as its code, not the window: its background then does
    not wrap into blank rows when the terminal is made narrower.

    Code that fits is drawn straight from Pygments' tokens (`code_lines`), the same
    cells and colours rich's Syntax draws at a fraction of its cost; code that must
    wrap, or a theme without a background, goes through Syntax.
    """
    widest = max((cell_len(line.expandtabs(4)) for line in code.splitlines()), default=1)
    width = max(1, min(widest, options.max_width - 2))  # padding: one cell each side
    lines = code_lines(code, lexer_name, theme, width) if widest == width else None
    if lines is not None:
        return lines
    from rich.constrain import Constrain
    from rich.syntax import Syntax

    syntax = Syntax(code, lexer_name, theme=theme, word_wrap=True, padding=1)
    return console.render_lines(Constrain(syntax, width + 2), options, pad=False)


def rich_markdown(source: str, code_theme: str = "monokai") -> Markdown:
    """rich's Markdown renderable for `source` (see `render.layout.markdown`)."""
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


_UNSEEN = (None, None, *(False,) * 8)  # the space_look of a style that shows nothing


def _rstrip(line: list[Segment]) -> list[Segment]:
    """Drop the padding rich adds to the right of a line, unless it shows a background,
    and write spaces whose style shows nothing on them (a table's border colour, say)
    without it: one escape code fewer each.

    Padded lines would wrap into blank ones when the terminal is made narrower.
    """
    line = list(line)
    for n, (text, style, control) in enumerate(line):
        if not text.strip(" ") and style and not control and space_look(style) == _UNSEEN:
            line[n] = Segment(text)
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
    draw_lines = getattr(renderable, "draw_lines", None)  # render.layout.Layout
    if draw_lines is not None:
        lines: list[list[Segment]] = draw_lines(console, options)
    else:
        lines = console.render_lines(renderable, options, pad=False)
    start, end = 0, len(lines)
    while start < end and _blank(lines[start]):
        start += 1
    while end > start and _blank(lines[end - 1]):
        end -= 1
    return [_rstrip(line) for line in lines[start:end]]


def label_lines(console: Console, label: str, style: str) -> list[list[Segment]]:
    """`trimmed_lines` of `Text(label, style=style)`: one segment when the label fits
    the console's width on one line (a code block's `code 2 · python`)."""
    width = console.options.max_width
    if label.isprintable() and label.strip(" ") == label and 0 < cell_len(label) <= width:
        return [[Segment(label, console.get_style(style))]]
    from rich.text import Text

    return trimmed_lines(console, Text(label, style=style), console.options)


class Lines:
    """Lines already drawn (each no wider than the console), printed as they are: one
    list of segments for rich to write, and no cropping of what fits already."""

    def __init__(self, lines: list[list[Segment]]) -> None:
        self.lines = lines

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        end = Segment.line()
        out: list[Segment] = []
        for line in self.lines:
            out += line
            out.append(end)
        return out
