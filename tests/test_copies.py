"""Continuing a conversation another chatrepl has open makes a copy: without the turn
that process is still answering, and titled `(copy 2)` when it is a copy of a copy
(issue 23, row 20)."""

from __future__ import annotations

import threading
from pathlib import Path

from chatrepl import tree
from chatrepl.conversation import Conversation
from chatrepl.store import Store
from tests.helpers import run_chatrepl
from tests.server import ChatServer, Script, sse
from tests.test_pty import finish, prompt, spawn


def test_copy_titles_count_up() -> None:
    assert tree.copy_title("otters") == "otters (copy)"
    assert tree.copy_title("otters (copy)") == "otters (copy 2)"
    assert tree.copy_title("otters (copy 2)") == "otters (copy 3)"
    assert tree.copy_title("on (copy) machines") == "on (copy) machines (copy)"


def test_the_turn_in_flight_stays_out_of_a_copy() -> None:
    c = Conversation()
    c.add("user", "done")
    c.add("assistant", "answered")
    c.add("user", "asked")
    c.add("assistant", "half", "streaming")
    copy = tree.copy_tree(c, "t", tree.in_flight(c))
    assert [m.content for m in copy.nodes] == ["done", "answered"]
    assert copy.messages == copy.nodes
    c.messages = c.messages[:2]
    c.add("user", "sent, no answer yet")
    assert [m.content for m in tree.copy_tree(c, "t", tree.in_flight(c)).nodes] == [
        "done",
        "answered",
    ]


def test_continuing_a_conversation_being_answered_copies_what_is_done(
    server: ChatServer, chatrepl_home: Path
) -> None:
    gate = threading.Event()
    server.add(Script(pieces=sse("the first answer")))
    server.add(Script(pieces=[*sse("half of the second", done=False), gate, *sse(" and more")]))
    first = spawn(server, chatrepl_home)
    prompt(first)
    first.send("first question\r")
    first.expect_exact("the first answer")
    prompt(first)
    first.send("second question\r")
    first.expect_exact("half of the second")  # saved as it streams, still going

    done = run_chatrepl(chatrepl_home, "-c", "on the copy", url=server.url)
    assert done.returncode == 0, done.stderr
    assert "continuing on a copy" in done.stderr
    store = Store(chatrepl_home / "chatrepl.db")
    copy = store.load(store.latest() or "")
    assert [m.content for m in copy.nodes] == [
        "first question",
        "the first answer",
        "on the copy",
        copy.nodes[3].content,
    ]
    assert copy.nodes[3].content.startswith("Answer")
    sent = [m["content"] for m in server.requests[-1].body["messages"]]
    assert sent == ["first question", "the first answer", "on the copy"]
    title = copy.title
    assert title.endswith(" (copy)")

    gate.set()
    first.expect_exact("and more")
    prompt(first)
    first.sendcontrol("d")
    assert finish(first) == 0

    # a copy of a copy: hold the copy open in a second REPL, continue it from a third
    holder = spawn(server, chatrepl_home, "-r", copy.id)
    prompt(holder)
    again = run_chatrepl(chatrepl_home, "-r", copy.id, "once more", url=server.url)
    assert again.returncode == 0, again.stderr
    newest = store.load(store.latest() or "")
    assert newest.title == title.removesuffix(" (copy)") + " (copy 2)"
    holder.sendcontrol("d")
    assert finish(holder) == 0
