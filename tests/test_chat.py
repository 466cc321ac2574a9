"""A whole turn: commit the question, stream, render, save, and how it ends."""

from __future__ import annotations

import io
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from chatrepl import wire
from chatrepl.chat import Chat
from chatrepl.config import Endpoint, Settings
from chatrepl.render import Renderer
from chatrepl.render.drawing import make_console
from chatrepl.store import Store
from chatrepl.transport import Transport
from tests.helpers import error_script, make_chat, run_chatrepl
from tests.server import ChatServer, Script, sse


def rows(home: Path) -> list[tuple[str, str, str]]:
    with sqlite3.connect(home / "chatrepl.db") as db:
        return db.execute("SELECT role, content, status FROM messages ORDER BY id").fetchall()


def test_follow_up_carries_the_whole_conversation(server: ChatServer, tmp_path: Path) -> None:
    chat, out = make_chat(server.url, tmp_path)
    assert chat.ask("first question").status == "complete"
    assert chat.ask("second question").status == "complete"
    sent = server.requests[1].body["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "user"]
    assert sent[0]["content"] == "first question"
    assert sent[1]["content"].startswith("Answer 1: you said *first question*.")
    assert sent[2]["content"] == "second question"
    assert "Answer 2" in out.getvalue()
    assert [r[2] for r in rows(tmp_path)] == ["complete"] * 4


def test_question_is_committed_before_the_request_leaves(
    server: ChatServer, tmp_path: Path
) -> None:
    seen: list[list[tuple[str, str, str]]] = []

    def check(record: Any) -> Script:
        seen.append(rows(tmp_path))  # what another process would read now
        return Script(pieces=sse("ok"))

    server.add(check)
    chat, _ = make_chat(server.url, tmp_path)
    chat.ask("remember me")
    assert seen == [[("user", "remember me", "complete")]]


def test_truncated_stream_keeps_the_partial_answer(server: ChatServer, tmp_path: Path) -> None:
    server.add(Script(pieces=sse("Hello", " th", done=False), framing="close"))
    chat, out = make_chat(server.url, tmp_path)
    outcome = chat.ask("q")
    assert outcome.status == "truncated"
    assert rows(tmp_path)[1] == ("assistant", "Hello th", "truncated")
    assert "Hello th" in out.getvalue()


def test_failure_before_any_text_gives_the_question_back(
    server: ChatServer, tmp_path: Path
) -> None:
    server.add(error_script("http_worker_401.json", 401))
    chat, _ = make_chat(server.url, tmp_path, token="sk-SENTINEL-123")
    outcome = chat.ask("my question")
    assert outcome.status == "unsent" and outcome.restore == "my question"
    assert outcome.error is not None and "Access denied" in str(outcome.error)
    assert rows(tmp_path) == []
    assert chat.conversation.messages == []
    with sqlite3.connect(tmp_path / "chatrepl.db") as db:
        dump = "\n".join(db.iterdump())
    assert "sk-SENTINEL-123" not in dump


def test_in_band_error_after_text_is_failed_with_partial(
    server: ChatServer, tmp_path: Path
) -> None:
    server.add(
        Script(
            pieces=[
                *sse("Par", done=False),
                b'data: {"error":{"message":"upstream model crashed"}}\n\n',
            ]
        )
    )
    chat, _ = make_chat(server.url, tmp_path)
    outcome = chat.ask("q")
    assert outcome.status == "failed" and outcome.reply.error == "upstream model crashed"
    assert rows(tmp_path)[1] == ("assistant", "Par", "failed")


class InterruptingTransport:
    """Yields some text, then behaves as if the user pressed Ctrl-C."""

    def stream(
        self, endpoint: Endpoint, messages: list[dict[str, str]], token: str = ""
    ) -> Iterator[wire.Event]:
        yield wire.Text("partial ")
        yield wire.Text("words")
        raise KeyboardInterrupt


def test_ctrl_c_mid_answer_keeps_what_arrived(tmp_path: Path) -> None:
    import io

    out = io.StringIO()
    chat = Chat(
        Settings(),
        InterruptingTransport(),
        Renderer(make_console(out, force_terminal=True, width=60)),
        Store(tmp_path / "chatrepl.db"),
    )
    outcome = chat.ask("q")
    assert outcome.status == "interrupted"
    assert rows(tmp_path)[1] == ("assistant", "partial words", "interrupted")
    assert chat.conversation.messages[1].content == "partial words"
    assert "partial words" in out.getvalue()


def test_no_save_writes_nothing(server: ChatServer, tmp_path: Path) -> None:
    """Settings(save=False) keeps a store it is given from being written."""
    store = Store(tmp_path / "chatrepl.db")
    chat = Chat(
        Settings(endpoint=Endpoint(url=server.url), save=False),
        Transport(connect_timeout=2, idle_timeout=5),
        Renderer(make_console(io.StringIO()), markdown=False, plain=True),
        store,
    )
    assert chat.ask("q").status == "complete"
    assert rows(tmp_path) == []


def test_the_no_save_flag_writes_nothing(server: ChatServer, chatrepl_home: Path) -> None:
    done = run_chatrepl(chatrepl_home, "--no-save", "q", url=server.url)
    assert done.returncode == 0 and done.stdout.startswith("Answer 1")
    assert not (chatrepl_home / "chatrepl.db").exists()
    run_chatrepl(chatrepl_home, "q", url=server.url, check=True)
    before = rows(chatrepl_home)
    continued = run_chatrepl(chatrepl_home, "-c", "--no-save", "more", url=server.url)
    assert continued.returncode == 0 and continued.stdout.startswith("Answer")
    assert len(server.requests[-1].body["messages"]) == 3  # the saved turn went along
    assert rows(chatrepl_home) == before  # and nothing of it was saved


def test_plain_mode_writes_exactly_the_text(server: ChatServer, tmp_path: Path) -> None:
    server.add(Script(pieces=sse("# Title\n", "**bold** \x1b[31mred", " end")))
    chat, out = make_chat(server.url, tmp_path, markdown=False)
    chat.ask("q")
    assert out.getvalue() == "# Title\n**bold** red end\n"


def test_usage_and_timing_are_kept_with_the_answer(server: ChatServer, tmp_path: Path) -> None:
    import json

    from tests.conftest import fixture_bytes

    server.add(Script(pieces=[fixture_bytes("cf_openai_style.sse")]))
    chat, _ = make_chat(server.url, tmp_path)
    chat.ask("q")
    with sqlite3.connect(tmp_path / "chatrepl.db") as db:
        meta = json.loads(
            db.execute("SELECT meta FROM messages WHERE role='assistant'").fetchone()[0]
        )
    assert meta["usage"] == {"prompt_tokens": 147, "completion_tokens": 3, "total_tokens": 150}
    assert meta["first_token"] >= 0 and meta["seconds"] >= meta["first_token"]
    assert meta["finish_reason"] == "stop"
