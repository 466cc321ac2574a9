"""Titles by the model (issue 26, point 5): asked after the first answer on a request of
their own, shown in the toolbar and --list, never a turn of the conversation."""

from __future__ import annotations

import io
import sqlite3
from pathlib import Path

import pytest
from prompt_toolkit.input import PipeInput

from chatrepl.config import Endpoint, Overrides, Settings, load
from chatrepl.repl import Repl
from chatrepl.titles import clean
from tests.helpers import make_repl
from tests.server import ChatServer, Recorded, Script, sse


def is_title_request(record: Recorded) -> bool:
    first = record.body["messages"][0]["content"]
    return first.startswith("Write a title of at most 6 words")


def answering(server: ChatServer, *titles: Script) -> None:
    """Answer questions by echo and title requests with `titles`, in order."""
    waiting = list(titles)

    def respond(record: Recorded) -> Script:
        if is_title_request(record) and waiting:
            return waiting.pop(0)
        return server.echo(record, len(server.requests))

    server.add(*[respond] * 10)


def repl_for(
    server: ChatServer, home: Path, pipe: PipeInput, auto_title: bool = True
) -> tuple[Repl, io.StringIO]:
    settings = Settings(endpoint=Endpoint(url=server.url), auto_title=auto_title)
    return make_repl(settings, home, pipe)


def saved_titles(home: Path) -> list[str]:
    with sqlite3.connect(home / "chatrepl.db") as db:
        return [row[0] for row in db.execute("SELECT title FROM conversations")]


def settle(r: Repl) -> str:
    r.session.titles.join(5)
    return r.session.toolbar()


def test_the_first_answer_brings_a_title_in_the_background(
    server: ChatServer, tmp_path: Path, pipe: PipeInput
) -> None:
    answering(server, Script(pieces=sse('"Penguins of the ', 'Southern Ocean."\n')))
    r, out = repl_for(server, tmp_path, pipe)
    pipe.send_text("tell me about penguins\rand seals\r\x04")
    r.run()
    assert "Penguins of the Southern Ocean" in settle(r)
    assert saved_titles(tmp_path) == ["Penguins of the Southern Ocean"]
    titled = [rec for rec in server.requests if is_title_request(rec)]
    assert len(titled) == 1  # once: not after the second answer
    sent = titled[0].body["messages"]
    assert len(sent) == 1 and "tell me about penguins" in sent[0]["content"]
    assert "Answer 1: you said" in sent[0]["content"]  # the first answer goes along
    assert len(r.chat.conversation.nodes) == 4  # the title request is not a turn
    assert "Write a title" not in out.getvalue()
    later = [m["content"] for m in server.requests[-1].body["messages"]]
    assert all("Write a title" not in m for m in later)


def test_no_title_when_turned_off_or_named_by_the_user(
    server: ChatServer, tmp_path: Path, pipe: PipeInput
) -> None:
    answering(server, Script(pieces=sse("Never used")))
    r, _ = repl_for(server, tmp_path, pipe, auto_title=False)
    pipe.send_text("first\r\x04")
    r.run()
    settle(r)
    assert not any(is_title_request(rec) for rec in server.requests)


def test_a_name_given_first_is_kept(server: ChatServer, tmp_path: Path, pipe: PipeInput) -> None:
    answering(server, Script(pieces=sse("Never used")))
    r, _ = repl_for(server, tmp_path, pipe)
    pipe.send_text("/rename My own name\rfirst\r\x04")
    r.run()
    assert "My own name" in settle(r)
    assert not any(is_title_request(rec) for rec in server.requests)


def test_a_failed_or_late_title_changes_nothing(
    server: ChatServer, tmp_path: Path, pipe: PipeInput
) -> None:
    answering(server, Script(status=500, pieces=[b'{"code":500,"message":"busy"}']))
    r, out = repl_for(server, tmp_path, pipe)
    pipe.send_text("first\r\x04")
    r.run()
    assert "first" in settle(r) and saved_titles(tmp_path) == ["first"]
    assert "busy" not in out.getvalue()


def test_a_title_that_comes_after_a_rename_is_dropped(
    server: ChatServer, tmp_path: Path, pipe: PipeInput
) -> None:
    answering(server, Script(pieces=[0.5, *sse("Too late")]))
    r, _ = repl_for(server, tmp_path, pipe)
    pipe.send_text("first\r/rename Mine\r\x04")
    r.run()
    assert "Mine" in settle(r) and saved_titles(tmp_path) == ["Mine"]


def test_rename_auto_asks_again(server: ChatServer, tmp_path: Path, pipe: PipeInput) -> None:
    answering(server, Script(pieces=sse("First title")), Script(pieces=sse("Second title")))
    r, out = repl_for(server, tmp_path, pipe)
    pipe.send_text("first\r")
    pipe.send_text("/rename Mine\r/rename auto\r\x04")
    r.run()
    assert "Asking default for a title; the toolbar shows it when it comes." in out.getvalue()
    r.session.titles.join(5)
    r.session.apply_title()
    assert r.chat.conversation.title == "Second title"
    assert saved_titles(tmp_path) == ["Second title"]


def test_the_config_turns_titles_off(server: ChatServer, chatrepl_home: Path) -> None:
    chatrepl_home.mkdir(parents=True, exist_ok=True)
    path = chatrepl_home / "config.toml"
    path.write_text("auto_title = false\n")
    assert not load(Overrides(config_file=path), env={}).auto_title
    path.write_text("")
    assert load(Overrides(config_file=path), env={}).auto_title  # on by default
    assert not load(Overrides(config_file=path), env={"CHATREPL_AUTO_TITLE": "0"}).auto_title
    assert Settings()._replace(auto_title=True).auto_title


@pytest.mark.parametrize(
    ("reply", "title"),
    [
        ('"Penguins of the South."', "Penguins of the South"),
        ("Title: **Sorting lists in Python**\nmore words", "Sorting lists in Python"),
        ("# One two three four five six seven eight", "One two three four five six"),
        ("  \n\n", ""),
    ],
)
def test_clean_keeps_a_short_title(reply: str, title: str) -> None:
    assert clean(reply) == title
