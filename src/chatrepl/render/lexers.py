"""Pygments lexers, made once per language, cheaper to make and faster to run.

For ASCII code (most code), Pygments' regex lexers give the same tokens here in ways
that cost less:

- **One match per position** (`render.matching`). Pygments tries a state's rules one by
  one at each position, some 5,500 regex calls for a ten-line Python block. There a
  state's rules are joined into one alternation, per character that can come next, of
  the rules that can match text starting with it: 3.5 times faster on Python code.
  Lexers that replace Pygments' matching loop keep their own.
- **ASCII classes for ASCII code.** Most of the time of making Python's lexer goes to two
  regexes built from the Unicode identifier classes `xid_start` and `xid_continue`
  (hundreds of ranges each). On text that is all ASCII a character class matches
  exactly its members below 128, so `lexer(name, ascii=True)` cuts the classes to those.
  Code with any other character gets Pygments' lexer as it is.
- **Made from a table** (`render.tables`). Once a language's processed rules are kept
  in the regex file, the next run makes its lexer from them, without importing its
  Pygments module or processing its rules again.

Tests compare the tokens with Pygments' own over generated code in many languages.
"""

from __future__ import annotations

import functools
from typing import Any

from chatrepl.render import regex_cache
from chatrepl.render.matching import _Joined, _Rule, _source


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
                regex = regex_cache.text(key, regex.get, cls._kept_in)
            elif isinstance(regex, Future):
                regex = regex.get()
            for whole, ascii_part in classes:
                regex = regex.replace(whole, ascii_part)
            return _Rule(regex, rflags, cls._kept_in)

    # (`_kept_in`: the regex file of this lexer, see regex_cache)
    made: type = FastMeta(
        f"Fast{cls.__name__}", (_Joined, cls), {"_joined": {}, "_kept_in": cls.__name__}
    )
    return made


_TABLE_VERSION = 1  # of what `tables.describe` writes: kept in the regex file under it


def _table_keys(name: str) -> tuple[tuple[Any, ...], Any]:
    """Where the regex file keeps the group (lexer) for `name`, and, within the group's
    file, its table (see `render.tables`), keyed by Pygments' version."""
    from pygments import __version__ as version

    return ("lexer", _TABLE_VERSION, version, name), ("table", _TABLE_VERSION, version)


def _kept(name: str) -> Any:
    """The ASCII lexer for `name` from the regex file's table, or None: its module is
    not imported, nor its rules processed."""
    named, key = _table_keys(name)
    group = regex_cache.found(named, str)
    table = regex_cache.found(key, dict, group) if group else None
    return None if table is None else from_table(table, group)


def from_table(table: Any, group: str) -> Any:
    """The lexer a table describes (see `render.tables`), its regexes kept in `group`'s
    file; None if the table is damaged (the lexer is then made again)."""
    from chatrepl.render.tables import Kept, rebuild

    def rule(regex: str, flags: int) -> _Rule:
        return _Rule(regex, flags, group)

    try:
        tokens = rebuild(table, rule)
    except (TypeError, ValueError):
        return None
    cls = type(f"Kept{group}", (_Joined, Kept), {
        "_tokens": tokens, "_joined": {}, "_kept_in": group
    })  # fmt: skip
    return cls()


def table_of(made: Any) -> Any:
    """The table of a lexer made by a fast class (see `render.tables`), or None if it
    cannot be described (its rules call code of their own, or it is made or tidies its
    input in a way of its own)."""
    from pygments.lexer import Lexer, RegexLexer

    from chatrepl.render.tables import describe

    cls = type(made)
    plain = cls.__init__ is Lexer.__init__ and cls.get_tokens is Lexer.get_tokens
    return describe(made._tokens, _source) if plain and isinstance(made, RegexLexer) else None


def _keep(name: str, made: Any) -> None:
    """Keep `made`'s table for the next run, if it can be described (see `_kept`)."""
    named, key = _table_keys(name)
    table = table_of(made)
    regex_cache.kept(named, lambda: made._kept_in if table is not None else "", str)
    if table is not None:  # (the file holds none, or a damaged one: `_kept` found none)
        regex_cache.keep(key, table, made._kept_in)


@functools.cache
def lexer(name: str, ascii: bool = False) -> Any:
    """A lexer for `name` (text when Pygments has none), for ASCII code if `ascii`: from
    its table in the regex file when it holds one (see `render.tables`)."""
    if ascii and regex_cache.keeps():
        kept = _kept(name)
        if kept is not None:
            return kept
    from pygments.lexers import find_lexer_class_by_name  # type: ignore[import-untyped]
    from pygments.util import ClassNotFound  # type: ignore[import-untyped]

    try:
        cls = find_lexer_class_by_name(name or "text")
    except ClassNotFound:
        cls = find_lexer_class_by_name("text")
    # (for code with other characters, joining the Unicode classes costs more than it saves)
    fast = _fast_class(cls) if ascii else None
    made = (fast or cls)(stripnl=False, ensurenl=True, tabsize=4)
    if fast is not None and regex_cache.keeps():
        _keep(name, made)
    return made
