"""A Markdown answer into a terminal at a fast server's pace, and as fast as a socket goes.

Issue 24's targets 1 and 2. A local server streams a mixed-Markdown answer (headings,
paragraphs, lists, tables, code blocks in Python, Bash and JSON: `answers.markdown_answer`)
as chunked HTTP/1.1 SSE, one event a token, to `chatrepl "q"` in a 100x30 pseudo-terminal:

- paced: 20,000 tokens at 5,000 tokens/s (Markdown, and `--plain` for scale, interleaved).
  The server reads the client's CPU time (user and system, all its threads:
  /proc/PID/stat) as it writes the first byte of the body and
  again as it writes the last; their difference over that interval is the share of a core
  the client used while the answer streamed (target ≤ 40 %). The client's exit is timed
  from the server's last byte (target ≤ 300 ms).
- fast: 20,000 and 200,000 tokens written as fast as the socket takes them: the whole
  process's CPU time of each (target: the larger ≤ 11 times the smaller) and the peak resident
  size of the larger (target ≤ 80 MB).

`--against SRC` adds to the paced half, interleaved, the Markdown client of another
checkout's `src` folder (an earlier commit, say): a before and after measured alike.

    python bench/paced.py [--runs 5] [--only paced,fast] [--rate 5000] [--tokens 20000]
                          [--against ../other/src]
"""

from __future__ import annotations

import argparse
import fcntl
import os
import statistics
import struct
import sys
import tempfile
import termios
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from answers import as_chunk, sse_events

WIDTH, HEIGHT = 100, 30
TICK = os.sysconf("SC_CLK_TCK")


def cpu_of(pid: int) -> float:
    """CPU seconds (user and system, every thread) a live process has used so far."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / TICK


class Stream:
    """What the server saw of one answer: when it wrote the first and last byte of the
    body, and the client's CPU seconds at those moments."""

    def __init__(self) -> None:
        self.pid = 0
        self.first = self.last = 0.0
        self.cpu_first = self.cpu_last = 0.0


class Server:
    """Streams the answer asked for by the path, `/TOKENS/RATE` (RATE 0: at once), as
    chunked HTTP/1.1, each event a chunk, so every client streams it as it comes."""

    def __init__(self) -> None:
        self.stream = Stream()
        bodies: dict[int, list[bytes]] = {}
        stream = self.stream

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                tokens, rate = (int(part) for part in self.path.strip("/").split("/")[:2])
                if tokens not in bodies:
                    bodies[tokens] = sse_events(tokens)
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                self.wfile.flush()
                body = bodies[tokens]
                stream.first = time.perf_counter()
                stream.cpu_first = cpu_of(stream.pid)
                start = stream.first
                sent = 0
                while sent < len(body):
                    due = len(body) if not rate else int((time.perf_counter() - start) * rate) + 1
                    due = min(max(due, sent + 1), len(body))
                    data = b"".join(as_chunk(e) for e in body[sent:due])
                    self.wfile.write(data)
                    self.wfile.flush()
                    sent = due
                    if rate and sent < len(body):
                        time.sleep(max(0.0, start + sent / rate - time.perf_counter()))
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()
                stream.last = time.perf_counter()
                stream.cpu_last = cpu_of(stream.pid)
                self.close_connection = True

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def url(self, tokens: int, rate: int) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/{tokens}/{rate}/api/chat"


