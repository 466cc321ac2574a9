"""Closing the terminal: the run ends with 129, the answer so far saved `interrupted`,
and nothing more is written (no traceback, no `termios.error`)."""

from __future__ import annotations

import os
import pty
import select
import sqlite3
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import clean_env
from tests.server import ChatServer, Script, sse

TIMEOUT = 20


class Terminal:
    """chatrepl in a pseudo-terminal of its own, whose master side this test holds."""

    def __init__(self, home: Path, url: str) -> None:
        env = clean_env(home, CHATREPL_URL=url, PROMPT_TOOLKIT_NO_CPR="1")
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: become chatrepl
            os.execve(sys.executable, [sys.executable, "-m", "chatrepl"], env)
        self.seen = b""

    def expect(self, text: bytes) -> None:
        """Wait for `text`, and consume what came up to its end."""
        end = time.monotonic() + TIMEOUT
        while text not in self.seen:
            assert time.monotonic() < end, f"{text!r} never came: {self.seen[-300:]!r}"
            ready, _, _ = select.select([self.fd], [], [], 0.1)
            if ready:
                self.seen += os.read(self.fd, 4096)
        self.seen = self.seen[self.seen.index(text) + len(text) :]

    def hang_up(self) -> int:
        """Close the terminal, as closing its window does; the child's exit status."""
        os.close(self.fd)
        end = time.monotonic() + TIMEOUT
        while time.monotonic() < end:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                return os.waitstatus_to_exitcode(status)
            time.sleep(0.05)
        os.kill(self.pid, 9)
        raise AssertionError("chatrepl did not end after the hang-up")


def rows(home: Path) -> list[tuple[str, str, str]]:
    with sqlite3.connect(home / "chatrepl.db") as db:
        return db.execute("SELECT role, content, status FROM messages ORDER BY id").fetchall()


@pytest.mark.parametrize("when", ["mid-answer", "at the prompt"])
def test_closing_the_terminal_exits_129_and_keeps_the_answer(
    server: ChatServer, chatrepl_home: Path, when: str
) -> None:
    gate = threading.Event()
    if when == "mid-answer":
        server.add(Script(pieces=[*sse("partial words ", done=False), gate, *sse("rest")]))
    else:
        server.add(Script(pieces=sse("a whole answer")))
    term = Terminal(chatrepl_home, server.url)
    try:
        term.expect(b"> ")
        os.write(term.fd, b"question\r")
        if when == "mid-answer":
            term.expect(b"partial words")
            expected = ("assistant", "partial words ", "interrupted")
        else:
            term.expect(b"a whole answer")
            term.expect(b"> ")
            expected = ("assistant", "a whole answer", "complete")
        assert term.hang_up() == 129
    finally:
        gate.set()
    assert rows(chatrepl_home) == [("user", "question", "complete"), expected]
