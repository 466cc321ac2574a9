"""Markdown read without markdown-it, for the shapes answers mostly take.

`parse` reads a block of Markdown into elements when all of it lies in a plain subset
of CommonMark: paragraphs with emphasis, strikethrough, code spans and links (see
`render.inline`); ATX headings; fenced code; tight lists, nested or not; pipe tables;
thematic breaks; block quotes of paragraphs. Anything it is not sure of (loose lists,
lazy lines it cannot place, HTML, indented code, setext headings, hard breaks, ...)
gives None, and rich's Markdown, with markdown-it, draws the block instead (see
`render.layout`).

`parse(..., lenient=True)` never gives None: what it cannot read is shown as plain
paragraph text. Only the live region uses it, for the unfinished tail of an answer,
where an unclosed `**` or half a table is the rule and the next repaint replaces it.
"""

from __future__ import annotations

import re
from typing import Literal

from chatrepl.render.inline import Piece, Unsure, inline


class Paragraph:
    __slots__ = ("pieces",)

    def __init__(self, pieces: list[Piece]) -> None:
        self.pieces = pieces


class Heading:
    __slots__ = ("level", "pieces")

    def __init__(self, level: int, pieces: list[Piece]) -> None:
        self.level = level
        self.pieces = pieces


class Code:
    __slots__ = ("code", "lexer")

    def __init__(self, lexer: str, code: str) -> None:
        self.lexer = lexer
        self.code = code


class ListBlock:
    """A tight list: each item one paragraph, and perhaps a list nested under it."""

    __slots__ = ("items", "ordered", "start")

    def __init__(self, ordered: bool, start: int) -> None:
        self.ordered = ordered
        self.start = start
        self.items: list[tuple[list[Piece], ListBlock | None]] = []


#: How a table column's cells are justified (the names rich's Text takes).
Align = Literal["default", "left", "center", "right"]


class Table:
    __slots__ = ("aligns", "header", "rows")

    def __init__(
        self, aligns: list[Align], header: list[list[Piece]], rows: list[list[list[Piece]]]
    ) -> None:
        self.aligns = aligns
        self.header = header
        self.rows = rows


class Rule:
    """A thematic break (`---`, `***`, `___`)."""

    __slots__ = ()


class Quote:
    """A block quote of paragraphs."""

    __slots__ = ("paragraphs",)

    def __init__(self, paragraphs: list[Paragraph]) -> None:
        self.paragraphs = paragraphs


Element = Paragraph | Heading | Code | ListBlock | Table | Rule | Quote

_FENCE = re.compile(r"(`{3,}|~{3,})(.*)$")
_HEADING = re.compile(r"(#{1,6}) +(.*)$")
_BULLET = re.compile(r"([-*+]) (\S.*)$")
_ORDERED = re.compile(r"(\d{1,9})([.)]) (\S.*)$")
_DELIMITER_CELL = re.compile(r":?-+:?$")
_RULE = re.compile(r"(?:(?:- *){3,}|(?:\* *){3,}|(?:_ *){3,})$")


def _plain_start(line: str) -> bool:
    """A line that can only be paragraph text (no block starts with it)."""
    if not line or line[0] in " #>+=<|:\\-" or line.startswith(("```", "~~~")):
        return False
    if line[0] == "*":
        return re.match(r"\*\*[^\s*]", line) is not None
    if line[0] == "_":
        return re.match(r"__?[^\s_]", line) is not None
    if line[0] == "[":
        return re.match(r"\[[^\]]*\]:", line) is None
    return not (line[0].isdigit() and re.match(r"\d+[.)](\s|$)", line))


def _item(line: str) -> bool:
    """A line that starts a list item, of either kind."""
    return _BULLET.match(line) is not None or _ORDERED.match(line) is not None


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _interrupts(line: str) -> bool:
    """A heading or a fence: it ends the paragraph or list above it."""
    return _HEADING.match(line) is not None or _FENCE.match(line) is not None


