"""A real chat server on 127.0.0.1 for tests, benchmarks and trying chatrepl by hand.

Replies are scripted (`Script`: status, headers, pieces with pauses, framing, a dropped
connection) or, when none is queued, made up from the question: the default answer
echoes it as Workers-style SSE, word by word. Every request is recorded.

    python -m tests.server --port 8765       # serve the default answers until Ctrl-C
"""

from __future__ import annotations

import argparse
import json
import socket
import ssl
import struct
import threading
import time
import zlib
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# bytes to send, seconds to pause, or a gate: wait until the test opens it (at most
# GATE_WAIT seconds; a gate that times out is counted in `gate_timeouts`)
Piece = bytes | float | threading.Event | Callable[[], None]  # a callable runs in order
GATE_WAIT = 10.0


@dataclass
class Script:
    """One scripted response."""

    status: int = 200
    pieces: list[Piece] = field(default_factory=list)
    content_type: str = "text/event-stream"
    framing: str = "chunked"  # chunked | close | length
    drop: bool = False  # end the connection abruptly after the pieces
    headers: dict[str, str] = field(default_factory=dict)
    reason: str = ""
    before: float = 0.0  # seconds to wait before the status line
    abort: bool = False  # reset the connection (RST) instead of answering


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]
    body: Any


def sse(*texts: str, done: bool = True) -> list[Piece]:
    pieces: list[Piece] = [f"data: {json.dumps({'response': t})}\n\n".encode() for t in texts]
    if done:
        pieces.append(b"data: [DONE]\n\n")
    return pieces


LONG_MARKDOWN = """# A long answer

Here is a paragraph with **bold**, *italic* and `code`, long enough that it wraps \
across the width of a normal terminal window at least once or twice.

- first item
- second item with a [link](https://example.com/docs)
- third item

```python
def greet(name: str) -> str:
    return f"Hello, {name}!"
```

| col | value |
|-----|-------|
| a   | 1     |
| b   | 2     |

Closing words.
"""


CODE_ANSWER = """Answer {turn}: two blocks.

```python
print("one")
```

And a shell one:

```bash
echo two
```
"""


def default_answer(question: str, turn: int) -> tuple[list[str], float]:
    """The made-up answer for a question: its words and the pause between them."""
    if question.startswith("Write a title of at most"):  # chatrepl's title request
        asked = question.split("Question:\n", 1)[-1].split()[:4]
        return [" ".join(w.capitalize() for w in asked)], 0.0
    if "long" in question:
        words = [w + " " for w in LONG_MARKDOWN.replace("\n", " \n").split(" ")]
        return ["".join(words[i : i + 2]) for i in range(0, len(words), 2)], 0.01
    if "think" in question:  # a reasoning model: inline <think>, then the answer
        thought = (
            "<think>\nThe user wants me to think. " + "Let me weigh it. " * 30 + "\n</think>\n\n"
        )
        pieces = [thought[i : i + 10] for i in range(0, len(thought), 10)]
        text = f"Answer {turn}: I thought about *{question}*."
        return pieces + [w + " " for w in text.split(" ")], 0.1 if "slow" in question else 0.01
    if "slow" in question:
        return [f"word{i} " for i in range(200)], 0.1
    if "two blocks" in question:
        text = CODE_ANSWER.format(turn=turn)
        return [text[i : i + 7] for i in range(0, len(text), 7)], 0.005
    text = f"Answer {turn}: you said *{question}*."
    return [w + " " for w in text.split(" ")], 0.005


