"""Per-token cost of whole `chatrepl` processes against the floor, in one run.

A local server streams a mixed-Markdown answer of N tokens (one SSE event each, each its
own chunk of a chunked HTTP/1.1 body, written as fast as the socket takes them). Every
figure is the wall time of a whole process, started fresh, median of --runs interleaved
runs:

- pipe: `chatrepl "q"` with stdout to a pipe, saving and `--no-save`, beside a minimal
  floor script run by this benchmark (requests, `iter_content`, split on blank lines,
  `json.loads`, write), at 20,000 tokens;
- pty: `chatrepl "q"` in a pseudo-terminal, Markdown and `--plain`, at 2,000, 8,000 and
  20,000 tokens, with the ratio of their CPU times (user and system: less noisy than
  wall time here) and the peak memory (maximum resident size) of each Markdown run
  (for scale only: issue 24 withdrew the targets on that ratio; `bench/paced.py` has
  the ones that replace them);
- show: `chatrepl --show ID` of a 2,000-message conversation in a pseudo-terminal,
  beside a script that renders the same messages once with rich.

    python bench/cost.py [--runs 5] [--only pipe,pty,show] [--reference SRC] [--spread]
                         [--first-byte-ms MS]

Each case runs once untimed first, with bytecode writing allowed, so every timed run
reads compiled modules as an installed copy does (an editable install under
PYTHONDONTWRITEBYTECODE would otherwise compile chatrepl's modules at every start).

With `--reference SRC` (the `src` folder of another checkout, e.g. a `git worktree` of
an earlier commit) that version runs beside this one in every table, in the same run.
With `--first-byte-ms MS` the server waits that long before it answers, as a model
does before its first token (the issue's targets are set with no wait).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from answers import as_chunk, markdown_answer, sse_events

WIDTH, HEIGHT = 100, 40

FLOOR = r"""
import json, sys, requests
r = requests.post(sys.argv[1], json={"messages": [{"role": "user", "content": "q"}]},
                  stream=True)
buf = b""
out = sys.stdout
for chunk in r.iter_content(chunk_size=None):
    buf += chunk
    *events, buf = buf.split(b"\n\n")
    for event in events:
        data = event[6:]
        if data == b"[DONE]":
            continue
        out.write(json.loads(data)["response"])
out.flush()
"""

SHOW_FLOOR = r"""
import sqlite3, sys
from rich.console import Console
from rich.markdown import Markdown
db = sqlite3.connect(sys.argv[1])
console = Console(width=WIDTH, force_terminal=True, highlight=False, emoji=False, markup=False)
for role, content in db.execute(
    "SELECT role, content FROM messages WHERE conversation_id = ? ORDER BY id", (sys.argv[2],)
):
    if role == "user":
        console.print("> " + content, style="bold")
    else:
        console.print(Markdown(content))
""".replace("WIDTH", str(WIDTH))


class Server:
    """Streams the answer of the size asked for by the URL's path (`/N`)."""

    def __init__(self) -> None:
        bodies: dict[int, list[bytes]] = {}

        class Handler(BaseHTTPRequestHandler):
            # Chunked HTTP/1.1, each event a chunk: every client streams it as it comes
            # (an HTTP/1.0 body without a length is read whole by `iter_content` first).
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                tokens, delay = (int(part) for part in self.path.strip("/").split("/")[:2])
                if tokens not in bodies:
                    bodies[tokens] = sse_events(tokens, usage=True)
                time.sleep(delay / 1000)  # as a model takes time to its first token
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for event in bodies[tokens]:
                    self.wfile.write(as_chunk(event))
                self.wfile.write(b"0\r\n\r\n")
                self.close_connection = True

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def url(self, tokens: int) -> str:
        """The answer of `tokens` tokens, after the first-byte delay (`DELAY_MS`)."""
        port = self.httpd.server_address[1]
        return f"http://127.0.0.1:{port}/{tokens}/{DELAY_MS}/api/chat"


