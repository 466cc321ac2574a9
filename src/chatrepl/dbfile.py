"""Opening the conversation database file, and saying in one line why it failed.

Part of the store (`store.Store` uses it; nothing else does). At open, the data folder
is made private (0700, the files 0600); a folder or file that cannot be written is
opened read-only (`mode=ro`, or `immutable=1` when SQLite could not even make its
shared-memory file there); a database another program holds locked is waited for at
most `LOCK_WAIT` seconds; and `PRAGMA quick_check` reads every page before anything
is written, so a damaged file is refused and left as it was: through a memory map,
for the check only, which reads what the page cache holds without a copy per page (a
store of long answers, mostly overflow pages, in under a third of the time). (A command
that only reads may skip the check: a damaged page it meets is reported by `reading`
in the same words.)
"""

from __future__ import annotations

import functools
import os
import shutil
import sqlite3
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar, cast

from chatrepl.errors import StoreError

LOCK_WAIT = 2.0  # seconds to wait for a database another program holds locked
SQLITE_HEADER = b"SQLite format 3\x00"
LOW_SPACE = 1024 * 1024
SIDE_FILES = ("", "-wal", "-shm")
#: What SQLite says when a WAL database's shared-memory file cannot be made: the folder
#: is immutable (CANTOPEN), or its modes forbid writing (READONLY_DIRECTORY; so does
#: READONLY_CANTINIT for a file it cannot set up).
NO_SHARED_MEMORY = ("SQLITE_CANTOPEN", "SQLITE_READONLY_DIRECTORY", "SQLITE_READONLY_CANTINIT")
MAP_FOR_CHECK = 1 << 40  # bytes of the file `quick_check` reads mapped (SQLite caps it)


def can_write(path: Path) -> bool:
    """Whether the database (or, if it does not exist yet, its folder) can be written."""
    folder = path.parent
    if not os.access(folder, os.W_OK):
        return False
    return not path.exists() or os.access(path, os.W_OK)


def tighten(path: Path) -> str:
    """Take others' permissions off the data folder and the database's files (the
    owner's are left as they are: 0755 becomes 0700, 0555 becomes 0500); the one line to show
    when a database others could read had to be made private ('' when nothing changed,
    nothing could, or there was no database yet: the folder is new, or made by another
    part of chatrepl, such as the cache, which shares it under CHATREPL_HOME)."""
    folder = path.parent
    changed = False
    try:
        mode = stat.S_IMODE(folder.stat().st_mode)
        if mode & 0o077:  # others' bits go; the owner's stay as they are (a folder
            folder.chmod(mode & 0o700)  # made read-only stays read-only)
            changed = True
        for suffix in SIDE_FILES:
            side = path.with_name(path.name + suffix)
            side_mode = stat.S_IMODE(side.stat().st_mode) if side.exists() else 0
            if side_mode & 0o077:
                side.chmod(side_mode & 0o600)
                changed = True
    except OSError:
        return ""
    if not changed or not path.exists():
        return ""  # nothing was saved there yet: nothing could have been read
    return (
        f"Made {folder} private (mode {mode & 0o700:04o}, its database files readable by "
        "you only): others could read the conversations in it."
    )


def connect(
    path: Path, *, writable: bool, wait: float, check: bool = True
) -> tuple[sqlite3.Connection, int]:
    """An open connection (read-write, or read-only when not `writable`) to a database
    that passed `quick_check` (unless not `check`), and its schema version. Raises
    sqlite3 errors, and StoreError for a damaged file."""
    if writable:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not path.exists():
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        db = sqlite3.connect(path, timeout=wait, isolation_level=None, check_same_thread=False)
        version = _checked(db, path, wait, check)
        return db, version
    if not path.exists():
        raise StoreError(
            f"Could not open the conversation database {path}: "
            f"{path.parent} is read-only and holds none yet."
        )
    uri = f"{path.absolute().as_uri()}?mode=ro"
    if _left_as_it_is(path):
        uri += "&immutable=1"
    db = sqlite3.connect(uri, uri=True, timeout=wait, isolation_level=None, check_same_thread=False)
    try:
        version = _checked(db, path, wait, check)
    except sqlite3.OperationalError as exc:
        if getattr(exc, "sqlite_errorname", "") not in NO_SHARED_MEMORY:
            raise
        # A WAL database in a folder that cannot be written: SQLite cannot make its
        # shared-memory file; read the file as it is, which nothing can change here.
        db.close()
        db = sqlite3.connect(
            uri + "&immutable=1", uri=True, isolation_level=None, check_same_thread=False
        )
        version = _checked(db, path, wait, check)
    return db, version


def _left_as_it_is(path: Path) -> bool:
    """Whether a database that cannot be written, in a folder that can, is read as it
    is: no one has it open to write (it has no log), so nothing can change it. Read
    otherwise, SQLite would make its shared-memory and log files there, read-only like
    the database, and leave them: once the database is writable again, they would stop
    every save."""
    log = path.with_name(path.name + "-wal")
    try:
        if os.access(path, os.W_OK) or not os.access(path.parent, os.W_OK):
            return False  # (written by a newer chatrepl, which may be running; a folder
            # that cannot be written gets no files anyway)
        return not log.exists() or log.stat().st_size == 0
    except OSError:
        return False


