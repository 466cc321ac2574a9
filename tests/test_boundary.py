"""The last-resort boundary: an exception nobody expected is one line, never a
traceback, and what arrived of an answer is kept, marked interrupted."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from prompt_toolkit.input import PipeInput
from prompt_toolkit.output import DummyOutput

from chatrepl import manage, wire
from chatrepl.config import Endpoint
from chatrepl.repl import Repl
from chatrepl.session.controls import Controls
from tests.helpers import make_chat, run_chatrepl
from tests.server import ChatServer


class Broken(RuntimeError):
    pass


def rows(home: Path) -> list[tuple[str, str, str]]:
    with sqlite3.connect(home / "chatrepl.db") as db:
        return db.execute("SELECT role, content, status FROM messages ORDER BY id").fetchall()


class BreaksMidAnswer:
    """A transport whose stream yields some text, then fails in a way nobody expected."""

    def stream(self, endpoint: Endpoint, messages: list[dict[str, str]], token: str = "") -> Any:
        yield wire.Text("the first words")
        raise Broken("deep inside")


def test_a_bug_mid_answer_keeps_what_arrived_as_interrupted(tmp_path: Path) -> None:
    chat, _ = make_chat("http://127.0.0.1:9/api/chat", tmp_path)
    chat.transport = BreaksMidAnswer()
    with pytest.raises(Broken):
        chat.ask("a question")
    assert rows(tmp_path) == [
        ("user", "a question", "complete"),
        ("assistant", "the first words", "interrupted"),
    ]


def test_the_repl_says_a_bug_in_a_turn_in_one_line_and_goes_on(
    server: ChatServer, tmp_path: Path, pipe: PipeInput
) -> None:
    chat, out = make_chat(server.url, tmp_path)
    real = chat.transport
    chat.transport = BreaksMidAnswer()
    r = Repl(chat, input=pipe, output=DummyOutput())
    r.handle("first")
    chat.transport = real
    pipe.send_text("second\r\x04")
    assert r.run() == 0
    text = out.getvalue()
    assert "Unexpected error: Broken: deep inside. Run with --debug for the traceback." in text
    assert "Traceback" not in text
    assert "Answer 1" in text  # the session went on and answered the next question
    assert rows(tmp_path)[1] == ("assistant", "the first words", "interrupted")


def test_the_repl_says_a_bug_in_a_command_in_one_line_and_goes_on(
    server: ChatServer, tmp_path: Path, pipe: PipeInput, monkeypatch: pytest.MonkeyPatch
) -> None:
    def stats(self: Controls, arg: str) -> None:
        raise Broken("in a command")

    monkeypatch.setattr(stats, "chatrepl_command", Controls.stats.chatrepl_command, raising=False)
    monkeypatch.setattr(Controls, "stats", stats)
    chat, out = make_chat(server.url, tmp_path)
    r = Repl(chat, input=pipe, output=DummyOutput())
    pipe.send_text("/stats\rhello\r\x04")
    assert r.run() == 0
    text = out.getvalue()
    assert "Unexpected error: Broken: in a command." in text and "Traceback" not in text
    assert "Answer 1" in text


def test_one_shot_says_a_bug_in_one_line_and_exits_1(
    chatrepl_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def run(*args: object) -> int:
        raise Broken("while listing")

    monkeypatch.setattr(manage, "run", run)
    done = run_chatrepl(chatrepl_home, "--list")
    assert done.returncode == 1
    assert done.stderr == (
        "chatrepl: Unexpected error: Broken: while listing. Run with --debug for the traceback.\n"
    )


def test_debug_shows_the_traceback_of_a_bug(
    chatrepl_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def run(*args: object) -> int:
        raise Broken("while listing")

    monkeypatch.setattr(manage, "run", run)
    done = run_chatrepl(chatrepl_home, "--list", "--debug")
    assert done.returncode == 1
    assert "Traceback (most recent call last)" in done.stderr
    assert 'raise Broken("while listing")' in done.stderr
    assert done.stderr.endswith("Run with --debug for the traceback.\n")
