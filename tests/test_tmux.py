"""Issue 25 row 13 in a terminal that reflows: tmux itself, made narrower twice while an
answer streams. tmux rewraps what its screen holds; rows it rewrapped past the top of the
screen go into its scrollback, beyond any program's reach (README: "When the terminal, a
pipe or the disk misbehaves"). What can be shown: on a screen already filled, nothing is
left twice, not even in the scrollback; on a fresh screen, the screen itself shows each
line once."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import clean_env
from tests.server import ChatServer, Piece, Script, sse

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")

WORDS = [f"word{n} " for n in range(150)]


class Tmux:
    """One tmux server of its own (its own socket, no config) holding one window."""

    def __init__(self, socket: str) -> None:
        self.socket = socket

    def run(self, *args: str) -> str:
        done = subprocess.run(
            ["tmux", "-L", self.socket, "-f", os.devnull, *args],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
        return done.stdout

    def screen(self, scrollback: bool = False) -> str:
        return self.run("capture-pane", "-p", "-t", "t", *(["-S", "-"] if scrollback else []))

    def wait_for(self, text: str, seconds: float = 10) -> str:
        deadline = time.monotonic() + seconds
        while True:
            screen = self.screen()
            if text in screen:
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} never showed; the screen:\n{screen}")
            time.sleep(0.05)

    def type_line(self, text: str) -> None:
        """Typed, then Enter a moment later (sent at once, the two are a paste)."""
        self.run("send-keys", "-t", "t", "-l", text)
        time.sleep(0.1)
        self.run("send-keys", "-t", "t", "Enter")

    def narrow(self, columns: int) -> None:
        self.run("resize-window", "-t", "t", "-x", str(columns))
        deadline = time.monotonic() + 5
        while self.run("display", "-p", "-t", "t", "#{pane_width}").strip() != str(columns):
            assert time.monotonic() < deadline
            time.sleep(0.02)


@pytest.fixture
def tmux(chatrepl_home: Path, server: ChatServer) -> Iterator[Tmux]:
    chatrepl_home.mkdir(parents=True, exist_ok=True)
    environ = clean_env(chatrepl_home, CHATREPL_URL=server.url)
    settings = [shlex.quote(f"{key}={value}") for key, value in environ.items()]
    python = shlex.quote(sys.executable)
    # the test's environment, and the $TMUX that tmux gives its panes
    command = " ".join(['exec env -i TMUX="$TMUX"', *settings, python, "-m chatrepl"])
    t = Tmux(f"chatrepl-test-{os.getpid()}-{time.monotonic_ns()}")
    t.run("new-session", "-d", "-s", "t", "-x", "100", "-y", "30", command)
    try:
        t.wait_for("new conversation")  # the toolbar: the session is built
        yield t
    finally:
        subprocess.run(["tmux", "-L", t.socket, "kill-server"], capture_output=True, timeout=10)


def slow_answer(gates: list[threading.Event]) -> Script:
    """One paragraph of WORDS, waiting at each gate after a third of them."""
    pieces: list[Piece] = []
    third = len(WORDS) // 3
    for n, word in enumerate(WORDS):
        if n and n % third == 0:
            pieces.append(gates[n // third - 1])
        pieces += [*sse(word, done=False), 0.005]
    return Script(pieces=[*pieces, *sse(done=True)])


def ask_and_narrow(tmux: Tmux, server: ChatServer) -> list[str]:
    """Ask; made narrower (100, 70, then 50 columns) as the answer streams: the screen
    just after each narrowing once the answer has gone on."""
    gates = [threading.Event(), threading.Event()]
    server.add(slow_answer(gates))
    tmux.type_line("write slowly")
    screens = []
    for gate, columns, last in zip(
        gates, (70, 50), (49, 99), strict=True
    ):  # (tmux drops last spaces)
        tmux.wait_for(f"word{last}")
        tmux.narrow(columns)
        gate.set()
        screens.append(tmux.wait_for(f"word{last + 5}"))
    tmux.wait_for(WORDS[-1].strip())
    return screens


def answer_words(text: str) -> list[str]:
    """The words of the answer in a capture: from below the question (or the top) to the
    next prompt (a row tmux cut mid-word gives pieces of words)."""
    lines = text.splitlines()
    asked = [n for n, line in enumerate(lines) if line.startswith("> write slowly")]
    words: list[str] = []
    for line in lines[asked[-1] + 1 if asked else 0 :]:
        if line.startswith(">"):
            break
        words += line.split()
    return words


def in_order_once(words: list[str]) -> bool:
    return words == [f"word{n}" for n in range(len(words))]


def test_on_a_filled_screen_nothing_is_left_twice(tmux: Tmux, server: ChatServer) -> None:
    server.add(Script(pieces=sse("".join(f"filler {n}\n\n" for n in range(40)))))
    tmux.type_line("fill the screen")
    tmux.wait_for("filler 39")
    ask_and_narrow(tmux, server)
    everything = tmux.screen(scrollback=True)
    assert everything.count("word0 ") == 1, everything
    assert answer_words(everything) == [w.strip() for w in WORDS], everything


def test_on_a_fresh_screen_the_screen_shows_each_line_once(tmux: Tmux, server: ChatServer) -> None:
    """(Rows that tmux moved into its scrollback as it rewrapped stay there: README.)"""
    for screen in ask_and_narrow(tmux, server):
        assert in_order_once(answer_words(screen)), screen
