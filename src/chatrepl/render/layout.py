"""Markdown drawn as rich's Markdown draws it, for what `render.reading` reads.

`markdown` gives a `Layout` of the elements `reading.parse` finds, or rich's Markdown
(markdown-it) when it is unsure. `Layout` draws with the calls rich's Markdown elements
make (rich 15), so a block looks the same either way (tests compare the two over
generated Markdown); what it saves is markdown-it's import, some 25 ms, its parse of
every block, and for tables rich.table's measuring machinery.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.segment import Segment
from rich.style import Style
from rich.text import Text

from chatrepl.render.drawing import code_block_lines, rich_markdown
from chatrepl.render.inline import Piece
from chatrepl.render.reading import (
    Code,
    Element,
    Heading,
    ListBlock,
    Paragraph,
    Quote,
    Rule,
    Table,
    parse,
)
from chatrepl.render.wrap import Span, left_lines, render_line

if TYPE_CHECKING:
    from rich.console import JustifyMethod


def markdown(source: str, code_theme: str = "monokai", lenient: bool = False) -> RenderableType:
    """`source` drawn as Markdown: by `Layout` when `parse` reads it, else by rich."""
    elements = parse(source, lenient)
    if elements is None:
        return rich_markdown(source, code_theme)
    return Layout(elements, code_theme)


Lines = list[list[Segment]]


class _Styles:
    """The styles rich's Markdown stacks up (`markdown.item`, then `markdown.paragraph`,
    then `markdown.strong`...), each made once per drawing."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.base = console.get_style("none", default="none")
        self.made: dict[tuple[str, ...], Style] = {}

    def style(self, names: tuple[str, ...]) -> Style:
        found = self.made.get(names)
        if found is None:
            found = self.base
            for name in names:
                found = found + self.console.get_style(name, default="none")
            self.made[names] = found
        return found

    def text(self, pieces: list[Piece], outer: tuple[str, ...], justify: JustifyMethod) -> Text:
        result = Text(justify=justify)
        for value, names in pieces:
            result.append(value, self.style(outer + names))
        return result


class Layout:
    """Elements drawn as rich's Markdown draws them (rich 15), with no markdown-it.

    `draw_lines` gives the drawing as lines, which `drawing.trimmed_lines` takes as they are:
    what rich's Markdown yields goes through rich's line splitting once more.
    """

    def __init__(self, elements: list[Element], code_theme: str) -> None:
        self.elements = elements
        self.code_theme = code_theme

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        for line in self.draw_lines(console, options):
            yield from line
            yield Segment.line()

    def draw_lines(self, console: Console, options: ConsoleOptions) -> Lines:
        options = options.update(height=None)
        styles = _Styles(console)
        out: Lines = []
        for n, element in enumerate(self.elements):
            # A blank line between elements; after a rule (which draws its own) only
            # before what rich renders when its inner elements have closed.
            if n and (
                not isinstance(self.elements[n - 1], Rule)
                or isinstance(element, ListBlock | Table | Quote)
            ):
                out.append([])
            if isinstance(element, Paragraph):
                body = styles.text(element.pieces, ("markdown.paragraph",), "left")
                out += _text_lines(console, body, options)
            elif isinstance(element, Heading):
                justify: JustifyMethod = "center" if element.level == 1 else "left"
                body = styles.text(element.pieces, (f"markdown.h{element.level}",), justify)
                out += _text_lines(console, body, options)
            elif isinstance(element, Code):
                out += code_block_lines(console, options, element.code.rstrip(), element.lexer,
                                        self.code_theme)  # fmt: skip
            elif isinstance(element, ListBlock):
                out += _list(console, options, element, styles)
            elif isinstance(element, Rule):
                from rich.rule import Rule as RichRule

                hr = RichRule(
                    style=console.get_style("markdown.hr", default="none"), characters="-"
                )
                out += [*console.render_lines(hr, options, pad=False), []]
            elif isinstance(element, Quote):
                out += _quote(console, options, element, styles)
            else:
                out += _table(console, options, element, styles)
        return out


