"""The SQLite store: saving as turns happen, resuming, prefixes, permissions, versions."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from chatrepl.conversation import Conversation, make_title
from chatrepl.errors import NotFoundError, StoreError
from chatrepl.schema import SCHEMA_VERSION
from chatrepl.store import Store


def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "data" / "chatrepl.db")


def test_messages_round_trip_in_order(tmp_path: Path) -> None:
    s = store(tmp_path)
    conv = Conversation(system="be brief")
    for role, text in (("user", "q1"), ("assistant", "a1"), ("user", "q2")):
        s.add_message(conv, conv.add(role, text))  # type: ignore[arg-type]
    loaded = s.load(conv.id)
    assert [(m.role, m.content) for m in loaded.messages] == [
        ("user", "q1"),
        ("assistant", "a1"),
        ("user", "q2"),
    ]
    assert loaded.title == "q1" and loaded.system == "be brief"
    assert s.list_conversations()[0].count == 3


def test_streaming_answer_is_checkpointed_and_closed(tmp_path: Path) -> None:
    s = store(tmp_path)
    conv = Conversation()
    s.add_message(conv, conv.add("user", "q"))
    answer = conv.add("assistant", "par", "streaming")
    s.add_message(conv, answer, streaming=True)
    answer.content = "partial answer"
    s.update_message(answer)
    assert s.load(conv.id).messages[1].content == "partial answer"
    answer.content, answer.status = "partial answer, done", "complete"
    s.update_message(answer, final=True, meta={"seconds": 1.0})
    loaded = s.load(conv.id).messages[1]
    assert (loaded.content, loaded.status) == ("partial answer, done", "complete")


def test_streaming_row_of_a_dead_process_reads_as_interrupted(tmp_path: Path) -> None:
    s = store(tmp_path)
    conv = Conversation()
    s.add_message(conv, conv.add("user", "q"))
    answer = conv.add("assistant", "half", "streaming")
    s.add_message(conv, answer, streaming=True)
    assert s.load(conv.id).messages[1].status == "streaming"  # our own pid: still going
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    with sqlite3.connect(s.path) as db:
        db.execute("UPDATE messages SET pid = ? WHERE id = ?", (int(dead), answer.id))
    assert s.load(conv.id).messages[1].status == "interrupted"


def test_prefix_resolution(tmp_path: Path) -> None:
    s = store(tmp_path)
    for cid in ("abc111", "abc222", "def333"):
        conv = Conversation(id=cid)
        s.add_message(conv, conv.add("user", cid))
    assert s.resolve("def") == "def333"
    assert s.resolve("abc1") == "abc111"
    with pytest.raises(NotFoundError, match="more than one"):
        s.resolve("abc")
    with pytest.raises(NotFoundError, match="No conversation matches zzz"):
        s.resolve("zzz")
    with pytest.raises(NotFoundError):
        s.resolve("%")  # LIKE wildcards are literal


def test_latest_and_listing_are_newest_first(tmp_path: Path) -> None:
    clock = iter(range(100, 200)).__next__
    s = Store(tmp_path / "db", clock=lambda: float(clock()))
    ids = []
    for text in ("first", "second", "third"):
        conv = Conversation()
        s.add_message(conv, conv.add("user", text))
        ids.append(conv.id)
    assert s.latest() == ids[-1]
    assert [c.id for c in s.list_conversations()] == ids[::-1]


def test_files_are_private(tmp_path: Path) -> None:
    s = store(tmp_path)
    conv = Conversation()
    s.add_message(conv, conv.add("user", "q"))
    assert stat.S_IMODE(os.stat(s.path.parent).st_mode) == 0o700
    for path in s.path.parent.iterdir():
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600, path


def test_wal_mode_and_schema_version(tmp_path: Path) -> None:
    s = store(tmp_path)
    with sqlite3.connect(s.path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_newer_schema_is_opened_read_only_and_not_rewritten(tmp_path: Path) -> None:
    s = store(tmp_path)
    conv = Conversation()
    s.add_message(conv, conv.add("user", "q"))
    s.close()
    with sqlite3.connect(s.path) as db:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    before = s.path.read_bytes()
    newer = Store(s.path)
    assert newer.read_only and "newer chatrepl" in newer.notice
    assert newer.load(conv.id).messages[0].content == "q"
    with pytest.raises(StoreError):
        newer.add_message(conv, conv.add("user", "more"))
    newer.close()
    assert s.path.read_bytes() == before


def test_damaged_file_is_reported_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "chatrepl.db"
    path.write_bytes(b"this is not a database" * 100)
    before = path.read_bytes()
    with pytest.raises(StoreError, match="is damaged"):
        Store(path)
    assert path.read_bytes() == before


def test_history_newest_first(tmp_path: Path) -> None:
    s = store(tmp_path)
    for text in ("one", "two", "two", "multi\nline"):
        s.add_history(text)
    assert [text for _, text in s.history()] == ["multi\nline", "two", "one"]


def test_delete_message_drops_an_emptied_conversation(tmp_path: Path) -> None:
    s = store(tmp_path)
    conv = Conversation()
    q = conv.add("user", "q")
    s.add_message(conv, q)
    s.delete_message(conv.id, q)
    assert s.list_conversations() == []


def test_search_finds_text_in_any_message(tmp_path: Path) -> None:
    s = store(tmp_path)
    conv = Conversation()
    s.add_message(conv, conv.add("user", "tell me about penguins"))
    s.add_message(conv, conv.add("assistant", "Penguins live in the south."))
    other = Conversation()
    s.add_message(other, other.add("user", "and 100% of cats?"))
    assert [h[0] for h in s.search("penguin")] == [conv.id]
    assert [h[0] for h in s.search("100%")] == [other.id]


def test_titles_are_one_short_line_without_controls() -> None:
    assert make_title("  hello\n\tworld  ") == "hello world"
    assert make_title("a\x1b[31mb\x07c\x1b]0;pwned\x07") == "abc"
    long = make_title("word " * 40)
    assert len(long) <= 60 and long.endswith("…")


def test_search_by_stem_and_by_explicit_prefix(tmp_path: Path) -> None:
    s = store(tmp_path)
    conv = Conversation()
    s.add_message(conv, conv.add("user", "Configuring the Café terminals"))
    assert [h[0] for h in s.search("configure")] == [conv.id]  # stem
    assert [h[0] for h in s.search("cafe terminal")] == [conv.id]  # accents, plural
    assert s.search("config") == []  # a whole word, not a prefix...
    assert [h[0] for h in s.search("config*")] == [conv.id]  # ...unless asked for
    assert s.search('"') == [] and s.search("*") == []


def test_a_search_in_a_long_answer_full_of_hits_does_not_hang(tmp_path: Path) -> None:
    """FTS5's snippet() is quadratic in a message's hits (80,000 hits: about 50 s here);
    a long message's hit is shown by a few words around its first match instead."""
    import threading

    store = Store(tmp_path / "c.db")
    conversation = Conversation()
    store.add_message(conversation, conversation.add("user", "tell me of penguins"))
    long_answer = "Some words first, then penguin and seal. " * 80_000
    store.add_message(conversation, conversation.add("assistant", long_answer))
    found: list[list[tuple[str, str, str]]] = []
    searching = threading.Thread(target=lambda: found.append(store.search("seal")), daemon=True)
    searching.start()
    searching.join(20)  # a bound on a hang, not a measure of speed
    assert found, "the search did not end"
    assert (
        found[0][0][2]
        == "…words first, then penguin and [seal]. Some words first, then penguin and…"
    )
    assert "then [penguin] and" in store.search("penguins")[0][2]  # a stem, as FTS5 finds
    short = Conversation()
    store.add_message(short, short.add("user", "walruses and seals"))
    assert store.search("seals")[0][2] == "walruses and [seals]"  # short: snippet()
