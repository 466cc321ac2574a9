"""The conversation store: the one place that touches the database.

One SQLite file holds conversations, messages and the input history. It runs in WAL
mode with a busy timeout, every write is a short `BEGIN IMMEDIATE` transaction, and the
schema carries a version (`PRAGMA user_version`) with forward migrations. Opening it
(dbfile) makes the folder 0700 and the files 0600, checks every page before anything
is written, waits a bounded time for another program's lock, and opens read-only a
file or folder that cannot be written, or a database written by a newer chatrepl. A
user's message is committed before its request is sent; an answer is written as it
streams (status `streaming`, with the writer's pid; each checkpoint appends what
arrived since the last to `message_chunks`: streams) and closed with its final status,
so a row whose writer died is read back as `interrupted`; its text is indexed for
search when a search runs (fulltext). The store is this module with dbfile, streams,
records, fulltext and schema: the modules that import sqlite3.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from chatrepl import dbfile
from chatrepl.conversation import Conversation, Message, Role, Summary
from chatrepl.errors import NotFoundError, StoreError
from chatrepl.fulltext import FullText
from chatrepl.records import Records
from chatrepl.schema import MIGRATIONS, SCHEMA_VERSION, statements
from chatrepl.streams import Streams

WAL_LIMIT = 4 * 1024 * 1024  # bytes of write-ahead log kept once it has been written back


class Store(Streams, Records, FullText):
    """Conversations and input history in one SQLite database."""

    def __init__(
        self,
        path: Path,
        clock: Callable[[], float] = time.time,
        *,
        wait: float = dbfile.LOCK_WAIT,
        writable: bool | None = None,
        check: bool = True,
    ) -> None:
        """Open (or create) the database at `path`. `wait`: seconds to wait for a lock
        another program holds; `writable`: whether the file may be written (None: ask
        the file system, which answers yes to root whatever the modes say); `check`:
        whether to check every page first (`PRAGMA quick_check`)."""
        self.path = path
        self.clock = clock
        self.wait = wait
        self._patience = wait  # how long the next write waits for another program's lock
        self._waited = 0.0  # how long the last write that waited for a lock did
        self.check = check
        self.read_only = False
        self.notice = ""  # a warning to show once the store is open
        self.aside = ""  # a dim line to show once the store is open
        self._read_only_reason = ""
        self._start_streams()
        try:
            self._db = self._connect(path, writable)
        except sqlite3.DatabaseError as exc:
            raise dbfile.open_failure(path, exc, wait) from None
        except OSError as exc:
            raise StoreError(
                f"Could not open the conversation database {path}: {dbfile.describe(exc)}."
            ) from None

    # ---------------------------------------------------------- opening

    def _connect(self, path: Path, writable: bool | None) -> sqlite3.Connection:
        if writable is None:
            if not path.parent.exists():
                path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            writable = dbfile.can_write(path)
        if writable:
            self.aside = dbfile.tighten(path)
        db, version = dbfile.connect(path, writable=writable, wait=self.wait, check=self.check)
        if not writable:
            self.read_only = True
            cannot = path.parent if not os.access(path.parent, os.W_OK) else path
            self._read_only_reason = f"{cannot} is read-only"
            return db
        if version > SCHEMA_VERSION:
            db.close()
            self.read_only = True
            self._read_only_reason = "the database was written by a newer chatrepl"
            self.notice = (
                f"The conversation database was written by a newer chatrepl (schema {version}); "
                "it is opened read-only and nothing will be saved."
            )
            db, version = dbfile.connect(path, writable=False, wait=self.wait)
            return db
        if version == 0:  # a new file: pages freed by deletions go back to the disk
            db.execute("PRAGMA auto_vacuum = INCREMENTAL")
        db.execute("PRAGMA journal_mode = WAL")
        db.execute(f"PRAGMA journal_size_limit = {WAL_LIMIT}")
        db.execute("PRAGMA foreign_keys = ON")
        db.execute("PRAGMA synchronous = NORMAL")
        if version < SCHEMA_VERSION:
            self._migrate(db, version)
        dbfile.close_abandoned(db)
        return db

    @staticmethod
    def _migrate(db: sqlite3.Connection, version: int) -> None:
        db.execute("BEGIN IMMEDIATE")
        try:
            current = db.execute("PRAGMA user_version").fetchone()[0]
            for step in range(current, SCHEMA_VERSION):
                for statement in statements(MIGRATIONS[step]):
                    db.execute(statement)
                db.execute(f"PRAGMA user_version = {step + 1}")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def close(self) -> None:
        self._drain()
        self._stop_writer()
        self._db.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, once the writer of chunks (streams) is done."""
        self._drain()
        with self._transaction() as db:
            yield db

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        if self.read_only:
            raise StoreError(f"Could not save the conversation: {self._read_only_reason}.")
        try:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
                self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise
        except (sqlite3.Error, OSError) as exc:
            waited = self._patience
            if dbfile.kind(exc) == "locked" and waited:
                self._wait_for_locks(0)  # waited once: later writes fail at once until one succeeds
                self._waited = waited
            raise dbfile.save_failure(self.path, exc, waited, self._waited) from None
        if self._patience != self.wait:
            self._wait_for_locks(self.wait)

    def _wait_for_locks(self, seconds: float) -> None:
        self._db.execute(f"PRAGMA busy_timeout = {int(seconds * 1000)}")
        self._patience = seconds

    # ---------------------------------------------------------- writing

    def add_message(
        self, conversation: Conversation, message: Message, *, streaming: bool = False
    ) -> int:
        """Commit one message (and its conversation, the first time); return its row id."""
        now = self.clock()
        status = "streaming" if streaming else message.status
        with self._write() as db:
            db.execute(
                "INSERT INTO conversations(id, title, system, created, updated) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET updated = excluded.updated",
                (
                    conversation.id,
                    conversation.title,
                    conversation.system,
                    conversation.created,
                    now,
                ),
            )
            parent = message.parent.id if message.parent is not None else None
            cursor = db.execute(
                "INSERT INTO messages(conversation_id, role, content, status, created, pid, "
                "meta, parent_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    conversation.id,
                    message.role,
                    message.content,
                    status,
                    message.created,
                    os.getpid() if streaming else None,
                    json.dumps(message.meta),
                    parent,
                ),
            )
            db.execute(
                "UPDATE conversations SET message_count = message_count + 1, head_id = ? "
                "WHERE id = ?",
                (cursor.lastrowid, conversation.id),
            )
        message.id = cursor.lastrowid
        if streaming:
            self._streams[int(cursor.lastrowid or 0)] = (len(message.content), "")
        return int(cursor.lastrowid or 0)

    def set_head(self, conversation_id: str, message: Message | None) -> None:
        """Record the branch on screen by its last message (None: nothing on screen)."""
        head = 0 if message is None else message.id
        if head is None:
            return  # not saved yet: saving it records it
        with self._write() as db:
            db.execute("UPDATE conversations SET head_id = ? WHERE id = ?", (head, conversation_id))

    @dbfile.reading
    def head(self, conversation_id: str) -> int | None:
        """The raw `head_id` of a saved conversation (None: not saved, or none recorded)."""
        row = self._db.execute(
            "SELECT head_id FROM conversations WHERE id = ?", (conversation_id,)
        ).fetchone()
        return None if row is None or row["head_id"] is None else int(row["head_id"])

    def restore_head(self, conversation_id: str, head: int) -> None:
        """Show again the branch `head` (a value `head` returned) if that message is saved."""
        with self._write() as db:
            db.execute(
                "UPDATE conversations SET head_id = ? WHERE id = ? "
                "AND (? = 0 OR EXISTS (SELECT 1 FROM messages WHERE id = ?))",
                (head, conversation_id, head, head),
            )

    def delete_message(self, conversation_id: str, message: Message) -> None:
        """Remove one message; a conversation left empty goes with it."""
        with self._write() as db:
            db.execute("DELETE FROM messages WHERE id = ?", (message.id,))
            db.execute(
                "UPDATE conversations SET message_count = message_count - 1 WHERE id = ?",
                (conversation_id,),
            )
            db.execute(
                "DELETE FROM conversations WHERE id = ? AND message_count <= 0", (conversation_id,)
            )
        message.id = None

    def delete_conversation(self, conversation_id: str) -> None:
        with self._write() as db:
            db.execute("DELETE FROM conversations WHERE id = ?", (conversation_id,))

    # ---------------------------------------------------------- reading

    @dbfile.reading
    def resolve(self, prefix: str) -> str:
        """The one conversation id starting with `prefix`."""
        prefix = prefix.strip()
        if not prefix:
            raise NotFoundError("No conversation id was given.", "Type /list to see them.")
        escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        rows = self._db.execute(
            "SELECT id FROM conversations WHERE id LIKE ? ESCAPE '\\' LIMIT 2", (escaped + "%",)
        ).fetchall()
        if not rows:
            raise NotFoundError(
                f"No conversation matches {prefix}.", "Run chatrepl --list to see them."
            )
        if len(rows) > 1:
            raise NotFoundError(
                f"The id {prefix} matches more than one conversation.", "Type more of it."
            )
        return str(rows[0]["id"])

    @dbfile.reading
    def latest(self) -> str | None:
        row = self._db.execute(
            "SELECT id FROM conversations ORDER BY updated DESC, rowid DESC LIMIT 1"
        ).fetchone()
        return str(row["id"]) if row else None

    @dbfile.reading
    def list_conversations(self, limit: int | None = 50) -> list[Summary]:
        rows = self._db.execute(
            "SELECT id, title, updated, message_count FROM conversations "
            "ORDER BY updated DESC, rowid DESC LIMIT ?",
            (-1 if limit is None else limit,),
        ).fetchall()
        return [Summary(r["id"], r["title"], r["updated"], r["message_count"]) for r in rows]

    @dbfile.reading
    def load(self, conversation_id: str) -> Conversation:
        """A conversation with every branch, the one last on screen as its messages."""
        head = self._db.execute(
            "SELECT id, title, system, created, head_id FROM conversations WHERE id = ?",
            (conversation_id,),
        ).fetchone()
        if head is None:
            raise NotFoundError(f"No conversation matches {conversation_id}.")
        conversation = Conversation(
            id=head["id"], title=head["title"], system=head["system"], created=head["created"]
        )
        by_id: dict[int, Message] = {}
        nodes = conversation.nodes
        chunks = self._chunks(
            "SELECT id FROM messages WHERE conversation_id = ?", (conversation_id,)
        )
        for row in self._db.execute(
            "SELECT id, role, content, status, created, pid, meta, parent_id FROM messages "
            "WHERE conversation_id = ? ORDER BY id",
            (conversation_id,),
        ):
            status, content = row["status"], row["content"] + chunks.get(row["id"], "")
            if status == "streaming" and not dbfile.pid_alive(row["pid"]):
                status = "interrupted"
            role: Role = row["role"]
            try:
                meta = json.loads(row["meta"] or "{}")
            except ValueError:
                meta = {}
            message = Message(role, content, status, row["created"], row["id"], meta)
            parent = row["parent_id"]
            message.parent = by_id.get(parent) if parent is not None else None
            by_id[row["id"]] = message
            nodes.append(message)
        leaf = by_id.get(head["head_id"]) if head["head_id"] is not None else None
        if leaf is None and head["head_id"] != 0 and nodes:
            leaf = nodes[-1]  # no branch recorded: the newest message's
        path: list[Message] = []
        while leaf is not None:
            path.append(leaf)
            leaf = leaf.parent
        path.reverse()
        conversation.messages = path
        return conversation

    def set_system(self, conversation_id: str, system: str) -> None:
        with self._write() as db:
            db.execute(
                "UPDATE conversations SET system = ? WHERE id = ?", (system, conversation_id)
            )

    def rename(self, conversation_id: str, title: str) -> None:
        with self._write() as db:
            db.execute("UPDATE conversations SET title = ? WHERE id = ?", (title, conversation_id))

    def copy(self, source_id: str, copy: Conversation) -> None:
        """Save `copy` (a new id; every message of `source_id`, as `copy.nodes`) at once."""
        now = self.clock()
        with self._write() as db:
            db.execute(
                "INSERT INTO conversations(id, title, system, created, updated, message_count, "
                "owner_pid) SELECT ?, ?, system, created, ?, ?, ? "
                "FROM conversations WHERE id = ?",
                (copy.id, copy.title, now, len(copy.nodes), os.getpid(), source_id),
            )
            for message in copy.nodes:
                parent = message.parent.id if message.parent is not None else None
                message.id = db.execute(
                    "INSERT INTO messages(conversation_id, role, content, status, created, pid, "
                    "meta, parent_id) VALUES (?, ?, ?, ?, ?, NULL, ?, ?)",
                    (
                        copy.id,
                        message.role,
                        message.content,
                        "interrupted" if message.status == "streaming" else message.status,
                        message.created,
                        json.dumps(message.meta),
                        parent,
                    ),
                ).lastrowid
            head = copy.messages[-1].id if copy.messages else 0
            db.execute("UPDATE conversations SET head_id = ? WHERE id = ?", (head, copy.id))
