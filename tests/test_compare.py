"""Compare (issue 26, point 3): one question put to two or three local servers at once,
one of them failing or stalling; the store, the screen and one-shot stdout."""

from __future__ import annotations

import io
import json
import re
import signal
import sqlite3
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pexpect
import pyte
import pytest
from prompt_toolkit.input import PipeInput

from chatrepl.config import Endpoint, Settings
from chatrepl.repl import Repl
from tests.conftest import clean_env
from tests.helpers import ANSWERS_SO_FAR, make_repl, run_chatrepl, wait_for_answers
from tests.server import ChatServer, Script, sse


@pytest.fixture
def servers() -> Iterator[list[ChatServer]]:
    started = [ChatServer().start() for _ in range(3)]
    for srv, name in zip(started, "abc", strict=True):
        srv.name = name
    yield started
    for srv in started:
        srv.stop()


def settings_for(servers: list[ChatServer]) -> Settings:
    endpoints = {
        name: Endpoint(name=name, url=srv.url, api="openai", model=f"m-{name}")
        for name, srv in zip("abc", servers, strict=True)
    }
    return Settings(endpoint=endpoints["a"], endpoints=endpoints)


def repl_for(settings: Settings, home: Path, pipe: PipeInput) -> tuple[Repl, io.StringIO]:
    return make_repl(settings, home, pipe, width=120)


def answers(db_path: Path) -> list[dict[str, Any]]:
    with sqlite3.connect(db_path) as db:
        db.row_factory = sqlite3.Row
        rows = db.execute(
            "SELECT id, parent_id, content, status, meta FROM messages "
            "WHERE role = 'assistant' ORDER BY id"
        ).fetchall()
    return [dict(row) | {"meta": json.loads(row["meta"])} for row in rows]


def refusing() -> Script:
    """A refusal that is not tried again (a 5xx would be, after a pause)."""
    return Script(status=404, pieces=[b'{"code":404,"message":"model m-c not found"}'])


def test_compare_the_last_question_keeps_every_answer_and_a_failure_stops_none(
    servers: list[ChatServer], tmp_path: Path, pipe: PipeInput
) -> None:
    _a, b, c = servers
    c.add(refusing(), refusing(), refusing())
    r, out = repl_for(settings_for(servers), tmp_path, pipe)
    pipe.send_text("hello\r/compare @a @b @c\r\x04")
    r.run()
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", out.getvalue())
    saved = answers(tmp_path / "chatrepl.db")
    assert saved[0]["meta"]["endpoint"] == "a"
    assert sorted(s["meta"]["endpoint"] for s in saved[1:]) == ["a", "b"]  # c never answered
    assert len({s["parent_id"] for s in saved}) == 1  # all answers to the one question
    assert all(s["status"] == "complete" for s in saved)
    assert any(s["content"].startswith("[b] Answer") for s in saved)
    # b was asked the question alone, without a's first answer
    assert [m["content"] for m in b.requests[-1].body["messages"]] == ["hello"]
    assert b.requests[-1].body["model"] == "m-b"
    assert re.search(r"@a:m-a\s+done · ~\d+ tokens · first token after [\d.]+ s", text)
    assert re.search(r"@c:m-c\s+failed · The server answered 404 Not Found", text)
    assert re.search(r"On screen: answer [23] of 3, a: m-a; /next and /prev show the othe", text)
    assert r.chat.conversation.messages[-1].content.startswith("[a]")


def test_compare_a_new_question_goes_on_with_the_answer_on_screen(
    servers: list[ChatServer], tmp_path: Path, pipe: PipeInput
) -> None:
    a, b, _ = servers
    r, _out = repl_for(settings_for(servers), tmp_path, pipe)
    pipe.send_text("/compare @b @a -- what is new\rand then\r\x04")
    r.run()
    saved = answers(tmp_path / "chatrepl.db")
    assert {s["meta"]["endpoint"] for s in saved[:2]} == {"a", "b"}
    posted = [q for q in a.requests if q.body is not None]  # typing @ lists models (GET)
    assert [m["content"] for m in posted[0].body["messages"]] == ["what is new"]
    # the first writer named is on screen, and the conversation goes on with it
    assert b.requests[-1].body["messages"][-1]["content"] == "and then"
    assert b.requests[-1].body["messages"][1]["content"].startswith("[b]")
    assert len(posted) == 1