def _checked(db: sqlite3.Connection, path: Path, wait: float, check: bool) -> int:
    db.row_factory = sqlite3.Row
    db.execute(f"PRAGMA busy_timeout = {int(wait * 1000)}")
    version = int(db.execute("PRAGMA user_version").fetchone()[0])
    if not check:
        return version
    db.execute(f"PRAGMA mmap_size = {MAP_FOR_CHECK}")
    problems = [str(row[0]) for row in db.execute("PRAGMA quick_check(1)")]
    db.execute("PRAGMA mmap_size = 0")  # later reads and writes as before
    if problems != ["ok"]:
        db.close()
        raise damaged(path, problems[0] if problems else "quick_check failed")
    return version


def damaged(path: Path, detail: str) -> StoreError:
    detail = " ".join(detail.replace("*** in database main ***", "").split())
    return StoreError(
        f"The conversation database {path} is damaged ({detail[:1].lower()}{detail[1:120]}).",
        f"Recover what it holds with: sqlite3 {path} .recover | sqlite3 recovered.db, "
        "or move it aside to start a fresh store; it is left untouched.",
    )


def kind(exc: BaseException) -> str:
    """locked, damaged, read-only, full or other."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    text = str(exc).lower()
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "database is locked" in text:
        return "locked"
    if name.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB")) or "malformed" in text:
        return "damaged"
    if "not a database" in text:
        return "damaged"
    if name.startswith("SQLITE_READONLY") or "readonly" in text or "read-only" in text:
        return "read-only"
    if name.startswith("SQLITE_FULL") or "disk is full" in text:
        return "full"
    return "other"


def describe(exc: BaseException) -> str:
    text = str(exc)
    if isinstance(exc, OSError) and exc.strerror:
        text = exc.strerror
    return text[:1].upper() + text[1:] if text else type(exc).__name__


def locked(path: Path, wait: float, before: float = 0.0) -> str:
    """The lock, and how long it was waited for; `wait` 0: it was waited for `before`
    by an earlier save (one whose failure may have gone unsaid: a conversation's claim,
    the input history), and is still there."""
    if not wait and before:
        return f"{path} is still locked by another program (waited {before:g} s before)"
    return f"{path} is locked by another program (waited {wait:g} s)"


def open_failure(path: Path, exc: BaseException, wait: float) -> StoreError:
    """Say why the database could not be opened, and what to do, as precisely as we can."""
    folder = path.parent
    what = kind(exc)
    if what == "locked":
        return StoreError(
            f"The conversation database {locked(path, wait)}.",
            "Close that program, or run chatrepl --no-save.",
        )
    if what == "damaged":
        return damaged(path, describe(exc))
    if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        return StoreError(
            f"Could not save the conversation: {folder} is read-only or not writable."
        )
    try:
        if shutil.disk_usage(folder).free < LOW_SPACE:
            return StoreError("Could not save the conversation: No space left on device.")
    except OSError:
        pass
    try:
        with open(path, "rb") as f:
            header = f.read(len(SQLITE_HEADER))
    except OSError:
        header = SQLITE_HEADER
    if header and header != SQLITE_HEADER:
        return damaged(path, describe(exc))
    return StoreError(f"Could not open the conversation database {path}: {describe(exc)}.")


def read_failure(path: Path, exc: BaseException, wait: float) -> StoreError:
    """A read of an open database failed: one line that says it was reading."""
    what = kind(exc)
    if what == "damaged":
        return damaged(path, describe(exc))
    if what == "locked":
        return StoreError(
            f"Could not read the conversation database: {locked(path, wait)}.",
            "Close that program and try again.",
        )
    return StoreError(f"Could not read the conversation database {path}: {describe(exc)}.")


def save_failure(path: Path, exc: BaseException, wait: float, before: float = 0.0) -> StoreError:
    """A write failed: one line that says it was saving (`before`: see `locked`)."""
    what = kind(exc)
    if what == "locked":
        return StoreError(f"Could not save the conversation: {locked(path, wait, before)}.")
    if what == "damaged":
        return StoreError(f"Could not save the conversation: {path} is damaged.")
    return StoreError(f"Could not save the conversation: {describe(exc)}.")


Method = TypeVar("Method", bound=Callable[..., Any])


def reading(method: Method) -> Method:
    """A store method that reads (once the store's writer of chunks is done): a
    database failure is one line that says so."""

    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        self._drain()
        try:
            return method(self, *args, **kwargs)
        except sqlite3.Error as exc:
            raise read_failure(self.path, exc, self.wait) from None

    return cast(Method, wrapper)


def pid_alive(pid: int | None) -> bool:
    """Whether a process with this pid exists (so its claim or stream still holds)."""
    if not pid:
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, owned by someone else
    return True


def close_abandoned(db: sqlite3.Connection) -> None:
    """Answers left `streaming` by a process that is gone (kill -9, a crash, a power
    cut) are closed as `interrupted`, with the text their chunks hold, and so indexed
    for search. Done when a store that may write is opened; a store that cannot take
    the lock now leaves it to the next."""
    try:
        rows = db.execute("SELECT id, pid FROM messages WHERE status = 'streaming'").fetchall()
        gone = [row[0] for row in rows if row[1] != os.getpid() and not pid_alive(row[1])]
        if not gone:
            return
        db.execute("BEGIN IMMEDIATE")
        for message_id in gone:
            chunks = db.execute(
                "SELECT text FROM message_chunks WHERE message_id = ? ORDER BY id", (message_id,)
            ).fetchall()
            db.execute(
                "UPDATE messages SET content = content || ?, status = 'interrupted', pid = NULL "
                "WHERE id = ? AND status = 'streaming'",
                ("".join(chunk[0] for chunk in chunks), message_id),
            )
            db.execute("DELETE FROM message_chunks WHERE message_id = ?", (message_id,))
        db.execute("COMMIT")
    except sqlite3.Error:
        if db.in_transaction:
            db.execute("ROLLBACK")
