"""Pygments lexers, made once per language, cheaper to make and faster to run.

For ASCII code (most code), Pygments' regex lexers give the same tokens here in two ways
that cost less:

- **One match per position.** Pygments tries a state's rules one by one at each
  position, some 5,500 regex calls for a ten-line Python block. Here a state's rules are
  joined into one alternation, `(?P<r0>rule0)|(?P<r1>rule1)|...`: Python's `re` tries
  the alternatives in order and takes the first that matches, which is the rule Pygments
  would take, and the outermost group that matched names it. A state whose rules refer
  to their own groups by number or name (`\\1`, `(?P=x)`, `(?(1)...)`) or are verbose
  cannot be joined and is matched rule by rule, as are lexers that replace Pygments'
  matching loop.
  Rules are compiled on first use, joined states when first entered.
- **ASCII classes for ASCII code.** Most of the time of making Python's lexer goes to two
  regexes built from the Unicode identifier classes `xid_start` and `xid_continue`
  (hundreds of ranges each). On text that is all ASCII a character class matches
  exactly its members below 128, so `lexer(name, ascii=True)` cuts the classes to those.
  Code with any other character gets Pygments' lexer as it is.

Tests compare the tokens with Pygments' own over generated code in many languages.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from typing import Any

from chatrepl.render import regex_cache

_OWN_GROUPS = re.compile(r"\\[1-9]|\(\?P=|\(\?\(")
_LEADING_FLAGS = re.compile(r"\(\?([aiLmsux]+)\)")


@functools.cache
def _ascii_classes() -> list[tuple[str, str]]:
    """The Unicode classes Pygments' lexers use, each with its members below 128 (the
    members are sorted, so those come first; a test checks them by matching)."""
    from pygments import unistring  # type: ignore[import-untyped]

    found = []
    for name in ("xid_continue", "xid_start"):  # the longer first: no overlap then
        whole: str = getattr(unistring, name)
        end = next(i for i, ch in enumerate(whole) if not ch.isascii())
        found.append((whole, whole[:end]))
    return found


class _Rule:
    """A rule's regex, compiled when first matched on its own."""

    __slots__ = ("_match", "flags", "regex")

    def __init__(self, regex: str, flags: int) -> None:
        self.regex = regex
        self.flags = flags
        self._match: Any = None

    def __call__(self, text: str, pos: int) -> Any:
        if self._match is None:
            self._match = regex_cache.compile(self.regex, self.flags).match
        return self._match(text, pos)


def _source(rule: Any) -> tuple[str, int] | None:
    """A rule's regex and flags, or None if they cannot be known."""
    if isinstance(rule, _Rule):
        return rule.regex, rule.flags
    pattern = getattr(rule, "__self__", None)  # `default` rules: re.compile('').match
    if isinstance(pattern, re.Pattern):
        return pattern.pattern, pattern.flags
    return None


def _scoped(regex: str) -> str:
    """A regex whose leading global flags, `(?i)...`, apply to it alone: `(?i:...)`."""
    flags = ""
    while m := _LEADING_FLAGS.match(regex):
        flags += m[1]
        regex = regex[m.end() :]
    return f"(?{flags}:{regex})" if flags else regex


def _join(rules: list[tuple[Any, Any, Any]]) -> Any:
    """One regex for a state's rules, or None if they cannot be joined; the match's
    `lastindex` names the rule (see the module's docstring)."""
    sources = [found for rule, _, _ in rules if (found := _source(rule)) is not None]
    if not sources or len(sources) != len(rules):
        return None
    flag = sources[0][1]
    if any(other != flag for _, other in sources) or flag & re.VERBOSE:
        return None  # different flags; or verbose, where a comment would swallow the join
    for regex, _ in sources:
        if _OWN_GROUPS.search(regex) or any("x" in m[1] for m in _LEADING_FLAGS.finditer(regex)):
            return None  # refers to its own groups, or is verbose
    parts = [f"(?P<r{n}>{_scoped(regex)})" for n, (regex, _) in enumerate(sources)]
    try:
        joined = regex_cache.compile("|".join(parts), flag)
    except (re.error, RecursionError, OverflowError):
        return None
    index = {joined.groupindex[f"r{n}"]: n for n in range(len(rules))}
    return joined.match, index


