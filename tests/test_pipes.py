"""What a pipe, a full disk or a narrow encoding does to a run: one line or none, the
right exit status, and the answer saved with what arrived (never left `streaming`)."""

from __future__ import annotations

import fcntl
import os
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from chatrepl.conversation import Conversation
from chatrepl.store import Store
from tests.conftest import clean_env
from tests.server import ChatServer, Script, sse

TIMEOUT = 20


def answers(home: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(home / "chatrepl.db") as db:
        return db.execute(
            "SELECT content, status FROM messages WHERE role = 'assistant' ORDER BY id"
        ).fetchall()


def start(home: Path, url: str, *args: str, **extra: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "chatrepl", *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=clean_env(home, CHATREPL_URL=url, **extra),
    )


def test_a_reader_that_closes_the_pipe_ends_the_run_quietly_with_141(
    server: ChatServer, chatrepl_home: Path
) -> None:
    """`chatrepl q | head -c 10`: the answer so far saved `interrupted`, no traceback."""
    gate = threading.Event()
    server.add(Script(pieces=[*sse("first words ", done=False), gate, *sse("and more")]))
    child = start(chatrepl_home, server.url, "q")
    assert child.stdout is not None and child.stderr is not None
    assert child.stdout.read(5) == b"first"
    child.stdout.close()  # as head does once it has its bytes
    gate.set()
    assert child.wait(TIMEOUT) == 141
    assert child.stderr.read() == b""
    assert answers(chatrepl_home) == [("first words and more", "interrupted")]


def small_pipe() -> tuple[int, int]:
    """A pipe that holds one page (4 KiB), so that any listing longer than that meets
    the closed end."""
    read, write = os.pipe()
    fcntl.fcntl(write, fcntl.F_SETPIPE_SZ, 4096)
    return read, write


def test_a_listing_into_a_closed_pipe_ends_quietly_with_141(chatrepl_home: Path) -> None:
    """`--list | head -1`, `--search x | head -1`, `--show ID | head -1`, each with more
    to write than the pipe holds."""
    chatrepl_home.mkdir()
    store = Store(chatrepl_home / "chatrepl.db")
    for n in range(80):
        conversation = Conversation()
        question = f"question {n} about penguins and the long ways they walk over the ice"
        store.add_message(conversation, conversation.add("user", question))
        answer = "penguin " * (5000 if n == 79 else 3)
        store.add_message(conversation, conversation.add("assistant", answer))
    store.close()
    for args in (["--list", "--all"], ["--search", "penguins"], ["--show", conversation.id]):
        read, write = small_pipe()
        child = subprocess.Popen(
            [sys.executable, "-m", "chatrepl", *args],
            stdin=subprocess.DEVNULL,
            stdout=write,
            stderr=subprocess.PIPE,
            env=clean_env(chatrepl_home),
        )
        os.close(write)
        assert os.read(read, 1)  # head has what it wants
        os.close(read)
        assert child.wait(TIMEOUT) == 141, args
        assert child.stderr is not None and child.stderr.read() == b"", args


def test_a_large_export_into_head_ends_quietly_with_141(chatrepl_home: Path) -> None:
    """`--export ID | head -1` where the export is one write of more than 64 KiB, with
    Python's output unbuffered (PYTHONUNBUFFERED=1, as some users have it): the write
    that `head` cuts short returns part of its length and no error, which CPython's
    text layer does not check; written in pieces, the next piece meets the closed pipe
    and the run ends with 141."""
    chatrepl_home.mkdir()
    store = Store(chatrepl_home / "chatrepl.db")
    conversation = Conversation()
    store.add_message(conversation, conversation.add("user", "a long list, please"))
    store.add_message(conversation, conversation.add("assistant", "penguin line\n" * 20000))
    store.close()
    for _ in range(3):
        child = subprocess.Popen(
            [sys.executable, "-m", "chatrepl", "--export", conversation.id],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=clean_env(chatrepl_home, PYTHONUNBUFFERED="1"),
        )
        assert child.stdout is not None and child.stderr is not None
        head = subprocess.run(["head", "-1"], stdin=child.stdout, capture_output=True, check=True)
        child.stdout.close()
        assert head.stdout.startswith(b"# ")
        assert child.wait(TIMEOUT) == 141
        assert child.stderr.read() == b""


def test_a_full_disk_is_one_line_and_exit_1(server: ChatServer, chatrepl_home: Path) -> None:
    server.add(Script(pieces=sse("an answer ", "to keep")))
    with open("/dev/full", "w") as full:
        done = subprocess.run(
            [sys.executable, "-m", "chatrepl", "q"],
            stdin=subprocess.DEVNULL,
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            env=clean_env(chatrepl_home, CHATREPL_URL=server.url),
            timeout=TIMEOUT,
        )
    assert done.returncode == 1
    assert done.stderr == "chatrepl: Could not write to stdout: No space left on device.\n"
    [(content, status)] = answers(chatrepl_home)
    assert status == "interrupted" and content.startswith("an answer")


@pytest.mark.parametrize("encoding", ["ascii", "latin-1"])
def test_a_narrow_encoding_replaces_what_it_cannot_hold(
    server: ChatServer, chatrepl_home: Path, encoding: str
) -> None:
    text = "Grüße, 世界 and ✓"
    server.add(Script(pieces=sse(text)))
    done = subprocess.run(
        [sys.executable, "-m", "chatrepl", "q"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        env=clean_env(chatrepl_home, CHATREPL_URL=server.url, PYTHONIOENCODING=encoding),
        timeout=TIMEOUT,
    )
    assert done.returncode == 0 and done.stderr == b""
    shown = done.stdout.decode(encoding)
    assert shown.startswith("Gr") and "and ?" in shown and "Traceback" not in shown
    assert answers(chatrepl_home) == [(text, "complete")]
