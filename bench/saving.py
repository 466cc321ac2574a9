"""Saving a long answer as it streams, against not saving it (issue 23, row 19).

A local server (tests/server.py) streams an answer of 1, 20 and 60 MB at a given pace
(`--rate` MB/s; 0: as fast as it can); a whole `chatrepl "question" > /dev/null`
process is timed with `--no-save` and with saving, into a data folder that already
holds a conversation (as a user's does; `--fresh`: a new folder for each run). Prints
medians of wall-clock seconds, the cost of saving over not saving, and how much the
data folder (database and WAL) grew for each answer. Before each timed run, what the
earlier ones wrote is flushed to the disk (`os.sync()`, untimed).

    python bench/saving.py [--runs 3] [--sizes 1,20,60] [--rate 2] [--fresh]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.server import ChatServer, Script, sse  # noqa: E402

EVENT_CHARS = 1000  # answer text per SSE event
EVENTS_PER_WRITE = 64  # events the server writes at once


def answer_script(megabytes: int, rate: float) -> Script:
    """One answer of `megabytes` MB of prose in events of EVENT_CHARS characters, at
    `rate` MB/s (0: no pause)."""
    line = "The quick brown fox jumps over the lazy dog; sqlite saves every word. "
    text = (line * (EVENT_CHARS // len(line) + 1))[: EVENT_CHARS - 1] + "\n"
    event = f"data: {json.dumps({'response': text})}\n\n".encode()
    count = megabytes * 1_000_000 // EVENT_CHARS
    pieces: list[bytes | float] = []
    for start in range(0, count, EVENTS_PER_WRITE):
        events = min(EVENTS_PER_WRITE, count - start)
        pieces.append(event * events)
        if rate:
            pieces.append(events * EVENT_CHARS / (rate * 1e6))
    pieces.append(b"data: [DONE]\n\n")
    return Script(pieces=list(pieces))


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.iterdir() if p.name.startswith("chatrepl.db"))


def one_run(server: ChatServer, home: Path, script: Script, save: bool = True) -> tuple[float, int]:
    """Seconds for one whole process, and how much the data folder grew."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "CHATREPL_HOME": str(home),
        "CHATREPL_URL": server.url,
        "LANG": "C.UTF-8",
        "TERM": "dumb",
        **{k: v for k, v in os.environ.items() if k == "PYTHONPATH"},  # another checkout
    }
    server.add(script)
    before = folder_bytes(home) if home.exists() else 0
    args = [sys.executable, "-m", "chatrepl", *([] if save else ["--no-save"]), "question"]
    # What earlier runs wrote goes to the disk first, untimed: otherwise a run pays at
    # random for the writing back of answers saved a moment before (a user's last long
    # answer is on the disk long before the next one), and medians move by ten points.
    os.sync()
    start = time.perf_counter()
    subprocess.run(args, env=env, stdout=subprocess.DEVNULL, check=True)
    seconds = time.perf_counter() - start
    return seconds, folder_bytes(home) - before if save else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sizes", default="1,20,60", help="answer sizes in MB")
    parser.add_argument("--rate", type=float, default=2.0, help="MB/s; 0: full speed")
    parser.add_argument("--fresh", action="store_true", help="a new data folder each run")
    args = parser.parse_args()
    server = ChatServer().start()
    tmp = tempfile.TemporaryDirectory(prefix="chatrepl-saving-")
    try:
        print(f"{'answer':>8} {'--no-save':>10} {'saving':>10} {'cost':>7} {'growth':>10}")
        for megabytes in (int(s) for s in args.sizes.split(",")):
            plain, saved, sizes = [], [], []
            script = answer_script(megabytes, args.rate)
            home = Path(tmp.name) / f"{megabytes}"
            if not args.fresh:
                one_run(server, home, Script(pieces=sse("a short answer")))  # a store that exists
            for run in range(args.runs):  # interleaved, so both see the same machine
                plain.append(one_run(server, home, script, save=False)[0])
                where = home / str(run) if args.fresh else home
                seconds, size = one_run(server, where, script)
                saved.append(seconds)
                sizes.append(size)
            a, b = statistics.median(plain), statistics.median(saved)
            print(
                f"{megabytes:>6} MB {a:>9.2f}s {b:>9.2f}s {100 * (b - a) / a:>+6.1f}% "
                f"{max(sizes) / 1e6:>7.1f} MB"
            )
    finally:
        server.stop()
        tmp.cleanup()


if __name__ == "__main__":
    main()