def _list(
    console: Console, options: ConsoleOptions, block: ListBlock, styles: _Styles, depth: int = 1
) -> Lines:
    """A list as rich's ListElement draws it: each item's paragraph, then the list
    nested under it, drawn in the item's width with the item's style under it."""
    names = ("markdown.item",) * depth
    item_style = styles.style(names)
    if block.ordered:
        last = block.start + len(block.items)
        width = len(str(last)) + 2
        marker_style = console.get_style("markdown.item.number", default="none")
    else:
        width = 3
        marker_style = console.get_style("markdown.item.bullet", default="none")
    padding = Segment(" " * width, marker_style)
    render_options = options.update(width=options.max_width - width)
    out: Lines = []
    for index, (pieces, nested) in enumerate(block.items):
        body = styles.text(pieces, (*names, "markdown.paragraph"), "left")
        lines = _text_lines(console, body, render_options, item_style)
        if nested is not None:
            inner = render_options.max_width
            for line in _list(console, render_options, nested, styles, depth + 1):
                lines.append(_under(line, item_style, inner))
        if block.ordered:
            first = Segment(f"{block.start + index}".rjust(width - 1) + " ", marker_style)
        else:
            first = Segment(" • ", marker_style)
        for k, line in enumerate(lines):
            out.append([padding if k else first, *line])
    return out


def _quote(console: Console, options: ConsoleOptions, quote: Quote, styles: _Styles) -> Lines:
    """A block quote as rich's BlockQuote draws it: its paragraphs one under the other
    (rich puts no blank line between them), each line after a bar."""
    quote_style = styles.style(("markdown.block_quote",))
    inner = options.update(width=options.max_width - 4)
    bar = Segment("▌ ", quote_style)
    out: Lines = []
    for paragraph in quote.paragraphs:
        body = styles.text(paragraph.pieces, ("markdown.block_quote", "markdown.paragraph"), "left")
        out += [[bar, *line] for line in _text_lines(console, body, inner, quote_style)]
    return out


class _Cell:
    """A table cell of printable ASCII: its text and spans as the `Text` rich's Markdown
    makes of it would hold them, drawn as that `Text` draws (`render.wrap.render_line`)
    without making it."""

    __slots__ = ("cell_len", "justify", "plain", "spans")

    def __init__(self, plain: str, spans: list[Span], justify: JustifyMethod) -> None:
        self.plain, self.spans, self.justify = plain, spans, justify
        self.cell_len = len(plain)

    @classmethod
    def made(
        cls, pieces: list[Piece], styles: _Styles, justify: JustifyMethod, header: bool
    ) -> _Cell | None:
        """As `Text.append` of each piece (then `stylize` for a header); None for text
        that is not all printable ASCII."""
        spans: list[Span] = []
        start = 0
        for value, names in pieces:
            if value:
                style = styles.style(names)
                if style:
                    spans.append((start, start + len(value), style))
                start += len(value)
        plain = "".join(value for value, _ in pieces)
        if not (plain.isascii() and plain.isprintable()):
            return None
        if header and plain:
            spans.append((0, len(plain), "markdown.table.header"))
        return cls(plain, spans, justify)

    def line(self, console: Console, width: int, null: Style) -> list[Segment]:
        """`_cell_line` of the `Text`: padded to `width` as justified, then rendered."""
        spare = width - self.cell_len
        justify, line, spans = self.justify, self.plain, self.spans
        if justify == "left":
            line += " " * spare
        elif justify == "center":
            left = spare // 2
            line = " " * left + line + " " * (spare - left)
            spans = [(s + left, e + left, style) for s, e, style in spans]
        elif justify == "right":
            line = " " * spare + line
            spans = [(s + spare, e + spare, style) for s, e, style in spans]
        out = render_line(console, line, spans, "")
        if justify not in ("left", "center", "right") and spare:
            out.append(Segment(" " * spare, null))
        return out


def _table(console: Console, options: ConsoleOptions, table: Table, styles: _Styles) -> Lines:
    def text(pieces: list[Piece], justify: JustifyMethod, header: bool) -> Text:
        made = styles.text(pieces, (), justify)
        if header:
            made.stylize("markdown.table.header")
        return made

    def cells(row: list[list[Piece]], header: bool = False) -> list[Text | _Cell]:
        """Each cell as a `_Cell` where it can be, else as rich's `Text`."""
        return [
            _Cell.made(pieces, styles, justify, header) or text(pieces, justify, header)
            for pieces, justify in zip(row, table.aligns, strict=True)
        ]

    header = cells(table.header, header=True)
    fitted = _fitted_table(console, options, header, [cells(row) for row in table.rows])
    if fitted is not None:
        return fitted
    from rich import box
    from rich.table import Table as RichTable

    drawn = RichTable(
        box=box.SIMPLE,
        pad_edge=False,
        style="markdown.table.border",
        show_edge=True,
        collapse_padding=True,
    )
    for pieces, justify in zip(table.header, table.aligns, strict=True):
        drawn.add_column(text(pieces, justify, True))
    for row in table.rows:
        drawn.add_row(*(text(p, align, False) for p, align in zip(row, table.aligns, strict=True)))
    return console.render_lines(drawn, options, pad=False)


