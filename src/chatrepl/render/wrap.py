"""Text wrapped and rendered as rich's `Text.wrap(justify="left")` and `Text.render` do,
in a fraction of their time, for the text most answers are made of.

rich makes a `Text` for every line, crops the styled spans into each with a binary
search, pads it, then sorts the spans again to render it. For text where every
character takes one cell (printable ASCII, no tabs or new lines) and no word is wider
than the line, the same lines and segments come from the plain text and the spans
directly. Anything else (wide or combining characters, a word to fold) returns None,
and rich draws it. Tests compare the two over generated paragraphs.
"""

from __future__ import annotations

import itertools
import re
from operator import itemgetter
from typing import TYPE_CHECKING

from rich.segment import Segment
from rich.style import Style

if TYPE_CHECKING:
    from rich.console import Console
    from rich.text import Text

_WORD = re.compile(r"\s*\S+\s*")  # rich._wrap's word: with the spaces around it
_TRAILING_SPACE = re.compile(r"\s+$")

#: A span as (start, end, style), in the order of the Text's spans.
Span = tuple[int, int, "str | Style"]


def _breaks(plain: str, width: int) -> list[int] | None:
    """rich._wrap.divide_line(plain, width) where a character is a cell and the only
    space is " " (printable ASCII); None if a word is wider than `width` (rich folds it).

    A line from `start` takes every word whose last character is within `width` of it:
    the next line starts at the first word past that, found by looking at the character
    `width` cells on, not at every word."""
    if plain.startswith(" "):  # (the first word holds the spaces before it)
        return _word_breaks(plain, width)
    breaks: list[int] = []
    start = 0
    end = len(plain.rstrip(" "))
    while end - start > width:
        limit = start + width
        if plain[limit] == " ":  # the words before it fit; the next starts past spaces
            limit += 1
            while plain[limit] == " ":
                limit += 1
        else:  # the word over the edge starts the next line
            space = plain.rfind(" ", start, limit)
            if space < start:
                return None  # a word wider than the line
            limit = space + 1
        breaks.append(limit)
        start = limit
    return breaks


def _word_breaks(plain: str, width: int) -> list[int] | None:
    """`_breaks` word by word, as rich does it."""
    breaks: list[int] = []
    used = 0
    for word in _WORD.finditer(plain):
        start, end = word.span()
        size = len(word.group().rstrip())
        if width - used >= size:
            used += end - start
        elif size > width:
            return None
        elif used and start:
            breaks.append(start)
            used = end - start
    return breaks


def left_lines(console: Console, text: Text, width: int) -> list[list[Segment]] | None:
    """`[list(line.render(console)) for line in text.wrap(console, width,
    justify="left", overflow="fold")]`, or None where rich must do it."""
    plain = text.plain
    if not (plain.isascii() and plain.isprintable()) or width < 1:
        return None
    breaks = _breaks(plain, width)
    if breaks is None:
        return None
    spans: list[Span] = [(span.start, span.end, span.style) for span in text.spans]
    base = text.style
    edges = [0, *breaks, len(plain)]
    lines = []
    for start, end in itertools.pairwise(edges):
        line = plain[start:end]
        # Text.divide: each span cut to the line, where it shows on it
        own = [
            (max(0, s - start), min(e, end) - start, style)
            for s, e, style in spans
            if min(e, end) - start > max(0, s - start)
        ]
        if len(line) > width:  # Text.rstrip_end: spaces past the width go
            found = _TRAILING_SPACE.search(line)
            if found is not None:
                cut = len(line) - min(len(found.group()), len(line) - width)
                line = line[:cut]
                own = [(s, min(e, cut), style) for s, e, style in own if s < cut]
        line += " " * (width - len(line))  # justified left: padded to the width
        lines.append(render_line(console, line, own, base))
    return lines


def render_line(console: Console, line: str, spans: list[Span], base: str | Style) -> list[Segment]:
    """Text.render for one line: a segment wherever the spans over it change."""
    if not spans:
        return [Segment(line)]
    null = Style.null()
    styles = {n: console.get_style(style, default=null) for n, (_, _, style) in
              enumerate(spans, 1)}  # fmt: skip
    styles[0] = console.get_style(base, default=null)
    edges = sorted(
        [(0, False, 0), *((s, False, n) for n, (s, _, _) in enumerate(spans, 1)),
         *((e, True, n) for n, (_, e, _) in enumerate(spans, 1)), (len(line), True, 0)],
        key=itemgetter(0, 1),
    )  # fmt: skip
    stack: list[int] = []
    made: dict[tuple[Style, ...], Style] = {}
    out = []
    for (offset, leaving, n), (next_offset, _, _) in itertools.pairwise(edges):
        if leaving:
            stack.remove(n)
        else:
            stack.append(n)
        if next_offset > offset:
            key = tuple(styles[k] for k in sorted(stack))
            style = made.get(key)
            if style is None:
                style = made[key] = Style.combine(key)
            out.append(Segment(line[offset:next_offset], style))
    return out
