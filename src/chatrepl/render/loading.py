"""What an answer shows before rich is in, and the loading of what draws.

What draws (rich, markdown-it-py, Pygments) is imported by a background thread while
the request is on its way (`view.AnswerView.waiting`): a plain import (some 0.1 s of
CPU), which would delay the request if it came first. Meanwhile a dim waiting line may
show, and the first text to arrive before the import is done is shown as it is
(`Preview`), to be handed over to the live region once it is. Nothing here imports rich.
"""

from __future__ import annotations

import os
import threading
import time
import unicodedata
from collections.abc import Callable, Iterable
from typing import IO

#: The waiting line: drawn after this long, then updated this often (seconds).
WAITING_AFTER, WAITING_STEP = 0.3, 0.1

_loader: threading.Thread | None = None
loaded = threading.Event()


def _load(code_theme: str) -> None:
    from chatrepl.render import drawing, source

    source.parser()
    drawing.theme_for(code_theme)
    from rich.live import Live  # noqa: F401

    loaded.set()


def load(code_theme: str, wait: bool = True) -> None:
    """Start importing what draws, once per process; with `wait`, wait for it."""
    global _loader
    if _loader is None:
        _loader = threading.Thread(
            target=_load, args=(code_theme,), name="chatrepl-load", daemon=True
        )
        _loader.start()
    if wait:
        _loader.join()


def _cells(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def reflowed(lengths: Iterable[int], width: int) -> int:
    """How many rows lines of these lengths (in cells) take once a terminal that reflows
    has rewrapped them at `width`."""
    return sum(max(1, -(-length // width)) for length in lengths)


def erased(rows: int) -> str:
    """Erase `rows` rows, the cursor's and those above it, leaving the cursor at the
    start of the top one (row by row: tmux keeps a screen cleared from its top)."""
    return "\r" + "\x1b[2K\x1b[1A" * (rows - 1) + "\x1b[2K"


def columns_of(out: IO[str]) -> int:
    """The width of the terminal `out` writes to (80 if it cannot be told)."""
    try:
        return os.get_terminal_size(out.fileno()).columns
    except (OSError, ValueError):
        return 80


def fitted(line: str, columns: int) -> str:
    """`line` cut to fit one row of `columns` (leaving the last cell free: a line that
    fills its row would wrap, and the next `\r` would go back to the wrong row)."""
    line = line[: max(0, columns - 1)]
    while line and _cells(line) > columns - 1:
        line = line[:-1]
    return line


def waiting_line(host: str, seconds: float, columns: int) -> str:
    """The waiting line that fits `columns`: the hint goes first, then the host; the
    seconds stay."""
    counted = f"{seconds:.1f} s"
    for line in (
        f"waiting for {host}…  {counted}  (Ctrl-C stops)",
        f"waiting for {host}…  {counted}",
        f"waiting…  {counted}",
    ):
        if _cells(line) <= columns - 1:
            return line
    return fitted(counted, columns)


class Waiter(threading.Thread):
    """Between the request and the first thing the answer shows: one dim line of the
    live kind (`waiting for HOST…  2.1 s  (Ctrl-C stops)`), cut to the window, updated,
    and erased when anything arrives, so it never reaches the scrollback (or a pipe).
    It writes with `write` under `lock`, the lock of everything the answer writes. In a
    terminal that `reflows`, a line made narrower was rewrapped into more rows: they
    are all erased."""

    def __init__(
        self,
        host: str,
        write: Callable[[str], None],
        lock: threading.RLock,
        out: IO[str],
        reflows: bool = False,
    ) -> None:
        super().__init__(name="chatrepl-waiting", daemon=True)
        self.host, self.write, self.lock, self.out = host, write, lock, out
        self.reflows = reflows
        self.shown = 0  # the cells of the line on screen
        self.stopped = threading.Event()

    def run(self) -> None:
        started = time.monotonic()
        while not self.stopped.wait(WAITING_STEP):
            if (seconds := time.monotonic() - started) >= WAITING_AFTER:
                columns = columns_of(self.out)
                line = waiting_line(self.host, seconds, columns)
                with self.lock:
                    if not self.stopped.is_set():
                        self.write(f"{self._erase(columns)}\x1b[2m{line}\x1b[0m")
                        self.shown = max(1, _cells(line))

    def _erase(self, columns: int) -> str:
        return erased(reflowed([self.shown], columns) if self.reflows else 1)

    def stop(self) -> None:
        """Stop, and erase the line if it was drawn."""
        self.stopped.set()
        self.join()
        with self.lock:
            if self.shown:
                self.write(self._erase(columns_of(self.out)))
                self.shown = 0


class Preview:
    """The line of the answer that is arriving, as it is, on one row (its end, if it is
    longer), until the live region takes its place. Followed piece by piece, so its
    cost is the piece's, however much arrives before rich is in."""

    def __init__(self, out: IO[str], write: Callable[[str], None]) -> None:
        self.out, self.write = out, write
        self.shown = ""
        self._line = self._last_line = ""  # the line arriving, the last one not blank

    def show(self, piece: str) -> None:
        columns = columns_of(self.out)
        *done, self._line = (self._line + piece).split("\n")
        self._last_line = next((d for d in reversed(done) if d.strip()), self._last_line)
        self._line = self._line[-2 * columns :]
        line = (self._line if self._line.strip() else self._last_line)[-2 * columns :]
        line = line.replace("\t", " ")
        while line and _cells(line) > columns - 1:
            line = line[max(1, (_cells(line) - columns + 1) // 2) :]
        if line != self.shown:
            self.shown = line
            self.write("\r\x1b[2K" + line)

    def clear(self) -> None:
        if self.shown:
            self.write("\r\x1b[2K")
            self.shown = ""
