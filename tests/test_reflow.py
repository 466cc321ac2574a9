"""A terminal that reflows (tmux) rewraps the live region's rows when it is made
narrower: the rows rich drew become more rows than rich erases before it repaints, and
the ones it leaves stay above the answer as copies cut mid-word. pyte cannot reflow, so
this checks what is written: every reflowed row erased, and nothing more."""

from __future__ import annotations

import io
import re

from rich.console import Console

from chatrepl.render import Renderer
from chatrepl.render.loading import reflowed
from chatrepl.render.view import AnswerView

WORDS = " ".join(f"word{n}" for n in range(40)) + " "  # 274 cells: rows of up to 100


def test_rows_once_rewrapped() -> None:
    assert reflowed([94, 97, 6, 0], 70) == 2 + 2 + 1 + 1
    assert reflowed([66, 69, 70], 70) == 3
    assert reflowed([71, 140, 141], 70) == 2 + 2 + 3


def narrowed(reflows: bool) -> tuple[str, int]:
    """What a repaint writes after the window goes from 100 columns to 50, and how many
    rows the region drawn at 100 takes at 50 once reflowed."""
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=100, height=30, markup=False)
    renderer = Renderer(console, markdown=True, reflows=reflows)
    with renderer.answer() as view:
        assert isinstance(view, AnswerView)
        view.text(WORDS)
        view.repaint()
        with view.lock:
            lines = [_visible(line) for line in out.getvalue().split("\n")]
            rows = reflowed([len(line) for line in lines if "word" in line], 50)
            console.width = 50
            start = len(out.getvalue())
        view.text("more ")
        view.repaint()
        with view.lock:
            written = out.getvalue()[start:]
    return written, rows


def _visible(line: str) -> str:
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]|\r", "", line)


def test_a_narrowed_reflowing_terminal_has_every_rewrapped_row_erased() -> None:
    written, rows = narrowed(reflows=True)
    assert rows == 6  # three rows of up to 100 cells, two each at 50
    assert written.startswith("\r" + "\x1b[2K\x1b[1A" * (rows - 1) + "\x1b[2K\x1b[2B")


def test_a_terminal_that_does_not_reflow_is_erased_as_rich_erases() -> None:
    written, _ = narrowed(reflows=False)
    assert written.startswith("\r\x1b[2K\x1b[1A\x1b[2K\x1b[1A\x1b[2K")
    assert "\x1b[2B" not in written


def test_which_terminals_are_taken_to_reflow() -> None:
    """tmux is known from $TMUX; CHATREPL_REFLOW=1 says so of any other terminal that
    rewraps (most do), and 0 turns it off."""
    from chatrepl.environment import terminal_reflows

    assert terminal_reflows({"TMUX": "/tmp/tmux-0/default,1,0"})
    assert not terminal_reflows({})
    assert not terminal_reflows({"TMUX": ""})
    assert terminal_reflows({"CHATREPL_REFLOW": "1", "VTE_VERSION": "7600"})
    assert not terminal_reflows({"CHATREPL_REFLOW": "0", "TMUX": "/tmp/tmux-0/default,1,0"})
    assert not terminal_reflows({"CHATREPL_REFLOW": "maybe"})


def test_the_waiting_line_keeps_its_seconds_in_a_narrow_window() -> None:
    from chatrepl.render.loading import waiting_line

    host = "ai.callaback.workers.dev"
    assert waiting_line(host, 2.14, 100) == f"waiting for {host}…  2.1 s  (Ctrl-C stops)"
    assert waiting_line(host, 2.14, 45) == f"waiting for {host}…  2.1 s"
    assert waiting_line(host, 2.14, 30) == "waiting…  2.1 s"
    assert waiting_line(host, 12.5, 8) == "12.5 s"
    assert waiting_line(host, 12.5, 4) == "12."
