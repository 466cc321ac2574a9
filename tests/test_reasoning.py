"""Reasoning over a real server: kept apart, never sent back, never on stdout."""

from __future__ import annotations

import json
import sqlite3
import sys
from pathlib import Path

import pytest

from chatrepl.config import Endpoint
from tests.helpers import make_chat, run_chatrepl
from tests.server import ChatServer, Script
from tests.test_pty import finish, prompt, spawn
from tests.test_think import REASONING, _fixture

ANSWER = "Hello there."

# fixture, content type, model the endpoint is told
FORMS = [
    ("think_r1_tagged.sse", "text/event-stream", ""),
    ("think_r1_closing.sse", "text/event-stream", "deepseek-r1-distill-qwen-32b"),
    ("think_qwq.sse", "text/event-stream", ""),
    ("think_thinking_tag.sse", "text/event-stream", ""),
    ("think_reasoning_content.sse", "text/event-stream", ""),
    ("think_ollama.ndjson", "application/x-ndjson", ""),
]


def _script(name: str, ctype: str) -> Script:
    data = _fixture(name)
    # one event per write, as a server streams them
    sep = b"\n" if ctype.endswith("ndjson") else b"\n\n"
    pieces: list[bytes | float] = []
    for part in data.split(sep):
        if part:
            pieces += [part + sep, 0.002]
    return Script(pieces=pieces, content_type=ctype)  # type: ignore[arg-type]


@pytest.mark.parametrize(("name", "ctype", "model"), FORMS)
def test_one_shot_stdout_is_the_answer_alone(
    server: ChatServer, chatrepl_home: Path, name: str, ctype: str, model: str
) -> None:
    server.add(_script(name, ctype))
    done = run_chatrepl(
        chatrepl_home, "hi", url=server.url, env={"CHATREPL_MODEL": model} if model else None
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == ANSWER + "\n"
    assert "greets" not in done.stderr


def test_show_reasoning_goes_to_stderr_only(server: ChatServer, chatrepl_home: Path) -> None:
    server.add(_script("think_r1_tagged.sse", "text/event-stream"))
    done = run_chatrepl(chatrepl_home, "--show-reasoning", "hi", url=server.url)
    assert done.returncode == 0, done.stderr
    assert done.stdout == ANSWER + "\n"
    assert REASONING in done.stderr


@pytest.mark.parametrize(("name", "ctype", "model"), FORMS)
def test_reasoning_is_saved_apart_and_never_sent_back(
    server: ChatServer, tmp_path: Path, name: str, ctype: str, model: str
) -> None:
    server.add(_script(name, ctype))
    chat, _out = make_chat(server.url, tmp_path)
    chat.endpoint = Endpoint(url=server.url, model=model)
    outcome = chat.ask("hi")
    assert outcome.status == "complete"
    assert outcome.first_token is not None and outcome.first_text is not None
    assert outcome.first_token <= outcome.first_text
    chat.ask("and then?")
    sent = server.requests[1].body["messages"]
    assert sent[1] == {"role": "assistant", "content": ANSWER}
    assert "greets" not in json.dumps(server.requests[1].body)
    with sqlite3.connect(tmp_path / "chatrepl.db") as db:
        content, meta = db.execute(
            "SELECT content, meta FROM messages WHERE role = 'assistant' ORDER BY id"
        ).fetchone()
    assert content == ANSWER
    saved = json.loads(meta)
    assert saved["reasoning"] == REASONING
    assert saved["thinking_seconds"] >= 0 and saved["answer_seconds"] >= 0


def test_an_unknown_model_recast_keeps_the_screen_honest(
    server: ChatServer, tmp_path: Path
) -> None:
    server.add(_script("think_r1_closing.sse", "text/event-stream"))
    chat, out = make_chat(server.url, tmp_path)
    chat.ask("hi")
    shown = out.getvalue()
    assert "That was the model's reasoning" in shown
    assert chat.last_answer() is not None
    assert chat.last_answer().content == ANSWER  # type: ignore[union-attr]
    assert chat.conversation.request_messages()[1]["content"] == ANSWER


def test_answers_saved_with_inline_reasoning_are_sent_without_it(tmp_path: Path) -> None:
    from chatrepl.conversation import Conversation

    conv = Conversation()
    conv.add("user", "q")
    conv.add("assistant", "<think>\nold thoughts\n</think>\n\nThe answer.")
    assert conv.request_messages()[1]["content"] == "The answer."


def test_show_and_export_mark_the_reasoning(server: ChatServer, chatrepl_home: Path) -> None:
    server.add(_script("think_r1_tagged.sse", "text/event-stream"))
    assert run_chatrepl(chatrepl_home, "hi", url=server.url).returncode == 0
    listed = run_chatrepl(chatrepl_home, "--list")
    cid = listed.stdout.split("\t", 1)[0]
    shown = run_chatrepl(chatrepl_home, "--show", cid)
    assert "Thinking…" in shown.stdout and REASONING in shown.stdout  # the streaming header
    assert shown.stdout.index(REASONING) < shown.stdout.index(ANSWER)
    md = run_chatrepl(chatrepl_home, "--export", cid).stdout
    assert f"<details><summary>Reasoning</summary>\n\n{REASONING}\n\n</details>" in md
    js = json.loads(run_chatrepl(chatrepl_home, "--export", cid, "--format", "json").stdout)
    answer = js["messages"][1]
    assert answer["content"] == ANSWER and answer["meta"]["reasoning"] == REASONING


@pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")
def test_reasoning_collapses_and_think_shows_it(server: ChatServer, chatrepl_home: Path) -> None:
    child = spawn(server, chatrepl_home)
    prompt(child)
    child.send("please think\r")
    child.expect_exact("Thinking…")
    child.expect(r"Thought for \d+\.\d s, \d+ words; /think to show\.")
    child.expect_exact("I thought about")
    prompt(child)
    child.send("/think\r")
    child.expect_exact("Let me weigh it.")
    prompt(child)
    child.send("/stats\r")
    child.expect_exact("thought for")
    child.expect_exact("answered")
    prompt(child)
    child.send("/think on\r")
    child.expect_exact("Reasoning is shown in full from now on.")
    prompt(child)
    child.send("think again\r")
    child.expect(r"Thought for \d+\.\d s, \d+ words\.")
    prompt(child)
    child.sendcontrol("d")
    assert finish(child) == 0
