"""Keep untrusted text from driving the terminal.

Every string that came from outside (answer and reasoning text, server error messages,
titles, transcripts read back from the store, echoed input) passes through here before
it is shown. Removed: ESC sequences (CSI with private modes, OSC ended by BEL or ST, DCS,
SOS, PM, APC, two-byte escapes), 8-bit C1 controls, C0 controls other than tab and
newline, DEL, and bidi embedding/override/isolate controls. The `Sanitizer` is
stream-aware: a sequence split across any number of pieces is still removed, and the
text around it kept. The raw text is what is stored and sent back to the model.
"""

from __future__ import annotations

import re

ESC = "\x1b"
BEL = "\x07"
# Anything that may start or be part of a control sequence, or must be dropped.
_SPECIAL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
# A sequence that never ends is given up after this many characters, so a stray
# opener cannot swallow the rest of an answer.
MAX_SEQUENCE = 4096

_TEXT, _ESC, _CSI, _STRING, _STRING_ESC, _ESC_INTER = range(6)
_STRING_OPENERS = frozenset("]PX^_")
_C1_STRING = {"\x9d", "\x90", "\x98", "\x9e", "\x9f"}  # OSC, DCS, SOS, PM, APC
_C1_CSI = "\x9b"
_C1_ST = "\x9c"


class Sanitizer:
    """Feed pieces of untrusted text; get back what is safe to print."""

    def __init__(self) -> None:
        self._state = _TEXT
        self._length = 0

    def feed(self, text: str) -> str:
        if self._state == _TEXT and not _SPECIAL.search(text):
            return text
        out: list[str] = []
        i, n = 0, len(text)
        while i < n:
            if self._state == _TEXT:
                match = _SPECIAL.search(text, i)
                if match is None:
                    out.append(text[i:])
                    break
                out.append(text[i : match.start()])
                i = match.start()
                self._start(text[i])
                i += 1
                continue
            out.append(self._step(text[i]))
            i += 1
        return "".join(out)

    def flush(self) -> None:
        """Forget an unfinished sequence (at the end of a stream)."""
        self._state = _TEXT
        self._length = 0

    def _start(self, ch: str) -> None:
        """A special character seen in plain text."""
        self._length = 0
        if ch == ESC:
            self._state = _ESC
        elif ch == _C1_CSI:
            self._state = _CSI
        elif ch in _C1_STRING:
            self._state = _STRING
        # every other special character is simply dropped

    def _step(self, ch: str) -> str:
        """Advance inside a sequence; return text to keep (only when a sequence aborts)."""
        self._length += 1
        if self._length > MAX_SEQUENCE:
            self._state = _TEXT
            return ""
        state = self._state
        code = ord(ch)
        if state == _ESC:
            if ch == "[":
                self._state = _CSI
            elif ch in _STRING_OPENERS:
                self._state = _STRING
            elif 0x20 <= code <= 0x2F:
                self._state = _ESC_INTER
            elif 0x30 <= code <= 0x7E:
                self._state = _TEXT
            else:  # not an escape after all: drop the ESC, look at ch afresh
                return self._abort(ch)
        elif state == _CSI:
            if 0x40 <= code <= 0x7E:
                self._state = _TEXT
            elif not 0x20 <= code <= 0x3F:
                return self._abort(ch)
        elif state == _ESC_INTER:
            if 0x30 <= code <= 0x7E:
                self._state = _TEXT
            elif not 0x20 <= code <= 0x2F:
                return self._abort(ch)
        elif state == _STRING:
            if ch in (BEL, _C1_ST):
                self._state = _TEXT
            elif ch == ESC:
                self._state = _STRING_ESC
        elif state == _STRING_ESC:
            if ch == "\\":
                self._state = _TEXT
            else:  # ESC ended the string and starts something new
                self._state = _ESC
                self._length = 0
                return self._step(ch)
        return ""

    def _abort(self, ch: str) -> str:
        """A sequence broken by `ch`: ch is dropped, starts another sequence, or is text."""
        self._state = _TEXT
        if _SPECIAL.match(ch):
            self._start(ch)
            return ""
        return ch


def sanitize(text: str) -> str:
    """Sanitize one whole string."""
    return Sanitizer().feed(text)


def escape_json(text: str) -> str:
    """JSON text safe for a terminal and still the same JSON: what `sanitize` would
    remove (which json.dumps leaves raw: DEL, C1 controls, bidi overrides) is written as
    its `\\uXXXX` escape. It can only stand inside strings, where the escape means the
    same character."""
    return _SPECIAL.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def shown(name: str) -> str:
    """A name (a path, a command) as it goes into a one-line message: every control and
    bidi character written as an escape (`\\x1b`, `\\u202e`, `\\n`), so a name can
    neither drive the terminal nor break the line, yet what it was can still be read."""
    if not _SPECIAL.search(name) and "\n" not in name and "\t" not in name:
        return name
    return "".join(_escape(ch) for ch in name)


def _escape(ch: str) -> str:
    if ch == "\n":
        return "\\n"
    if ch == "\t":
        return "\\t"
    if not _SPECIAL.match(ch):
        return ch
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
