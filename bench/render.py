"""Rendering cost: chatrepl's streaming Markdown against plain text and a naive renderer.

Each mode streams the same answer, one token at a time, into a terminal-like sink (a
pseudo-terminal, drained by a reader thread) and is measured in process CPU seconds
(rendering threads included). The naive renderer re-renders the whole answer as
Markdown on every token, as some well-known tools do. Medians of --repeat runs.

    python bench/render.py [--tokens 500,2000,8000,20000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from answers import markdown_answer

from chatrepl.render import Renderer
from chatrepl.render.drawing import make_console

WIDTH, HEIGHT = 100, 40


class PtySink:
    """A pseudo-terminal whose other end is drained, so writes cost what they cost."""

    def __init__(self) -> None:
        import fcntl
        import struct
        import termios

        self.master, self.slave = os.openpty()
        fcntl.ioctl(self.slave, termios.TIOCSWINSZ, struct.pack("HHHH", HEIGHT, WIDTH, 0, 0))
        self.file = os.fdopen(self.slave, "w", encoding="utf-8", buffering=1)
        self.bytes = 0
        self._thread = threading.Thread(target=self._drain, daemon=True)
        self._thread.start()

    def _drain(self) -> None:
        try:
            while chunk := os.read(self.master, 65536):
                self.bytes += len(chunk)
        except OSError:
            pass

    def close(self) -> None:
        self.file.close()
        os.close(self.master)


def run_chatrepl(pieces: list[str], plain: bool, rate: float = 0.0) -> float:
    sink = PtySink()
    console = make_console(sink.file, plain=plain, force_terminal=not plain, width=WIDTH)
    console.size = (WIDTH, HEIGHT)
    renderer = Renderer(console, markdown=not plain, plain=plain)
    start = time.process_time()
    pause = 1 / rate if rate else 0.0
    with renderer.answer() as view:
        for piece in pieces:
            view.text(piece)
            if pause:
                time.sleep(pause)  # a server's pace: sleeping costs no CPU
    cpu = time.process_time() - start
    sink.close()
    return cpu


def run_naive(pieces: list[str]) -> float:
    """Re-render everything on every token (the quadratic reference)."""
    from rich.live import Live
    from rich.markdown import Markdown

    sink = PtySink()
    console = make_console(sink.file, force_terminal=True, width=WIDTH)
    console.size = (WIDTH, HEIGHT)
    start = time.process_time()
    text = ""
    with Live(console=console, auto_refresh=False, vertical_overflow="visible") as live:
        for piece in pieces:
            text += piece
            live.update(Markdown(text), refresh=True)
    cpu = time.process_time() - start
    sink.close()
    return cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tokens", default="500,2000,8000,20000")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--rate",
        type=float,
        default=0.0,
        help="tokens per second, as a server sends them (default: as fast as possible)",
    )
    parser.add_argument(
        "--naive-max",
        type=int,
        default=2000,
        help="largest size the naive renderer is run at (it is quadratic)",
    )
    args = parser.parse_args()
    sizes = [int(n) for n in args.tokens.split(",")]
    print(
        f"{'tokens':>7} {'plain s':>9} {'markdown s':>11} {'md/plain':>9} {'naive s':>9}"
        f" {'naive/md':>9}"
    )
    previous: float | None = None
    for n in sizes:
        pieces = markdown_answer(n)
        plain = statistics.median(run_chatrepl(pieces, True, args.rate) for _ in range(args.repeat))
        md = statistics.median(run_chatrepl(pieces, False, args.rate) for _ in range(args.repeat))
        naive = (
            statistics.median(run_naive(pieces) for _ in range(args.repeat))
            if n <= args.naive_max
            else float("nan")
        )
        growth = f"  x{md / previous:.2f} vs previous size" if previous else ""
        print(
            f"{n:>7} {plain:>9.3f} {md:>11.3f} {md / plain:>9.2f} {naive:>9.3f}"
            f" {naive / md:>9.1f}{growth}"
        )
        previous = md


if __name__ == "__main__":
    main()
