"""Several models at the edges a user found (issue 26): completion of writers, a retry
stopped before its first word, flags against roles, compare with a role, files and
titles, the Workers shape's missing model, the settings shown, a stalled watched writer
and what a kill -9 leaves on screen."""

from __future__ import annotations

import io
import json
import re
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pexpect
import pytest
from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.document import Document
from prompt_toolkit.input import PipeInput

from chatrepl.config import Endpoint, Settings
from chatrepl.repl import CommandCompleter, Repl
from chatrepl.transport import Transport
from tests.conftest import clean_env
from tests.helpers import make_repl, run_chatrepl, wait_for_answers
from tests.server import ChatServer, Script, sse
from tests.test_compare import spawn


class Stoppable(Transport):
    """A transport where asking endpoint `stall` is stopped by Ctrl-C before any text."""

    def stream(self, endpoint: Endpoint, messages: list[dict[str, str]], token: str = "") -> Any:
        if endpoint.name == "stall":
            raise KeyboardInterrupt
        return super().stream(endpoint, messages, token)


def settings(server: ChatServer, other: ChatServer, **top: Any) -> Settings:
    server.name = "a"
    endpoints = {
        "a": Endpoint(name="a", url=server.url, api="openai", model="m-a"),
        "b": Endpoint(name="b", url=other.url, api="openai", model="m-b"),
        "stall": Endpoint(name="stall", url=other.url, api="openai"),
        "w": Endpoint(name="w", url=other.url, api="workers"),
    }
    return Settings(endpoint=endpoints["a"], endpoints=endpoints, **top)


def repl_for(s: Settings, home: Path, pipe: PipeInput) -> tuple[Repl, io.StringIO]:
    transport = Stoppable(connect_timeout=2, idle_timeout=5, sleep=lambda s: None)
    return make_repl(s, home, pipe, transport=transport)


def plain(out: io.StringIO) -> str:
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", out.getvalue())


def test_tab_after_at_in_a_command_offers_writers_not_files(
    server: ChatServer, other: ChatServer, tmp_path: Path, pipe: PipeInput, monkeypatch: Any
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "apples.txt").write_text("a file that @ would offer in a question\n")
    r, _ = repl_for(settings(server, other), tmp_path, pipe)
    completer = CommandCompleter(r.session)

    def offered(text: str) -> list[str]:
        return [c.text for c in completer.get_completions(Document(text), CompleteEvent())]

    assert offered("/compare @a") == ["@a", "@a:m-a"]
    assert offered("/compare @a @b") == ["@b", "@b:m-b"]  # the last word is completed
    assert "@a" not in offered("/compare @a @")  # a writer named once is not offered again
    assert "apples.txt" not in " ".join(offered("/compare @"))
    assert all(c.startswith("@") for c in offered("/compare "))  # no bare models
    assert offered("/retry @s") == ["@stall"]
    assert "m-a" in offered("/retry m")
    assert offered("about @app") == ["apples.txt"]  # in a question, @ is still a file


def test_a_retry_elsewhere_stopped_before_its_first_word_keeps_the_endpoint(
    server: ChatServer, other: ChatServer, tmp_path: Path, pipe: PipeInput
) -> None:
    r, out = repl_for(settings(server, other), tmp_path, pipe)
    pipe.send_text("hello\r/retry @stall\r\x04")
    r.run()
    assert r.chat.endpoint.name == "a"
    assert "This is answer" not in plain(out)
    assert "Interrupted." in plain(out)


def test_retry_with_a_model_on_the_workers_shape_says_it_is_not_sent(
    server: ChatServer, other: ChatServer, tmp_path: Path, pipe: PipeInput
) -> None:
    r, out = repl_for(settings(server, other), tmp_path, pipe)
    pipe.send_text("hello\r/retry @w:big\r/retry @\r/retry @a two words\r\x04")
    r.run()
    text = plain(out)
    assert "This endpoint's API (workers) takes no model: big is not sent." in text
    assert "Name an endpoint after @ (@a, @b, @stall, @w)." in text
    assert "Name one model, @ENDPOINT or @ENDPOINT:MODEL, not '@a:two words'." in text
    with sqlite3.connect(tmp_path / "chatrepl.db") as db:
        metas = [
            json.loads(m) for (m,) in db.execute("SELECT meta FROM messages WHERE role='assistant'")
        ]
    assert metas[-1]["endpoint"] == "w" and "model" not in metas[-1]


def test_compare_takes_the_files_attached_and_brings_a_title(
    server: ChatServer, other: ChatServer, tmp_path: Path, pipe: PipeInput
) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("attached words\n")
    r, _ = repl_for(settings(server, other, auto_title=True), tmp_path, pipe)
    pipe.send_text(f"/file {notes}\r/compare @a @b -- about the notes\r\x04")
    r.run()
    for srv in (server, other):
        asked = [q for q in srv.requests if q.body is not None and len(q.body["messages"]) == 1]
        assert "attached words" in asked[0].body["messages"][0]["content"]
    assert r.session.attached == []  # sent with the question
    r.session.titles.join(5)
    r.session.apply_title()
    assert r.chat.conversation.title.startswith("[a] About The Notes")


ROLES = """
[endpoints.a]
url = "{a}"
api = "openai"
model = "m-a"
[endpoints.b]
url = "{b}"
api = "openai"
model = "m-b"
[roles.r]
endpoint = "b"
model = "m-role"
temperature = 0.3
template = "T<{{input}}>"
[models.m-a]
price_in = 1
price_out = 2
"""


