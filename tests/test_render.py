"""Rendering: block splitting, literal untrusted text, links, code, wide characters."""

from __future__ import annotations

import io
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.markdown import Markdown

from chatrepl.conversation import Conversation
from chatrepl.render import Renderer
from chatrepl.render.drawing import Answer, make_console
from chatrepl.render.source import Batch, Source
from chatrepl.render.view import AnswerView

SAMPLE = """# Title

A paragraph with **bold** and a [link](https://example.com/a).

- one
- two

    indented code

1. first

2. second
   continued

```python
def f():

    return 1
```

| a | b |
|---|---|
| 1 | 2 |

Last words.
"""


def screen(raw: str, width: int = 60) -> list[str]:
    """What a terminal shows after `raw`, scrollback included (through pyte)."""
    import pyte

    scr = pyte.HistoryScreen(width, 500, history=10_000)
    pyte.Stream(scr).feed(raw.replace("\n", "\r\n"))
    rows = [scr.buffer[y] for y in range(scr.lines)]
    lines = [
        "".join(row[x].data for x in range(width)).rstrip() for row in [*scr.history.top, *rows]
    ]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def render(text: str, width: int = 60, plain: bool = False, chunks: int = 0) -> str:
    out = io.StringIO()
    r = Renderer(
        make_console(out, force_terminal=not plain, width=width, plain=plain),
        plain=plain,
        markdown=not plain,
    )
    with r.answer() as view:
        if chunks:
            for i in range(0, len(text), chunks):
                view.text(text[i : i + chunks])
        else:
            view.text(text)
    return out.getvalue()


def settled_of(text: str, step: int) -> list[str]:
    """The batches of settled source a stream of `text` in `step`-sized pieces gives."""
    source = Source()
    out: list[str] = []
    for i in range(0, len(text), step):
        source.feed(text[i : i + step])
        batch = source.settle()
        out += [batch.source] if batch else []
    last = source.settle(final=True)
    return out + ([last.source] if last else [])


def test_blocks_settle_where_markdown_it_ends_them() -> None:
    # one piece: every block but the last settles at once, the last at the end
    assert settled_of(SAMPLE, len(SAMPLE)) == SAMPLE.strip("\n").rsplit("\n\n", 1)
    by_line = settled_of(SAMPLE, 1)
    assert by_line[:2] == [
        "# Title",
        "A paragraph with **bold** and a [link](https://example.com/a).",
    ]
    assert "```python\ndef f():\n\n    return 1\n```" in by_line  # settled as its fence closes
    assert by_line[-1] == "Last words."
    assert "\n\n".join(by_line) == SAMPLE.strip("\n")


@settings(max_examples=60, deadline=None)
@given(step=st.integers(1, 40))
def test_settled_text_is_the_same_for_any_chunking(step: int) -> None:
    assert "\n\n".join(settled_of(SAMPLE, step)) == SAMPLE.strip("\n")


def test_tail_cut_inside_a_fence_keeps_the_opener() -> None:
    source = Source()
    source.feed("Intro.\n\n```python\n" + "".join(f"line{i}\n" for i in range(100)))
    assert source.settle() is not None  # the paragraph before the fence
    assert source.tail(3, 1000) == "```python\nline98\nline99\n"


@pytest.mark.parametrize("chunks", [1, 3, 17])
def test_streaming_output_equals_one_piece_output(chunks: int) -> None:
    assert screen(render(SAMPLE, chunks=chunks)) == screen(render(SAMPLE))


def test_code_blocks_are_as_wide_as_their_code() -> None:
    lines = screen(render("```python\nx = 1\nlonger_line = 22\n```", width=60), 60)
    coded = [line for line in lines if line.strip()]
    assert coded == ["code 1 · python", " x = 1", " longer_line = 22"]  # (background rows: blank)
    from rich.segment import Segment

    console = make_console(io.StringIO(), force_terminal=True, width=60)
    drawn = Answer("```python\nx = 1\nlonger_line = 22\n```", "monokai")
    rendered = console.render_lines(drawn, pad=False)[1:]  # (below its label)
    widths = {Segment.get_line_length(line) for line in rendered}
    assert widths == {len("longer_line = 22") + 2}  # background to the code, not to 60


def test_answers_without_code_are_drawn_as_richs_markdown_draws_them() -> None:
    without_code = SAMPLE.split("```python")[0]
    for source in (without_code, "plain", "~~strike~~ and | t |\n|---|\n| x |"):
        a, b = io.StringIO(), io.StringIO()
        make_console(a, force_terminal=True, width=70).print(Answer(source, "monokai"))
        make_console(b, force_terminal=True, width=70).print(Markdown(source, hyperlinks=False))
        assert a.getvalue() == b.getvalue()


