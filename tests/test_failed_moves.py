"""A turn that fails before its answer starts leaves the saved tree exactly as it was:
`/retry` and `/edit` against a server that has stopped (issue 23, row 22)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tests.helpers import run_chatrepl
from tests.server import ChatServer
from tests.test_pty import finish, prompt, spawn

Rows = tuple[list[tuple[object, ...]], list[tuple[object, ...]]]


def saved_tree(home: Path) -> Rows:
    """Every message (id, parent, role, content, status) and every conversation's head."""
    with sqlite3.connect(home / "chatrepl.db") as db:
        messages = db.execute(
            "SELECT id, parent_id, role, content, status FROM messages ORDER BY id"
        ).fetchall()
        heads = db.execute(
            "SELECT id, head_id, message_count FROM conversations ORDER BY id"
        ).fetchall()
    return messages, heads


def test_a_failed_retry_keeps_the_question(server: ChatServer, chatrepl_home: Path) -> None:
    child = spawn(server, chatrepl_home)
    prompt(child)
    child.send("keep this question\r")
    child.expect_exact("Answer 1")
    prompt(child)
    before = saved_tree(chatrepl_home)
    url = server.url
    server.stop()  # nothing listens there any more: the connection is refused
    child.send("/retry\r")
    child.expect_exact("Connection refused by")
    prompt(child)
    assert saved_tree(chatrepl_home) == before
    child.sendcontrol("d")
    assert finish(child) == 0
    assert saved_tree(chatrepl_home) == before
    shown = run_chatrepl(chatrepl_home, "--show", str(before[1][0][0]), url=url)
    assert "keep this question" in shown.stdout and "Answer 1" in shown.stdout


def test_a_failed_edit_leaves_the_branch_on_screen_saved(
    server: ChatServer, chatrepl_home: Path
) -> None:
    child = spawn(server, chatrepl_home)
    prompt(child)
    for text, answer in (("one", "Answer 1"), ("two", "Answer 2")):
        child.send(text + "\r")
        child.expect_exact(answer)
        prompt(child)
    before = saved_tree(chatrepl_home)
    server.stop()
    child.send("/edit 2\r")
    child.expect_exact("The question is back at the prompt")
    prompt(child)
    child.send("\x15other\r")  # Ctrl-U clears the question given back
    child.expect_exact("Connection refused by")
    prompt(child)  # with the question given back: Ctrl-U clears it, Ctrl-D leaves
    child.send("\x15")
    child.sendcontrol("d")
    assert finish(child) == 0
    assert saved_tree(chatrepl_home) == before
