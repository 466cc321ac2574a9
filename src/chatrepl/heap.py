"""The garbage collector and objects that live until exit.

Most of what a run allocates is made by imports (functions, classes, tables) and lives
until the process ends, yet Python's collector walks it again and again: while modules
load, and in the full collections of shutdown. Here it is spared both:

- `loading()`: modules imported inside it are not walked while they load, and their
  objects are then frozen (`gc.freeze`: set aside where the collector never looks).
- `freeze_at_exit()`: the full collections of shutdown, which only free memory the
  system takes back anyway, walk nothing (25-45 ms of a one-shot run here).

Only garbage cycles are affected, and only those that already exist at those moments:
they are never freed (after a freeze) or not finalized at exit, which CPython never
promised. So `loading()` is for what loads once, early in a process (the transport, the
drawing stack), not for what may load late in a long session (a language's lexer).
Buffers are flushed and exit handlers run as before.
"""

from __future__ import annotations

import atexit
import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_freezing_at_exit = False
_lock = threading.Lock()
_loading = 0  # calls of loading() under way
_was_enabled = True


@contextmanager
def loading() -> Iterator[None]:
    """Import modules without the collector walking what they make, then freeze it.

    Calls may overlap, from any thread: the collector is enabled again, if it was,
    when the last of them ends."""
    global _loading, _was_enabled
    with _lock:
        if not _loading:
            _was_enabled = gc.isenabled()
            gc.disable()
        _loading += 1
    try:
        yield
    finally:
        with _lock:
            _loading -= 1
            gc.freeze()
            if not _loading and _was_enabled:
                gc.enable()


def freeze_at_exit() -> None:
    """Freeze every object at exit, before shutdown's collections (once per process)."""
    global _freezing_at_exit
    if not _freezing_at_exit:
        _freezing_at_exit = True
        atexit.register(gc.freeze)
