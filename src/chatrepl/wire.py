"""Pure decoding of streamed chat answers: bytes in, typed events out. No HTTP here.

Three framings reach us: Server-Sent Events (Workers AI, OpenAI-compatible servers),
newline-delimited JSON (Ollama) and a plain JSON body (a server that ignored `stream`).
The framing is chosen from the Content-Type, falling back to the first bytes; the
meaning of each JSON object is read from its shape, never from what was asked for.

Bytes are decoded as UTF-8 incrementally (a character split across reads survives, bad
bytes become U+FFFD) and lines end at CR, LF or CRLF, also when a CRLF is split.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from typing import Any

from chatrepl.dialects import error_message, failure_message, interpret
from chatrepl.events import (
    Done,
    Event,
    Failure,
    Finish,
    Notice,
    Reasoning,
    Reply,
    Text,
    Usage,
    coalesce,
)
from chatrepl.sse import MAX_LINE, LineSplitter, SSEEvent, SSEParser, WireError
from chatrepl.think import Recast, ThinkSplitter, thinks

__all__ = [
    "Decoder",
    "Done",
    "Event",
    "Failure",
    "Finish",
    "Notice",
    "Reasoning",
    "Recast",
    "Reply",
    "Text",
    "Usage",
    "coalesce",
    "collect",
    "decode",
    "decoder_for",
    "error_message",
    "interpret",
    "stream_kind",
]

# ---------------------------------------------------------------- framings


class Decoder:
    """Bytes of one response body -> events. Subclasses pick the framing.

    Answer text also passes through a `ThinkSplitter`, so reasoning written inline as
    `<think>…</think>` comes out as `Reasoning`, whatever the framing. `model` (the
    endpoint's) and the `model` a stream names say whether the answer starts inside
    reasoning.
    """

    truncated = False

    def __init__(self, model: str = "") -> None:
        self.think = ThinkSplitter(thinks(model))

    def feed(self, data: bytes) -> list[Event]:
        return self._split(self._feed(data))

    def close(self) -> list[Event]:
        return self._split(self._close()) + self._flush()

    def _feed(self, data: bytes) -> list[Event]:
        raise NotImplementedError

    def _close(self) -> list[Event]:
        return []

    def _hint(self, obj: Any) -> None:
        if isinstance(obj, dict) and isinstance(obj.get("model"), str):
            self.think.hint(obj["model"])

    def _split(self, events: list[Event]) -> list[Event]:
        think = self.think
        if think.passthrough or think.passes(
            "".join([e.text for e in events if isinstance(e, Text)])
        ):
            return events
        out: list[Event] = []
        for event in events:
            if isinstance(event, Text):
                out.extend(_pieces(think.feed(event.text)))
            else:
                if isinstance(event, Done | Failure):
                    out.extend(self._flush())  # held text comes before the end
                out.append(event)
        return out

    def _flush(self) -> list[Event]:
        return [] if self.think.passthrough else _pieces(self.think.close())


def _pieces(pieces: list[Any]) -> list[Event]:
    out: list[Event] = []
    for piece in pieces:
        if isinstance(piece, Recast):
            out.append(piece)
        elif piece[0] == "text":
            out.append(Text(piece[1]))
        else:
            out.append(Reasoning(piece[1]))
    return out


class SSEDecoder(Decoder):
    def __init__(self, model: str = "") -> None:
        super().__init__(model)
        self.parser = SSEParser()
        self.garbled = False  # an event that is not JSON was skipped (and said)

    def _feed(self, data: bytes) -> list[Event]:
        return self._events(self.parser.feed(data))

    def _close(self) -> list[Event]:
        events = self._events(self.parser.close())
        self.truncated = self.parser.truncated
        return events

    def _events(self, raw: list[SSEEvent]) -> list[Event]:
        out: list[Event] = []
        for event in raw:
            data = event.data.strip()
            if data == "[DONE]":
                out.append(Done())
                continue
            try:
                obj = json.loads(data)
            except ValueError:
                if event.type == "error":
                    out.append(Failure(data or "The server reported an error."))
                elif data and not self.garbled:  # said once an answer; the rest is read
                    self.garbled = True
                    out.append(Notice("Skipped an event of the answer stream that is not JSON."))
                continue
            if event.type == "error":
                out.append(Failure(failure_message(obj)))
                continue
            self._hint(obj)
            out.extend(interpret(obj))
        return out


# A JSON string, quotes and escapes included: what `_opens` leaves out of the count.
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')


def _opens(line: str) -> int | None:
    """How many arrays and objects a line of JSON leaves open (negative: closes), or
    None when it ends inside a string, which no line of valid JSON does."""
    bare = _STRING.sub("", line) if '"' in line else line
    if '"' in bare:
        return None
    return bare.count("{") + bare.count("[") - bare.count("}") - bare.count("]")


class JSONLinesDecoder(Decoder):
    """NDJSON, and a plain JSON body that may span lines (pretty-printed).

    A line that is a whole value is decoded at once; a line that opens more than it
    closes starts a value spanning lines, which is decoded once, when the lines that
    follow have closed it (each line is scanned once: linear in the body). A line that
    is neither, or a value spanning lines that does not decode, is skipped with one
    `Notice` for the answer, and the answer goes on.
    """

    def __init__(self, model: str = "") -> None:
        super().__init__(model)
        self.lines = LineSplitter()
        self._pending: list[str] = []
        self._pending_len = 0
        self._open = 0  # arrays and objects the pending lines leave open
        self._number = 0  # of the line being read
        self._first = 0  # where the pending value started
        self.skipped = 0  # lines skipped as garbled

    def _feed(self, data: bytes) -> list[Event]:
        out: list[Event] = []
        for line in self.lines.feed(data):
            out.extend(self._line(line))
        return out

    def _close(self) -> list[Event]:
        rest = self.lines.close()
        out = self._line(rest) if rest is not None else []
        if self._pending:
            self.truncated = True
        return out

    def _line(self, line: str) -> list[Event]:
        self._number += 1
        if self._pending:
            return self._more(line)
        text = line.strip()
        if not text:
            return []
        try:
            obj = json.loads(text)
        except ValueError:
            opens = _opens(text)
            if opens is None or opens <= 0 or text[0] not in "{[":
                return self._skip(self._number, self._number)
            self._pending, self._pending_len, self._open = [text], len(text), opens
            self._first = self._number
            return []
        return self._value(obj)

    def _more(self, line: str) -> list[Event]:
        """A line of a value spanning lines."""
        if line.startswith("{"):
            # An NDJSON line at the left margin while a value is open: the open value
            # was a garbled line, and this one stands alone.
            try:
                obj = json.loads(line)
            except ValueError:
                pass
            else:
                return self._skip(self._first, self._number - 1) + self._value(obj)
        opens = _opens(line)
        if opens is None:
            return self._skip(self._first, self._number)
        self._pending.append(line)
        self._pending_len += len(line)
        self._open += opens
        if self._pending_len > MAX_LINE:
            raise WireError("The server sent a JSON value of more than 8 MiB.")
        if self._open > 0:
            return []
        text = "\n".join(self._pending)
        try:
            obj = json.loads(text)
        except ValueError:
            return self._skip(self._first, self._number)
        self._pending.clear()
        self._pending_len = 0
        return self._value(obj)

    def _skip(self, first: int, last: int) -> list[Event]:
        """Drop garbled lines `first` to `last` (and any value left open)."""
        self._pending.clear()
        self._pending_len = 0
        self.skipped += last - first + 1
        if self.skipped > last - first + 1:
            return []  # one notice an answer
        where = f"line {first}" if first == last else f"lines {first} to {last}"
        return [
            Notice(f"Skipped {where} of the answer stream, which is not JSON; the rest was read.")
        ]

    def _value(self, obj: Any) -> list[Event]:
        self._hint(obj)
        events = interpret(obj)
        if not isinstance(obj, dict) or "done" in obj or "choices" in obj:
            return events
        # A whole (non-streamed) JSON answer has no end marker of its own.
        if any(isinstance(e, Text) for e in events) and not any(
            isinstance(e, Done) for e in events
        ):
            events.append(Done())
        return events


_JSON_TYPES = (
    "application/x-ndjson",
    "application/ndjson",
    "application/jsonl",
    "application/json",
    "application/x-jsonlines",
)
# Types a misconfigured server may put on a real stream: the first bytes decide.
_SNIFFED_TYPES = ("", "text/plain", "application/octet-stream", "binary/octet-stream")
_SSE_STARTS = (b"data:", b"event:", b"id:", b":", b"retry:")


def stream_kind(content_type: str, first: bytes = b"") -> str:
    """ "sse" or "json" for a body that can hold a chat answer, or "" for one that
    cannot (a web page, an image): chosen from the Content-Type, else the first bytes."""
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind == "text/event-stream":
        return "sse"
    if kind in _JSON_TYPES or kind.endswith("+json"):
        return "json"
    if kind not in _SNIFFED_TYPES:
        return ""
    head = first.lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith((b"{", b"[")):
        return "json"
    if not head or head.startswith(_SSE_STARTS) or any(s.startswith(head) for s in _SSE_STARTS):
        return "sse"
    return ""


def decoder_for(content_type: str, first: bytes = b"", model: str = "") -> Decoder:
    """The decoder for the body's framing (an event stream when it cannot tell)."""
    if stream_kind(content_type, first) == "json":
        return JSONLinesDecoder(model)
    return SSEDecoder(model)


def decode(chunks: Iterable[bytes], content_type: str = "", model: str = "") -> Iterator[Event]:
    """Decode a whole body given as chunks; for tests and one-off use."""
    decoder: Decoder | None = None
    for chunk in chunks:
        if decoder is None:
            if not chunk:
                continue
            decoder = decoder_for(content_type, chunk, model)
        yield from decoder.feed(chunk)
    if decoder is not None:
        yield from decoder.close()


def collect(chunks: Iterable[bytes], content_type: str = "", model: str = "") -> Reply:
    reply = Reply()
    for event in decode(chunks, content_type, model):
        reply.apply(event)
    return reply
