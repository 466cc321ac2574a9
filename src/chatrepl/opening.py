"""Opening the conversation store for a run, and closing it as the run ends.

A session waits a little for a database another program holds locked, then goes on
unsaved; what only reads does not wait. What opening it has to say goes to a `Teller`:
the renderer, or, while a first prompt is drawn, what holds it for later (`repl.Held`).
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Protocol

from chatrepl.environment import Environment
from chatrepl.errors import StoreError

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
    tell: Teller, env: Environment, wait: float = SESSION_WAIT, check: bool = True
) -> Store:
    """The store of the data folder, closed as the run ends; its notices to `tell`."""
    from chatrepl.store import Store

    store = Store(env.paths.database, wait=wait, check=check)
    _opened.append(store)
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


def session(
    settings: Settings, args: argparse.Namespace, env: Environment, tell: Teller
) -> Store | None:
    """The store of a session, if it saves or resumes; one that cannot be opened is said
    in one line (to `tell`: the renderer, or what holds it while a prompt is drawn) and
    the session goes on unsaved, unless it resumes."""
    if not (settings.save or args.cont or args.resume):
        return None
    try:
        return open_store(tell, env)
    except StoreError as exc:
        if args.cont or args.resume:
            raise
        tell.warn(f"chatrepl: {exc} This session is not saved for now.")
        return None