REFERENCE: str = ""  # the src folder of another version to run beside this one
DELAY_MS = 0  # the server's wait before its answer (--first-byte-ms)


def _env(home: Path, url: str, reference: bool = False) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHATREPL_")}
    # As a user runs it: `pip install` compiles the package's bytecode, so a run reads
    # it rather than compiling every module from source.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if reference:
        env["PYTHONPATH"] = REFERENCE
    env.update(CHATREPL_HOME=str(home), CHATREPL_URL=url, TERM="xterm-256color")
    env.update(COLUMNS=str(WIDTH), LINES=str(HEIGHT))
    env.pop("NO_COLOR", None)
    return env


def run_pipe(command: list[str], env: dict[str, str]) -> tuple[float, int, bytes, float]:
    """Wall seconds, peak KiB, stdout and CPU seconds of a process writing into a pipe."""
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    out: list[bytes] = []
    err: list[bytes] = []
    readers = [
        threading.Thread(target=lambda: out.append(process.stdout.read())),  # type: ignore[union-attr]
        threading.Thread(target=lambda: err.append(process.stderr.read())),  # type: ignore[union-attr]
    ]
    for reader in readers:
        reader.start()
    _, status, usage = os.wait4(process.pid, 0)
    took = time.perf_counter() - started
    process.returncode = status
    for reader in readers:
        reader.join()
    if status:
        raise SystemExit(f"{command} failed: {b''.join(err).decode()[-500:]}")
    return took, usage.ru_maxrss, b"".join(out), usage.ru_utime + usage.ru_stime


def run_pty(command: list[str], env: dict[str, str]) -> tuple[float, int, int, float]:
    """Wall seconds, peak KiB, bytes written and CPU seconds (user and system) of a
    process on a pseudo-terminal."""
    import fcntl
    import struct
    import termios

    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", HEIGHT, WIDTH, 0, 0))
    total = [0]

    def drain() -> None:
        try:
            while chunk := os.read(master, 65536):
                total[0] += len(chunk)
        except OSError:
            pass

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    started = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # the child: the pty is its terminal
        os.setsid()
        fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
        for fd in (0, 1, 2):
            os.dup2(slave, fd)
        os.close(master)
        os.execvpe(command[0], command, env)
    os.close(slave)
    _, status, usage = os.wait4(pid, 0)
    took = time.perf_counter() - started
    reader.join(5)
    os.close(master)
    if status:
        raise SystemExit(f"{command} exited with {status}")
    return took, usage.ru_maxrss, total[0], usage.ru_utime + usage.ru_stime


Runs = dict[str, list[tuple[float, ...]]]


def median_runs(runs: int, cases: Mapping[str, Callable[[], tuple[float, ...]]]) -> Runs:
    results: dict[str, list[tuple[float, ...]]] = {name: [] for name in cases}
    for case in cases.values():  # once untimed: bytecode is written, files are cached
        case()
    for _ in range(runs):
        for name, case in cases.items():  # interleaved: noise falls on every case alike
            results[name].append(case())
    return results


def med(values: list[tuple[float, ...]], index: int = 0) -> float:
    return statistics.median(v[index] for v in values)


def _timings(run: tuple[float, int, bytes, float]) -> tuple[float, ...]:
    """Wall seconds, peak KiB and CPU seconds of a run_pipe."""
    return run[0], run[1], run[3]


