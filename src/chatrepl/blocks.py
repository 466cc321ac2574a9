"""Where streamed Markdown can be cut: settled blocks and the unsettled tail.

Pure text work, no rendering: `render` prints each settled block once and keeps only the
tail live. See `Blocks` for the rules.
"""

from __future__ import annotations

import re

_LIST_ITEM = re.compile(r" {0,3}(?:[-+*]|\d{1,9}[.)])(?: |$)")


class Blocks:
    """Splits growing Markdown source into settled blocks and an unsettled tail.

    A block is settled when a blank line follows it and the next non-blank line is not
    indented (an indented line may continue a list item), or when its fenced code block
    has closed. Only the unsettled lines are kept, as a list, and each line is looked at
    once, so the work is linear in the text however long a block grows.
    """

    def __init__(self) -> None:
        self._lines: list[str] = []  # complete lines of the unsettled part
        self._partial: list[str] = []  # pieces of the unfinished last line
        self._fence = ""  # the fence while inside a fenced code block
        self._opener = ""  # the line that opened it
        self._blank_at = -1  # index in _lines just after a blank line that may end a block

    def feed(self, text: str) -> list[str]:
        if "\n" not in text:
            self._partial.append(text)
            return []
        self._partial.append(text)
        *complete, last = "".join(self._partial).split("\n")
        self._partial = [last] if last else []
        blocks: list[str] = []
        for line in complete:
            block = self._line(line)
            if block is not None and block.strip():
                blocks.append(block)
        return blocks

    def _take(self, upto: int) -> str:
        block = "\n".join(self._lines[:upto]).strip("\n")
        del self._lines[:upto]
        self._blank_at = -1
        return block

    def _line(self, line: str) -> str | None:
        """Add one complete line; return a block it settles, if any."""
        stripped = line.strip()
        if self._fence:
            self._lines.append(line)
            if stripped.startswith(self._fence) and not stripped.strip(self._fence[0]):
                self._fence = self._opener = ""
                return self._take(len(self._lines))
            return None
        indent = len(line) - len(line.lstrip(" "))
        if indent <= 3 and stripped.startswith(("```", "~~~")):
            char = stripped[0]
            before = self._take(len(self._lines))  # what came before the fence
            self._fence = char * (len(stripped) - len(stripped.lstrip(char)))
            self._opener = line
            self._lines.append(line)
            return before
        if not stripped:
            self._lines.append(line)
            if self._blank_at < 0:
                self._blank_at = len(self._lines)
            return None
        block: str | None = None
        if self._blank_at >= 0:
            first = next((ln for ln in self._lines if ln.strip()), "")
            if line[:1].isspace() or (_LIST_ITEM.match(line) and _LIST_ITEM.match(first)):
                self._blank_at = -1  # an indented line or the next item continues it
            else:
                block = self._take(self._blank_at)
        self._lines.append(line)
        return block

    def tail(self, max_lines: int | None = None, max_chars: int | None = None) -> str:
        """The unsettled text; with limits, only its end (enough to fill a screen).

        A cut inside a fenced code block keeps the opening fence, so the end still
        renders as code.
        """
        partial = "".join(self._partial)
        if max_chars is not None and len(partial) > max_chars:
            partial = partial[-max_chars:]
        lines = self._lines
        if max_lines is not None and len(lines) > max_lines:
            lines = lines[-max_lines:]
            if self._fence:
                lines = [self._opener, *lines]
        return "\n".join([*lines, partial]) if lines else partial
