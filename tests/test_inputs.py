"""Input that is not what it seems (issue 23, rows 13, 14, 16 and 25): `-f` on a FIFO,
socket or device; a huge pipe on stdin; a `!command` that leaves a daemon holding its
output; names that carry control characters; `/save` over a symbolic link."""

from __future__ import annotations

import os
import signal
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from prompt_toolkit.input import PipeInput

from chatrepl import shell
from chatrepl.config import Endpoint, Settings
from tests.helpers import conversations, run_chatrepl
from tests.server import ChatServer
from tests.test_repl_commands import repl_for

# ------------------------------------------------------------------ -f: regular files only


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "pipe"
    os.mkfifo(path)
    return path


@pytest.fixture
def unix_socket(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    yield path
    server.close()


def refused(home: Path, server: ChatServer, name: str, what: str) -> None:
    done = run_chatrepl(home, "-f", name, "what is in it?", url=server.url)
    assert done.returncode == 2
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert f"{name} is {what}; only regular files can be attached." in lines[0]
    assert server.requests == [] and conversations(home) == 0


def test_f_on_a_fifo_is_refused_before_reading(
    server: ChatServer, chatrepl_home: Path, fifo: Path
) -> None:
    refused(chatrepl_home, server, str(fifo), "a named pipe (FIFO)")


def test_f_on_a_socket_is_refused(
    server: ChatServer, chatrepl_home: Path, unix_socket: Path
) -> None:
    refused(chatrepl_home, server, str(unix_socket), "a socket")


def test_f_on_a_device_is_refused(server: ChatServer, chatrepl_home: Path) -> None:
    refused(chatrepl_home, server, "/dev/null", "a device")


def test_at_path_naming_a_fifo_is_refused_too(
    server: ChatServer, chatrepl_home: Path, fifo: Path
) -> None:
    done = run_chatrepl(chatrepl_home, f"what is in @{fifo}?", url=server.url)
    assert done.returncode == 2
    assert "is a named pipe (FIFO)" in done.stderr and server.requests == []


# ------------------------------------------------------------------ stdin is capped


def test_a_30_mb_pipe_is_refused_before_it_is_stored(
    server: ChatServer, chatrepl_home: Path
) -> None:
    done = run_chatrepl(chatrepl_home, url=server.url, stdin="x" * (30 * 1024 * 1024))
    assert done.returncode == 2
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert "The input on stdin is over the 1024 KB limit for a question" in lines[0]
    assert server.requests == [] and conversations(chatrepl_home) == 0
    database = chatrepl_home / "chatrepl.db"
    assert not database.exists() or database.stat().st_size < 1024 * 1024


def test_max_input_kb_sets_the_cap(server: ChatServer, chatrepl_home: Path) -> None:
    chatrepl_home.mkdir(parents=True, exist_ok=True)
    (chatrepl_home / "config.toml").write_text("max_input_kb = 2\n")
    done = run_chatrepl(chatrepl_home, url=server.url, stdin="y" * 3000)
    assert done.returncode == 2 and "over the 2 KB limit" in done.stderr
    done = run_chatrepl(chatrepl_home, url=server.url, stdin="y" * 1500)
    assert done.returncode == 0, done.stderr
    assert len(server.requests) == 1


# ------------------------------------------------------------------ names are shown escaped

HOSTILE = "\x1b[2J\u202eevil.txt"


def test_a_missing_f_name_is_escaped_in_the_error(server: ChatServer, chatrepl_home: Path) -> None:
    done = run_chatrepl(chatrepl_home, "-f", HOSTILE, "q", url=server.url)
    assert done.returncode == 2
    assert "\x1b" not in done.stderr and "\u202e" not in done.stderr
    assert "No file matches \\x1b[2J\\u202eevil.txt." in done.stderr


def test_a_missing_at_path_is_escaped_in_the_error(server: ChatServer, chatrepl_home: Path) -> None:
    done = run_chatrepl(chatrepl_home, f"look at @docs/{HOSTILE}", url=server.url)
    assert done.returncode == 2
    assert "\x1b" not in done.stderr and "\u202e" not in done.stderr
    assert "No file matches docs/\\x1b[2J\\u202eevil.txt." in done.stderr


def test_save_over_a_symbolic_link_says_so(
    server: ChatServer,
    tmp_path: Path,
    pipe: PipeInput,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    target = tmp_path / "precious.txt"
    target.write_text("keep me\n")
    (tmp_path / "out.py").symlink_to(target)
    r, out = repl_for(Settings(endpoint=Endpoint(url=server.url)), tmp_path, pipe)
    asked: list[str] = []
    monkeypatch.setattr(r.session, "confirm", lambda question: asked.append(question) or False)
    pipe.send_text("show two blocks\r/save out.py 1\r\x04")
    r.run()
    assert asked == [
        f"out.py is a symbolic link to {target} (an existing file). Write through it? [y/N] "
    ]
    assert target.read_text() == "keep me\n" and "Nothing was written." in out.getvalue()


# ------------------------------------------------------------------ !command and its daemons


def test_a_daemon_holding_the_output_pipe_does_not_hold_the_command(tmp_path: Path) -> None:
    pidfile = tmp_path / "daemon.pid"
    command = f"echo started; sh -c 'echo $$ > {pidfile}; exec sleep 600' & echo done"
    shown: list[str] = []
    result: list[shell.Attachment] = []
    worker = threading.Thread(
        target=lambda: result.append(shell.run(command, shown.append, 10_000)), daemon=True
    )
    worker.start()
    try:
        worker.join(timeout=20)  # the command exits at once; only the daemon lives on
        assert not worker.is_alive(), "the wait followed the daemon, not the command"
        assert result[0].status == 0
        assert result[0].text == "started\ndone\n"
    finally:
        if pidfile.exists() and pidfile.read_text().strip():
            os.kill(int(pidfile.read_text()), signal.SIGKILL)
