"""Several models in one conversation: who wrote each answer, /retry on another model or
endpoint, and what answers cost (issue 26, points 1, 2 and 6)."""

from __future__ import annotations

import io
import json
import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from prompt_toolkit.input import PipeInput

from chatrepl import writer
from chatrepl.config import Endpoint, Settings
from chatrepl.errors import ChatreplError
from chatrepl.repl import Repl
from tests.helpers import make_repl, run_chatrepl
from tests.server import ChatServer, Script, sse


def two(server: ChatServer, other: ChatServer, **a: Any) -> Settings:
    server.name = "a"
    endpoints = {
        "a": Endpoint(name="a", url=server.url, api="openai", model="m-a", **a),
        "b": Endpoint(name="b", url=other.url, api="openai", model="m-b"),
        "dead": Endpoint(name="dead", url="http://127.0.0.1:9/api/chat", api="openai"),
    }
    return Settings(endpoint=endpoints["a"], endpoints=endpoints)


def repl_for(settings: Settings, home: Path, pipe: PipeInput) -> tuple[Repl, io.StringIO]:
    return make_repl(settings, home, pipe)


def answers(home: Path) -> list[tuple[str, dict[str, Any]]]:
    with sqlite3.connect(home / "chatrepl.db") as db:
        rows = db.execute("SELECT content, meta FROM messages WHERE role = 'assistant' ORDER BY id")
        return [(content, json.loads(meta)) for content, meta in rows]


def test_each_answer_is_stamped_with_its_writer_from_the_start(
    server: ChatServer, other: ChatServer, tmp_path: Path, pipe: PipeInput
) -> None:
    seen: list[dict[str, Any]] = []

    def look() -> None:  # while the answer streams: what a kill -9 would leave
        with sqlite3.connect(tmp_path / "chatrepl.db") as db:
            row = db.execute(
                "SELECT meta, status FROM messages WHERE role = 'assistant'"
            ).fetchone()
        seen.append({"status": row[1], **json.loads(row[0])})

    server.add(Script(pieces=[*sse("first ", done=False), 0.7, look, *sse("part")]))
    r, _ = repl_for(two(server, other), tmp_path, pipe)
    pipe.send_text("hello\r\x04")
    r.run()
    assert seen[0]["status"] == "streaming"
    assert seen[0]["endpoint"] == "a" and seen[0]["model"] == "m-a"
    assert answers(tmp_path)[0][1]["model"] == "m-a"


def test_retry_on_another_endpoint_keeps_both_and_names_the_writers(
    server: ChatServer, other: ChatServer, tmp_path: Path, pipe: PipeInput
) -> None:
    r, out = repl_for(two(server, other), tmp_path, pipe)
    pipe.send_text("hello\r/retry @b\r")
    pipe.send_text("\x04")
    r.run()
    text = out.getvalue()
    assert other.requests[-1].body["model"] == "m-b"  # asked of b, with b's model
    assert [m["content"] for m in other.requests[-1].body["messages"]] == ["hello"]
    assert "This is answer 2 of 2 (b: m-b); /prev (Alt+Left) shows the earlier one." in text
    saved = answers(tmp_path)
    assert saved[0][0].startswith("[a]") and saved[0][1]["endpoint"] == "a"
    assert saved[1][0].startswith("[b]") and saved[1][1]["endpoint"] == "b"
    chat = r.chat
    assert (chat.endpoint.name, chat.endpoint.model) == ("b", "m-b")  # goes on with b
    assert "answer 2 of 2 · m-b" in r.session.toolbar()


def test_prev_and_next_name_the_writer_and_the_conversation_follows(
    server: ChatServer, other: ChatServer, tmp_path: Path, pipe: PipeInput
) -> None:
    r, out = repl_for(two(server, other), tmp_path, pipe)
    pipe.send_text("hello\r/retry @b\r/prev\rmore\r\x04")
    r.run()
    text = out.getvalue()
    assert "Answer 1 of 2 (a: m-a):" in text
    assert "The conversation goes on with a: m-a." in text
    assert server.requests[-1].body["messages"][-1]["content"] == "more"  # asked of a
    assert len(other.requests) == 1


def test_retry_with_a_model_keeps_the_endpoint(
    server: ChatServer, other: ChatServer, tmp_path: Path, pipe: PipeInput
) -> None:
    r, _ = repl_for(two(server, other), tmp_path, pipe)
    pipe.send_text("hello\r/retry m-c\r/retry @b m-d\r\x04")
    r.run()
    assert server.requests[-1].body["model"] == "m-c"
    assert other.requests[-1].body["model"] == "m-d"  # `/retry @b m-d` is @b:m-d
    assert [meta.get("model") for _, meta in answers(tmp_path)] == ["m-a", "m-c", "m-d"]


def test_a_failed_retry_elsewhere_changes_nothing(
    server: ChatServer, other: ChatServer, tmp_path: Path, pipe: PipeInput
) -> None:
    r, out = repl_for(two(server, other), tmp_path, pipe)
    pipe.send_text("hello\r/retry @dead\r/retry @nowhere\r\x04")
    r.run()
    text = out.getvalue()
    assert "Could not connect" in text or "refused" in text
    assert "Unknown endpoint @nowhere (@a, @b, @dead)." in text
    assert r.chat.endpoint.name == "a"  # the answer on screen is still a's
    assert len(answers(tmp_path)) == 1
    assert [m.content[:3] for m in r.chat.conversation.messages] == ["hel", "[a]"]


