"""Small records the store keeps beside conversations: which process has a
conversation open, what was learnt of each endpoint's window, and the input history.
`Records` is a part of `store.Store` and uses its connection and write transaction."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

from chatrepl.dbfile import pid_alive, reading

HISTORY_LIMIT = 10_000


class Records:
    """Claims, endpoint state and input history (see the module's docstring)."""

    _db: sqlite3.Connection
    clock: Callable[[], float]
    path: Path
    wait: float

    def _write(self) -> AbstractContextManager[sqlite3.Connection]:
        raise NotImplementedError

    # ---------------------------------------------------------- who has it open

    def claim(self, conversation_id: str) -> int | None:
        """Mark a conversation as open in this process.

        Returns the pid of another live chatrepl that has it open (and claims nothing),
        or None once it is ours. A claim by a process that is gone is taken over.
        """
        with self._write() as db:
            row = db.execute(
                "SELECT owner_pid FROM conversations WHERE id = ?", (conversation_id,)
            ).fetchone()
            owner = row["owner_pid"] if row else None
            if owner and owner != os.getpid() and pid_alive(owner):
                return int(owner)
            db.execute(
                "UPDATE conversations SET owner_pid = ? WHERE id = ?",
                (os.getpid(), conversation_id),
            )
        return None

    def release(self, conversation_id: str) -> None:
        with self._write() as db:
            db.execute(
                "UPDATE conversations SET owner_pid = NULL WHERE id = ? AND owner_pid = ?",
                (conversation_id, os.getpid()),
            )

    # ---------------------------------------------------------- endpoints

    @reading
    def endpoint_state(self, key: str) -> tuple[float, int | None] | None:
        """(ratio, lowered window) learnt of an endpoint, or None."""
        row = self._db.execute(
            "SELECT ratio, context_tokens FROM endpoint_state WHERE key = ?", (key,)
        ).fetchone()
        return None if row is None else (float(row["ratio"]), row["context_tokens"])

    def save_endpoint_state(self, key: str, ratio: float, context_tokens: int | None) -> None:
        with self._write() as db:
            db.execute(
                "INSERT INTO endpoint_state(key, ratio, context_tokens) VALUES (?, ?, ?) "
                "ON CONFLICT(key) DO UPDATE SET ratio = excluded.ratio, "
                "context_tokens = excluded.context_tokens",
                (key, ratio, context_tokens),
            )

    # ---------------------------------------------------------- cost

    @reading
    def costs(self) -> dict[str, float]:
        """What each conversation's answers cost, where a price was set (by id)."""
        rows = self._db.execute(
            "SELECT conversation_id, SUM(json_extract(meta, '$.cost')) AS spent FROM messages "
            "WHERE role = 'assistant' AND json_extract(meta, '$.cost') IS NOT NULL "
            "GROUP BY conversation_id"
        )
        return {str(row["conversation_id"]): float(row["spent"]) for row in rows}

    # ---------------------------------------------------------- input history

    def add_history(self, text: str) -> int:
        with self._write() as db:
            cursor = db.execute(
                "INSERT INTO history(text, created) VALUES (?, ?)", (text, self.clock())
            )
        return int(cursor.lastrowid or 0)

    @reading
    def history(self, limit: int = HISTORY_LIMIT) -> list[tuple[int, str]]:
        """Input history as (row id, text), newest first, consecutive duplicates folded."""
        out: list[tuple[int, str]] = []
        for row in self._db.execute(
            "SELECT id, text FROM history ORDER BY id DESC LIMIT ?", (limit,)
        ):
            if not out or out[-1][1] != row["text"]:
                out.append((int(row["id"]), str(row["text"])))
        return out

    @reading
    def history_after(self, row_id: int) -> list[tuple[int, str]]:
        """Input added since `row_id` (by any process), oldest first."""
        return [
            (int(row["id"]), str(row["text"]))
            for row in self._db.execute(
                "SELECT id, text FROM history WHERE id > ? ORDER BY id", (row_id,)
            )
        ]