def _fitted_table(
    console: Console,
    options: ConsoleOptions,
    header: list[Text | _Cell],
    rows: list[list[Text | _Cell]],
) -> Lines | None:
    """The table rich's Markdown draws (rich.table with a SIMPLE box, no edge padding,
    collapsed padding) when every cell fits on one line, drawn without rich.table's
    measuring and padding machinery; None when rich must draw it. (A cell is one line
    of the source: it holds no new line.)"""
    from rich import box

    if options.ascii_only or options.legacy_windows:
        return None  # rich swaps the box's lines for others
    last = len(header) - 1
    widths = []  # content and right padding, as rich.table measures them
    for n, column in enumerate(zip(header, *rows, strict=True)):
        widest = max(cell.cell_len for cell in column)
        widths.append(widest + (n < last) or 1)
    if sum(widths) > options.max_width - 2 - last:
        return None
    border = console.get_style("markdown.table.border") + console.get_style("")
    header_style = console.get_style("table.header") + console.get_style("")
    null = Style.null()
    out: Lines = [[Segment(box.SIMPLE.get_top(widths), border)]]
    divider = Segment(box.SIMPLE.head_vertical, Style().background_style + border)
    all_rows = [header, *rows]
    for index, row in enumerate(all_rows):
        if index == 0:
            left, right = box.SIMPLE.head_left, box.SIMPLE.head_right
        elif index == len(all_rows) - 1:
            left, right = box.SIMPLE.foot_left, box.SIMPLE.foot_right
        else:
            left, right = box.SIMPLE.mid_left, box.SIMPLE.mid_right
        base = header_style if index == 0 else null
        drawn = [Segment(left, border)]
        for n, (cell, width) in enumerate(zip(row, widths, strict=True)):
            pad = 1 if n < last else 0
            if isinstance(cell, _Cell):
                line = cell.line(console, width - pad, null)
            else:
                line = _cell_line(console, cell, width - pad, null)
            if pad:
                line = [*line, Segment(" ", null)]
            drawn.extend(Segment.apply_style(line, base) if base else line)
            if n < last:
                drawn.append(divider)
        drawn.append(Segment(right, border))
        out.append(drawn)
        if index == 0:
            out.append([Segment(box.SIMPLE.get_row(widths, "head", edge=True), border)])
    out.append([Segment(box.SIMPLE.get_bottom(widths), border)])
    return out


def _cell_line(console: Console, cell: Text, width: int, null: Style) -> list[Segment]:
    """A one-line cell that fits `width`, as rich's Text.wrap justifies it and
    render_lines pads it (a cell's text has no tabs, new lines or spaces at its ends)."""
    spare = width - cell.cell_len
    justify = cell.justify
    if justify == "left":
        cell.pad_right(spare)
    elif justify == "center":
        cell.pad_left(spare // 2)
        cell.pad_right(spare - spare // 2)
    elif justify == "right":
        cell.pad_left(spare)
    line = list(cell.render(console, end=""))
    if justify not in ("left", "center", "right") and spare:
        line.append(Segment(" " * spare, null))
    return line


def _text_lines(
    console: Console, text: Text, options: ConsoleOptions, style: Style | None = None
) -> Lines:
    """`console.render_lines(text, options)` (with `style` under it and padded, if
    given) for text with no tabs: wrapped as rich's Text.wrap wraps it (by `render.wrap`
    where it can, else by Text.wrap itself), without the rendering machinery around
    it."""
    width = options.max_width
    justify = text.justify or options.justify or "default"
    overflow = text.overflow or options.overflow or "fold"
    no_wrap = bool(text.no_wrap or options.no_wrap)
    lines = None
    if justify == "left" and overflow == "fold" and not no_wrap:
        lines = left_lines(console, text, width)  # the same, faster, for most text
    if lines is None:
        wrapped = text.wrap(console, width, justify=justify, overflow=overflow, no_wrap=no_wrap)
        lines = [list(line.render(console, end="")) for line in wrapped]
    return [_under(line, style, width) for line in lines] if style else lines


def _under(line: list[Segment], style: Style, width: int) -> list[Segment]:
    """`line` with `style` under its own and padded in it to `width`, as render_lines
    does with a style."""
    line = list(Segment.apply_style(line, style))
    spare = width - Segment.get_line_length(line)
    return [*line, Segment(" " * spare, style)] if spare > 0 else line
