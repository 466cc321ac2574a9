"""The full-text index is built when a search runs, not when an answer ends (schema
version 6, issue 23 row 19): the end of an answer writes its last chunk and its status
and nothing else; a search indexes first what was written since the last one, and a
store that cannot be written searches it in memory, leaving the file as it was."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

from chatrepl.conversation import Conversation, Message
from chatrepl.schema import _V1, MIGRATIONS, SCHEMA_VERSION, statements
from chatrepl.store import Store
from chatrepl.streams import JOINED_AT_END
from tests.helpers import run_chatrepl
from tests.test_store_failures import chattr


def count(store: Store, sql: str) -> int:
    return int(store._db.execute(sql).fetchone()[0])


def indexed(store: Store) -> int:
    """Messages in the full-text index (rows of its document-size table)."""
    return count(store, "SELECT count(*) FROM messages_fts_docsize")


def answered(store: Store, question: str, *parts: str) -> tuple[Conversation, Message]:
    """A question and an answer streamed in `parts` (one checkpoint each), ended."""
    conversation = Conversation()
    store.add_message(conversation, conversation.add("user", question))
    answer = conversation.add("assistant", "", "streaming")
    store.add_message(conversation, answer, streaming=True)
    for part in parts:
        answer.content += part
        store.update_message(answer)
    answer.status = "complete"
    store.update_message(answer, final=True, meta={"seconds": 1.0})
    return conversation, answer


def test_the_end_of_an_answer_indexes_nothing_and_a_search_finds_it(tmp_path: Path) -> None:
    store = Store(tmp_path / "chatrepl.db")
    filler = "x " * JOINED_AT_END  # a long answer: its text stays in its chunks
    conversation, answer = answered(store, "otters?", "Otters hold ", "hands while ", filler)
    assert indexed(store) == 0  # nothing indexed as the answer ended...
    row = store._db.execute("SELECT content, status FROM messages WHERE id = ?", (answer.id,))
    assert tuple(row.fetchone()) == ("", "complete")  # ...nor its text written twice
    loaded = store.load(conversation.id).messages[1]
    assert (loaded.content, loaded.status, loaded.meta) == (
        "Otters hold hands while " + filler,
        "complete",
        {"seconds": 1.0},
    )
    assert [hit[0] for hit in store.search("hands")] == [conversation.id]  # indexed now
    assert indexed(store) == 2
    assert count(store, "SELECT count(*) FROM message_chunks") == 0  # joined into content
    assert count(store, "SELECT count(*) FROM messages_unindexed") == 0
    assert store.load(conversation.id).messages[1].content == "Otters hold hands while " + filler
    # an answer finished after that search is found by the next one; a short one is
    # joined into its content as it ends (and indexed all the same at the next search)
    later, short = answered(store, "beavers?", "Beavers build ", "dams.")
    row = store._db.execute("SELECT content FROM messages WHERE id = ?", (short.id,))
    assert row.fetchone()[0] == "Beavers build dams."
    assert count(store, "SELECT count(*) FROM message_chunks") == 0
    assert indexed(store) == 2
    assert [hit[0] for hit in store.search("dams")] == [later.id]
    assert [hit[0] for hit in store.search("hands")] == [conversation.id]


def test_a_streaming_answer_is_searched_once_it_ends(tmp_path: Path) -> None:
    store = Store(tmp_path / "chatrepl.db")
    conversation = Conversation()
    store.add_message(conversation, conversation.add("user", "q"))
    answer = conversation.add("assistant", "walruses ", "streaming")
    store.add_message(conversation, answer, streaming=True)
    answer.content += "everywhere"
    store.update_message(answer)
    assert store.search("walruses") == []  # as before: not while it streams
    answer.status = "interrupted"
    store.update_message(answer, final=True)
    assert [hit[0] for hit in store.search("walruses everywhere")] == [conversation.id]


def test_changed_and_deleted_messages_leave_the_index(tmp_path: Path) -> None:
    store = Store(tmp_path / "chatrepl.db")
    conversation, answer = answered(store, "first question", "a word about ", "lynxes")
    other, gone = answered(store, "second question", "a word about ", "ibexes")
    assert len(store.search("word")) == 2
    answer.content = "now about pumas"  # an indexed answer rewritten whole
    store.update_message(answer, final=True)
    assert store.search("lynxes") == []
    assert [hit[0] for hit in store.search("pumas")] == [conversation.id]
    store.delete_message(other.id, gone)
    assert store.search("ibexes") == []
    store.delete_conversation(conversation.id)
    assert store.search("pumas") == []
    assert [hit[0] for hit in store.search("question")] == [other.id]
    assert store._db.execute(
        "INSERT INTO messages_fts(messages_fts, rank) VALUES ('integrity-check', 1)"
    )  # the index holds exactly the text of the messages it lists as indexed


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_read_only_store_searches_what_was_not_indexed_in_memory(tmp_path: Path) -> None:
    path = tmp_path / "chatrepl.db"
    store = Store(path)
    first, _ = answered(store, "old", "about ", "herons")
    assert store.search("herons")  # indexed
    second, _ = answered(store, "new", "about ", "egrets and herons")  # not yet
    store.close()
    before = digest(path)
    # as root every file can be written: the store is told what a user's check finds
    reader = Store(path, writable=False)
    assert reader.read_only
    assert [hit[0] for hit in reader.search("herons")] == [second.id, first.id]  # newest first
    assert [hit[0] for hit in reader.search("egrets")] == [second.id]
    assert [hit[0] for hit in reader.search("herons", limit=1)] == [second.id]
    assert [hit[2] for hit in reader.search("egrets")] == ["about [egrets] and herons"]
    reader.close()
    assert digest(path) == before


def test_search_on_the_command_line_in_a_folder_that_cannot_be_written(tmp_path: Path) -> None:
    home = tmp_path / "home"
    store = Store(home / "chatrepl.db")
    conversation, _ = answered(store, "new", "about ", "egrets")
    store.close()
    before = digest(home / "chatrepl.db")
    chattr("+i", home)
    try:
        found = run_chatrepl(home, "--search", "egrets")
    finally:
        chattr("-i", home)
    assert found.returncode == 0 and f"{conversation.id}" in found.stdout, found.stderr
    assert "[egrets]" in found.stdout and found.stderr == ""
    assert digest(home / "chatrepl.db") == before


def test_a_store_that_cannot_be_written_now_searches_in_memory(tmp_path: Path) -> None:
    """The same path as a read-only folder, here by a lock another connection holds
    (root can run this one)."""
    path = tmp_path / "chatrepl.db"
    store = Store(path, wait=0)
    conversation, _ = answered(store, "q", "about ", "cranes")
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        assert [hit[0] for hit in store.search("cranes")] == [conversation.id]
        assert count(store, "SELECT count(*) FROM messages_unindexed") == 2  # not indexed
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert [hit[0] for hit in store.search("cranes")] == [conversation.id]
    assert count(store, "SELECT count(*) FROM messages_unindexed") == 0


def version_5_file(path: Path) -> None:
    """A database as chatrepl left it at schema version 5: built by the migrations of
    that time, written as that version wrote (the v2 triggers indexing a finished
    message), with an answer a killed process left streaming, its text in chunks."""
    with sqlite3.connect(path) as db:
        db.executescript(_V1)
        for script in MIGRATIONS[1:5]:
            for statement in statements(script):
                db.execute(statement)
        db.execute("PRAGMA user_version = 5")
        db.execute(
            "INSERT INTO conversations(id, title, created, updated) VALUES ('c5', 't', 1, 1)"
        )
        for content, status, pid in (
            ("a question about kestrels", "complete", None),
            ("kestrels hover", "complete", None),
            ("a question about ospreys", "complete", None),
            ("ospreys ", "streaming", 999_999_999),
        ):
            db.execute(
                "INSERT INTO messages(conversation_id, role, content, status, created, pid) "
                "VALUES ('c5', 'user', ?, ?, 1, ?)",
                (content, status, pid),
            )
        db.executemany(
            "INSERT INTO message_chunks(message_id, text) VALUES (4, ?)", [("dive ",), ("deep",)]
        )
        db.execute("DELETE FROM messages WHERE id = 3")  # taken out of the index by v2
        assert db.execute("SELECT count(*) FROM messages_fts_docsize").fetchone()[0] == 2


def test_a_version_5_database_is_carried_forward(tmp_path: Path) -> None:
    path = tmp_path / "chatrepl.db"
    version_5_file(path)
    store = Store(path)
    assert count(store, "PRAGMA user_version") == SCHEMA_VERSION == 6
    loaded = store.load("c5")
    assert [(m.content, m.status) for m in loaded.nodes] == [
        ("a question about kestrels", "complete"),
        ("kestrels hover", "complete"),
        ("ospreys dive deep", "interrupted"),  # closed at open, indexed at the next search
    ]
    assert [hit[0] for hit in store.search("kestrels")] == ["c5"]
    assert [hit[0] for hit in store.search("ospreys dive")] == ["c5"]
    assert store.search("question about ospreys") == []
    store.delete_conversation("c5")  # messages indexed by v2 leave the index as well
    assert store.search("kestrels") == [] and indexed(store) == 0