@pytest.mark.parametrize("literal", ["[bold]x[/bold]", "arr[/]", ":smile:", "[red]", "\\[x]"])
@pytest.mark.parametrize("plain", [True, False])
def test_markup_and_emoji_codes_print_literally(literal: str, plain: bool) -> None:
    out = render(f"before {literal} after", plain=plain)
    expected = f"before {literal} after" if plain or "\\" not in literal else "before [x] after"
    assert expected in out
    assert "😄" not in out


def test_errors_and_titles_print_literally() -> None:
    out = io.StringIO()
    r = Renderer(make_console(out, width=80))
    r.error("[bold]boom[/] :smile: \x1b]0;t\x07")
    conv = Conversation()
    conv.add("user", "[red]hi\x1b[2J")
    r.transcript(conv)
    text = out.getvalue()
    assert "[bold]boom[/] :smile:" in text and "\x1b]0" not in text and "\x1b[2J" not in text
    assert "> [red]hi" in text


def test_links_show_their_target() -> None:
    assert "https://example.com/a" in render(SAMPLE)


def foregrounds(line: str) -> set[str]:
    """The foreground colours a drawn line's SGR sequences set (16, 256 or true colour)."""
    found = set()
    for sgr in re.findall(r"\x1b\[([0-9;]+)m", line):
        params = sgr.split(";")
        i = 0
        while i < len(params):
            p = params[i]
            if p in ("38", "48"):  # 38;5;N or 38;2;R;G;B, and the same for a background
                width = 3 if params[i + 1 : i + 2] == ["5"] else 5
                if p == "38":
                    found.add(";".join(params[i : i + width]))
                i += width
                continue
            if p.isdigit() and (30 <= int(p) <= 37 or 90 <= int(p) <= 97):
                found.add(p)
            i += 1
    return found


def test_code_is_highlighted_for_its_language() -> None:
    code_row = "def f(): return 1"
    out = render(f"```python\n{code_row}\n```")
    row = [line for line in out.splitlines() if "def" in line][-1]  # once its fence closed
    assert len(foregrounds(row)) >= 2  # keywords, names and numbers in colours of their own
    unlexed = render(f"```text\n{code_row}\n```")
    plain_row = [line for line in unlexed.splitlines() if "def" in line][-1]
    assert len(foregrounds(plain_row)) <= 1  # the same row with no lexer: one colour


def test_wide_characters_wrap_by_cell_width() -> None:
    lines = [ln for ln in screen(render("日本語のテキスト " * 12, width=20), 20) if ln]
    from rich.cells import cell_len

    assert len(lines) > 1 and all(cell_len(line) <= 20 for line in lines)
    assert "".join(lines).replace(" ", "") == "日本語のテキスト" * 12


LONG_LINE = "result = compute(first_argument, second_argument) + another_call(x, y)"


@pytest.mark.parametrize("width", [30, 45])
def test_a_code_line_too_long_for_the_window_wraps_with_a_marker(width: int) -> None:
    """A code line wider than the window is cut into rows that each end in a `↩`, so a
    copied line is not taken for two; the rows read the line whole, and a line that
    fits has no marker. Streamed (the live tail's plain code) or whole, the same."""
    for chunks in (0, 7):
        lines = screen(render(f"```python\n{LONG_LINE}\nshort()\n```", width, chunks=chunks), width)
        code = [line[1:] for line in lines[1:] if line]  # (below the label; padding cell)
        cut, rest = code[:-2], code[-2:]
        assert cut and all(row.endswith("↩") and len(row) == width - 2 for row in cut)
        assert "".join(row[:-1] for row in cut) + rest[0] == LONG_LINE
        assert rest == [rest[0], "short()"] and "↩" not in rest[0]


def test_a_wide_character_is_never_cut_in_two() -> None:
    from rich.cells import cell_len

    code = "x = '" + "日本語" * 8 + "'"
    lines = [line for line in screen(render(f"```\n{code}\n```", 20), 20)[1:] if line]
    assert all(cell_len(line) <= 20 for line in lines)
    assert "".join(line[1:].removesuffix("↩").rstrip() for line in lines) == code


def test_long_code_lines_reach_a_pipe_exactly() -> None:
    out = render(f"```python\n{LONG_LINE}\n```", 30, plain=True)
    assert out == f"```python\n{LONG_LINE}\n```\n" and "↩" not in out


def test_plain_mode_writes_text_as_it_comes() -> None:
    assert render("# T\n**b**", plain=True) == "# T\n**b**\n"


