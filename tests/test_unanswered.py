"""A `<think>` that never closes (issue 23, row 24): one line saying the model sent
reasoning and no answer, exit 1 in one-shot use, the answer saved as failed with its
reasoning; in the REPL the same line."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from chatrepl.think import NO_ANSWER
from tests.helpers import make_chat, run_chatrepl
from tests.server import ChatServer, Script, sse

UNCLOSED = sse("<think>", "The user wants a haiku. ", "Let me count syllables...")


def test_one_shot_says_so_and_exits_1(server: ChatServer, chatrepl_home: Path) -> None:
    server.add(Script(pieces=UNCLOSED))
    done = run_chatrepl(chatrepl_home, "a haiku please", url=server.url)
    assert done.returncode == 1
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and NO_ANSWER in lines[0], done.stderr
    with sqlite3.connect(chatrepl_home / "chatrepl.db") as db:
        status, content, meta = db.execute(
            "select status, content, meta from messages where role = 'assistant'"
        ).fetchone()
    assert (status, content) == ("failed", "")
    assert json.loads(meta)["reasoning"].startswith("The user wants a haiku.")


def test_the_repl_turn_reports_it(server: ChatServer, tmp_path: Path) -> None:
    chat, _ = make_chat(server.url, tmp_path, markdown=False)
    server.add(Script(pieces=UNCLOSED))
    outcome = chat.ask("a haiku please")
    assert outcome.status == "failed"
    assert outcome.error is not None and NO_ANSWER in str(outcome.error)
    assert chat.last_answer() is not None and chat.last_answer().status == "failed"  # type: ignore[union-attr]


def test_reasoning_then_an_answer_is_still_complete(server: ChatServer, tmp_path: Path) -> None:
    chat, _ = make_chat(server.url, tmp_path, markdown=False)
    server.add(Script(pieces=sse("<think>", "hm", "</think>", "Done.")))
    outcome = chat.ask("q")
    assert (outcome.status, outcome.error, outcome.reply.answer) == ("complete", None, "Done.")