class _Quiet(ThreadingHTTPServer):
    """A client going away mid-request is ordinary here, not worth a traceback."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError | ssl.SSLError):
            super().handle_error(request, client_address)


class ChatServer:
    """Start with `start()`; `url` is then the chat endpoint."""

    def __init__(self) -> None:
        self.scripts: deque[Script | Callable[[Recorded], Script]] = deque()
        self.requests: list[Recorded] = []
        self.lock = threading.Lock()
        self.httpd: ThreadingHTTPServer | None = None
        self.thread: threading.Thread | None = None
        self.gate_timeouts = 0
        self.scheme = "http"
        self.models = ["m-one", "m-two"]  # what a GET of the list of models names
        #: Set: each echoed answer starts with `[name] ` (which server wrote it).
        self.name = ""
        #: Set: each echoed answer ends with this usage (prompt, completion tokens).
        self.usage: tuple[int, int] | None = None
        #: Seconds to wait before an echoed answer's headers.
        self.delay = 0.0

    @property
    def url(self) -> str:
        assert self.httpd is not None
        host, port = self.httpd.server_address[:2]
        return f"{self.scheme}://{host!s}:{port}/api/chat"

    def add(self, *scripts: Script | Callable[[Recorded], Script]) -> None:
        self.scripts.extend(scripts)

    def start(self, port: int = 0, tls: ssl.SSLContext | None = None) -> ChatServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                """The list of models: OpenAI's shape at `…/models`, Ollama's at
                `/api/tags` (`server.models` names them); anything else is a 404."""
                record = Recorded(self.path, dict(self.headers.items()), None)
                with server.lock:
                    server.requests.append(record)
                path = self.path.split("?")[0]
                if path.endswith("/models"):
                    body = {"object": "list", "data": [{"id": m} for m in server.models]}
                elif path == "/api/tags":
                    body = {"models": [{"name": m} for m in server.models]}
                else:
                    body = {"error": {"message": "no such route"}}
                data = json.dumps(body).encode()
                self.send_response(200 if "error" not in body else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = raw
                record = Recorded(self.path, dict(self.headers.items()), body)
                with server.lock:
                    server.requests.append(record)
                    turn = len(server.requests)
                    script = server.scripts.popleft() if server.scripts else None
                if callable(script):
                    script = script(record)
                if script is None:
                    script = server.echo(record, turn)
                server.respond(self, script)

        self.httpd = _Quiet(("127.0.0.1", port), Handler)
        self.httpd.daemon_threads = True
        if tls is not None:
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True)
            self.scheme = "https"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()

    def echo(self, record: Recorded, turn: int) -> Script:
        messages = record.body.get("messages", []) if isinstance(record.body, dict) else []
        question = next((m["content"] for m in reversed(messages) if m["role"] == "user"), "")
        if "portal" in question:  # a captive portal's web page, with status 200
            page = b"<html><head><title>Hotel WiFi: sign in</title></head><body>...</body></html>"
            return Script(content_type="text/html", framing="length", pieces=[page])
        words, pause = default_answer(question, turn)
        if self.name:
            words = [f"[{self.name}] ", *words]
        pieces: list[Piece] = []
        squeeze = zlib.compressobj(wbits=16 + zlib.MAX_WBITS) if "gzip" in question else None
        events = sse(*words)
        if self.usage is not None:
            counts = {"prompt_tokens": self.usage[0], "completion_tokens": self.usage[1]}
            usage = json.dumps({"response": "", "usage": counts}).encode()
            events.insert(-1, b"data: " + usage + b"\n\n")
        for chunk in events:
            if squeeze is not None:  # each event compressed and flushed, as a proxy does
                chunk = squeeze.compress(chunk) + squeeze.flush(zlib.Z_SYNC_FLUSH)
            pieces += [chunk, pause]
        if squeeze is not None:
            pieces.append(squeeze.flush())
            return Script(pieces=pieces, headers={"Content-Encoding": "gzip"})
        return Script(pieces=pieces, before=self.delay)

    def respond(self, handler: BaseHTTPRequestHandler, script: Script) -> None:
        wfile = handler.wfile
        if script.before:
            time.sleep(script.before)
        if script.abort:
            handler.connection.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
            )
            handler.connection.close()
            handler.close_connection = True
            return
        data = [p for p in script.pieces if isinstance(p, bytes)]
        handler.send_response(script.status, script.reason or None)
        handler.send_header("Content-Type", script.content_type)
        for key, value in script.headers.items():
            handler.send_header(key, value)
        if script.framing == "chunked":
            handler.send_header("Transfer-Encoding", "chunked")
        elif script.framing == "length":
            handler.send_header("Content-Length", str(sum(len(d) for d in data)))
        else:
            handler.send_header("Connection", "close")
        handler.end_headers()
        wfile.flush()
        try:
            for piece in script.pieces:
                if isinstance(piece, float):
                    time.sleep(piece)
                    continue
                if isinstance(piece, threading.Event):
                    if not piece.wait(GATE_WAIT):
                        self.gate_timeouts += 1
                    continue
                if callable(piece):
                    piece()
                    continue
                if script.framing == "chunked":
                    wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                else:
                    wfile.write(piece)
                wfile.flush()
            if script.drop:
                handler.connection.shutdown(socket.SHUT_RDWR)
                handler.close_connection = True
                return
            if script.framing == "chunked":
                wfile.write(b"0\r\n\r\n")
                wfile.flush()
            elif script.framing == "close":
                handler.close_connection = True
        except (BrokenPipeError, ConnectionResetError):
            handler.close_connection = True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--name", default="", help="start each answer with [NAME]")
    parser.add_argument("--usage", metavar="IN,OUT", help="end each answer with these token counts")
    args = parser.parse_args()
    server = ChatServer()
    server.name = args.name
    if args.usage:
        prompt, completion = (int(n) for n in args.usage.split(","))
        server.usage = (prompt, completion)
    server.start(args.port)
    print(f"serving {server.url}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
