"""The REPL loop driven through prompt_toolkit's pipe input, with a dummy output."""

from __future__ import annotations

from pathlib import Path

import pytest
from prompt_toolkit.input import PipeInput
from prompt_toolkit.output import DummyOutput

from chatrepl.repl import Repl
from tests.helpers import make_chat
from tests.server import ChatServer, Script


def repl(server: ChatServer, home: Path, pipe: PipeInput) -> tuple[Repl, object]:
    chat, out = make_chat(server.url, home)
    return Repl(chat, input=pipe, output=DummyOutput()), out


def test_ask_twice_then_ctrl_d(server: ChatServer, tmp_path: Path, pipe: PipeInput) -> None:
    r, out = repl(server, tmp_path, pipe)
    pipe.send_text("hello\rhow are you\r\x04")
    assert r.run() == 0
    text = out.getvalue()  # type: ignore[attr-defined]
    assert "Answer 1" in text and "Answer 2" in text
    assert len(server.requests[1].body["messages"]) == 3


def test_alt_enter_and_ctrl_j_insert_newlines(
    server: ChatServer, tmp_path: Path, pipe: PipeInput
) -> None:
    r, _ = repl(server, tmp_path, pipe)
    pipe.send_text("line one\x1b\rline two\nline three\r\x04")
    r.run()
    assert server.requests[0].body["messages"][0]["content"] == "line one\nline two\nline three"


def test_bracketed_paste_is_one_message(
    server: ChatServer, tmp_path: Path, pipe: PipeInput
) -> None:
    r, _ = repl(server, tmp_path, pipe)
    pipe.send_text("\x1b[200~pasted\rmany\rlines\x1b[201~\r\x04")
    r.run()
    assert len(server.requests) == 1
    assert server.requests[0].body["messages"][0]["content"] == "pasted\nmany\nlines"


def test_ctrl_c_at_the_prompt_clears_the_line(
    server: ChatServer, tmp_path: Path, pipe: PipeInput
) -> None:
    r, _ = repl(server, tmp_path, pipe)
    pipe.send_text("discard this\x03kept\r\x04")
    r.run()
    assert [q.body["messages"][-1]["content"] for q in server.requests] == ["kept"]


def test_reset_starts_a_new_conversation_and_keeps_the_old(
    server: ChatServer, tmp_path: Path, pipe: PipeInput
) -> None:
    r, out = repl(server, tmp_path, pipe)
    pipe.send_text("one\r/reset\rtwo\r/list\r\x04")
    r.run()
    assert len(server.requests[1].body["messages"]) == 1
    listing = out.getvalue()  # type: ignore[attr-defined]
    assert "New conversation." in listing
    assert r.chat.store is not None and len(r.chat.store.list_conversations()) == 2


def test_resume_by_prefix_continues(server: ChatServer, tmp_path: Path, pipe: PipeInput) -> None:
    r, out = repl(server, tmp_path, pipe)
    pipe.send_text("first\r/new\r\x04")
    r.run()
    assert r.chat.store is not None
    old = r.chat.store.list_conversations()[0].id
    r.session.exiting = False
    pipe.send_text(f"/resume {old[:5]}\rnext\r\x04")
    r.run()
    assert f"Resumed {old}" in out.getvalue()  # type: ignore[attr-defined]
    assert len(server.requests[-1].body["messages"]) == 3


def test_unknown_and_ambiguous_commands_are_one_line(
    server: ChatServer, tmp_path: Path, pipe: PipeInput
) -> None:
    r, out = repl(server, tmp_path, pipe)
    pipe.send_text("/foo\r/res\r/help\r/exit\r")
    assert r.run() == 0
    text = out.getvalue()  # type: ignore[attr-defined]
    assert "Unknown command /foo. Type /help for the list." in text
    assert "/res is ambiguous" in text
    assert "/resume ID" in text
    assert server.requests == []


def test_failed_request_puts_the_question_back(
    server: ChatServer, tmp_path: Path, pipe: PipeInput
) -> None:
    server.add(
        Script(
            status=500,
            content_type="application/json",
            framing="length",
            pieces=[b'{"code":500,"message":"boom"}'],
        )
    )
    r, out = repl(server, tmp_path, pipe)
    pipe.send_text("precious words\r")  # fails; comes back at the prompt
    pipe.send_text("\r\x04")  # Enter sends it again as it is
    r.run()
    assert "The server answered 500" in out.getvalue()  # type: ignore[attr-defined]
    assert [q.body["messages"][-1]["content"] for q in server.requests] == [
        "precious words",
        "precious words",
    ]


def test_history_survives_a_restart(server: ChatServer, tmp_path: Path, pipe: PipeInput) -> None:
    r, _ = repl(server, tmp_path, pipe)
    pipe.send_text("remembered line\r\x04")
    r.run()
    r2, _ = repl(server, tmp_path, pipe)
    pipe.send_text("\x1b[A\r\x04")  # Up, Enter
    r2.run()
    assert server.requests[-1].body["messages"][-1]["content"] == "remembered line"


def test_the_terminal_kept_quiet_is_no_error_when_stdin_is_no_terminal(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A pipe on stdin (termios answers ENOTTY): the turn goes on, nothing to quiet."""
    from chatrepl.repl import quiet_terminal

    with open(tmp_path / "not-a-terminal", "w+") as stdin:
        monkeypatch.setattr("sys.stdin", stdin)
        with quiet_terminal():
            ran = True
    assert ran


def test_a_store_that_cannot_be_written_is_said_once_not_every_turn(
    server: ChatServer, tmp_path: Path, pipe: PipeInput
) -> None:
    """A database written by a newer chatrepl is opened read-only, which the store says
    as it opens (see the one-shot below); each turn then goes on in memory without
    saying it again."""
    import sqlite3

    from chatrepl.schema import SCHEMA_VERSION
    from tests.helpers import run_chatrepl

    make_chat(server.url, tmp_path)[0].store.close()  # type: ignore[union-attr]
    with sqlite3.connect(tmp_path / "chatrepl.db") as db:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    r, out = repl(server, tmp_path, pipe)
    pipe.send_text("hello\rhow are you\r\x04")
    r.run()
    shown = out.getvalue()  # type: ignore[attr-defined]
    assert "Answer 1" in shown and "Answer 2" in shown
    assert "Could not save" not in shown and "newer chatrepl" in r.chat.store.notice  # type: ignore[union-attr]
    done = run_chatrepl(tmp_path, "hello", url=server.url)
    assert done.returncode == 0 and done.stdout.startswith("Answer")
    assert done.stderr.count("newer chatrepl") == 1 and "Could not save" not in done.stderr
