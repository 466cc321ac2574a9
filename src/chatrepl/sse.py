"""Framing of a byte stream: lines by CR, LF or CRLF, and Server-Sent Events.

Pure and incremental: bytes go in as they arrive, in any split, and complete lines or
dispatched events come out. UTF-8 is decoded incrementally (a character split across
reads survives; bad bytes become U+FFFD); a CRLF split across reads is one line end;
one leading BOM is dropped. The event-stream rules are WHATWG HTML's.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field

# A single line or event larger than this is refused: it is not a chat answer.
MAX_LINE = 8 * 1024 * 1024

_LINE_END = re.compile(r"\r\n|\r|\n")


class WireError(ValueError):
    """The byte stream cannot be decoded (a line over the size cap)."""


class LineSplitter:
    """Incremental bytes -> text lines, by CR, LF or CRLF; linear in the input size."""

    def __init__(self, max_line: int = MAX_LINE) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._partial: list[str] = []
        self._partial_len = 0
        self._skip_lf = False
        self._max_line = max_line
        self.started = False

    def feed(self, data: bytes) -> list[str]:
        text = self._decoder.decode(data)
        return self._split(text)

    def close(self) -> str | None:
        """Flush; return the unterminated last line, if any."""
        tail = self._decoder.decode(b"", final=True)  # at most one U+FFFD, never a line end
        if tail:
            self._partial.append(tail)
        if self._partial:
            line = "".join(self._partial)
            self._partial.clear()
            return line
        return None

    def _split(self, text: str) -> list[str]:
        if not text:
            return []
        if not self.started:
            self.started = True
            if text.startswith("\ufeff"):
                text = text[1:]
        if self._skip_lf:
            self._skip_lf = False
            if text.startswith("\n"):
                text = text[1:]
        if "\r" not in text:  # LF only, the usual case: a plain split
            lines = text.split("\n")
            rest = lines.pop()
            if lines and self._partial:
                self._partial.append(lines[0])
                lines[0] = "".join(self._partial)
                self._partial.clear()
                self._partial_len = 0
        else:
            lines = []
            pos = 0
            for match in _LINE_END.finditer(text):
                piece = text[pos : match.start()]
                if self._partial:
                    self._partial.append(piece)
                    piece = "".join(self._partial)
                    self._partial.clear()
                    self._partial_len = 0
                lines.append(piece)
                pos = match.end()
            if text.endswith("\r"):
                # A CR at the end of a read may be the first half of a CRLF.
                self._skip_lf = True
            rest = text[pos:]
        if rest:
            self._partial.append(rest)
            self._partial_len += len(rest)
            if self._partial_len > self._max_line:
                raise WireError(
                    f"The server sent a line of more than {self._max_line // (1024 * 1024)} MiB."
                )
        return lines


@dataclass(frozen=True)
class SSEEvent:
    """One dispatched Server-Sent Event."""

    type: str
    data: str
    id: str = ""


@dataclass
class SSEParser:
    """The WHATWG event-stream interpretation, fed bytes in any split."""

    lines: LineSplitter = field(default_factory=LineSplitter)
    _data: list[str] = field(default_factory=list)
    _data_len: int = 0
    _has_data: bool = False
    _type: str = ""
    last_id: str = ""
    retry: int | None = None
    #: True after close() when bytes of an event were left undispatched.
    truncated: bool = False

    def feed(self, data: bytes) -> list[SSEEvent]:
        events: list[SSEEvent] = []
        lines = self.lines.feed(data)
        count = len(lines)
        i = 0
        while i < count:
            line = lines[i]
            # The common event, `data: ...` then a blank line, with nothing pending: what
            # `_line` and `_dispatch` would make of it, made directly.
            if (
                i + 1 < count
                and not lines[i + 1]
                and line.startswith("data:")
                and not self._has_data
                and not self._type
                and len(line) <= MAX_LINE
            ):
                value = line[6:] if line.startswith("data: ") else line[5:]
                events.append(SSEEvent("message", value, self.last_id))
                i += 2
                continue
            event = self._line(line)
            if event is not None:
                events.append(event)
            i += 1
        return events

    def close(self) -> list[SSEEvent]:
        rest = self.lines.close()
        if rest is not None or self._has_data or self._type:
            self.truncated = rest is not None or self._has_data
        return []

    def _line(self, line: str) -> SSEEvent | None:
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            return None
        name, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._data.append(value)
            self._data_len += len(value)
            self._has_data = True
            if self._data_len > MAX_LINE:
                raise WireError("The server sent an event of more than 8 MiB.")
        elif name == "event":
            self._type = value
        elif name == "id":
            if "\0" not in value:
                self.last_id = value
        elif name == "retry" and value.isascii() and value.isdigit():
            self.retry = int(value)
        return None

    def _dispatch(self) -> SSEEvent | None:
        if not self._has_data:
            self._type = ""
            return None
        event = SSEEvent(self._type or "message", "\n".join(self._data), self.last_id)
        self._data.clear()
        self._data_len = 0
        self._has_data = False
        self._type = ""
        return event
