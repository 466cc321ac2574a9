"""What draws: rich's own Markdown (`rich.markdown.Markdown`, which reads with
markdown-it-py) with one element of our own, `Code`, put in through its public `elements`
table; the console; and drawn lines without the padding rich puts around them."""

from __future__ import annotations

import functools
from typing import IO, TYPE_CHECKING, ClassVar

from pygments.lexer import Lexer
from pygments.lexers import get_lexer_by_name
from pygments.util import ClassNotFound
from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.markdown import CodeBlock, Markdown, MarkdownElement
from rich.segment import Segment, SegmentLines
from rich.style import Style
from rich.syntax import Syntax, SyntaxTheme
from rich.text import Text

from chatrepl.sanitize import sanitize

if TYPE_CHECKING:
    from markdown_it.token import Token

#: Code blocks indent tabs to this many columns.
TAB_SIZE = 4
#: Ends a row of code that does not fit the window: its line goes on in the next row.
WRAP_MARK = "↩"


@functools.cache
def lexer_for(language: str) -> Lexer:
    """Pygments' lexer for a language name (plain text for a name it does not know),
    made once per name: finding and making a lexer costs more than most blocks' code."""
    try:
        return get_lexer_by_name(language, stripnl=False, ensurenl=True, tabsize=TAB_SIZE)
    except ClassNotFound:
        return lexer_for("text")


@functools.cache
def theme_for(name: str) -> SyntaxTheme:
    return Syntax.get_theme(name)


class Code(CodeBlock):
    """A fenced or indented code block: its number (`code 2 · python`), then its code in
    the theme's colours from a Pygments lexer's tokens, only as wide as the code (not the
    window, so its background does not wrap into blank rows when the window is made
    narrower), a line too long for the window cut into rows that end in a dim `↩`."""

    number = 0
    language = ""

    @classmethod
    def create(cls, markdown: Markdown, token: Token) -> Code:
        assert isinstance(markdown, Answer)  # (the one Markdown whose elements have Code)
        language = (token.info or "").strip().partition(" ")[0]
        # (the live tail's unfinished code is not highlighted yet)
        lexer_name = "text" if markdown.plain_code or not language else language
        element = cls(lexer_name, markdown.code_theme)
        element.language = sanitize(language)
        element.number = markdown.next_code
        markdown.next_code += 1
        return element

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        label = f"code {self.number}" + (f" · {self.language}" if self.language else "")
        yield Text(label, style="dim")  # (the number is what /copy code N and /save take)
        theme = theme_for(self.theme)  # (it keeps the style of each kind of token)
        background = theme.get_background_style()
        tokens = lexer_for(self.lexer_name).get_tokens(str(self.text).rstrip())
        segments = (
            Segment(text, background + theme.get_style_for_token(kind)) for kind, text in tokens
        )
        rows = list(Segment.split_lines(segments)) or [[]]  # highlighted, a list a line
        widest = max(Segment.get_line_length(row) for row in rows)
        width = max(1, min(widest, options.max_width - 2))  # padding: one cell each side
        drawn = [[Segment(" ", background), *row] for row in fitted(rows, width, background)]
        # A blank row above and below, every row filled to the width with the background.
        drawn = Segment.set_shape([[], *drawn, []], width + 2, style=background)
        yield SegmentLines(drawn, new_lines=True)


def fitted(rows: list[list[Segment]], width: int, background: Style) -> list[list[Segment]]:
    """Lines of code cut to rows of `width` cells: each row a line goes on from ends in a
    dim WRAP_MARK, so that a long line is not taken for two."""
    mark = Segment(WRAP_MARK, background + Style(dim=True))
    out: list[list[Segment]] = []
    for row in rows:
        if Segment.get_line_length(row) <= width:
            out.append(row)
            continue
        *cut, last = Segment.divide(row, _cuts("".join(seg.text for seg in row), max(1, width - 1)))
        out += [[*piece, mark] for piece in cut]
        out.append(last)
    return out


def _cuts(text: str, most: int) -> list[int]:
    """Where to cut `text` (in cells) into pieces of at most `most` cells, never inside
    a character: a wide one that does not fit goes to the next piece."""
    cuts, at = [0], 0
    for cells in map(cell_len, text):
        if at + cells - cuts[-1] > most and at > cuts[-1]:
            cuts.append(at)
        at += cells
    return [*cuts[1:], at]


class Answer(Markdown):
    """rich's Markdown of (part of) an answer: links show their target, and code blocks
    are numbered from `first_code`; `plain_code` leaves code unhighlighted."""

    elements: ClassVar[dict[str, type[MarkdownElement]]] = {
        **Markdown.elements,
        "fence": Code,
        "code_block": Code,
    }

    def __init__(
        self, source: str, code_theme: str, first_code: int = 1, plain_code: bool = False
    ) -> None:
        super().__init__(source, code_theme=code_theme, hyperlinks=False)
        self.next_code = first_code
        self.plain_code = plain_code


def make_console(
    file: IO[str],
    *,
    plain: bool = False,
    force_terminal: bool | None = None,
    width: int | None = None,
) -> Console:
    return Console(
        file=file,
        no_color=plain or None,
        force_terminal=force_terminal,
        color_system=None if plain else "auto",
        highlight=False,
        emoji=False,
        markup=False,
        width=width,
    )


def blank(line: list[Segment]) -> bool:
    """A line that shows nothing: only spaces, and no background colour."""
    return all(
        not seg.text.strip() and not (seg.style and seg.style.bgcolor)
        for seg in line
        if not seg.control
    )


def _rstrip(line: list[Segment]) -> list[Segment]:
    """Drop the padding rich adds to the right of a line, unless it shows a background:
    padded lines would wrap into blank ones when the terminal is made narrower."""
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


def trimmed(
    lines: list[list[Segment]], start: bool = True, end: bool = True
) -> list[list[Segment]]:
    """Drawn lines without the blank lines at their start and (or) their end."""
    first, last = 0, len(lines)
    while start and first < last and blank(lines[first]):
        first += 1
    while end and last > first and blank(lines[last - 1]):
        last -= 1
    return lines[first:last]


def drawn_lines(
    console: Console, renderable: RenderableType, options: ConsoleOptions
) -> list[list[Segment]]:
    """Render, without the padding rich puts to the right of each line."""
    return [_rstrip(line) for line in console.render_lines(renderable, options, pad=False)]