class _Joined:
    """The matching loop of Pygments' RegexLexer, one regex call per position."""

    _tokens: dict[str, list[tuple[Any, Any, Any]]]
    _joined: dict[str, Any]  # a state's joined regex and rule index, or None: not joinable

    def get_tokens_unprocessed(
        self, text: str, stack: tuple[str, ...] = ("root",)
    ) -> Iterator[Any]:
        from pygments.token import Error, Whitespace, _TokenType  # type: ignore[import-untyped]

        cls = type(self)
        joined = cls._joined
        tokendefs = self._tokens
        pos = 0
        statestack = list(stack)
        state = statestack[-1]
        while True:
            statetokens = tokendefs[state]
            found = joined.get(state, False)
            if found is False:
                found = joined[state] = _join(statetokens)
            if found is None:  # rule by rule, as Pygments does
                m = None
                for rule in statetokens:
                    m = rule[0](text, pos)
                    if m:
                        rexmatch, action, new_state = rule
                        group = 0
                        break
            else:
                match, index = found
                m = match(text, pos)
                if m:
                    group = m.lastindex
                    rexmatch, action, new_state = statetokens[index[group]]
            if m:
                if action is not None:
                    if type(action) is _TokenType:
                        yield pos, action, m.group(group)
                    else:
                        yield from action(self, m if group == 0 else rexmatch(text, pos))
                pos = m.end(group)
                if new_state is not None:
                    if isinstance(new_state, tuple):
                        for name in new_state:
                            if name == "#pop":
                                if len(statestack) > 1:
                                    statestack.pop()
                            elif name == "#push":
                                statestack.append(statestack[-1])
                            else:
                                statestack.append(name)
                    elif isinstance(new_state, int):
                        if abs(new_state) >= len(statestack):
                            del statestack[1:]
                        else:
                            del statestack[new_state:]
                    elif new_state == "#push":
                        statestack.append(statestack[-1])
                    state = statestack[-1]
                continue
            if pos >= len(text):
                break
            if text[pos] == "\n":  # at the end of a line, back to "root"
                statestack = ["root"]
                state = "root"
                yield pos, Whitespace, "\n"
            else:
                yield pos, Error, text[pos]
            pos += 1


@functools.cache
def _fast_class(cls: Any) -> type | None:
    """`cls` for ASCII text, with joined states, or None when it does not match with
    Pygments' own RegexLexer loop."""
    from pygments import __version__ as version
    from pygments.lexer import (  # type: ignore[import-untyped]
        Future,
        RegexLexer,
        RegexLexerMeta,
        words,
    )

    if type(cls) is not RegexLexerMeta or not issubclass(cls, RegexLexer):
        return None
    if cls.get_tokens_unprocessed is not RegexLexer.get_tokens_unprocessed:
        return None
    classes = _ascii_classes()

    class FastMeta(RegexLexerMeta):  # type: ignore[misc]
        def _process_regex(cls, regex: Any, rflags: int, state: str) -> Any:
            if isinstance(regex, words):
                key = ("words", version, tuple(regex.words), regex.prefix, regex.suffix)
                regex = regex_cache.text(key, regex.get)
            elif isinstance(regex, Future):
                regex = regex.get()
            for whole, ascii_part in classes:
                regex = regex.replace(whole, ascii_part)
            return _Rule(regex, rflags)

    made: type = FastMeta(f"Fast{cls.__name__}", (_Joined, cls), {"_joined": {}})
    return made


@functools.cache
def lexer(name: str, ascii: bool = False) -> Any:
    """A lexer for `name` (text when Pygments has none), for ASCII code if `ascii`."""
    from pygments.lexers import find_lexer_class_by_name  # type: ignore[import-untyped]
    from pygments.util import ClassNotFound  # type: ignore[import-untyped]

    try:
        cls = find_lexer_class_by_name(name or "text")
    except ClassNotFound:
        cls = find_lexer_class_by_name("text")
    if ascii:  # (joining the Unicode classes costs more than it saves)
        cls = _fast_class(cls) or cls
    return cls(stripnl=False, ensurenl=True, tabsize=4)
