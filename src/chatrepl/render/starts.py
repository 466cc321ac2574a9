"""Which ASCII characters a regex's match can start with, read from its parse tree.

`render.matching` uses it to try, at each position of the code, only the rules of a state
that can match the character there. The answer may be too wide (every character, when
unsure), never too narrow: a rule left out of a character's set must be unable to match
any text that starts with that character. So:

- a pattern that can match the empty string (`a*`, a lookahead alone, `default`) may
  start with anything;
- anchors and lookarounds (`^`, `\\b`, `(?=...)`, `(?<=...)`) take no character, so what
  follows them decides (they can only narrow a match, never widen it);
- under IGNORECASE a letter stands for both its cases, and any character above 127
  for every character (some fold into ASCII: the Kelvin sign matches `k`);
- anything not understood here (back references, conditionals, a future opcode) may
  start with anything.

Sets are ints, bit `c` for character `c` (0-127).
"""

from __future__ import annotations

import re
from typing import Any

try:
    from re import _constants as C  # type: ignore[attr-defined]
    from re import _parser  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - not CPython 3.11+
    C = _parser = None

#: Every ASCII character.
ANY = (1 << 128) - 1

_LETTERS = sum(1 << c for c in range(128) if chr(c).isalpha())


def _both_cases(chars: int) -> int:
    """`chars` with the other case of each ASCII letter in it."""
    letters = chars & _LETTERS
    return chars | (letters << 32 & _LETTERS) | (letters >> 32 & _LETTERS)


_categories: dict[Any, int] = {}


def _category(category: Any) -> int:
    """The ASCII members of `\\d`, `\\w`, `\\s` and their opposites (others: any)."""
    found = _categories.get(category)
    if found is None:
        escapes = {C.CATEGORY_DIGIT: r"\d", C.CATEGORY_NOT_DIGIT: r"\D",
                   C.CATEGORY_SPACE: r"\s", C.CATEGORY_NOT_SPACE: r"\S",
                   C.CATEGORY_WORD: r"\w", C.CATEGORY_NOT_WORD: r"\W"}  # fmt: skip
        escape = escapes.get(category)
        if escape is None:
            found = ANY
        else:
            pattern = re.compile(escape)
            found = sum(1 << c for c in range(128) if pattern.match(chr(c)))
        _categories[category] = found
    return found


def _in(items: list[tuple[Any, Any]], ignore_case: bool) -> int:
    """The ASCII members of a character class."""
    chars, negated = 0, False
    for op, value in items:
        if op is C.NEGATE:
            negated = True
        elif op is C.LITERAL:
            if value >= 128:
                if ignore_case:
                    return ANY
                continue
            chars |= 1 << value
        elif op is C.RANGE:
            low, high = value
            if high >= 128 and ignore_case:
                return ANY
            for c in range(low, min(high, 127) + 1):
                chars |= 1 << c
        elif op is C.CATEGORY:
            chars |= _category(value)
        else:
            return ANY
    if ignore_case:
        chars = _both_cases(chars)
    return ANY & ~chars if negated else chars


def _first(items: Any, flags: int) -> tuple[int, bool]:
    """What a sequence of parsed items can start with, and whether it can be empty."""
    chars = 0
    for op, value in items:
        ignore_case = bool(flags & re.IGNORECASE)
        if op is C.LITERAL:
            if value >= 128:
                return (ANY if ignore_case else chars), False
            own = 1 << value
            return chars | (_both_cases(own) if ignore_case else own), False
        if op is C.IN:
            return chars | _in(value, ignore_case), False
        if op is C.NOT_LITERAL:  # (under IGNORECASE its other case is left in: too many)
            return chars | (ANY & ~(1 << value) if value < 128 else ANY), False
        if op is C.ANY:
            return ANY, False
        if op is C.AT or op is C.ASSERT or op is C.ASSERT_NOT:
            continue  # takes no character
        if op is C.SUBPATTERN:
            _, add, remove, inner = value
            own, empty = _first(inner.data, (flags | add) & ~remove)
        elif op is getattr(C, "ATOMIC_GROUP", None):
            own, empty = _first(value.data, flags)
        elif op is C.BRANCH:
            own, empty = 0, False
            for branch in value[1]:
                more, can_be_empty = _first(branch.data, flags)
                own, empty = own | more, empty or can_be_empty
        elif op in (C.MAX_REPEAT, C.MIN_REPEAT, getattr(C, "POSSESSIVE_REPEAT", None)):
            low, _, inner = value
            own, empty = _first(inner.data, flags)
            empty = empty or low == 0
        else:  # back references, conditionals, anything new
            return ANY, True
        chars |= own
        if not empty:
            return chars, False
    return chars, True


def starts(pattern: str, flags: int = 0) -> int:
    """The ASCII characters a match of `pattern` can start with (ANY when unsure)."""
    if C is None:
        return ANY
    try:
        parsed = _parser.parse(pattern, flags)
    except Exception:  # (re.error, RecursionError...) the caller finds out itself
        return ANY
    chars, empty = _first(parsed.data, parsed.state.flags)
    return ANY if empty else chars