def env_for(home: str, url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHATREPL_")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.pop("NO_COLOR", None)
    env.update(CHATREPL_HOME=home, CHATREPL_URL=url, TERM="xterm-256color")
    return env


def run_pty(server: Server, command: list[str], env: dict[str, str]) -> dict[str, float]:
    """Run `command` on a 100x30 pseudo-terminal; what the server and the process used."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", HEIGHT, WIDTH, 0, 0))

    def drain() -> None:
        try:
            while os.read(master, 65536):
                pass
        except OSError:
            pass

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    pid = os.fork()
    if pid == 0:
        os.setsid()
        fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
        for fd in (0, 1, 2):
            os.dup2(slave, fd)
        os.close(master)
        os.execvpe(command[0], command, env)
    server.stream.pid = pid
    os.close(slave)
    _, status, usage = os.wait4(pid, 0)
    ended = time.perf_counter()
    reader.join(5)
    os.close(master)
    if status:
        raise SystemExit(f"{command} exited with {status}")
    s = server.stream
    interval = s.last - s.first
    return {
        "share": (s.cpu_last - s.cpu_first) / interval,
        "interval": interval,
        "exit_ms": (ended - s.last) * 1000,
        "cpu": usage.ru_utime + usage.ru_stime,
        "peak_mb": usage.ru_maxrss / 1024,
    }


def listed(values: Any) -> str:
    return ", ".join(f"{v:.0f}" for v in values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--only", default="paced,fast")
    parser.add_argument("--rate", type=int, default=5000)
    parser.add_argument("--tokens", type=int, default=20000)
    parser.add_argument("--large", type=int, default=200000)
    parser.add_argument("--against", metavar="SRC", help="another checkout's src folder")
    args = parser.parse_args()
    server = Server()
    command = [sys.executable, "-m", "chatrepl", "--no-save", "q"]
    with tempfile.TemporaryDirectory() as home:
        env = env_for(home, server.url(1000, 0))
        run_pty(server, command, env)  # once untimed: bytecode written, files cached
        if "paced" in args.only:
            env = env_for(home, server.url(args.tokens, args.rate))
            runs: dict[str, list[dict[str, float]]] = {"markdown": [], "--plain": []}
            other = {**env, "PYTHONPATH": os.path.abspath(args.against or ".")}
            if args.against:
                run_pty(server, command, {**other, "CHATREPL_URL": server.url(1000, 0)})
                runs["--against"] = []
            for _ in range(args.runs):  # interleaved: the machine's noise falls on all
                runs["markdown"].append(run_pty(server, command, env))
                runs["--plain"].append(run_pty(server, [*command[:-1], "--plain", "q"], env))
                if args.against:
                    runs["--against"].append(run_pty(server, command, other))
            interval = statistics.median(r["interval"] for r in runs["markdown"])
            print(f"paced: {args.tokens:,} tokens at {args.rate:,}/s into {WIDTH}×{HEIGHT} "
                  f"({interval:.2f} s), medians of {args.runs}")  # fmt: skip
            for name, done in runs.items():
                share = statistics.median(r["share"] for r in done)
                exit_ms = statistics.median(r["exit_ms"] for r in done)
                print(
                    f"  {name:<9} CPU between first and last byte {share * 100:4.1f} % of it "
                    f"(runs: {listed(r['share'] * 100 for r in done)}; target ≤ 40 %); exit "
                    f"{exit_ms:.0f} ms after the last byte (runs: "
                    f"{listed(r['exit_ms'] for r in done)}; target ≤ 300 ms)"
                )
        if "fast" in args.only:
            small_env = env_for(home, server.url(args.tokens, 0))
            large_env = env_for(home, server.url(args.large, 0))
            small, large = [], []
            for _ in range(args.runs):  # interleaved
                small.append(run_pty(server, command, small_env))
                large.append(run_pty(server, command, large_env))
            cpu_small = statistics.median(r["cpu"] for r in small)
            cpu_large = statistics.median(r["cpu"] for r in large)
            peak = statistics.median(r["peak_mb"] for r in large)
            print(f"fast: as fast as the socket goes, medians of {args.runs}")
            print(f"  {args.tokens:,} tokens {cpu_small:.2f} CPU s; {args.large:,} tokens "
                  f"{cpu_large:.2f} CPU s: ×{cpu_large / cpu_small:.2f} "
                  f"(target ≤ ×11); peak {peak:.1f} MB (target ≤ 80 MB)")  # fmt: skip


if __name__ == "__main__":
    main()
