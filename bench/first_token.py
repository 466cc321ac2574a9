"""Time from the server writing the first event to it being on the terminal.

For chatrepl and for `curl -N` against the same local server, in the same run: each
client runs in a pseudo-terminal; the server notes the moment it writes the first event
(after a pause that lets the client settle, so start-up is not counted) and the reader
notes when the text appears on the terminal. The difference of the medians is
chatrepl's own overhead.

    python bench/first_token.py [--runs 15]
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


def one(server: ChatServer, command: list[str], env: dict[str, str]) -> float:
    stamps: dict[str, float] = {}
    event = f'data: {{"response":"{MARKER}"}}\n\n'.encode()
    server.add(
        Script(
            pieces=[
                0.4,
                lambda: stamps.__setitem__("sent", time.monotonic()),
                event,
                b"data: [DONE]\n\n",
            ]
        )
    )
    child = pexpect.spawn(command[0], command[1:], env=env, dimensions=(40, 120), timeout=20)
    child.expect_exact(MARKER)
    seen = time.monotonic()
    child.expect(pexpect.EOF)
    child.close()
    return (seen - stamps["sent"]) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
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
    for _ in range(args.runs):  # interleaved, so machine noise hits all alike
        for name, command in clients.items():
            results[name].append(one(server, command, env))
    server.stop()
    shutil.rmtree(home, ignore_errors=True)
    base = statistics.median(results["curl -N"]) if curl else None
    print(f"{'client':<32} {'median ms':>10} {'min ms':>8} {'max ms':>8} {'vs curl ms':>11}")
    for name, values in results.items():
        med = statistics.median(values)
        diff = f"{med - base:>+11.2f}" if base is not None else f"{'n/a':>11}"
        print(f"{name:<32} {med:>10.2f} {min(values):>8.2f} {max(values):>8.2f} {diff}")


if __name__ == "__main__":
    main()
