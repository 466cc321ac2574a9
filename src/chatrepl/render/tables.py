"""A lexer's token table as plain data, kept beside its regexes, so a later run lexes
without importing the lexer's module or letting Pygments process its rules.

Making Python's lexer costs some 27 M instructions, half as much as drawing a whole
2,000-token answer once warm: its module (the rules of eight lexers) is imported, and
Pygments walks the rules of the one used, expanding includes, keyword lists and state
changes. What comes out is data but for the actions: token types, and the callbacks
`bygroups` and `using(this)` make. `describe` writes that table down (token types by
name, each callback by what made it), `rebuild` gives it back with callbacks of its own
that do what Pygments' do (so that `pygments.lexer`, with `pygments.util` and `html`, is
not imported either), and `Kept` lexes it with the matching loop of `render.matching`. A
lexer with any other action (one of its own methods, another lexer) is not described:
Pygments makes it.

Tests lex a sample with every Pygments lexer that can be described, rebuilt from its
table, and compare the tokens with Pygments' own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

Rules = dict[str, list[tuple[Any, Any, Any]]]  # state: [(match, action, new state)]
#: state: ((regex, flags, action, new state), ...), as marshal can write it
Table = dict[str, tuple[tuple[str, int, Any, Any], ...]]

_NO = object()  # an action that cannot be described


def _pygments_callbacks() -> tuple[Any, Any]:
    """The code of the callbacks Pygments' `bygroups` and `using(this)` make."""
    from pygments.lexer import bygroups, this, using  # type: ignore[import-untyped]

    return bygroups().__code__, using(this).__code__


def _cells(function: Any) -> dict[str, Any]:
    names, cells = function.__code__.co_freevars, function.__closure__
    return {name: cell.cell_contents for name, cell in zip(names, cells, strict=True)}


def _action(action: Any, codes: tuple[Any, Any]) -> Any:
    """`action` as plain data: None, ("t", token type), ("g", (inner, ...)) for
    `bygroups`, ("u", stack) for `using(this)`; `_NO` for anything else."""
    from pygments.token import _TokenType  # type: ignore[import-untyped]

    if action is None:
        return None
    if type(action) is _TokenType:
        return ("t", tuple(action))
    code = getattr(action, "__code__", None)
    if code is codes[0]:
        inner = tuple(_action(part, codes) for part in _cells(action).get("args", ()))
        if any(part is _NO or (part is not None and part[0] == "g") for part in inner):
            return _NO
        return ("g", inner)
    if code is codes[1]:
        cells = _cells(action)
        stack = cells.get("gt_kwargs", {}).get("stack")
        if cells.get("kwargs") or (stack is not None and not isinstance(stack, tuple | list)):
            return _NO  # a lexer made with other options
        return ("u", None if stack is None else tuple(stack))
    return _NO


def _new_state(new: Any) -> bool:
    return (
        new is None
        or isinstance(new, str | int)
        or (isinstance(new, tuple) and all(isinstance(name, str) for name in new))
    )


def describe(rules: Rules, source: Callable[[Any], tuple[str, int] | None]) -> Table | None:
    """Processed rules as plain data (`source` gives a rule's regex and flags), or None
    if any of them cannot be."""
    codes = _pygments_callbacks()
    table: Table = {}
    for state, state_rules in rules.items():
        described = []
        for match, action, new in state_rules:
            found = source(match)
            data = _action(action, codes)
            if found is None or data is _NO or not _new_state(new):
                return None
            described.append((found[0], found[1], data, new))
        table[state] = tuple(described)
    return table


def _token(path: tuple[str, ...]) -> Any:
    from pygments.token import Token

    token = Token
    for name in path:
        token = getattr(token, name)
    return token


def _using_this(stack: tuple[str, ...] | None) -> Callable[..., Iterator[Any]]:
    """What `using(this)` makes: the match lexed again by the same lexer, from `stack`."""
    start = ("root",) if stack is None else stack

    def callback(lexer: Any, match: Any, ctx: Any = None) -> Iterator[Any]:
        s = match.start()
        for i, t, v in lexer.get_tokens_unprocessed(match.group(), start):
            yield i + s, t, v
        if ctx:
            ctx.pos = match.end()

    return callback


class _At:
    """What `bygroups` hands an inner callback: a group's text and where it starts."""

    __slots__ = ("_start", "_text")

    def __init__(self, start: int, text: str) -> None:
        self._start, self._text = start, text

    def start(self) -> int:
        return self._start

    def end(self) -> int:
        return self._start + len(self._text)

    def group(self) -> str:
        return self._text


def _bygroups(actions: tuple[Any, ...]) -> Callable[..., Iterator[Any]]:
    """What `bygroups` makes: each group of the match as its own token (or lexed)."""
    from pygments.token import _TokenType

    def callback(lexer: Any, match: Any, ctx: Any = None) -> Iterator[Any]:
        for i, action in enumerate(actions, 1):
            if action is None:
                continue
            data = match.group(i)
            if type(action) is _TokenType:
                if data:
                    yield match.start(i), action, data
            elif data is not None:
                if ctx:
                    ctx.pos = match.start(i)
                for item in action(lexer, _At(match.start(i), data), ctx):
                    if item:
                        yield item
        if ctx:
            ctx.pos = match.end()

    return callback


def _rebuilt(data: Any) -> Any:
    if data is None:
        return None
    kind, value = data
    if kind == "t":
        return _token(value)
    if kind == "u":
        return _using_this(value)
    return _bygroups(tuple(_rebuilt(part) for part in value))


def rebuild(table: Table, rule: Callable[[str, int], Any]) -> Rules:
    """The rules a table describes, each regex made by `rule(regex, flags)`."""
    made: dict[Any, Any] = {}  # one action for each described one

    def action(data: Any) -> Any:
        found = made.get(data)
        if found is None and data is not None:
            found = made[data] = _rebuilt(data)
        return found

    return {
        state: [(rule(regex, flags), action(data), new) for regex, flags, data, new in rules]
        for state, rules in table.items()
    }


class Kept:
    """A lexer from its table, as Pygments' would be made with `stripnl=False,
    ensurenl=True, tabsize=4` (see `render.lexers.lexer`); its class adds the rules and
    the matching loop."""

    def get_tokens_unprocessed(self, text: str, stack: tuple[str, ...] = ("root",)) -> Any:
        raise NotImplementedError  # pragma: no cover - the matching loop's class has it

    def get_tokens(self, text: str) -> Iterator[tuple[Any, str]]:
        """(token type, text) pairs, after the input is tidied as Pygments tidies it."""
        if text.startswith("\ufeff"):
            text = text[1:]
        text = text.replace("\r\n", "\n").replace("\r", "\n").expandtabs(4)
        if not text.endswith("\n"):
            text += "\n"
        for _, token, value in self.get_tokens_unprocessed(text):
            yield token, value
