"""Time to the first token of a two-way compare against a single answer, in one run.

Two local servers, a and b. Each client runs in a pseudo-terminal (Markdown, as a person
sees it): `chatrepl --endpoint a q` (one answer) and `chatrepl --compare a,b q` (a is
watched, b streams beside it). Server a notes when it writes its first event after a
pause (`--pause`, default 0.4 s, so start-up is not measured); the reader notes when the
text is on the terminal. b either streams a long answer as fast as it can from the start
(`busy`: 4,000 events over about two seconds, the second stream competing for the same
process when a's first event comes) or stalls before its headers
(`stalled`). The difference of the medians is what the second stream costs the first.

    python bench/compare.py [--runs 15] [--pause 0.4]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from first_token import MARKER, shown_ms  # noqa: E402  (bench/, beside this file)

from tests.server import ChatServer, Script  # noqa: E402


def answer_a(pause: float, stamps: dict[str, float]) -> Script:
    event = f'data: {{"response":"{MARKER} "}}\n\n'.encode()
    rest = [f"data: {json.dumps({'response': f'word{i} '})}\n\n".encode() for i in range(50)]
    return Script(
        pieces=[
            pause,
            lambda: stamps.__setitem__("sent", time.monotonic()),
            event,
            *rest,
            b"data: [DONE]\n\n",
        ]
    )


def answer_b(mode: str) -> Script:
    words = [f"data: {json.dumps({'response': f'b{i} '})}\n\n".encode() for i in range(4000)]
    if mode == "stalled":
        return Script(before=1.5, pieces=[*words[:20], b"data: [DONE]\n\n"])
    paced: list[bytes | float] = []
    for i in range(0, len(words), 20):  # 4,000 events over about 2 s: still going at 0.4 s
        paced += [b"".join(words[i : i + 20]), 0.01]
    return Script(pieces=[*paced, b"data: [DONE]\n\n"])  # type: ignore[list-item]


def one(
    a: ChatServer, b: ChatServer, command: list[str], env: dict[str, str], pause: float, mode: str
) -> float:
    stamps: dict[str, float] = {}
    a.add(answer_a(pause, stamps))
    if "--compare" in command:
        b.add(answer_b(mode))
    return shown_ms(command, env, stamps)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--pause", type=float, default=0.4)
    args = parser.parse_args()
    a, b = ChatServer().start(), ChatServer().start()
    home = tempfile.mkdtemp()
    Path(home, "config.toml").write_text(
        f'[endpoints.a]\nurl = "{a.url}"\n[endpoints.b]\nurl = "{b.url}"\n'
    )
    env = {
        **os.environ,
        "CHATREPL_HOME": home,
        "CHATREPL_AUTO_TITLE": "0",
        "TERM": "xterm-256color",
    }
    env.pop("NO_COLOR", None)
    chatrepl = [sys.executable, "-m", "chatrepl"]
    clients = {
        "single answer (a)": ([*chatrepl, "--endpoint", "a", "q"], ""),
        "compare a,b; b busy": ([*chatrepl, "--compare", "a,b", "q"], "busy"),
        "compare a,b; b stalled": ([*chatrepl, "--compare", "a,b", "q"], "stalled"),
    }
    results: dict[str, list[float]] = {name: [] for name in clients}
    for _ in range(args.runs):  # interleaved, so machine noise hits all alike
        for name, (command, mode) in clients.items():
            results[name].append(one(a, b, command, env, args.pause, mode))
    a.stop()
    b.stop()
    shutil.rmtree(home, ignore_errors=True)
    base = statistics.median(results["single answer (a)"])
    print(
        f"a's first event {args.pause:g} s after its headers, on the terminal; "
        f"medians of {args.runs}"
    )
    print(f"{'client':<26} {'median ms':>10} {'min ms':>8} {'max ms':>8} {'vs single ms':>13}")
    for name, values in results.items():
        med = statistics.median(values)
        print(
            f"{name:<26} {med:>10.2f} {min(values):>8.2f} {max(values):>8.2f} {med - base:>+13.2f}"
        )


if __name__ == "__main__":
    main()
