"""Saving a streaming answer is linear: each checkpoint writes what arrived since the
last one, the whole text is written (and indexed) once at the end, and the file holds
little more than the text (issue 23, row 19). Speed is measured in bench/saving.py."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from chatrepl.conversation import Conversation, Message
from chatrepl.errors import StoreError
from chatrepl.schema import _V1, MIGRATIONS, statements
from chatrepl.store import Store

PAGE = 4096
STEP = 100_000  # characters arriving between two checkpoints
STEPS = 20


def wal_frames(store: Store) -> int:
    """Pages written to the write-ahead log since it was last emptied (once the
    store's writer has written what it was handed)."""
    store._drain()
    row = store._db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    return int(row[1])


def stream(store: Store, steps: int = STEPS) -> tuple[Conversation, Message, str]:
    conversation = Conversation()
    store.add_message(conversation, conversation.add("user", "tell me everything"))
    answer = conversation.add("assistant", "", "streaming")
    store.add_message(conversation, answer, streaming=True)
    words = "".join(f"word{n} " for n in range(STEP // 6))
    text = ""
    for step in range(steps):
        text += (words + str(step))[:STEP]
        answer.content = text
        store.update_message(answer)
    return conversation, answer, text


def test_checkpoints_write_what_arrived_not_the_whole_answer(tmp_path: Path) -> None:
    store = Store(tmp_path / "chatrepl.db")
    store._db.execute("PRAGMA wal_autocheckpoint = 0")  # count every page written
    store._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conversation, answer, text = stream(store)
    written = wal_frames(store)
    # linear: about the text once (2,000 kB: ~490 pages); rewriting the answer at each
    # checkpoint writes 100 + 200 + ... + 2,000 kB (~5,100 pages)
    assert written < 2 * len(text) / PAGE, written
    # what a reader sees mid-answer (as after a kill -9) is the whole text so far
    assert Store(store.path).load(conversation.id).messages[1].content == text
    answer.status = "complete"
    store.update_message(answer, final=True)
    assert store.load(conversation.id).messages[1].content == text
    assert [hit[0] for hit in store.search("word4321")] == [conversation.id]
    assert store._db.execute("SELECT count(*) FROM message_chunks").fetchone()[0] == 0


def test_the_file_holds_little_more_than_the_text(tmp_path: Path) -> None:
    store = Store(tmp_path / "chatrepl.db")
    total = 0
    for _ in range(3):
        _, answer, text = stream(store, steps=10)
        answer.status = "complete"
        store.update_message(answer, final=True)
        total += len(text)
    store._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    size = store.path.stat().st_size
    index = store._db.execute("SELECT sum(length(block)) FROM messages_fts_data").fetchone()[0]
    assert size < 1.2 * (total + index), (size, total, index)


def test_a_version_4_database_gains_chunks_and_keeps_a_streaming_answer(
    tmp_path: Path,
) -> None:
    path = tmp_path / "chatrepl.db"
    with sqlite3.connect(path) as db:
        db.executescript(_V1)
        for script in MIGRATIONS[1:4]:
            for statement in statements(script):
                db.execute(statement)
        db.execute("PRAGMA user_version = 4")
        db.execute(
            "INSERT INTO conversations(id, title, created, updated) VALUES ('c4', 't', 1, 1)"
        )
        db.execute(
            "INSERT INTO messages(conversation_id, role, content, status, created, pid) "
            "VALUES ('c4', 'assistant', 'half an answer', 'streaming', 1, 999999999)"
        )
    store = Store(path)
    loaded = store.load("c4")
    assert [(m.content, m.status) for m in loaded.messages] == [("half an answer", "interrupted")]


def test_a_checkpoint_that_fails_is_raised_later_and_its_text_written_first(
    tmp_path: Path,
) -> None:
    """Checkpoints are written by the store's own thread: a write that fails (the disk
    full) is raised by the next call, and what it held is written, in order, by the
    next write that works; the end of the answer writes all that was not saved."""
    store = Store(tmp_path / "chatrepl.db")
    conversation = Conversation()
    store.add_message(conversation, conversation.add("user", "q"))
    answer = conversation.add("assistant", "a", "streaming")
    store.add_message(conversation, answer, streaming=True)
    store.update_message(answer, added="b" * 10)  # content is not read: `added` is the text
    store._drain()
    pages = store._db.execute("PRAGMA page_count").fetchone()[0]
    store._db.execute(f"PRAGMA max_page_count = {pages}")
    store.update_message(answer, added="c" * 50_000)  # does not fit: fails in the writer
    store._drain()
    with pytest.raises(StoreError, match="full"):
        store.update_message(answer, added="d" * 10)
    store._drain()
    saved = Store(store.path).load(conversation.id).messages[1].content
    assert saved == "a" + "b" * 10  # nothing after the failure, nothing out of order
    store._db.execute("PRAGMA max_page_count = 1073741823")
    with pytest.raises(StoreError, match="full"):  # the write the last call started failed
        store.update_message(answer, added="e")  # this one hands all that was held
    store._drain()
    expected = "a" + "b" * 10 + "c" * 50_000 + "d" * 10 + "e"
    assert Store(store.path).load(conversation.id).messages[1].content == expected
    answer.content, answer.status = expected + "f", "complete"
    store.update_message(answer, final=True)
    assert Store(store.path).load(conversation.id).messages[1].content == expected + "f"


def test_the_end_writes_what_a_failed_checkpoint_held(tmp_path: Path) -> None:
    store = Store(tmp_path / "chatrepl.db")
    conversation = Conversation()
    store.add_message(conversation, conversation.add("user", "q"))
    answer = conversation.add("assistant", "a", "streaming")
    store.add_message(conversation, answer, streaming=True)
    pages = store._db.execute("PRAGMA page_count").fetchone()[0]
    store._db.execute(f"PRAGMA max_page_count = {pages}")
    store.update_message(answer, added="c" * 50_000)
    store._drain()
    store._db.execute("PRAGMA max_page_count = 1073741823")
    answer.content, answer.status = "a" + "c" * 50_000 + "end", "interrupted"
    store.update_message(answer, final=True)
    loaded = store.load(conversation.id).messages[1]
    assert (loaded.content, loaded.status) == (answer.content, "interrupted")
    store.close()
