"""A question asked on the command line opens the store (and checks its pages) on a
thread of its own while what sends the question is loaded: with a large store, the check
no longer comes before the import of requests (issue 23, row 19)."""

from __future__ import annotations

import os
import signal
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from chatrepl import opening
from chatrepl.environment import Environment
from chatrepl.store import Store
from chatrepl.transport import Transport
from tests.helpers import run_chatrepl
from tests.server import ChatServer, Script, sse


def test_a_question_opens_the_store_while_the_transport_loads(
    server: ChatServer, chatrepl_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    loaded = threading.Event()
    seen: list[tuple[str, bool]] = []  # (the opening thread, whether the transport loaded)
    make_transport, make_store = Transport.__init__, Store.__init__

    def transport(self: Transport, *args: Any, **kwargs: Any) -> None:
        make_transport(self, *args, **kwargs)
        loaded.set()

    def store(self: Store, *args: Any, **kwargs: Any) -> None:
        # Opened one after the other, the store would wait here in vain: the transport
        # is loaded only once the question is sent.
        seen.append((threading.current_thread().name, loaded.wait(3)))
        make_store(self, *args, **kwargs)

    monkeypatch.setattr(Transport, "__init__", transport)
    monkeypatch.setattr(Store, "__init__", store)
    server.add(Script(pieces=sse("the answer")))
    ran = run_chatrepl(chatrepl_home, "a question", url=server.url)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == "the answer"
    assert seen == [("chatrepl-open", True)]
    db = sqlite3.connect(chatrepl_home / "chatrepl.db")
    rows = db.execute("SELECT role, content, status FROM messages ORDER BY id").fetchall()
    db.close()
    assert rows == [("user", "a question", "complete"), ("assistant", "the answer", "complete")]


def test_no_transport_is_loaded_for_a_reset_alone(
    chatrepl_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[bool] = []
    make_transport = Transport.__init__

    def transport(self: Transport, *args: Any, **kwargs: Any) -> None:
        made.append(True)
        make_transport(self, *args, **kwargs)

    monkeypatch.setattr(Transport, "__init__", transport)
    ran = run_chatrepl(chatrepl_home, "--context-reset")
    assert ran.returncode == 0, ran.stderr
    assert made == []


class Told:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def aside(self, message: str) -> None:
        self.lines.append(message)

    def warn(self, message: str) -> None:
        self.lines.append(message)


def environment(home: Path) -> Environment:
    return Environment(environ={"CHATREPL_HOME": str(home), "HOME": str(home)})


def test_what_opening_raises_is_raised_on_the_callers_thread(tmp_path: Path) -> None:
    (tmp_path / "chatrepl.db").write_bytes(b"not a database at all, " * 100)
    ran: list[bool] = []
    with pytest.raises(Exception, match="damaged"):
        opening.open_store(Told(), environment(tmp_path), meanwhile=lambda: ran.append(True))
    assert ran == [True]  # what runs meanwhile ran all the same


def test_a_store_opened_while_something_else_failed_is_still_closed(tmp_path: Path) -> None:
    def fails() -> None:
        raise KeyError("what ran meanwhile failed")

    with pytest.raises(KeyError):
        opening.open_store(Told(), environment(tmp_path), meanwhile=fails)
    (store,) = opening._opened  # closed as the run ends, as any other
    opening.close_all()
    assert opening._opened == []
    with pytest.raises(sqlite3.ProgrammingError):  # closed
        store._db.execute("SELECT 1")


def test_an_interrupt_while_the_store_opens_still_lets_it_be_closed(tmp_path: Path) -> None:
    """A signal (Ctrl-C, SIGTERM) that comes while the store is being opened: the store
    is let finish opening, so that it is closed as the run ends and leaves no journal."""

    class Stopped(Exception):
        pass

    def stop(signum: int, frame: object) -> None:
        raise Stopped

    def slow() -> Store:
        time.sleep(0.4)  # a large store's check, or a lock's wait
        store = Store(tmp_path / "chatrepl.db")
        opening._opened.append(store)
        return store

    previous = signal.signal(signal.SIGUSR1, stop)
    timer = threading.Timer(0.1, os.kill, (os.getpid(), signal.SIGUSR1))
    try:
        timer.start()
        with pytest.raises(Stopped):  # raised as the wait for the store was interrupted
            opening.beside(slow, lambda: None)
    finally:
        timer.cancel()
        signal.signal(signal.SIGUSR1, previous)
    assert len(opening._opened) == 1  # opened all the same, before the signal went on
    opening.close_all()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["chatrepl.db"]


@pytest.mark.parametrize(("signum", "status"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_while_the_store_closes_lets_it_close_and_sets_the_status(
    server: ChatServer,
    chatrepl_home: Path,
    monkeypatch: pytest.MonkeyPatch,
    signum: int,
    status: int,
) -> None:
    """Found by a tester: SIGTERM as the run closed its store raised inside SQLite's
    close, printed a traceback and exited 1."""
    close = Store.close
    closed: list[bool] = []

    def signalled(self: Store) -> None:
        os.kill(os.getpid(), signum)  # handled at once, inside the close
        time.sleep(0.05)
        close(self)
        closed.append(True)

    monkeypatch.setattr(Store, "close", signalled)
    server.add(Script(pieces=sse("the answer")))
    ran = run_chatrepl(chatrepl_home, "a question", url=server.url)
    assert (ran.returncode, ran.stderr) == (status, "")
    assert ran.stdout.strip() == "the answer"
    assert closed == [True]
    assert sorted(p.name for p in chatrepl_home.iterdir()) == ["chatrepl.db"]
