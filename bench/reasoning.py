"""The cost of keeping reasoning apart, on answers that have none.

Every answer's text passes through the inline-reasoning splitter (`think.ThinkSplitter`)
as it is decoded. This decodes the same 20,000-token Workers stream with the splitter
as it runs, and with it switched off before the first byte (the floor), alternating the
two, and prints the medians and their ratio. Two answers: mixed Markdown (the splitter
stands aside at the first code fence) and prose with no fence at all (it watches for a
closing tag to the end: the worst case). Then the same prose as a whole turn: `Chat.ask`
against a local server, plain output to /dev/null, nothing saved.

    python bench/reasoning.py [--tokens 20000] [--runs 15]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from answers import WORDS, markdown_answer

from chatrepl import wire

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.server import ChatServer, Script  # noqa: E402


def body(pieces: list[str]) -> list[bytes]:
    """The stream as a server writes it: one event per token, read 64 KiB at a time."""
    data = b"".join(b"data: " + json.dumps({"response": p}).encode() + b"\n\n" for p in pieces)
    data += b"data: [DONE]\n\n"
    return [data[i : i + 65536] for i in range(0, len(data), 65536)]


def decode(chunks: list[bytes], splitter: bool) -> float:
    started = time.perf_counter()
    decoder = wire.decoder_for("text/event-stream")
    if not splitter:
        decoder.think.close()  # from here on every piece goes straight through
    reply = wire.Reply()
    for chunk in chunks:
        for event in decoder.feed(chunk):
            reply.apply(event)
    for event in decoder.close():
        reply.apply(event)
    assert reply.done and not reply.reasoning
    return time.perf_counter() - started


def turn(server: ChatServer, chunks: list[bytes], splitter: bool) -> float:
    """One whole turn, as the one-shot mode runs it, in seconds."""
    from chatrepl.chat import Chat
    from chatrepl.config import Endpoint, Settings
    from chatrepl.render import Renderer
    from chatrepl.render.drawing import make_console
    from chatrepl.transport import Transport

    server.add(Script(pieces=list(chunks)))  # type: ignore[arg-type]
    with open(os.devnull, "w") as sink:
        renderer = Renderer(make_console(sink, plain=True), plain=True)
        settings = Settings(endpoint=Endpoint(url=server.url), save=False)
        chat = Chat(settings, Transport(), renderer, None)
        original = wire.Decoder.__init__

        def without(self: wire.Decoder, model: str = "") -> None:
            original(self, model)
            self.think.close()

        if not splitter:
            wire.Decoder.__init__ = without  # type: ignore[method-assign]
        try:
            started = time.perf_counter()
            assert chat.ask("q").status == "complete"
            return time.perf_counter() - started
        finally:
            wire.Decoder.__init__ = original  # type: ignore[method-assign]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tokens", type=int, default=20000)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    prose = [WORDS[i % len(WORDS)] + (". " if i % 13 == 0 else " ") for i in range(args.tokens)]
    answers = {"mixed Markdown": markdown_answer(args.tokens), "prose, no fence": prose}
    print(f"| answer ({args.tokens:,} tokens) | splitter off ms | splitter on ms | on/off |")
    print("|---|---:|---:|---:|")
    for name, pieces in answers.items():
        chunks = body(pieces)
        off, on = [], []
        for _ in range(args.runs):
            off.append(decode(chunks, splitter=False))
            on.append(decode(chunks, splitter=True))
        a, b = statistics.median(off), statistics.median(on)
        print(f"| {name} | {a * 1000:.1f} | {b * 1000:.1f} | {b / a:.3f} |")
    server = ChatServer().start()
    try:
        chunks = body(prose)
        off, on = [], []
        for _ in range(args.runs):
            off.append(turn(server, chunks, splitter=False))
            on.append(turn(server, chunks, splitter=True))
        a, b = statistics.median(off), statistics.median(on)
        print(f"| prose, a whole turn | {a * 1000:.1f} | {b * 1000:.1f} | {b / a:.3f} |")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
