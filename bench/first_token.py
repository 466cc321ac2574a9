"""Time from the server writing the first event to it being on the terminal.

For chatrepl and for `curl -N` against the same local server, in the same run: each
client runs in a pseudo-terminal; the server notes the moment it writes the first event
and the reader notes when the text appears on the terminal. The difference of the
medians is chatrepl's own overhead. The server writes the first event after a pause
(`--pauses`, seconds): 0.4 lets the client settle first (what draws is loaded by then);
0 sends it at once, while chatrepl is still loading rich in the background.

    python bench/first_token.py [--runs 15] [--pauses 0.4,0]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pexpect

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.server import ChatServer, Script  # noqa: E402

MARKER = "FIRSTTOKENxyz"


def one(server: ChatServer, command: list[str], env: dict[str, str], pause: float) -> float:
    stamps: dict[str, float] = {}
    event = f'data: {{"response":"{MARKER}"}}\n\n'.encode()
    server.add(
        Script(
            pieces=[
                pause,
                lambda: stamps.__setitem__("sent", time.monotonic()),
                event,
                b"data: [DONE]\n\n",
            ]
        )
    )
    return shown_ms(command, env, stamps)


def shown_ms(command: list[str], env: dict[str, str], stamps: dict[str, float]) -> float:
    """Run `command` in a 40x120 pseudo-terminal to its end: milliseconds from the
    server's `stamps["sent"]` to MARKER on the terminal."""
    child = pexpect.spawn(command[0], command[1:], env=env, dimensions=(40, 120), timeout=30)
    child.expect_exact(MARKER)
    seen = time.monotonic()
    child.expect(pexpect.EOF)
    child.close()
    return (seen - stamps["sent"]) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--pauses", default="0.4,0")
    args = parser.parse_args()
    for pause in (float(p) for p in args.pauses.split(",")):
        measure(args.runs, pause)


def measure(runs: int, pause: float) -> None:
    curl = shutil.which("curl")
    server = ChatServer().start()
    home = tempfile.mkdtemp()
    env = {
        **os.environ,
        "CHATREPL_HOME": home,
        "CHATREPL_URL": server.url,
        "TERM": "xterm-256color",
    }
    env.pop("NO_COLOR", None)
    body = '{"messages":[{"role":"user","content":"q"}]}'
    clients = {
        "chatrepl (terminal, Markdown)": [sys.executable, "-m", "chatrepl", "q"],
        "chatrepl --plain": [sys.executable, "-m", "chatrepl", "--plain", "q"],
    }
    if curl:
        clients["curl -N"] = [
            curl,
            "-sN",
            "-H",
            "Content-Type: application/json",
            "-d",
            body,
            server.url,
        ]
    results: dict[str, list[float]] = {name: [] for name in clients}
    for _ in range(runs):  # interleaved, so machine noise hits all alike
        for name, command in clients.items():
            results[name].append(one(server, command, env, pause))
    server.stop()
    shutil.rmtree(home, ignore_errors=True)
    base = statistics.median(results["curl -N"]) if curl else None
    print(f"first event {pause:g} s after the answer's headers, medians of {runs}")
    print(f"{'client':<32} {'median ms':>10} {'min ms':>8} {'max ms':>8} {'vs curl ms':>11}")
    for name, values in results.items():
        med = statistics.median(values)
        diff = f"{med - base:>+11.2f}" if base is not None else f"{'n/a':>11}"
        print(f"{name:<32} {med:>10.2f} {min(values):>8.2f} {max(values):>8.2f} {diff}")


if __name__ == "__main__":
    main()