MARKDOWN_PIECES = st.sampled_from(
    ["word ", "**bold** ", "\n", "\n\n", "- item\n", "```python\n", "x = 1\n", "```\n",
     "| a | b |\n|---|---|\n| 1 | 2 |\n", "# Title\n", "    indented\n", "~~~\n", "1. one\n"]
)  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(st.lists(MARKDOWN_PIECES, max_size=40))
def test_a_saved_answer_is_drawn_as_it_streamed(pieces: list[str]) -> None:
    """Resume and --show draw a saved answer at once (no live region): the same blocks,
    labels and spacing as the answer streamed piece by piece."""

    def draw(streamed: bool) -> str:
        out = io.StringIO()
        renderer = Renderer(make_console(out, width=70, force_terminal=False), markdown=True)
        with renderer.answer() as view:
            if streamed:
                for piece in pieces:
                    view.text(piece)
            else:
                view.whole("".join(pieces))
        return out.getvalue()

    assert draw(streamed=False) == draw(streamed=True)


def test_a_fast_stream_reaches_the_terminal_at_most_max_fps_times_a_second() -> None:
    """Blocks that settle while the live region shows are printed by the refresher, in
    one write with the repaint below them: however fast blocks settle, the terminal gets
    at most MAX_FPS writes a second (and the first token at once)."""
    import time

    from chatrepl.render.view import MAX_FPS

    class Counted(io.StringIO):
        writes = 0

        def write(self, text: str) -> int:
            Counted.writes += 1
            return super().write(text)

    out = Counted()
    renderer = Renderer(make_console(out, force_terminal=True, width=60), markdown=True)
    pieces = [f"Paragraph {n} has **some** words.\n\n" for n in range(300)]
    with renderer.answer() as view:
        view.text(pieces[0])
        assert Counted.writes >= 1  # the live region, at once
        started = time.monotonic()
        for piece in pieces[1:]:
            view.text(piece)
            time.sleep(0.001)
        streamed = time.monotonic() - started
        during = Counted.writes
    allowed = 2 + int(streamed * MAX_FPS) + 1
    assert during <= allowed, (during, streamed)
    assert screen(out.getvalue())[:1] == ["Paragraph 0 has some words."]
    assert "Paragraph 299 has some words." in screen(out.getvalue())


def live_renderer(width: int, height: int = 40) -> tuple[Renderer, io.StringIO]:
    from rich.console import Console

    out = io.StringIO()
    console = Console(
        file=out, force_terminal=True, width=width, height=height, markup=False, emoji=False
    )
    return Renderer(console, markdown=True), out


@settings(max_examples=40, deadline=None)
@given(
    pieces=st.lists(MARKDOWN_PIECES, max_size=30),
    width=st.sampled_from([24, 60, 100]),
    every=st.integers(1, 4),
)
def test_a_streamed_answer_leaves_the_screen_a_whole_one_does(
    pieces: list[str], width: int, every: int
) -> None:
    """Whatever batches the blocks settle in (repaints every `every` pieces, and the
    refresher's own), the terminal ends up showing what the answer drawn at once shows:
    no line lost, doubled, or spaced otherwise, at a narrow, a middling and a wide width."""
    streamed, out = live_renderer(width)
    with streamed.answer() as view:
        for n, piece in enumerate(pieces):
            view.text(piece)
            if n % every == 0 and isinstance(view, AnswerView):
                view.repaint()
    whole, once = live_renderer(width)
    with whole.answer() as view:
        view.whole("".join(pieces))
    assert screen(out.getvalue(), width) == screen(once.getvalue(), width)


TAIL_CASES = {
    "paragraph": ("Some words that run on for a while, long enough to wrap. " * 3, "\n\nEnd."),
    "list": ("- one item\n- two items, the second a longer one\n  - nested\n", "\nEnd."),
    "table": ("| name | value |\n|:-----|------:|\n| alpha | 1 |\n| beta | 22 |\n", "\nEnd."),
    "quote": ("> quoted words\n> more of them\n", "\nEnd."),
}


@pytest.mark.parametrize("width", [30, 60, 100])
@pytest.mark.parametrize("case", TAIL_CASES)
def test_the_live_tail_shows_a_block_as_it_will_settle(case: str, width: int) -> None:
    """While a block is the unfinished tail it is drawn by the same code that prints it
    once it settles: the screen shows the same lines before and after."""
    block, rest = TAIL_CASES[case]
    renderer, out = live_renderer(width)
    with renderer.answer() as view:
        assert isinstance(view, AnswerView)
        view.text("Intro.\n\n")
        view.text(block)
        view.repaint()
        with view.lock:
            during = screen(out.getvalue(), width)
        view.text(rest)
    after = screen(out.getvalue(), width)
    assert during[0] == "Intro." and after[: len(during)] == during
    assert after[len(during) :] in (["", "End."], ["", "", "End."])  # (a table ends blank)


