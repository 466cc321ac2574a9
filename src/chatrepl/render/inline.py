"""Inline Markdown read the way markdown-it reads it, or not at all.

`inline` turns a paragraph's text into styled pieces when it is sure markdown-it would
read it the same: emphasis and strikethrough whose delimiters pair one way only, code
spans, and plain links; a backslash, an entity, HTML, an image, a reference link or a
delimiter run that could both open and close raises `Unsure` (see `render.reading`).
"""

from __future__ import annotations

import re
import unicodedata

#: A piece of inline text and the names of the markdown.* styles in force on it.
Piece = tuple[str, tuple[str, ...]]


class Unsure(Exception):
    """The source is outside the subset read here the way markdown-it reads it."""


_WHITESPACE = set("\t\n\x0b\x0c\r \xa0\u1680\u202f\u205f\u3000") | {
    chr(c) for c in range(0x2000, 0x200B)
}
_LINK = re.compile(
    r"\[([^\[\]\n`*_~<>\\&!]+)\]"
    r"\((https?://[a-z0-9.-]+(?::[0-9]{1,5})?(?:/(?:[A-Za-z0-9._~/?#=+&:-]|%[0-9A-Fa-f]{2})*)?)\)"
)
_ENTITY = re.compile(r"&(?:#\d{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
_PLAIN_RUN = re.compile(r"[^`*_~\[\]\\<&!\n]+")
_EMPHASIS = ("markdown.em", "markdown.strong")  # by the length of the run


def _punct(ch: str) -> bool:
    return unicodedata.category(ch).startswith(("P", "S"))


def _opens_closes(src: str, start: int, end: int, split_word: bool) -> tuple[bool, bool]:
    """Whether the delimiter run src[start:end] can open and can close, as CommonMark
    (and markdown-it's scanDelims) decides from the characters on either side; only
    `split_word` runs (`*`, `~`) may open or close inside a word."""
    last = src[start - 1] if start > 0 else " "
    after = src[end] if end < len(src) else " "
    last_space, next_space = last in _WHITESPACE, after in _WHITESPACE
    last_punct, next_punct = _punct(last), _punct(after)
    left = not (next_space or (next_punct and not (last_space or last_punct)))
    right = not (last_space or (last_punct and not (next_space or next_punct)))
    opens = left and (split_word or not right or last_punct)
    closes = right and (split_word or not left or next_punct)
    return opens, closes


class _Delim:
    """A run of `*`, `_` or `~` that opens or closes (never both)."""

    __slots__ = ("char", "count", "index", "opens", "partner")

    def __init__(self, char: str, count: int, opens: bool) -> None:
        self.char = char
        self.count = count
        self.opens = opens
        self.index = 0  # where it sits in the item list
        self.partner = -1  # the index of the delimiter it pairs with


def inline(src: str, lenient: bool = False) -> list[Piece]:
    """The pieces of a paragraph's (or heading's, or cell's) inline content."""
    items: list[str | tuple[str, str] | _Delim] = []  # text, (kind, text) or a delimiter
    i, n = 0, len(src)

    def unsure(literal: str) -> None:
        if not lenient:
            raise Unsure(src)
        items.append(literal)

    while i < n:
        ch = src[i]
        if ch == "`":
            j = i
            while j < n and src[j] == "`":
                j += 1
            run = j - i
            close = re.compile(rf"(?<!`)`{{{run}}}(?!`)").search(src, j)
            if close is None:  # no closing run: the backticks are text
                items.append(src[i:j])
                i = j
                continue
            content = src[j : close.start()].replace("\n", " ")
            if content.startswith(" ") and content.endswith(" ") and content.strip():
                content = content[1:-1]
            items.append(("code", content))
            i = close.end()
        elif ch in "*_~":
            j = i
            while j < n and src[j] == ch:
                j += 1
            run = j - i
            opens, closes = _opens_closes(src, i, j, split_word=ch != "_")
            if ch == "~" and run == 1:  # one tilde is text
                items.append(ch)
                i = j
                continue
            if run > 2 and (ch == "~" or opens or closes):
                unsure(src[i:j])
                i = j
                continue
            if opens and closes:
                unsure(src[i:j])
            elif opens or closes:
                items.append(_Delim(ch, run, opens))
            else:
                items.append(src[i:j])
            i = j
        elif ch == "[":
            m = _LINK.match(src, i)
            if m is None or _ENTITY.search(m[2]):
                unsure(ch)
                i += 1
            else:
                items.append(("link", m[1]))
                items.append(("url", m[2]))
                i = m.end()
        elif ch == "\n":  # a soft break; the next line's indent is skipped
            items.append(("soft", " "))
            i += 1
            while i < n and src[i] == " ":
                i += 1
        elif ch in "]\\":
            unsure(ch)
            i += 1
        elif ch == "<":
            if i + 1 < n and (
                (src[i + 1].isascii() and src[i + 1].isalpha()) or src[i + 1] in "/!?"
            ):
                unsure(ch)
            else:
                items.append(ch)
            i += 1
        elif ch == "&":
            if _ENTITY.match(src, i):
                unsure(ch)
            else:
                items.append(ch)
            i += 1
        elif ch == "!":
            if src.startswith("![", i):
                unsure(ch)
            else:
                items.append(ch)
            i += 1
        else:
            m = _PLAIN_RUN.match(src, i)
            assert m is not None
            items.append(m[0])
            i = m.end()
    return _pieces(items, lenient)


def _pieces(items: list[str | tuple[str, str] | _Delim], lenient: bool) -> list[Piece]:
    """Pair the delimiters (each closer with the opener on top, or be unsure), then
    turn the items into styled pieces."""
    stack: list[_Delim] = []
    for index, item in enumerate(items):
        if not isinstance(item, _Delim):
            continue
        item.index = index
        if item.opens:
            stack.append(item)
        elif stack and stack[-1].char == item.char and stack[-1].count == item.count:
            opener = stack.pop()
            opener.partner, item.partner = index, opener.index
        elif not lenient:
            raise Unsure(item.char)
    if stack and not lenient:
        raise Unsure(stack[-1].char)
    pieces: list[Piece] = []
    styles: list[str] = []
    text: list[str] = []

    def flush() -> None:
        if text:
            pieces.append(("".join(text), tuple(styles)))
            text.clear()

    for item in items:
        if isinstance(item, str):
            text.append(item)
        elif isinstance(item, _Delim):
            if item.partner < 0:  # unpaired (lenient): shown as it is
                text.append(item.char * item.count)
                continue
            flush()
            if item.opens:
                name = "markdown.s" if item.char == "~" else _EMPHASIS[item.count - 1]
                styles.append(name)
            else:
                styles.pop()
        else:
            flush()
            kind, value = item
            if kind == "code":
                pieces.append((value, (*styles, "markdown.code")))
            elif kind == "soft":
                pieces.append((value, tuple(styles)))
            elif kind == "link":  # rich without hyperlinks: "label (url)"
                pieces.append((value, (*styles, "markdown.link")))
            else:
                pieces += [(" (", tuple(styles)), (value, (*styles, "markdown.link_url"))]
                pieces.append((")", tuple(styles)))
    flush()
    return pieces
