"""Full-text search over saved messages: a part of `store.Store` (it uses the store's
connection). The FTS5 table `messages_fts` indexes every message that is no longer
streaming, but only when a search runs (schema, version 6): the messages written since
the last search (listed in `messages_unindexed`) are indexed first, their chunks joined
into `content` once. A store that cannot be written then (read-only, locked by another
program, a full disk) indexes them into a temporary in-memory index for that search
instead, so a search always sees every finished message, and the file stays as it was.
"""

from __future__ import annotations

import heapq
import sqlite3
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from chatrepl.dbfile import reading

#: Bytes of a message above which its search hit is shown by `_excerpt`, not snippet().
SNIPPET_MAX = 64 * 1024
EXCERPT_SCAN = 200_000  # characters of a long message looked through for an excerpt

TOKENIZE = "porter unicode61 remove_diacritics 2"  # as messages_fts (schema, version 2)

#: The listed messages a search indexes: every one no longer streaming.
PENDING = (
    "SELECT u.message_id FROM messages_unindexed u JOIN messages m ON m.id = u.message_id "
    "WHERE m.status != 'streaming'"
)


class FullText:
    """`search`, and whether a hit is on the branch on screen."""

    _db: sqlite3.Connection
    path: Path
    wait: float
    read_only: bool

    def _chunks(self, message_ids: str, params: tuple[Any, ...] = ()) -> dict[int, str]:
        raise NotImplementedError

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
        indexed = self._index()
        rows: Iterable[sqlite3.Row] = self._hits("messages_fts", query)
        if not indexed:
            rows = heapq.merge(
                rows, self._hits(self._scratch(), query), key=lambda row: -row["message_id"]
            )
        out: list[tuple[str, str, str]] = []
        seen: set[str] = set()
        for row in rows:
            if row["id"] in seen:
                continue
            seen.add(row["id"])
            snip = row["snip"]
            if snip is None:  # a long message: FTS5's snippet() is quadratic in its hits
                snip = self._excerpt(row["message_id"], text.split())
            where = " ".join(str(snip).split())
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

    def _excerpt(self, message_id: int, words: list[str]) -> str:
        """A few words around the first of `words` found early in a long message (as
        snippet() marks them), or the message's first words."""
        head = str(
            self._db.execute(
                "SELECT substr(content, 1, ?) FROM messages WHERE id = ?",
                (EXCERPT_SCAN, message_id),
            ).fetchone()[0]
        )
        lowered = head.lower()
        found: list[tuple[int, int]] = []
        for word in words:  # the word, or its stem (penguins: penguin; 3 letters off
            word = word.rstrip("*").lower()  # at most, and only for a word of letters)
            shortest = max(4, len(word) - 3) if word.isalpha() else len(word)
            for cut in range(len(word), min(len(word), shortest) - 1, -1):
                if (at := lowered.find(word[:cut])) >= 0:
                    found.append((at, cut))
                    break
        if not found:
            return " ".join(head[:80].split()) + "…"
        at, length = min(found)
        end = at + length
        while end < len(head) and head[end].isalnum():  # the whole word the stem began
            end += 1
        before = head[max(0, at - 40) : at].split(" ", 1)[-1]
        return f"…{before}[{head[at:end]}]{head[end : end + 40].rsplit(' ', 1)[0]}…"

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

    def _hits(self, table: str, query: str) -> Iterator[sqlite3.Row]:
        """The messages `table` (an FTS5 index) finds, newest first, straight from the
        index: the search stops at its limit, so the cost follows the limit, not how
        common the words are."""
        return self._db.execute(
            f"SELECT c.id, c.title, CASE WHEN length(CAST(m.content AS BLOB)) <= {SNIPPET_MAX} "
            f"THEN snippet({table}, 0, '[', ']', '…', 12) END AS snip, "
            f"m.id AS message_id, c.head_id FROM {table} JOIN messages m ON m.id = {table}.rowid "
            "JOIN conversations c ON c.id = m.conversation_id "
            f"WHERE {table} MATCH ? ORDER BY {table}.rowid DESC",
            (query,),
        )

    def _index(self) -> bool:
        """Index the messages written since the last search; False when some could not
        be (the store cannot be written now): `_scratch` holds them then."""
        listed = self._db.execute(
            "SELECT 1 FROM sqlite_master WHERE name = 'messages_unindexed'"
        ).fetchone()
        if listed is None or self._db.execute(PENDING + " LIMIT 1").fetchone() is None:
            return True  # before version 6 (read-only) every finished message is indexed
        if self.read_only:
            return False
        db = self._db
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                for message_id, text in self._chunks(PENDING).items():
                    db.execute(
                        "UPDATE messages SET content = content || ? WHERE id = ?",
                        (text, message_id),
                    )
                    db.execute("DELETE FROM message_chunks WHERE message_id = ?", (message_id,))
                db.execute(
                    "INSERT INTO messages_fts(rowid, content) "
                    f"SELECT id, content FROM messages WHERE id IN ({PENDING})"
                )
                db.execute(f"DELETE FROM messages_unindexed WHERE message_id IN ({PENDING})")
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
        except sqlite3.Error:
            return False  # locked, read-only, full or damaged: searched in memory
        return True

    def _scratch(self) -> str:
        """A temporary index (in memory, this connection's only) of the messages not
        indexed yet; its name."""
        db = self._db
        db.execute("PRAGMA temp_store = MEMORY")
        db.execute(
            "CREATE VIRTUAL TABLE IF NOT EXISTS temp.messages_scratch "
            f"USING fts5(content, tokenize='{TOKENIZE}')"
        )
        db.execute("DELETE FROM temp.messages_scratch")
        chunks = self._chunks(PENDING)
        for row in db.execute(f"SELECT id, content FROM messages WHERE id IN ({PENDING})"):
            db.execute(
                "INSERT INTO temp.messages_scratch(rowid, content) VALUES (?, ?)",
                (row[0], row[1] + chunks.get(row[0], "")),
            )
        return "messages_scratch"
