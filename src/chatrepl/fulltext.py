"""Full-text search over saved messages: a part of `store.Store` (it uses the store's
connection). Messages are indexed by the FTS5 table `messages_fts` once they are no
longer streaming (see schema)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from chatrepl.dbfile import reading


class FullText:
    """`search`, and whether a hit is on the branch on screen."""

    _db: sqlite3.Connection
    path: Path
    wait: float

    @reading
    def search(
        self, text: str, limit: int = 50, on_screen: tuple[str, set[int]] | None = None
    ) -> list[tuple[str, str, str]]:
        """Conversations whose messages match `text`: (id, title, snippet), newest first
        (by their newest matching message).

        Every word of `text` must occur in the message, compared by stem (`penguin`
        finds `penguins`), blind to case and accents; `word*` matches any word starting
        with `word`. Words are quoted, so FTS5 operators typed by the user are literal.
        A hit off the branch last on screen is marked; for the conversation `on_screen`
        names (its id, and the ids of the messages a REPL shows), off those messages.
        """
        terms = []
        for word in text.split():
            prefix = word.endswith("*") and len(word) > 1
            quoted = '"' + word.rstrip("*").replace('"', '""') + '"'
            terms.append(quoted + "*" if prefix else quoted)
        if not terms:
            return []
        query = " ".join(terms)
        # Newest messages first, straight from the index, stopping at `limit` distinct
        # conversations: the cost follows the limit, not how common the words are.
        rows = self._db.execute(
            "SELECT c.id, c.title, snippet(messages_fts, 0, '[', ']', '…', 12) AS snip, "
            "m.id AS message_id, c.head_id "
            "FROM messages_fts JOIN messages m ON m.id = messages_fts.rowid "
            "JOIN conversations c ON c.id = m.conversation_id "
            "WHERE messages_fts MATCH ? ORDER BY messages_fts.rowid DESC",
            (query,),
        )
        out: list[tuple[str, str, str]] = []
        seen: set[str] = set()
        for row in rows:
            if row["id"] in seen:
                continue
            seen.add(row["id"])
            where = " ".join(str(row["snip"]).split())
            if on_screen is not None and row["id"] == on_screen[0]:
                on_branch = row["message_id"] in on_screen[1]  # what the REPL shows now
            else:
                on_branch = self._on_branch(row["message_id"], row["head_id"])
            if not on_branch:
                where += " (on another branch)"
            out.append((str(row["id"]), str(row["title"]), where))
            if len(out) >= limit:
                break
        return out

    @reading
    def _on_branch(self, message_id: int, head_id: int | None) -> bool:
        """Whether a message is on the branch last on screen (what `load` shows)."""
        if head_id is None:
            return True  # no branch recorded: one straight line
        row = self._db.execute(
            "WITH RECURSIVE up(id) AS (SELECT ? UNION ALL "
            "SELECT m.parent_id FROM messages m JOIN up ON m.id = up.id "
            "WHERE m.parent_id IS NOT NULL) SELECT 1 FROM up WHERE id = ? LIMIT 1",
            (head_id, message_id),
        ).fetchone()
        return row is not None
