"""The real program in a pseudo-terminal, as a person uses it."""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

import pexpect
import pytest

from tests.conftest import clean_env
from tests.server import ChatServer

TIMEOUT = 15


def spawn(
    server: ChatServer,
    home: Path,
    *args: str,
    cwd: Path | None = None,
    extra: dict[str, str] | None = None,
) -> pexpect.spawn:
    env = {
        **clean_env(home),
        "CHATREPL_URL": server.url,
        "COLUMNS": "100",
        "LINES": "30",
        # pexpect is no terminal emulator: it never answers prompt_toolkit's cursor
        # position request, which would cost a 1 s wait each time a line is accepted.
        "PROMPT_TOOLKIT_NO_CPR": "1",
        **(extra or {}),
    }
    child = pexpect.spawn(
        sys.executable,
        ["-m", "chatrepl", *args],
        env=env,
        encoding="utf-8",
        timeout=TIMEOUT,
        dimensions=(30, 100),
        cwd=str(cwd) if cwd else None,
    )
    return child


def prompt(child: pexpect.spawn) -> None:
    child.expect_exact("> ")


def finish(child: pexpect.spawn) -> int:
    child.expect(pexpect.EOF)
    child.close()
    return int(child.exitstatus)


@pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")
def test_ask_twice_reset_exit_then_continue(server: ChatServer, chatrepl_home: Path) -> None:
    child = spawn(server, chatrepl_home)
    prompt(child)
    child.send("hello there\r")
    child.expect_exact("Answer 1")
    prompt(child)
    child.send("and again\r")
    child.expect_exact("Answer 2")
    prompt(child)
    second = server.requests[1].body["messages"]
    assert [m["content"] for m in second[::2]] == ["hello there", "and again"]
    assert second[1]["role"] == "assistant" and "Answer 1" in second[1]["content"]

    child.send("/reset\r")
    child.expect_exact("New conversation.")
    prompt(child)
    child.sendcontrol("d")
    assert finish(child) == 0

    child = spawn(server, chatrepl_home, "-c")
    child.expect_exact("and again")  # the resumed transcript is shown first
    prompt(child)
    child.send("third\r")
    child.expect_exact("Answer 3")
    prompt(child)
    child.sendcontrol("d")
    assert finish(child) == 0
    third = server.requests[2].body["messages"]
    assert [m["content"] for m in third[::2]] == ["hello there", "and again", "third"]


def test_ctrl_c_stops_an_answer_and_keeps_it(server: ChatServer, chatrepl_home: Path) -> None:
    child = spawn(server, chatrepl_home)
    prompt(child)
    child.send("be slow\r")
    child.expect_exact("word3 ")
    child.sendintr()
    child.expect_exact("Interrupted.")
    prompt(child)
    child.send("/exit\r")
    assert finish(child) == 0

    with sqlite3.connect(chatrepl_home / "chatrepl.db") as db:
        content, status = db.execute(
            "SELECT content, status FROM messages WHERE role = 'assistant'"
        ).fetchone()
    assert status == "interrupted" and content.startswith("word0 word1 word2 word3")


def test_one_shot_pipe_is_plain_text(server: ChatServer, chatrepl_home: Path) -> None:
    import subprocess

    env = clean_env(chatrepl_home, CHATREPL_URL=server.url)
    done = subprocess.run(
        [sys.executable, "-m", "chatrepl", "what now"],
        env=env,
        capture_output=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert done.returncode == 0
    assert done.stdout == b"Answer 1: you said *what now*. \n"
    piped = subprocess.run(
        [sys.executable, "-m", "chatrepl"],
        input=b"from stdin",
        env=env,
        capture_output=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert piped.stdout == b"Answer 2: you said *from stdin*. \n"
    listed = subprocess.run(
        [sys.executable, "-m", "chatrepl", "--list"],
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    lines = listed.stdout.splitlines()
    assert len(lines) == 2 and lines[0].endswith("\t2\tfrom stdin")


def test_a_stalled_answer_is_kept_and_said(server: ChatServer, chatrepl_home: Path) -> None:
    from tests.server import Script, sse

    chatrepl_home.mkdir(parents=True, exist_ok=True)
    (chatrepl_home / "config.toml").write_text("[timeouts]\nidle = 1\n")
    server.add(Script(pieces=[*sse("partial words", done=False), 5.0]))
    child = spawn(server, chatrepl_home)
    prompt(child)
    child.send("stall please\r")
    child.expect_exact("partial words")
    child.expect_exact("The answer stalled")
    prompt(child)
    child.send("/exit\r")
    assert finish(child) == 0
    with sqlite3.connect(chatrepl_home / "chatrepl.db") as db:
        row = db.execute("SELECT content, status FROM messages WHERE role = 'assistant'")
        assert row.fetchone() == ("partial words", "truncated")


def test_ctrl_c_while_waiting_returns_at_once(server: ChatServer, chatrepl_home: Path) -> None:
    import time

    from tests.server import Script, sse

    server.add(Script(before=30.0, pieces=sse("too late")))
    child = spawn(server, chatrepl_home)
    prompt(child)
    child.send("never answered\r")
    deadline = time.monotonic() + TIMEOUT
    while not server.requests:  # the request is in flight, the server holding it
        assert time.monotonic() < deadline, "the question was never sent"
        time.sleep(0.02)
    started = time.monotonic()
    child.sendintr()
    child.expect_exact("your question is back at the prompt")
    waited = time.monotonic() - started
    prompt(child)
    child.expect_exact("never answered")  # offered again for editing
    assert waited < 5  # far from the 30 s the server would take
    child.sendcontrol("c")
    child.sendcontrol("d")
    assert finish(child) == 0
    assert len(server.requests) == 1  # stopped while waiting, not sent again