def bench_pipe(server: Server, home: Path, runs: int, tokens: int) -> None:
    url = server.url(tokens)
    env = _env(home, url)
    py = sys.executable
    chatrepl = [py, "-m", "chatrepl", "q"]
    expected = "".join(markdown_answer(tokens))
    cases = {
        "floor": lambda: _timings(run_pipe([py, "-c", FLOOR, url], env)),
        "chatrepl --no-save": lambda: _timings(run_pipe([*chatrepl, "--no-save"], env)),
        "chatrepl": lambda: _timings(run_pipe(chatrepl, env)),
    }
    if REFERENCE:
        ref_env = _env(home.parent / "pipe-reference", url, reference=True)
        cases["reference"] = lambda: _timings(run_pipe(chatrepl, ref_env))
    exact = run_pipe(chatrepl, env)[2].decode() == expected + (
        "" if expected.endswith("\n") else "\n"
    )
    results = median_runs(runs, cases)
    floor = med(results["floor"])
    print(f"pipe, {tokens:,} tokens (wall s, medians of {runs}); stdout byte-exact: {exact}")
    for name, values in results.items():
        print(f"  {name:<20} {med(values):6.3f} s   × floor {med(values) / floor:5.2f}"
              f"   peak {med(values, 1) / 1024:5.1f} MB")  # fmt: skip
    save = med(results["chatrepl"]) / med(results["chatrepl --no-save"])
    save_cpu = med(results["chatrepl"], 2) / med(results["chatrepl --no-save"], 2)
    to_floor = med(results["chatrepl"]) / floor
    to_floor_cpu = med(results["chatrepl"], 2) / med(results["floor"], 2)
    print(f"  saving while streaming costs ×{save:.3f} over --no-save (CPU ×{save_cpu:.3f};"
          f" target ≤ 1.10); chatrepl / floor {to_floor:.2f} (CPU {to_floor_cpu:.2f};"
          " target ≤ 1.25)")  # fmt: skip


def _spread(values: list[tuple[float, ...]]) -> str:
    """Fastest, quartiles and slowest wall times, in ms."""
    walls = sorted(v[0] * 1000 for v in values)
    q1, _, q3 = statistics.quantiles(walls, n=4) if len(walls) > 1 else (walls[0],) * 3
    return f"{walls[0]:.0f} [{q1:.0f}–{q3:.0f}] {walls[-1]:.0f} ms"


def _paired(top: list[tuple[float, ...]], bottom: list[tuple[float, ...]]) -> str:
    """The median of the wall-time ratios of runs made one after the other (the machine's
    slow and fast spells fall on both), with its quartiles."""
    ratios = sorted(a[0] / b[0] for a, b in zip(top, bottom, strict=True))
    q1, median, q3 = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else ratios * 3
    return f"median {median:4.2f} [{q1:4.2f}–{q3:4.2f}]"


def bench_pty(
    server: Server, home: Path, runs: int, sizes: list[int], spread: bool = False
) -> None:
    py = sys.executable
    print(f"pty, one-shot in a terminal (wall s, medians of {runs})")
    markdown_times: dict[int, float] = {}
    for tokens in sizes:
        env = _env(home, server.url(tokens))
        command = [py, "-m", "chatrepl", "--no-save", "q"]
        cases = {
            "plain": lambda command=command, env=env: run_pty([*command, "--plain"], env),
            "markdown": lambda command=command, env=env: run_pty(command, env),
        }
        if REFERENCE:
            # (a home of its own: each version reads only the cache files it wrote)
            ref = _env(home.parent / f"{home.name}-reference", server.url(tokens), reference=True)
            cases["plain, reference"] = lambda c=command, e=ref: run_pty([*c, "--plain"], e)
            cases["markdown, reference"] = lambda c=command, e=ref: run_pty(c, e)
        results = median_runs(runs, cases)
        plain, markdown = med(results["plain"]), med(results["markdown"])
        markdown_times[tokens] = markdown
        peak = med(results["markdown"], 1) / 1024
        cpu = med(results["markdown"], 3) / med(results["plain"], 3)
        print(
            f"  {tokens:>6,} tokens: plain {plain:6.3f} s  markdown {markdown:6.3f} s"
            f"  ratio {markdown / plain:4.2f} (CPU {cpu:4.2f})  markdown peak {peak:5.1f} MB"
        )
        print(f"  {'paired':>13}: markdown / plain of runs side by side: "
              f"{_paired(results['markdown'], results['plain'])}")  # fmt: skip
        if spread:
            print(f"  {'spread':>13}: plain {_spread(results['plain'])}"
                  f"  markdown {_spread(results['markdown'])}")  # fmt: skip
        if REFERENCE:
            ref_plain, ref_markdown = (
                med(results["plain, reference"]),
                med(results["markdown, reference"]),
            )
            print(
                f"  {'reference':>13}: plain {ref_plain:6.3f} s  markdown {ref_markdown:6.3f} s"
                f"  ratio {ref_markdown / ref_plain:4.2f}   this markdown / reference markdown "
                f"{markdown / ref_markdown:4.2f}"
            )
    small, large = min(sizes), max(sizes)
    if large > small:
        growth = markdown_times[large] / markdown_times[small]
        print(f"  growth: ×{large / small:g} tokens → ×{growth:.2f} time")


