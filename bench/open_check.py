"""What finding a damaged database at open costs: `PRAGMA quick_check` on a store of
about 100 MB (issue 23, row 5).

Builds the store with bench/make_store.py (real schema, full-text index and all), then
prints medians of: `PRAGMA quick_check` alone (warm page cache, and after the file's
pages were dropped from it when the machine allows), opening the store as a session
does (the check included) and as `--list` does (without it), and whole `chatrepl
--list` and `--version` processes.

    python bench/open_check.py [--runs 9] [--messages 300000]
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
sys.path.insert(0, str(ROOT / "bench"))
from make_store import build  # noqa: E402

from chatrepl.store import Store  # noqa: E402


def median_ms(action: object, runs: int) -> float:
    assert callable(action)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def quick_check(path: Path) -> None:
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA quick_check").fetchall() == [("ok",)]
    db.close()


def drop_cache(path: Path) -> bool:
    """Ask the kernel to forget the file's cached pages (Linux)."""
    if not hasattr(os, "posix_fadvise"):
        return False
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--messages", type=int, default=300_000)
    args = parser.parse_args()
    folder = OUT / f"check-{args.messages}"
    path = folder / "chatrepl.db"
    if not path.exists():
        build(folder, args.messages // 50, args.messages)
    Store(path).close()  # migrated to the current schema
    size = path.stat().st_size / 1e6
    print(f"store: {size:.0f} MB, {args.messages:,} messages")
    print(f"PRAGMA quick_check, warm:  {median_ms(lambda: quick_check(path), args.runs):7.1f} ms")
    if drop_cache(path):

        def cold() -> None:
            drop_cache(path)
            quick_check(path)

        print(f"PRAGMA quick_check, cold:  {median_ms(cold, args.runs):7.1f} ms")
    print(f"Store() open, with check:  {median_ms(lambda: Store(path).close(), args.runs):7.1f} ms")
    unchecked = median_ms(lambda: Store(path, check=False).close(), args.runs)
    print(f"Store() open, no check:    {unchecked:7.1f} ms")
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(folder),
        "CHATREPL_HOME": str(folder),
        "LANG": "C.UTF-8",
    }
    for what in (["--version"], ["--list"]):
        command = [sys.executable, "-m", "chatrepl", *what]

        def run(command: list[str] = command) -> None:
            subprocess.run(command, env=env, stdout=subprocess.DEVNULL, check=True)

        print(f"chatrepl {what[0]:<10}        {median_ms(run, args.runs):7.1f} ms")


if __name__ == "__main__":
    main()
