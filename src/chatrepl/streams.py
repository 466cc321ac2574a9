"""Saving an answer as it streams: a part of `store.Store` (it uses the store's
connection and write transaction).

Each checkpoint appends what arrived since the last one to `message_chunks`, written
by a thread of the store's own (SQLite leaves Python free while it writes), so the
answer goes on streaming meanwhile; any other use of the store first waits until the
writer is done (`_drain`). The end of the answer appends the rest and records its
status and meta. A long answer's text then stays in its chunks until a search indexes
it (fulltext), which joins them into `content` once; a short one (up to
`JOINED_AT_END` characters) is joined at once, which costs next to nothing. Either
way the end of an answer writes each character about once and indexes nothing
(schema, version 6). Every reader takes a message's text as its `content` followed by
its chunks in order.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from contextlib import AbstractContextManager
from typing import Any

from chatrepl.conversation import Message
from chatrepl.dbfile import reading
from chatrepl.errors import StoreError

JOINED_AT_END = 64 * 1024  # characters: a shorter answer is joined into `content` at its end


class Streams:
    """`update_message`, its writer thread, and reading back what chunks hold."""

    _db: sqlite3.Connection
    path: Any
    wait: float
    read_only: bool
    #: Streaming answers by row id: characters saved (or handed to the writer) so far,
    #: and the meta last written.
    _streams: dict[int, tuple[int, str]]

    def _transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        raise NotImplementedError

    def _write(self) -> AbstractContextManager[sqlite3.Connection]:
        raise NotImplementedError

    def _start_streams(self) -> None:
        self._streams = {}
        self._queue: list[tuple[int, str, str | None]] = []  # message id, text, meta
        self._held: list[tuple[int, str, str | None]] = []  # not written: a write failed
        self._busy = False
        self._failure: StoreError | None = None
        self._changed = threading.Condition()
        self._writer: threading.Thread | None = None
        self._closing = False

    def update_message(
        self,
        message: Message,
        *,
        final: bool = False,
        meta: dict[str, Any] | None = None,
        rewritten: bool = False,
        added: str | None = None,
    ) -> None:
        """Save the text so far; `final` records the message's own status.

        While an answer streams, only what arrived since the last call is saved (a
        chunk, handed to the writer): `added`, when the caller has it apart (then
        `message.content` is not read, and need not be up to date, until the final
        call), or else what `message.content` holds past the last call's. `rewritten`
        says the text so far is not the last one extended: it is written whole. The
        final call writes the rest at once. A message not streamed from here has its
        whole text written to `content`, its chunks dropped. A write of the writer
        that failed is raised by the next call that does not end the answer, and what
        it held is written first by the next write that works.
        """
        if message.id is None:
            raise StoreError("Could not save the conversation: the message was never stored.")
        meta_json = json.dumps(meta or {})
        if not final and not rewritten and not self.read_only:
            with self._changed:
                saved = self._streams.get(message.id)
                if saved is None and added is not None:
                    return  # not streamed from here: the final call writes it whole
                if saved is not None and (added is not None or len(message.content) >= saved[0]):
                    text = message.content[saved[0] :] if added is None else added
                    self._hand(message.id, saved[0] + len(text), text, meta_json, saved[1])
                    failure, self._failure = self._failure, None
                    if failure is not None:
                        raise failure
                    return
        self._save_whole_or_rest(message, final, meta_json, rewritten)

    def _hand(self, message_id: int, end: int, text: str, meta_json: str, last: str) -> None:
        """(Holding `_changed`.) Queue a chunk (and the meta, if it changed) for the
        writer, after any a failed write held back."""
        if not text and meta_json == last and not self._held:
            return
        self._queue[:0], self._held = self._held, []
        self._queue.append((message_id, text, meta_json if meta_json != last else None))
        self._streams[message_id] = (end, meta_json)
        if self._writer is None:
            self._writer = threading.Thread(target=self._run, name="chatrepl-store", daemon=True)
            self._writer.start()
        self._changed.notify_all()

    def _save_whole_or_rest(
        self, message: Message, final: bool, meta_json: str, rewritten: bool
    ) -> None:
        assert message.id is not None
        content = message.content
        status = message.status if final else "streaming"
        with self._write() as db:  # the writer is done: what it held is written here
            self._failure = None
            held = sum(len(item[1]) for item in self._held if item[0] == message.id)
            self._held = [item for item in self._held if item[0] != message.id]
            saved = self._streams.get(message.id)
            start = saved[0] - held if saved is not None else 0
            if saved is None or rewritten or len(content) < start:
                db.execute("DELETE FROM message_chunks WHERE message_id = ?", (message.id,))
                db.execute(
                    "UPDATE messages SET content = ?, status = ?, meta = ?, "
                    "pid = CASE WHEN ? THEN NULL ELSE pid END WHERE id = ?",
                    (content, status, meta_json, final, message.id),
                )
            else:
                if len(content) > start:
                    db.execute(
                        "INSERT INTO message_chunks(message_id, text) VALUES (?, ?)",
                        (message.id, content[start:]),
                    )
                db.execute(
                    "UPDATE messages SET status = ?, meta = ?, "
                    "pid = CASE WHEN ? THEN NULL ELSE pid END WHERE id = ?",
                    (status, meta_json, final, message.id),
                )
                if final and len(content) <= JOINED_AT_END:
                    self._join(message.id)
        if final:
            self._streams.pop(message.id, None)
        else:
            self._streams[message.id] = (len(content), meta_json)

    def _join(self, message_id: int) -> None:
        """Write a message's chunks into its `content` (in a write transaction)."""
        text = self._chunks("?", (message_id,)).get(message_id)
        if text:
            self._db.execute(
                "UPDATE messages SET content = content || ? WHERE id = ?", (text, message_id)
            )
            self._db.execute("DELETE FROM message_chunks WHERE message_id = ?", (message_id,))

    # ---------------------------------------------------------- the writer

    def _run(self) -> None:
        while True:
            with self._changed:
                while not self._queue and not self._closing:
                    self._changed.wait()
                if not self._queue:
                    return
                batch, self._queue = self._queue, []
                self._busy = True
            try:
                self._append(batch)
            except StoreError as exc:
                with self._changed:
                    self._failed(batch, exc)
            finally:
                with self._changed:
                    self._busy = False
                    self._changed.notify_all()

    def _append(self, batch: list[tuple[int, str, str | None]]) -> None:
        """Write a batch of chunks in one transaction, each message's joined."""
        texts: dict[int, list[str]] = {}
        metas: dict[int, str] = {}
        for message_id, text, meta in batch:
            texts.setdefault(message_id, []).append(text)
            if meta is not None:
                metas[message_id] = meta
        with self._transaction() as db:
            for message_id, parts in texts.items():
                joined = "".join(parts)
                if joined:
                    db.execute(
                        "INSERT INTO message_chunks(message_id, text) VALUES (?, ?)",
                        (message_id, joined),
                    )
            for message_id, meta_json in metas.items():
                db.execute("UPDATE messages SET meta = ? WHERE id = ?", (meta_json, message_id))

    def _failed(self, batch: list[tuple[int, str, str | None]], exc: StoreError) -> None:
        """(Holding `_changed`.) A batch was not written: it is held, with everything
        queued after it, to be written first by the next write."""
        self._failure = exc
        self._held = self._held + batch + self._queue
        self._queue = []

    def _drain(self) -> None:
        """Wait until the writer has written everything handed to it."""
        with self._changed:
            while self._queue or self._busy:
                self._changed.wait()

    def _stop_writer(self) -> None:
        with self._changed:
            self._closing = True
            self._changed.notify_all()
        if self._writer is not None:
            self._writer.join()

    @reading
    def _chunks(self, message_ids: str, params: tuple[Any, ...] = ()) -> dict[int, str]:
        """The text the chunks of some messages hold, by message (none: absent);
        `message_ids` is a query of their ids, with `params`."""
        parts: dict[int, list[str]] = {}
        rows = self._db.execute(
            f"SELECT message_id, text FROM message_chunks WHERE message_id IN ({message_ids}) "
            "ORDER BY message_id, id",
            params,
        )
        for row in rows:
            parts.setdefault(int(row[0]), []).append(str(row[1]))
        return {key: "".join(texts) for key, texts in parts.items()}