def test_flags_win_over_a_roles_endpoint_and_model_and_compare_takes_the_role(
    server: ChatServer, other: ChatServer, chatrepl_home: Path
) -> None:
    chatrepl_home.mkdir(parents=True, exist_ok=True)
    (chatrepl_home / "config.toml").write_text(ROLES.format(a=server.url, b=other.url))
    run_chatrepl(chatrepl_home, "-R", "r", "--endpoint", "a", "one", check=True)
    assert server.requests[-1].body["model"] == "m-a"  # --endpoint won; its own model
    assert server.requests[-1].body["temperature"] == 0.3  # the role's temperature
    run_chatrepl(chatrepl_home, "-R", "r", "--model", "m-flag", "two", check=True)
    assert other.requests[-1].body["model"] == "m-flag"  # the role's endpoint, --model's model
    run_chatrepl(chatrepl_home, "-R", "r", "--compare", "a,b", "three", check=True)
    for srv in (server, other):
        body = srv.requests[-1].body
        assert body["messages"][-1]["content"] == "T<three>" and body["temperature"] == 0.3
    assert "--role needs a role's name" in run_chatrepl(chatrepl_home, "-R", "", "x").stderr
    shown = run_chatrepl(chatrepl_home, "-R", "r", "--print-config", check=True).stdout
    assert "auto_title = false" in shown  # CHATREPL_AUTO_TITLE=0 in the tests' environment
    assert '[models."m-a"]\nprice_in = 1\nprice_out = 2' in shown
    assert "# role r (--role), over the above: @b:m-role, temperature 0.3, a template" in shown


def test_compare_reads_its_question_from_stdin_and_says_when_there_is_none(
    server: ChatServer, other: ChatServer, chatrepl_home: Path
) -> None:
    chatrepl_home.mkdir(parents=True, exist_ok=True)
    (chatrepl_home / "config.toml").write_text(ROLES.format(a=server.url, b=other.url))
    done = run_chatrepl(chatrepl_home, "--compare", "a,b", stdin="piped question\n")
    assert done.returncode == 0, done.stderr
    assert "you said *piped question*" in done.stdout
    none = run_chatrepl(chatrepl_home, "--compare", "a,b", stdin="")
    assert none.returncode == 2
    assert none.stderr.startswith("chatrepl: No question was given") or (
        "--compare needs a question" in none.stderr
    )
    assert (
        "-c and -r do not go with it"
        in run_chatrepl(chatrepl_home, "-c", "--compare", "a,b", "q").stderr
    )


def pty_home(home: Path, a: ChatServer, b: ChatServer) -> None:
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text('endpoint = "a"\n' + ROLES.format(a=a.url, b=b.url))


@pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")
def test_a_stalled_watched_writer_shows_a_waiting_line(
    server: ChatServer, other: ChatServer, chatrepl_home: Path
) -> None:
    server.add(Script(before=1.5, pieces=sse("late but here")))
    pty_home(chatrepl_home, server, other)
    child = spawn(chatrepl_home)
    child.expect_exact("> ")
    child.send("/compare @a @b -- are you there\r")
    host = server.url.split("//")[1].split("/")[0]
    child.expect_exact(f"waiting for {host}")
    child.expect_exact("late but here")
    child.expect_exact("On screen:")
    child.expect_exact("> ")
    child.sendcontrol("d")
    child.expect(pexpect.EOF)


def test_after_a_kill_9_the_first_writers_answer_is_on_screen(
    server: ChatServer, other: ChatServer, chatrepl_home: Path
) -> None:
    server.add(Script(pieces=[*sse("[a] first ", done=False), 8.0, *sse("never")]))
    other.add(Script(pieces=[0.4, *sse("[b] second ", done=False), 8.0, *sse("never")]))
    pty_home(chatrepl_home, server, other)
    child = subprocess.Popen(
        [sys.executable, "-m", "chatrepl", "--compare", "a,b", "q"],
        env=clean_env(chatrepl_home),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    assert len(wait_for_answers(chatrepl_home / "chatrepl.db", 2)) == 2
    time.sleep(0.3)
    child.kill()
    child.wait()
    cid = run_chatrepl(chatrepl_home, "--list", check=True).stdout.split("\t")[0]
    shown = run_chatrepl(chatrepl_home, "--show", cid, check=True).stdout
    assert "[a] first" in shown and "[b] second" not in shown


def test_compare_attaches_what_at_path_names_and_the_workers_model_is_not_taken(
    server: ChatServer, other: ChatServer, tmp_path: Path, pipe: PipeInput, monkeypatch: Any
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "app.py").write_text("print('named with @')\n")
    r, out = repl_for(settings(server, other), tmp_path, pipe)
    pipe.send_text("/compare @a @b -- explain @app.py please\r")
    pipe.send_text("/endpoint w\r/model big\rq\r/retry other\r\x04")
    r.run()
    for srv in (server, other):
        asked = [q for q in srv.requests if q.body is not None]
        assert "print('named with @')" in asked[0].body["messages"][-1]["content"]
    text = plain(out)
    assert "This endpoint's API (workers) takes no model: big is not sent." in text
    assert "This endpoint's API (workers) takes no model: other is not sent." in text
    assert r.chat.endpoint.name == "w" and r.chat.endpoint.model == "big"  # as /model left it


def test_an_unknown_endpoint_in_compare_is_a_usage_error(
    server: ChatServer, other: ChatServer, chatrepl_home: Path
) -> None:
    chatrepl_home.mkdir(parents=True, exist_ok=True)
    (chatrepl_home / "config.toml").write_text(ROLES.format(a=server.url, b=other.url))
    done = run_chatrepl(chatrepl_home, "--compare", "a,nope", "q")
    assert done.returncode == 2 and done.stderr.startswith(
        "chatrepl: Unknown endpoint @nope (@a, @b"
    )
    assert not [q for q in server.requests if q.body is not None]
