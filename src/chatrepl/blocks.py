"""Where streamed Markdown can be cut: settled blocks and the unsettled tail.

Pure text work, no rendering: `render` prints each settled block once and keeps only the
tail live. See `Blocks` for the rules.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from chatrepl.errors import ChatreplError
from chatrepl.wording import plural

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


# ---------------------------------------------------------------- code blocks out

_FENCE = re.compile(r"( {0,3})(`{3,}|~{3,})(.*)$")


@dataclass(frozen=True)
class CodeBlock:
    """A code block of an answer: its language (maybe "") and its text."""

    language: str
    text: str

    @property
    def lines(self) -> int:
        return self.text.count("\n") + (0 if self.text.endswith("\n") or not self.text else 1)


def code_blocks(source: str) -> list[CodeBlock]:
    """The code blocks of Markdown `source`, in order, as CommonMark reads them.

    Fences of three or more backticks or tildes close only with the same character, at
    least as many times, alone on a line (so a longer fence holds shorter ones); an
    unterminated last fence runs to the end. A run of lines indented four spaces after a
    blank line is indented code, unless it continues a list item.
    """
    found: list[CodeBlock] = []
    lines = source.split("\n")
    i, n = 0, len(lines)
    previous_blank, in_list = True, False
    while i < n:
        line = lines[i]
        opener = _FENCE.match(line)
        if opener and not (opener.group(2)[0] == "`" and "`" in opener.group(3)):
            indent, fence = len(opener.group(1)), opener.group(2)
            body: list[str] = []
            i += 1
            while i < n:
                stripped = lines[i].strip()
                inner = len(lines[i]) - len(lines[i].lstrip(" "))
                if inner <= 3 and stripped.startswith(fence) and not stripped.strip(fence[0]):
                    break
                body.append(_dedent(lines[i], indent))
                i += 1
            if i >= n:  # unterminated: it ran to the end, blank lines aside
                while body and not body[-1].strip():
                    body.pop()
            i += 1  # past the closing fence (or the end)
            info = opener.group(3).strip().split()
            found.append(CodeBlock(info[0] if info else "", "\n".join(body)))
            previous_blank, in_list = False, False
            continue
        if line.strip() and _indent(line) >= 4 and previous_blank and not in_list:
            body = []
            while i < n and (not lines[i].strip() or _indent(lines[i]) >= 4):
                body.append(_dedent(lines[i], 4))
                i += 1
            while body and not body[-1].strip():
                body.pop()
            found.append(CodeBlock("", "\n".join(body)))
            previous_blank = True
            continue
        if line.strip() and _indent(line) < 4:
            in_list = bool(_LIST_ITEM.match(line)) or (in_list and not previous_blank)
        previous_blank = not line.strip()
        i += 1
    return found


def choose_code(
    source: str, number: int | None, whose: str, hint: str = ""
) -> list[tuple[int, CodeBlock]]:
    """The code blocks of `source` with their numbers (from 1): all of them, or the
    `number`-th alone. ChatreplError, naming `whose` answer, when there is none."""
    blocks = code_blocks(source)
    if not blocks:
        raise ChatreplError(f"{whose} has no code block.", hint)
    if number is None:
        return list(enumerate(blocks, 1))
    if number > len(blocks):
        count = plural(len(blocks), "code block")
        raise ChatreplError(f"{whose} has {count}; there is no code block {number}.")
    return [(number, blocks[number - 1])]


def _indent(line: str) -> int:
    return len(line.expandtabs(4)) - len(line.expandtabs(4).lstrip(" "))


def _dedent(line: str, width: int) -> str:
    line = line.expandtabs(4) if line.startswith("\t") else line
    cut = min(width, len(line) - len(line.lstrip(" ")))
    return line[cut:]