@pytest.mark.parametrize("width", [30, 80])
def test_unfinished_code_shows_plainly_then_highlighted_once_closed(width: int) -> None:
    renderer, out = live_renderer(width)
    with renderer.answer() as view:
        assert isinstance(view, AnswerView)
        view.text("```python\ndef f(x):\n    return x\n")
        view.repaint()
        with view.lock:
            during_raw = out.getvalue()
        view.text("```\n")
        view.repaint()
        with view.lock:
            settled_raw = out.getvalue()
    during = screen(during_raw, width)
    assert during == ["code 1 · python", "", " def f(x):", "     return x"]
    assert screen(settled_raw, width) == during  # the same cells, now in colour
    colours = set(re.findall(r"\x1b\[([0-9;]*)m", settled_raw[len(during_raw) :]))
    assert len(colours) > len(set(re.findall(r"\x1b\[([0-9;]*)m", during_raw)))


def test_the_first_text_is_shown_before_rich_is_loaded_then_handed_over(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """On a terminal, text that arrives while what draws is still loading is shown at
    once, as it is, on one row; once it is loaded the live region takes that row, and the
    answer ends drawn as Markdown with nothing of the first showing left over."""
    import threading

    from chatrepl.render import loading

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    release = threading.Event()
    loader = threading.Thread(target=release.wait, daemon=True)
    loader.start()
    monkeypatch.setattr(loading, "_loader", loader)  # still loading until released
    monkeypatch.setattr(loading, "loaded", threading.Event())
    read: list[int] = []  # the preview follows pieces; it never reads the whole answer
    real_tail = Source.tail
    monkeypatch.setattr(Source, "tail", lambda s, *a: read.append(1) or real_tail(s, *a))
    out = Terminal()
    renderer = Renderer(make_console(out, force_terminal=True, width=60), markdown=True)
    with renderer.answer() as view:
        try:
            view.text("Hello **wor")
            assert out.getvalue() == "\r\x1b[2KHello **wor"  # at once, before rich
            view.text("ld** and more.\n\nSecond")
            assert out.getvalue().endswith("\r\x1b[2KSecond")  # the line that is arriving
            view.text("\n\n")
            assert out.getvalue().endswith("\r\x1b[2KSecond")  # (the last line not blank)
            assert read == []
        finally:  # loaded: the live region takes over
            release.set()
            loading.loaded.set()
            loader.join()
        view.text("Third.")
    assert screen(out.getvalue()) == ["Hello world and more.", "", "Second", "", "Third."]


def test_a_long_code_block_is_parsed_again_only_where_its_fence_may_close(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Inside an open fence only the new lines are looked at, for a line that may close
    it: a long code block costs what its text costs, not a parse per repaint."""
    from chatrepl.render import source as source_module

    parses = []
    real = source_module.parser()

    class Counted:
        def parse(self, text: str) -> list[object]:
            parses.append(text)
            return real.parse(text)

    monkeypatch.setattr(source_module, "parser", lambda: Counted())
    answer = Source()
    answer.feed("Intro.\n\n````python\n")
    assert answer.settle() == Batch("Intro.", False)
    for n in range(500):
        answer.feed(f"x = {n}  # ``` inside, not alone on its line\n")
        assert answer.settle() is None
    assert len(parses) == 1
    answer.feed("```\n")  # shorter than the fence: it cannot close it
    assert answer.settle() is None and len(parses) == 1
    answer.feed("````\nAfter.\n")
    batch = answer.settle()  # a line that may close it: markdown-it reads it, once
    assert len(parses) == 2
    assert batch is not None and batch.source.startswith("````python\nx = 0")
    assert batch.source.endswith("```\n````")


def test_our_lines_wrap_at_words_with_a_hanging_indent_and_never_in_a_pipe() -> None:
    long = "The question is back at the prompt: sending it starts a new branch from there."
    out = io.StringIO()
    Renderer(make_console(out, force_terminal=True, width=40)).note(long)
    rows = re.sub(r"\x1b\[[0-9;]*m", "", out.getvalue()).splitlines()
    assert rows == [
        "The question is back at the prompt:",
        "  sending it starts a new branch from",
        "  there.",
    ]
    piped = io.StringIO()
    Renderer(make_console(piped, width=40), markdown=False, plain=True).note(long)
    assert piped.getvalue() == long + "\n"  # to a pipe or a file: one line, as it is
