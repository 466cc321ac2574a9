"""The database schema: its version and the migrations that reach it.

`PRAGMA user_version` holds the version; `MIGRATIONS[n]` takes a database from version
n to n + 1, inside one write transaction. A database whose version is higher than
SCHEMA_VERSION was written by a newer chatrepl and is opened read-only by the store.
"""

from __future__ import annotations

import sqlite3

SCHEMA_VERSION = 6

_V1 = """
CREATE TABLE conversations (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL DEFAULT '',
    system TEXT NOT NULL DEFAULT '',
    created REAL NOT NULL,
    updated REAL NOT NULL,
    message_count INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX conversations_updated ON conversations(updated);
CREATE TABLE messages (
    id INTEGER PRIMARY KEY,
    conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    role TEXT NOT NULL,
    content TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'complete',
    created REAL NOT NULL,
    pid INTEGER,
    meta TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX messages_conversation ON messages(conversation_id, id);
CREATE TABLE history (
    id INTEGER PRIMARY KEY,
    text TEXT NOT NULL,
    created REAL NOT NULL
);
"""

# Version 2: which process has a conversation open, and a full-text index over finished
# messages (a streaming answer is indexed once, when it ends, not at every checkpoint).
_V2 = """
ALTER TABLE conversations ADD COLUMN owner_pid INTEGER;
CREATE VIRTUAL TABLE messages_fts USING fts5(
    content, content='messages', content_rowid='id',
    tokenize='porter unicode61 remove_diacritics 2'
);
INSERT INTO messages_fts(rowid, content)
    SELECT id, content FROM messages WHERE status != 'streaming';
CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages
    WHEN new.status != 'streaming' BEGIN
    INSERT INTO messages_fts(rowid, content) VALUES (new.id, new.content);
END;
CREATE TRIGGER messages_fts_update AFTER UPDATE OF content, status ON messages BEGIN
    INSERT INTO messages_fts(messages_fts, rowid, content)
        SELECT 'delete', old.id, old.content WHERE old.status != 'streaming';
    INSERT INTO messages_fts(rowid, content)
        SELECT new.id, new.content WHERE new.status != 'streaming';
END;
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages
    WHEN old.status != 'streaming' BEGIN
    INSERT INTO messages_fts(messages_fts, rowid, content) VALUES ('delete', old.id, old.content);
END;
"""

# Version 3: what was learnt of each endpoint's window: the ratio of the server's token
# counts to chatrepl's estimate, and a window lowered after the server refused a request.
_V3 = """
CREATE TABLE endpoint_state (
    key TEXT PRIMARY KEY,
    ratio REAL NOT NULL DEFAULT 1.0,
    context_tokens INTEGER
);
"""

# Version 4: messages form a tree. Each message keeps its parent (NULL: a first
# message); a conversation keeps the last message of the branch on screen (`head_id`;
# 0: nothing on screen). Earlier conversations become one straight branch.
_V4 = """
ALTER TABLE messages ADD COLUMN parent_id INTEGER;
ALTER TABLE conversations ADD COLUMN head_id INTEGER;
UPDATE messages SET parent_id = (
    SELECT MAX(p.id) FROM messages p
    WHERE p.conversation_id = messages.conversation_id AND p.id < messages.id
);
UPDATE conversations SET head_id = (
    SELECT MAX(id) FROM messages WHERE conversation_id = conversations.id
);
"""

# Version 5: an answer is saved as it streams by appending what arrived since the last
# checkpoint to `message_chunks` (the message's own `content` holds what it started
# with). A message reads as its content followed by its chunks in order. (In version 5
# the whole text was written to `content`, and indexed, when the answer ended; since
# version 6 that waits for a search, and for a short answer only the join is done then.)
_V5 = """
CREATE TABLE message_chunks (
    id INTEGER PRIMARY KEY,
    message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    text TEXT NOT NULL
);
CREATE INDEX message_chunks_message ON message_chunks(message_id, id);
"""

# Version 6: the full-text index is brought up to date when a search runs, not when a
# message is written, so the end of a long answer costs no indexing (issue 23, row 19).
# `messages_unindexed` lists the messages whose text is not in `messages_fts` yet:
# every message inserted, and an indexed message whose text changes (its old text is
# taken out of the index then). A search first indexes every listed message that is
# no longer streaming (fulltext): its chunks, if any, are joined into `content` and
# deleted, and the whole text indexed once. So an answer's text stays in its chunks
# after it ends until then; every reader joins them (content, then chunks in order).
# Messages not listed are indexed with exactly their `content`, as version 2 did.
_V6 = """
DROP TRIGGER messages_fts_insert;
DROP TRIGGER messages_fts_update;
DROP TRIGGER messages_fts_delete;
CREATE TABLE messages_unindexed (message_id INTEGER PRIMARY KEY);
INSERT INTO messages_unindexed(message_id) SELECT id FROM messages WHERE status = 'streaming';
CREATE TRIGGER messages_unindexed_insert AFTER INSERT ON messages BEGIN
    INSERT OR IGNORE INTO messages_unindexed(message_id) VALUES (new.id);
END;
CREATE TRIGGER messages_unindexed_update AFTER UPDATE OF content ON messages
    WHEN NOT EXISTS (SELECT 1 FROM messages_unindexed WHERE message_id = old.id) BEGIN
    INSERT INTO messages_fts(messages_fts, rowid, content) VALUES ('delete', old.id, old.content);
    INSERT INTO messages_unindexed(message_id) VALUES (old.id);
END;
CREATE TRIGGER messages_unindexed_delete AFTER DELETE ON messages BEGIN
    INSERT INTO messages_fts(messages_fts, rowid, content)
        SELECT 'delete', old.id, old.content
        WHERE NOT EXISTS (SELECT 1 FROM messages_unindexed WHERE message_id = old.id);
    DELETE FROM messages_unindexed WHERE message_id = old.id;
END;
"""

# MIGRATIONS[n] takes a database from user_version n to n + 1.
MIGRATIONS: list[str] = [_V1, _V2, _V3, _V4, _V5, _V6]


def statements(script: str) -> list[str]:
    """Split a migration into statements (a trigger's body holds semicolons)."""
    out: list[str] = []
    current = ""
    for line in script.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            out.append(current.strip())
            current = ""
    if current.strip():
        out.append(current.strip())
    return out