def bench_show(home: Path, runs: int, messages: int) -> None:
    from chatrepl.conversation import Conversation
    from chatrepl.store import Store

    store = Store(home / "chatrepl.db")
    conversation = Conversation()
    tokens_each = 60
    for n in range(messages):
        if n % 2 == 0:
            text = f"question {n}: how does the renderer handle this?"
            message = conversation.add("user", text)
        else:
            text = "".join(markdown_answer(tokens_each, seed=n))
            message = conversation.add("assistant", text)
        store.add_message(conversation, message)
    store.close()
    env = _env(home, "http://127.0.0.1:9/api/chat")
    py = sys.executable
    db = str(home / "chatrepl.db")
    cases = {
        "rich, once": lambda: run_pty([py, "-c", SHOW_FLOOR, db, conversation.id], env),
        "chatrepl --show": lambda: run_pty([py, "-m", "chatrepl", "--show", conversation.id], env),
    }
    if REFERENCE:
        ref_home = home.parent / f"{home.name}-reference"  # its own cache files
        ref_home.mkdir(exist_ok=True)
        shutil.copy(db, ref_home / "chatrepl.db")
        ref = _env(ref_home, "http://127.0.0.1:9/api/chat", reference=True)
        show_ref = [py, "-m", "chatrepl", "--show", conversation.id]
        cases["reference --show"] = lambda: run_pty(show_ref, ref)
    results = median_runs(runs, cases)
    floor = med(results["rich, once"])
    show = med(results["chatrepl --show"])
    print(f"show, {messages:,} messages as Markdown in a terminal (wall s, medians of {runs})")
    print(f"  rich, once {floor:6.3f} s   chatrepl --show {show:6.3f} s   ratio {show / floor:.2f}"
          " (target ≤ 1.2)")  # fmt: skip
    if REFERENCE:
        ref_show = med(results["reference --show"])
        print(f"  reference --show {ref_show:6.3f} s   ratio {ref_show / floor:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--only", default="pipe,pty,show")
    parser.add_argument("--tokens", type=int, default=20000)
    parser.add_argument("--sizes", default="2000,8000,20000")
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--reference", default="", help="src folder of a version to compare")
    parser.add_argument("--spread", action="store_true", help="pty: quartiles of each case")
    parser.add_argument("--first-byte-ms", type=int, default=0,
                        help="the server waits this long before answering (a model's "
                             "time to its first token); the targets are set at 0")  # fmt: skip
    args = parser.parse_args()
    global REFERENCE, DELAY_MS
    REFERENCE = str(Path(args.reference).resolve()) if args.reference else ""
    DELAY_MS = args.first_byte_ms
    server = Server()
    only = args.only.split(",")
    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder)
        if "pipe" in only:
            bench_pipe(server, home / "pipe", args.runs, args.tokens)
        if "pty" in only:
            sizes = [int(size) for size in args.sizes.split(",")]
            bench_pty(server, home / "pty", args.runs, sizes, args.spread)
        if "show" in only:
            (home / "show").mkdir()
            bench_show(home / "show", args.runs, args.messages)


if __name__ == "__main__":
    main()