def test_no_writer_answering_changes_nothing(
    servers: list[ChatServer], tmp_path: Path, pipe: PipeInput
) -> None:
    _a, b, c = servers
    b.add(refusing(), refusing(), refusing())
    c.add(refusing(), refusing(), refusing())
    r, out = repl_for(settings_for(servers), tmp_path, pipe)
    offered: list[str] = []
    read = r.read

    def reading() -> str:
        offered.append(r.session.pending)
        return read()

    r.read = reading  # type: ignore[method-assign]
    pipe.send_text("/compare @b @c -- lost?\r\x03\x04")
    r.run()
    assert "No writer answered" in out.getvalue()
    assert offered == ["", "lost?", ""]  # the question is offered at the next prompt
    assert not r.chat.conversation.nodes
    with sqlite3.connect(tmp_path / "chatrepl.db") as db:
        assert db.execute("SELECT COUNT(*) FROM messages").fetchone()[0] == 0


def test_the_others_stream_while_the_watched_one_does_and_are_saved_as_they_go(
    servers: list[ChatServer], tmp_path: Path, pipe: PipeInput
) -> None:
    a, b, _ = servers
    gate = threading.Event()
    seen: list[list[tuple[str, str]]] = []

    def look() -> None:  # a is mid-answer, b is stopped mid-answer: what a kill -9 leaves
        time.sleep(0.3)
        with sqlite3.connect(tmp_path / "chatrepl.db") as db:
            seen.append(db.execute(ANSWERS_SO_FAR).fetchall())
        gate.set()

    b.add(
        Script(
            pieces=[
                *sse("[b] early ", done=False),
                0.6,
                *sse("more", done=False),
                gate,
                *sse("end"),
            ]
        )
    )
    a.add(Script(pieces=[*sse("[a] part ", done=False), 1.0, look, *sse("rest")]))
    r, _ = repl_for(settings_for(servers), tmp_path, pipe)
    pipe.send_text("/compare @a @b -- go\r\x04")
    r.run()
    assert b.gate_timeouts == 0
    rows = dict(seen[0])
    assert rows.get("[a] part ") == "streaming"
    assert rows.get("[b] early more") == "streaming"
    saved = answers(tmp_path / "chatrepl.db")
    assert sorted(s["content"] for s in saved) == ["[a] part rest", "[b] early moreend"]


def test_one_shot_writes_each_answer_under_its_header_in_order(
    servers: list[ChatServer], chatrepl_home: Path
) -> None:
    a, _b, c = servers
    a.add(Script(pieces=[0.4, *sse("slow a")]))  # b ends first: the order given holds
    chatrepl_home.mkdir(parents=True, exist_ok=True)
    config = "".join(
        f'[endpoints.{n}]\nurl = "{s.url}"\napi = "openai"\nmodel = "m-{n}"\n'
        for n, s in zip("abc", servers, strict=True)
    )
    (chatrepl_home / "config.toml").write_text(config)
    done = run_chatrepl(chatrepl_home, "--compare", "a,b", "q")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "== a: m-a ==\nslow a\n\n== b: m-b ==\n[b] Answer 1: you said *q*. \n"
    c.add(refusing(), refusing(), refusing())
    failed = run_chatrepl(chatrepl_home, "--compare", "c,b:m-x", "q2")
    assert failed.returncode == 1
    assert failed.stdout.startswith("== c: m-c ==\n\n== b: m-x ==\n[b] Answer")
    assert failed.stderr.count("\n") == 1 and "chatrepl: @c:m-c:" in failed.stderr
    assert (
        "--compare takes two or more" in run_chatrepl(chatrepl_home, "--compare", "a", "q").stderr
    )


def pty_config(home: Path, servers: list[ChatServer]) -> None:
    home.mkdir(parents=True, exist_ok=True)
    config = 'endpoint = "a"\n' + "".join(
        f'[endpoints.{n}]\nurl = "{s.url}"\napi = "openai"\nmodel = "m-{n}"\n'
        for n, s in zip("abc", servers, strict=True)
    )
    (home / "config.toml").write_text(config)


def spawn(home: Path) -> pexpect.spawn:
    env = clean_env(home, PROMPT_TOOLKIT_NO_CPR="1", COLUMNS="100", LINES="30")
    return pexpect.spawn(
        sys.executable, ["-m", "chatrepl"], env=env, timeout=20, dimensions=(30, 100)
    )


@pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")
def test_what_a_person_sees_of_a_compare(servers: list[ChatServer], chatrepl_home: Path) -> None:
    a, b, c = servers
    a.add(Script(pieces=[*sse("[a] starts ", done=False), 1.0, *sse("and ends.")]))
    b.add(Script(pieces=[*sse("[b] begins ", done=False), 2.0, *sse("and ends.")]))
    c.add(refusing(), refusing(), refusing())
    pty_config(chatrepl_home, servers)
    child = spawn(chatrepl_home)
    child.logfile_read = io.BytesIO()
    child.expect_exact("> ")
    child.send("/compare @a @b @c -- hello\r")
    child.expect_exact("[a] starts")
    # under the watched answer as it streams: a line for each other writer
    child.expect(rb"@b:m-b: ~\d+ tokens.*\r\n.*@c:m-c: The server answered 404")
    child.expect_exact("On screen:")
    child.expect_exact("> ")
    screen = pyte.Screen(100, 30)
    pyte.ByteStream(screen).feed(child.logfile_read.getvalue())
    rows = [line.rstrip() for line in screen.display]
    shown = "\n".join(rows)
    assert shown.count("[a] starts and ends.") == 1  # the watched answer, once
    assert "[b] begins" not in shown  # the others: kept, not printed over it
    for writer in ("@a:m-a", "@b:m-b", "@c:m-c"):  # the summary, a row each
        assert sum(bool(re.match(rf"\s+{writer}\s+(done|failed) ·", r)) for r in rows) == 1
    assert not any(re.match(r"@\w:m-\w: ", r) for r in rows)  # the writers' lines went
    child.sendcontrol("d")
    child.expect(pexpect.EOF)


@pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")
def test_ctrl_c_stops_every_writer_and_keeps_what_arrived(
    servers: list[ChatServer], chatrepl_home: Path
) -> None:
    a, b, _ = servers
    a.add(Script(pieces=[*sse("[a] slow start ", done=False), 10.0, *sse("never")]))
    b.add(Script(pieces=[*sse("[b] slow too ", done=False), 10.0, *sse("never")]))
    pty_config(chatrepl_home, servers)
    child = spawn(chatrepl_home)
    child.expect_exact("> ")
    child.send("/compare @a @b -- wait\r")
    child.expect_exact("slow start")
    time.sleep(0.3)
    child.kill(signal.SIGINT)
    child.expect_exact("> ")
    child.sendcontrol("d")
    child.expect(pexpect.EOF)
    saved = answers(chatrepl_home / "chatrepl.db")
    assert sorted((s["content"], s["status"]) for s in saved) == [
        ("[a] slow start ", "interrupted"),
        ("[b] slow too ", "interrupted"),
    ]


def test_a_kill_9_mid_compare_loses_no_answer(
    servers: list[ChatServer], chatrepl_home: Path
) -> None:
    import subprocess

    a, b, _ = servers
    a.add(Script(pieces=[*sse("[a] kept ", done=False), 8.0, *sse("never")]))
    b.add(Script(pieces=[*sse("[b] kept too ", done=False), 8.0, *sse("never")]))
    pty_config(chatrepl_home, servers)
    child = subprocess.Popen(
        [sys.executable, "-m", "chatrepl", "--compare", "a,b", "q"],
        env=clean_env(chatrepl_home),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    rows = wait_for_answers(chatrepl_home / "chatrepl.db", 2)
    child.kill()  # SIGKILL: nothing of chatrepl runs after this
    child.wait()
    assert sorted(r[0] for r in rows) == ["[a] kept ", "[b] kept too "]
    cid = run_chatrepl(chatrepl_home, "--list", check=True).stdout.split("\t")[0]
    data = json.loads(run_chatrepl(chatrepl_home, "--export", cid, "--format", "json").stdout)
    kept = [data["messages"][1], *data["other_branches"]]
    assert sorted((m["content"], m["status"]) for m in kept) == [
        ("[a] kept ", "interrupted"),
        ("[b] kept too ", "interrupted"),
    ]


def test_reasoning_sent_without_its_opening_tag_is_recast_under_the_watched_answer(
    servers: list[ChatServer], tmp_path: Path, pipe: PipeInput
) -> None:
    a, _b, _c = servers
    a.add(Script(pieces=sse("weighing it all ", "up</think>", "The answer.")))
    r, out = repl_for(settings_for(servers), tmp_path, pipe)
    pipe.send_text("/compare @a @b -- hmm\r\x04")
    r.run()
    assert "That was the model's reasoning (it sent no opening <think> tag)." in out.getvalue()
    saved = {s["meta"]["endpoint"]: s for s in answers(tmp_path / "chatrepl.db")}
    assert saved["a"]["content"] == "The answer."
    assert saved["a"]["meta"]["reasoning"] == "weighing it all up"
