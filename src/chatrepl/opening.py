"""Opening the conversation store for a run, and closing it as the run ends.

A session waits a little for a database another program holds locked, then goes on
unsaved; what only reads does not wait. What opening it has to say goes to a `Teller`:
the renderer, or, while a first prompt is drawn, what holds it for later (`repl.Held`).
"""

from __future__ import annotations

import argparse
import signal
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from chatrepl.environment import Environment, detach
from chatrepl.errors import EXIT_INTERRUPTED, StoreError, Terminated

if TYPE_CHECKING:
    from chatrepl.config import Settings
    from chatrepl.store import Store

_opened: list[Store] = []  # closed when main returns (see close_all)


#: Seconds to wait for a database another program holds locked: a session waits a
#: little, then goes on unsaved; a command that only reads or retries does not wait.
SESSION_WAIT, AT_ONCE = 2.0, 0.1


class Teller(Protocol):
    """Where notices of opening the store go: the renderer, or what holds them."""

    def aside(self, message: str) -> None: ...
    def warn(self, message: str) -> None: ...


def open_store(
    tell: Teller,
    env: Environment,
    wait: float = SESSION_WAIT,
    check: bool = True,
    meanwhile: Callable[[], object] | None = None,
) -> Store:
    """The store of the data folder, closed as the run ends; its notices to `tell`.
    With `meanwhile`, the store is opened (and its pages checked) by a thread of its
    own while `meanwhile` runs here: SQLite leaves Python free as it reads."""
    from chatrepl.store import Store

    def make() -> Store:
        store = Store(env.paths.database, wait=wait, check=check)
        _opened.append(store)  # (closed as the run ends, whatever `meanwhile` did)
        return store

    store = make() if meanwhile is None else beside(make, meanwhile)
    if store.aside:
        tell.aside(store.aside)
    if store.notice:
        tell.warn(store.notice)
    return store


def close_all() -> None:
    """Close the database as the run ends, not whenever its objects are freed: SQLite
    tidies its journal on close."""
    while _opened:
        _opened.pop().close()


def close_all_noting_signals() -> int | None:
    """Close the store with Ctrl-C and signals noted, not raised: one raised inside
    SQLite's close would leave its journal behind and end in a traceback. Returns the
    exit status the last one noted asks for (None: none came)."""
    noted: list[int] = []
    names = ("SIGINT", "SIGTERM", "SIGHUP")
    signums = [s for s in (getattr(signal, n, None) for n in names) if s is not None]
    handlers = {s: signal.signal(s, lambda signum, frame: noted.append(signum)) for s in signums}
    try:
        close_all()
    finally:
        for signum, handler in handlers.items():
            signal.signal(signum, handler)
    if not noted:
        return None
    if noted[-1] == signal.SIGINT:
        return EXIT_INTERRUPTED
    if noted[-1] == getattr(signal, "SIGHUP", None):
        detach()
    return Terminated(noted[-1]).exit_code


def beside(make: Callable[[], Store], meanwhile: Callable[[], object]) -> Store:
    """What `make` returns, made by a thread while `meanwhile` runs on this one; what
    either raises is raised here (`meanwhile`'s first, or what interrupted the wait),
    once both are done."""
    made: list[Any] = []
    done = threading.Event()  # (not Thread.join: one that a signal interrupted may
    # take the thread for ended, in Python 3.11)

    def run() -> None:
        try:
            made.append(make())
        except BaseException as exc:  # raised on the caller's thread, below
            made.append(exc)
        finally:
            done.set()

    threading.Thread(target=run, name="chatrepl-open", daemon=True).start()
    try:
        meanwhile()
        done.wait()
    except BaseException:  # Ctrl-C or a signal too: the store is let finish opening, so
        _finish(done)  # that it is closed as the run ends, not left with its journal
        raise
    if isinstance(made[0], BaseException):
        raise made[0]
    return made[0]  # type: ignore[no-any-return]


def _finish(done: threading.Event) -> None:
    """Wait for `done`, whatever interrupts the wait (SQLite could not be interrupted
    either when the store was opened before the rest)."""
    while not done.is_set():
        try:
            done.wait()
        except BaseException:  # a second Ctrl-C while it ends
            continue


def session(
    settings: Settings,
    args: argparse.Namespace,
    env: Environment,
    tell: Teller,
    meanwhile: Callable[[], object] | None = None,
) -> Store | None:
    """The store of a session, if it saves or resumes; one that cannot be opened is said
    in one line (to `tell`: the renderer, or what holds it while a prompt is drawn) and
    the session goes on unsaved, unless it resumes. `meanwhile` runs as it opens (see
    `open_store`), or alone when there is none to open."""
    if not (settings.save or args.cont or args.resume):
        if meanwhile is not None:
            meanwhile()
        return None
    try:
        return open_store(tell, env, meanwhile=meanwhile)
    except StoreError as exc:
        if args.cont or args.resume:
            raise
        tell.warn(f"chatrepl: {exc} This session is not saved for now.")
        return None
