"""Build a conversation database of a given size, for the storage benchmarks.

    python bench/make_store.py DIR --conversations 10000 --messages 500000

Conversations get about messages/conversations turns each, except one that gets
--long messages (2,000 by default) to measure resuming a long conversation. The schema
is the real one: the database is created by chatrepl's Store, then filled in bulk.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import time
from pathlib import Path

from chatrepl.store import Store

WORDS = [
    "python",
    "terminal",
    "stream",
    "render",
    "sqlite",
    "otter",
    "penguin",
    "request",
    "answer",
    "question",
    "model",
    "token",
    "latency",
    "config",
    "history",
    "search",
    "resume",
    "export",
    "markdown",
    "table",
    "code",
    "block",
    "list",
    "server",
    "client",
    "network",
    "timeout",
    "retry",
    "error",
    "status",
    "cursor",
    "screen",
    "window",
    "paste",
]

LONG_ID = "1000000long0"


def sentence(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n)).capitalize() + "."


def build(folder: Path, conversations: int, messages: int, long: int = 2000) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "chatrepl.db"
    if path.exists():
        path.unlink()
    Store(path).close()  # the real schema, migrations and all
    rng = random.Random(1)
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode = WAL")
    per = max(2, -(-(messages - long) // max(1, conversations - 1)))  # rounded up
    now = time.time() - conversations * 60
    conv_rows = []
    msg_rows = []
    for n in range(conversations):
        cid = LONG_ID if n == conversations // 2 else f"{n:012x}"
        count = long if cid == LONG_ID else per
        when = now + n * 60
        conv_rows.append((cid, sentence(rng, 5), "", when, when + count, count))
        for k in range(count):
            role = "user" if k % 2 == 0 else "assistant"
            text = sentence(rng, 8 if role == "user" else 40)
            msg_rows.append((cid, role, text, "complete", when + k, None, "{}"))
        if len(msg_rows) > 50_000:
            db.executemany(
                "INSERT INTO messages(conversation_id, role, content, status, created, pid, meta) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                msg_rows,
            )
            msg_rows.clear()
    db.executemany(
        "INSERT INTO conversations(id, title, system, created, updated, message_count) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        conv_rows,
    )
    db.executemany(
        "INSERT INTO messages(conversation_id, role, content, status, created, pid, meta) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        msg_rows,
    )
    db.commit()
    db.close()
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("folder", type=Path)
    parser.add_argument("--conversations", type=int, default=10_000)
    parser.add_argument("--messages", type=int, default=500_000)
    parser.add_argument("--long", type=int, default=2000)
    args = parser.parse_args()
    started = time.monotonic()
    path = build(args.folder, args.conversations, args.messages, args.long)
    with sqlite3.connect(path) as db:
        count = db.execute("SELECT count(*) FROM messages").fetchone()[0]
    print(f"{path}: {count} messages in {time.monotonic() - started:.1f} s")


if __name__ == "__main__":
    main()
