"""Storage at scale: listing, searching, resuming and saving on large stores.

Builds stores of 100, 1,000 and 10,000 conversations (50 messages each, plus one of
2,000 messages; about 500,000 messages at the largest) with bench/make_store.py, then
measures, in one run, medians of wall-clock times of whole `chatrepl` processes:
`--version` (the floor: no third-party import), `--list` and `--search WORD`, and their
peak memory; on the largest store, the time to a live prompt for a resumed
2,000-message conversation against a fresh one, and the time to save a turn.

    python bench/store.py [--runs 7] [--sizes 100,1000,10000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pexpect

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
sys.path.insert(0, str(ROOT / "bench"))
from make_store import LONG_ID, build  # noqa: E402

from chatrepl.conversation import Conversation  # noqa: E402
from chatrepl.store import Store  # noqa: E402

RSS = (
    "import resource, subprocess, sys\n"
    "subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL)\n"
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
)


def store_for(conversations: int) -> Path:
    folder = OUT / f"store-{conversations}"
    if not (folder / "chatrepl.db").exists():
        build(folder, conversations, conversations * 50)
    return folder


def wall(args: list[str], env: dict[str, str], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(args, env=env, stdout=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def peak_kib(args: list[str], env: dict[str, str]) -> int:
    out = subprocess.run(
        [sys.executable, "-c", RSS, *args], env=env, capture_output=True, text=True, check=True
    ).stdout
    return int(out.strip())


def to_prompt(args: list[str], env: dict[str, str], runs: int, after: bytes = b"") -> float:
    """Milliseconds from launch to the prompt (after `after`, when the transcript comes
    first, since a resumed transcript shows questions as `> ...` too)."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        child = pexpect.spawn(args[0], args[1:], env=env, dimensions=(40, 120), timeout=30)
        if after:
            child.expect_exact(after)
        child.expect_exact(b"> ")  # the prompt is drawn and takes keys
        times.append(time.perf_counter() - start)
        child.send(b"/exit\r")
        child.expect(pexpect.EOF)
        child.close()
    return statistics.median(times) * 1000


def save_turn_ms(folder: Path, runs: int) -> float:
    store = Store(folder / "chatrepl.db")
    times = []
    for n in range(runs):
        conv = Conversation()
        start = time.perf_counter()
        store.add_message(conv, conv.add("user", f"benchmark question {n}"))
        answer = conv.add("assistant", "", "streaming")
        store.add_message(conv, answer, streaming=True)
        answer.content, answer.status = "an answer " * 50, "complete"
        store.update_message(answer, final=True, meta={"seconds": 1.0})
        times.append(time.perf_counter() - start)
        store.delete_conversation(conv.id)
    store.close()
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--sizes", default="100,1000,10000")
    args = parser.parse_args()
    chatrepl = [sys.executable, "-m", "chatrepl"]
    sizes = [int(n) for n in args.sizes.split(",")]
    print(
        f"{'convs':>6} {'msgs':>8} {'--version':>10} {'--list':>8} {'--search':>9} "
        f"{'list-ver':>9} {'search-ver':>11} {'list KiB':>9} {'search KiB':>11}"
    )
    for size in sizes:
        folder = store_for(size)
        env = {**os.environ, "CHATREPL_HOME": str(folder)}
        import sqlite3

        with sqlite3.connect(folder / "chatrepl.db") as db:
            msgs = db.execute("SELECT count(*) FROM messages").fetchone()[0]
        version = wall([*chatrepl, "--version"], env, args.runs)
        listing = wall([*chatrepl, "--list"], env, args.runs)
        search = wall([*chatrepl, "--search", "otter"], env, args.runs)
        list_rss = peak_kib([*chatrepl, "--list"], env)
        search_rss = peak_kib([*chatrepl, "--search", "otter"], env)
        print(
            f"{size:>6} {msgs:>8} {version:>10.1f} {listing:>8.1f} {search:>9.1f} "
            f"{listing - version:>9.1f} {search - version:>11.1f} {list_rss:>9} "
            f"{search_rss:>11}"
        )
    folder = store_for(sizes[-1])
    env = {
        **os.environ,
        "CHATREPL_HOME": str(folder),
        "TERM": "xterm-256color",
        "CHATREPL_URL": "http://127.0.0.1:9/api/chat",
        # pexpect does not answer cursor-position requests; real terminals do at once
        "PROMPT_TOOLKIT_NO_CPR": "1",
    }
    fresh = to_prompt(chatrepl, env, args.runs)
    resumed = to_prompt([*chatrepl, "-r", LONG_ID], env, args.runs, after=b"Resumed")
    print(
        f"\ntime to a live prompt, {sizes[-1]} conversations: fresh {fresh:.1f} ms, "
        f"resuming the 2,000-message conversation {resumed:.1f} ms "
        f"(+{resumed - fresh:.1f} ms)"
    )
    print(
        f"saving a turn (question, streaming answer, final answer): "
        f"{save_turn_ms(folder, 50):.2f} ms median of 50"
    )


if __name__ == "__main__":
    main()
