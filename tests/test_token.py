"""The bearer token never leaks: not to stdout or stderr (even with --debug), not to any
file of the data folder, not into the database, over every kind of fault."""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path

import pytest

from tests.conftest import fixture_bytes
from tests.helpers import run_chatrepl
from tests.server import ChatServer, Script, sse

TOKEN = "sk-SENTINEL-9d2b77"


# ------------------------------------------------------------------ the token never leaks


def run_cli(home: Path, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text("[timeouts]\nidle = 0.6\n")
    return run_chatrepl(home, "--debug", *args, "question", url=url, env={"CHATREPL_TOKEN": TOKEN})


@pytest.mark.parametrize(
    "script",
    [
        Script(pieces=sse("fine")),
        Script(
            status=401,
            content_type="application/json",
            framing="length",
            pieces=[fixture_bytes("http_worker_401.json")],
        ),
        Script(pieces=[*sse("part", done=False), b'data: {"error":{"message":"boom"}}\n\n']),
        Script(pieces=sse("cut", done=False), framing="close"),
        Script(pieces=[*sse("stall", done=False), 2.0]),
        Script(status=500, content_type="text/html", framing="length", pieces=[b"<html/>"]),
    ],
    ids=["ok", "401", "in-band", "truncated", "stall", "html"],
)
def test_the_token_never_appears_anywhere(
    server: ChatServer, chatrepl_home: Path, script: Script
) -> None:
    server.add(script, script, script)
    done = run_cli(chatrepl_home, server.url)
    assert server.requests[0].headers["Authorization"] == f"Bearer {TOKEN}"
    assert TOKEN not in done.stdout and TOKEN not in done.stderr
    for path in chatrepl_home.rglob("*"):
        if path.is_file():
            assert TOKEN.encode() not in path.read_bytes(), path
    with sqlite3.connect(chatrepl_home / "chatrepl.db") as db:
        assert TOKEN not in "\n".join(db.iterdump())


def test_unreachable_with_debug_does_not_leak_the_token(chatrepl_home: Path) -> None:
    done = run_cli(chatrepl_home, "http://127.0.0.1:9/api/chat")
    assert done.returncode == 1 and TOKEN not in done.stderr + done.stdout
    assert "Traceback" in done.stderr  # --debug did show what happened
    assert "Connection refused by 127.0.0.1:9" in done.stderr
