"""Markdown source read by markdown-it-py: where a streamed answer's blocks end, and
the code blocks of an answer (for labels, `/copy code N`, `/save` and `--show --code`).

One block-level parser (inline parsing off: only the structure is needed here) reads the
unsettled part of an answer; its top-level tokens and their `map` line ranges say which
blocks can no longer change: every block that another block follows, and a last
fenced code block once its closing fence has come.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, NamedTuple

from chatrepl.errors import ChatreplError
from chatrepl.wording import plural

if TYPE_CHECKING:
    from markdown_it import MarkdownIt
    from markdown_it.token import Token


@functools.cache
def parser() -> MarkdownIt:
    """The block parser, made once: the syntax rich's Markdown reads (CommonMark with
    tables and strikethrough), without inline parsing."""
    from markdown_it import MarkdownIt

    return MarkdownIt().enable("strikethrough").enable("table").disable("inline")


def _closes(line: str, mark: str) -> bool:
    """Whether `line` is a closing fence of a block opened by the fence `mark`."""
    stripped = line.strip()
    return stripped.startswith(mark) and not stripped.strip(mark[0])


def _closed(token: Token, lines: list[str]) -> bool:
    """Whether a fence token's last line is its closing fence (an unclosed fence runs to
    the end of the source)."""
    start, end = token.map or (0, 0)
    return end - start >= 2 and end <= len(lines) and _closes(lines[end - 1], token.markup)


def _may_close(text: str, mark: str) -> bool:
    """Whether any line of `text` may be the closing fence of a block opened by `mark`."""
    return mark[0] in text and any(_closes(line, mark) for line in text.split("\n"))


class Batch(NamedTuple):
    """Settled Markdown: its source (whole blocks) and whether its last block is a
    thematic break (rich puts no blank line after one; false in the final batch)."""

    source: str
    rule_last: bool


class Source:
    """The text of one answer as it streams: what has settled goes out in `Batch`es,
    the rest stays `pending`.

    `feed` only appends; `settle` parses the pending text's complete lines once, so its
    cost is that of the unsettled blocks, whatever the answer's length.
    """

    def __init__(self) -> None:
        self._pieces: list[str] = []
        self._pending = ""
        #: The opening line of a fenced code block left open at the last `settle`, its
        #: fence, and how much of the pending text is known not to close it.
        self.open_fence = ""
        self._mark = ""
        self._seen = 0

    def feed(self, text: str) -> None:
        self._pieces.append(text)

    def _gather(self) -> str:
        if self._pieces:
            self._pending += "".join(self._pieces)
            self._pieces.clear()
        return self._pending

    def settle(self, final: bool = False) -> Batch | None:
        """The blocks that can no longer change (all of them when `final`), taken out."""
        text = self._gather()
        if final:  # (not parsed: the last block's kind only spaces a block after it)
            self._pending = self.open_fence = ""
            return Batch(text.strip("\n"), False) if text.strip() else None
        end = text.rfind("\n") + 1
        if self._mark and not _may_close(text[self._seen : end], self._mark):
            self._seen = end  # still inside the fence: a long code block is read once
            return None
        self.open_fence = ""
        top = [t for t in parser().parse(text[:end]) if t.level == 0 and t.map and t.nesting >= 0]
        if not top:  # (no block at all: blank lines, or link reference definitions alone)
            return None
        return self._before_the_last(text, top, end)

    def _before_the_last(self, text: str, top: list[Token], end: int) -> Batch | None:
        """The blocks before the last one, which may still grow (all, once a fence that
        ends the text is closed); the last stays pending."""
        lines = text[:end].split("\n")
        last = top[-1]
        self._mark, self._seen = "", 0
        if last.type == "fence" and _closed(last, lines):
            cut, settled = last.map[1] if last.map else len(lines), top
        else:
            if last.type == "fence" and last.map:
                self.open_fence, self._mark, self._seen = lines[last.map[0]], last.markup, end
            cut, settled = (last.map[0] if last.map else 0), top[:-1]
        if not settled:
            return None
        source = "\n".join(lines[:cut])
        self._pending = text[len(source) + 1 :] if cut < len(lines) else ""
        self._seen = max(0, self._seen - len(source) - 1)  # (where the pending text starts)
        return Batch(source.strip("\n"), settled[-1].type == "hr")

    def tail(self, max_lines: int, max_chars: int) -> str:
        """The end of the pending text, enough to fill a screen; a cut inside an open
        fenced code block keeps its opening line, so the end still reads as code."""
        text = self._gather()
        if len(text) <= max_chars and text.count("\n") < max_lines:
            return text
        lines = text.split("\n")[-max_lines:]
        cut = "\n".join(lines)[-max_chars:]
        return f"{self.open_fence}\n{cut}" if self.open_fence else cut


# ---------------------------------------------------------------- code blocks out


class CodeBlock(NamedTuple):
    """A code block of an answer: its language (maybe "") and its text."""

    language: str
    text: str


def code_blocks(source: str) -> list[CodeBlock]:
    """The code blocks of Markdown `source` (fenced or indented, at any depth), in the
    order markdown-it reads them, which is the order their labels are numbered in."""
    lines = source.split("\n")
    found = []
    for token in parser().parse(source):
        if token.type not in ("fence", "code_block"):
            continue
        text = token.content
        if token.type == "fence" and not _closed(token, lines):
            text = text.rstrip("\n")  # unterminated: it ran to the end, blank lines aside
        found.append(CodeBlock(token.info.strip().partition(" ")[0], text.removesuffix("\n")))
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
