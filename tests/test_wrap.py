"""render.wrap: the lines and segments of rich's Text.wrap(justify="left") and
Text.render, for any text it takes on; None for text it leaves to rich."""

from __future__ import annotations

import io
import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.console import Console
from rich.style import Style
from rich.text import Text

from chatrepl.render.wrap import left_lines

CONSOLE = Console(file=io.StringIO(), width=80, force_terminal=True, color_system="truecolor")
STYLES = [Style.null(), Style(bold=True), Style(italic=True, color="red"),
          Style(bgcolor="blue"), "markdown.code", "bold underline", ""]  # fmt: skip
PIECES = st.lists(
    st.tuples(
        st.text(alphabet="ab xyz.,-_`*", max_size=14)
        | st.sampled_from(["configuration", "  ", " ", "averyveryveryverylongword", "x"]),
        st.sampled_from(STYLES),
    ),
    max_size=25,
)


def rich_lines(text: Text, width: int) -> list[list[object]]:
    wrapped = text.wrap(CONSOLE, width, justify="left", overflow="fold")
    return [list(line.render(CONSOLE, end="")) for line in wrapped]


def made(pieces: list[tuple[str, Style | str]], base: str) -> Text:
    text = Text(style=base, justify="left")
    for value, style in pieces:
        text.append(value, style)
    return text


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(PIECES, st.integers(min_value=1, max_value=40), st.sampled_from(["", "italic"]),
       st.lists(st.tuples(st.integers(0, 60), st.integers(0, 60)), max_size=2))  # fmt: skip
def test_the_lines_rich_draws(
    pieces: list[tuple[str, Style | str]], width: int, base: str, extra: list[tuple[int, int]]
) -> None:
    text = made(pieces, base)
    for start, end in extra:  # overlapping spans, as a table header's stylize adds
        text.stylize("bold", start, end)
    ours = left_lines(CONSOLE, text.copy(), width)
    if ours is None:  # only for a word (with the spaces before it) wider than the line
        words = re.finditer(r"\s*\S+\s*", text.plain)
        assert any(len(word.group().rstrip()) > width for word in words)
        return
    assert ours == rich_lines(text, width)


def test_text_it_leaves_to_rich() -> None:
    for plain in ["wide 中文 characters", "tab\there", "new\nline", "combining é", "\x7f"]:
        assert left_lines(CONSOLE, Text(plain), 40) is None
    assert left_lines(CONSOLE, Text("a word too long for it"), 3) is None
    assert left_lines(CONSOLE, Text("fits"), 0) is None


def test_an_empty_text_is_one_padded_line() -> None:
    assert left_lines(CONSOLE, Text(""), 5) == rich_lines(Text(""), 5)


@settings(max_examples=600, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    st.lists(st.sampled_from(["a", "bc", "def", " ", "  ", "configuration", "x" * 12])).map(
        "".join
    ),
    st.integers(min_value=1, max_value=20),
)
def test_line_breaks_are_richs(plain: str, width: int) -> None:
    """Where lines break, found from the character at the edge of each line, is where
    rich's word-by-word divide_line breaks them (None where rich folds a word)."""
    from rich._wrap import divide_line, words

    from chatrepl.render.wrap import _breaks

    folds = any(len(word.rstrip()) > width for _, _, word in words(plain))
    assert _breaks(plain, width) == (None if folds else divide_line(plain, width, fold=True))