def _paragraph_text(lines: list[str]) -> str:
    for line in lines[:-1]:
        if line.endswith(" "):  # a hard break, or a soft one markdown-it trims
            raise Unsure(line)
    text = "\n".join(lines).strip(" ")
    if text != text.strip():
        raise Unsure(text)
    return text


class _Reader:
    def __init__(self, source: str, lenient: bool) -> None:
        if "\t" in source or "\r" in source or "\x00" in source:
            raise Unsure("tab")
        self.lines = source.split("\n")
        self.i = 0
        self.lenient = lenient

    def line(self, offset: int = 0) -> str | None:
        k = self.i + offset
        return self.lines[k] if k < len(self.lines) else None

    def elements(self) -> list[Element]:
        out: list[Element] = []
        while (line := self.line()) is not None:
            if not line.strip(" "):
                self.i += 1
                continue
            start = self.i
            try:
                out.append(self.element(line))
            except Unsure:
                if not self.lenient:
                    raise
                self.i = start
                out.append(self.raw())
        return out

    def raw(self) -> Paragraph:
        """Lenient: the lines up to the next blank one, as plain text."""
        lines: list[str] = []
        while (line := self.line()) is not None and line.strip(" "):
            lines.append(line.strip(" "))
            self.i += 1
        return Paragraph([(" ".join(lines), ())])

    def element(self, line: str) -> Element:
        if _RULE.match(line):  # before lists: `* * *` is a rule
            self.i += 1
            return Rule()
        if line.startswith(">"):
            return self.quote()
        if m := _FENCE.match(line):
            return self.fence(m[1], m[2])
        if m := _HEADING.match(line):
            content = m[2].strip(" ")
            if not content or content.endswith("#") or content != content.strip():
                raise Unsure(line)
            self.i += 1
            return Heading(len(m[1]), inline(content, self.lenient))
        if line.startswith("|"):
            return self.table()
        if _item(line):
            return self.list()
        if not _plain_start(line):
            raise Unsure(line)
        lines = [line]
        self.i += 1
        while (following := self.line()) is not None and following.strip(" "):
            line = following
            stripped = line.lstrip(" ")
            if _interrupts(line) or _BULLET.match(line):
                break
            ordered = _ORDERED.match(line)
            if ordered and ordered[1] == "1":
                break
            if not _plain_start(stripped):
                raise Unsure(line)
            lines.append(line)
            self.i += 1
        return Paragraph(inline(_paragraph_text(lines), self.lenient))

    def quote(self) -> Quote:
        """A block quote whose every line starts with `>`, holding paragraphs only."""
        lines = []
        while (line := self.line()) is not None and line.strip(" "):
            if not line.startswith(">"):
                raise Unsure(line)  # a lazy continuation
            lines.append(line[2:] if line.startswith("> ") else line[1:])
            self.i += 1
        inner = _Reader("\n".join(lines), self.lenient).elements()
        if not inner or not all(isinstance(element, Paragraph) for element in inner):
            raise Unsure(lines[0])  # empty, or holding more than paragraphs
        return Quote([element for element in inner if isinstance(element, Paragraph)])

    def fence(self, marker: str, info: str) -> Code:
        if marker[0] == "`" and "`" in info:
            raise Unsure(info)
        close = re.compile(rf" {{0,3}}{re.escape(marker[0])}{{{len(marker)},}} *$")
        body: list[str] = []
        self.i += 1
        while (line := self.line()) is not None:
            self.i += 1
            if close.match(line):
                break
            body.append(line)
        return Code(info.partition(" ")[0] or "text", "\n".join(body) + "\n")

    def list(self) -> ListBlock:
        """A tight list. A list nested under an item starts at its text's column (up to
        three spaces further) and goes on while lines are indented as far; it is read
        as a list of its own, with that indent taken off."""
        first = self.line()
        assert first is not None
        bullet = _BULLET.match(first)
        ordered = _ORDERED.match(first)
        kind = bullet[1] if bullet else ordered[2]  # type: ignore[index]
        block = ListBlock(ordered=bullet is None, start=1)
        item: list[str] = []
        nested: ListBlock | None = None
        offset = 0  # where the item's text starts

        def close() -> None:
            block.items.append((inline(_paragraph_text(item), self.lenient), nested))

        while (line := self.line()) is not None and line.strip(" "):
            m = _BULLET.match(line) if bullet else _ORDERED.match(line)
            if m is not None and m[1 if bullet else 2] == kind:
                if item:
                    close()
                elif not bullet:
                    block.start = int(m[1])
                item, nested = [m[2 if bullet else 3]], None
                offset = len(line) - len(item[0])
                if not _plain_start(item[0]):
                    raise Unsure(line)
            elif _interrupts(line):
                break
            elif line.startswith(" ") and nested is None:
                nested = self.nested(offset)
                continue
            elif _item(line) or not _plain_start(line):
                raise Unsure(line)  # another kind of list, or a block
            elif nested is not None:
                raise Unsure(line)  # would continue the nested item's text
            else:
                item.append(line)  # a lazy continuation of the item's paragraph
            self.i += 1
        close()
        after = self.i
        while (line := self.line()) is not None and not line.strip(" "):
            self.i += 1
        following = self.line()
        if following is not None and (following.startswith(" ") or _item(following)):
            raise Unsure(following)  # a loose list, or more of the item
        self.i = after
        return block

    def nested(self, offset: int) -> ListBlock:
        """The list nested under the item whose text starts at column `offset`."""
        line = self.line()
        assert line is not None
        indent = _indent(line)
        ordered = _ORDERED.match(line[indent:])
        if not offset <= indent <= offset + 3 or not (
            _BULLET.match(line[indent:]) or (ordered and ordered[1] == "1")
        ):
            # the item's text going on (an ordered list interrupts it only from 1),
            # code, or a sibling out of line
            raise Unsure(line)
        lines = []
        while (line := self.line()) is not None and line.strip(" "):
            if _indent(line) < indent:
                break
            lines.append(line[indent:])
            self.i += 1
        reader = _Reader("\n".join(lines), self.lenient)
        found = reader.list()
        if reader.i != len(lines):
            raise Unsure(lines[reader.i])
        return found

    def table(self) -> Table:
        """Pipe tables whose every line starts with a pipe. As in markdown-it, the
        header sets the number of columns: a shorter row is filled with empty cells and
        a longer one cut."""
        rows: list[list[str]] = []
        while (line := self.line()) is not None and line.strip(" "):
            if not line.startswith("|") or "\\" in line:
                raise Unsure(line)
            parts = line.strip(" ").split("|")[1:]
            if parts and parts[-1] == "":
                parts.pop()
            if any(part.strip() != part.strip(" ") for part in parts):
                raise Unsure(line)
            rows.append([part.strip(" ") for part in parts])
            self.i += 1
        if len(rows) < 2 or not rows[0] or len(rows[1]) != len(rows[0]):
            raise Unsure("table")
        aligns: list[Align] = []
        for cell in rows[1]:
            if not _DELIMITER_CELL.match(cell):
                raise Unsure(cell)
            if cell.startswith(":") and cell.endswith(":"):  # (a cell has a dash)
                aligns.append("center")
            elif cell.endswith(":"):
                aligns.append("right")
            elif cell.startswith(":"):
                aligns.append("left")
            else:
                aligns.append("default")
        width = len(aligns)
        header, *body = [
            [inline(cell, self.lenient) for cell in row] for row in rows[:1] + rows[2:]
        ]
        empty: list[Piece] = []
        return Table(aligns, header, [(row + [empty] * width)[:width] for row in body])


def parse(source: str, lenient: bool = False) -> list[Element] | None:
    """The elements of a block of Markdown, or None when rich's Markdown must draw it."""
    try:
        return _Reader(source, lenient).elements()
    except Unsure:
        if lenient:  # only a tab, a CR or a NUL gets here
            return [Paragraph([(source, ())])]
        return None