def test_target_reads_models_with_colons() -> None:
    current = Endpoint(name="x", model="m")
    endpoints = {"o": Endpoint(name="o", model="llama3.2")}
    assert writer.target("qwen:7b", endpoints, current).model == "qwen:7b"
    assert writer.target("@o", endpoints, current).model == "llama3.2"
    chosen = writer.target("@o:llama3.2:1b", endpoints, current)
    assert (chosen.name, chosen.model) == ("o", "llama3.2:1b")
    with pytest.raises(ChatreplError, match="Unknown endpoint @p"):
        writer.target("@p", endpoints, current)


def test_cost_is_kept_with_the_answer_and_shown_by_stats(
    server: ChatServer, other: ChatServer, tmp_path: Path, pipe: PipeInput
) -> None:
    server.usage = (1000, 500)
    other.usage = (1000, 500)
    settings = two(server, other, price_in=1.0, price_out=2.0)
    r, out = repl_for(settings, tmp_path, pipe)
    pipe.send_text("hello\r/retry @b\r/prev\r/stats\r\x04")
    r.run()
    saved = answers(tmp_path)
    assert saved[0][1]["cost"] == pytest.approx(0.002)  # 1,000 × $1 + 500 × $2 per million
    assert "cost" not in saved[1][1]  # b has no price: nothing is made up
    text = out.getvalue()
    assert "last answer $0.002; conversation $0.002 (2 answers in all its branches)" in text


def test_a_model_price_wins_over_the_endpoints() -> None:
    endpoint = Endpoint(model="big", price_in=1.0, price_out=1.0)
    assert writer.price(endpoint, {"big": (3.0, 15.0)}) == (3.0, 15.0)
    assert writer.price(Endpoint(model="small", price_in=1.0), {"big": (3.0, 15.0)}) == (1.0, 0)
    assert writer.price(Endpoint(), {}) is None


def test_no_prices_no_cost_anywhere(
    server: ChatServer, other: ChatServer, tmp_path: Path, pipe: PipeInput
) -> None:
    server.usage = (10, 5)
    r, out = repl_for(two(server, other), tmp_path, pipe)
    pipe.send_text("hello\r/stats\r\x04")
    r.run()
    assert "cost" not in out.getvalue() and "$" not in out.getvalue()
    assert "cost" not in answers(tmp_path)[0][1]


CONFIG = """
endpoint = "a"
[endpoints.a]
url = "{a}"
api = "openai"
model = "m-a"
[endpoints.b]
url = "{b}"
api = "openai"
model = "m-b"
[models.m-a]
price_in = 2.5
price_out = 10
"""


def test_show_list_cost_and_exports_name_the_writers(
    server: ChatServer, other: ChatServer, chatrepl_home: Path, tmp_path: Path
) -> None:
    server.name = "a"
    server.usage = (2000, 1000)
    chatrepl_home.mkdir(parents=True, exist_ok=True)
    (chatrepl_home / "config.toml").write_text(CONFIG.format(a=server.url, b=other.url))
    run_chatrepl(chatrepl_home, "priced", check=True)
    run_chatrepl(chatrepl_home, "--endpoint", "b", "free", check=True)
    listed = run_chatrepl(chatrepl_home, "--list", "--cost", check=True).stdout.splitlines()
    priced = next(row for row in listed if row.endswith("priced")).split("\t")
    free = next(row for row in listed if row.endswith("free")).split("\t")
    assert priced[3] == "$0.015" and free[3] == ""  # 2,000 × 2.5 + 1,000 × 10 per million
    cid = priced[0]
    shown = run_chatrepl(chatrepl_home, "--show", cid, check=True).stdout
    assert shown.splitlines()[0].endswith("· 2 messages · m-a")
    assert re.search(r"\n— 1,000 tokens · [\d.]+ tok/s · \$0\.015\n", shown)
    md = run_chatrepl(chatrepl_home, "--export", cid, check=True).stdout
    assert re.search(r"## Answer\n\n\*a: m-a · 1,000 tokens · [\d.]+ tok/s · \$0\.015\*\n", md)
    data = json.loads(run_chatrepl(chatrepl_home, "--export", cid, "--format", "json").stdout)
    meta = data["messages"][1]["meta"]
    assert meta["endpoint"] == "a" and meta["model"] == "m-a" and meta["cost"] == 0.015
    assert "--cost go with --list" in run_chatrepl(chatrepl_home, "--cost").stderr


def test_an_answer_saved_before_writers_were_kept_still_opens(
    server: ChatServer, chatrepl_home: Path
) -> None:
    run_chatrepl(chatrepl_home, "old", url=server.url, check=True)
    with sqlite3.connect(chatrepl_home / "chatrepl.db") as db:
        db.execute("UPDATE messages SET meta = '{}'")
    cid = run_chatrepl(chatrepl_home, "--list", check=True).stdout.split("\t")[0]
    shown = run_chatrepl(chatrepl_home, "--show", cid, check=True).stdout
    assert shown.splitlines()[0].endswith("· 2 messages") and "—" not in shown


def test_money_reads_as_people_write_it() -> None:
    values = (0, 0.000015, 0.002, 0.0042, 0.015, 0.5, 1.275, 1234.5)
    assert [writer.money(v) for v in values] == [
        "$0.00",
        "$0.000015",
        "$0.002",
        "$0.0042",
        "$0.015",
        "$0.50",
        "$1.27",
        "$1,234.50",
    ]
