"""The matching loop of Pygments' RegexLexer, one regex call per position (see
`render.lexers`, which makes lexers with it).

A state's rules are joined into one alternation, `(?P<r0>rule0)|(?P<r1>rule1)|...`:
Python's `re` tries the alternatives in order and takes the first that matches, which is
the rule Pygments would take, and the outermost group that matched names it. At each
position only the rules that can match text starting with the character there are
joined (`render.starts` reads that from each regex). A state whose rules refer to their
own groups, or are verbose, is matched rule by rule, as Pygments does.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from chatrepl.render import regex_cache
from chatrepl.render.starts import ANY, starts

_OWN_GROUPS = re.compile(r"\\[1-9]|\(\?P=|\(\?\(")
_LEADING_FLAGS = re.compile(r"\(\?([aiLmsux]+)\)")
_STARTS_VERSION = 1  # of what `starts` gives: kept in the regex file under it


class _Rule:
    """A rule's regex, compiled when first matched on its own."""

    __slots__ = ("_match", "flags", "group", "regex")

    def __init__(self, regex: str, flags: int, group: str) -> None:
        self.regex = regex
        self.flags = flags
        self.group = group  # where it is kept (see regex_cache)
        self._match: Any = None

    def __call__(self, text: str, pos: int) -> Any:
        if self._match is None:
            self._match = regex_cache.compile(self.regex, self.flags, self.group).match
        return self._match(text, pos)


def _source(rule: Any) -> tuple[str, int] | None:
    """A rule's regex and flags, or None if they cannot be known."""
    if isinstance(rule, _Rule):
        return rule.regex, int(rule.flags)
    pattern = getattr(rule, "__self__", None)  # `default` rules: re.compile('').match
    if isinstance(pattern, re.Pattern):
        return pattern.pattern, int(pattern.flags)
    return None


def _scoped(regex: str) -> str:
    """A regex whose leading global flags, `(?i)...`, apply to it alone: `(?i:...)`."""
    flags = ""
    while m := _LEADING_FLAGS.match(regex):
        flags += m[1]
        regex = regex[m.end() :]
    return f"(?{flags}:{regex})" if flags else regex


def _sources(rules: list[tuple[Any, Any, Any]]) -> list[tuple[str, int]] | None:
    """The rules' regexes and flags, if they can be joined (see the module's docstring)."""
    sources = [found for rule, _, _ in rules if (found := _source(rule)) is not None]
    if not sources or len(sources) != len(rules):
        return None
    flag = sources[0][1]
    if any(other != flag for _, other in sources) or flag & re.VERBOSE:
        return None  # different flags; or verbose, where a comment would swallow the join
    for regex, _ in sources:
        if _OWN_GROUPS.search(regex) or any("x" in m[1] for m in _LEADING_FLAGS.finditer(regex)):
            return None  # refers to its own groups, or is verbose
    return sources


def _join(
    sources: list[tuple[str, int]], which: tuple[int, ...], group: str, now: bool = True
) -> Any:
    """One regex for the rules numbered `which`, and the rule each group names (the
    match's `lastindex`), or None if `re` refuses it; () when `which` is empty. Unless
    `now`, only from the regex file: `_LATER` if it does not hold it."""
    if not which:
        return ()
    pattern = "|".join(f"(?P<r{n}>{_scoped(sources[n][0])})" for n in which)
    joined = None if now else regex_cache.find(pattern, sources[0][1], group)
    if joined is None:
        if not now and regex_cache.keeps():
            return _LATER
        try:
            joined = regex_cache.compile(pattern, sources[0][1], group)
        except (re.error, RecursionError, OverflowError):
            return None
    return joined.match, {joined.groupindex[f"r{n}"]: n for n in which}


_LATER = object()  # (see `_join`)


def _rules_at(chars: tuple[int, ...], c: int) -> tuple[int, ...]:
    """The rules that can match text starting with character `c`, given what each can
    start with (`chars`); all of them for 128 (the end of the text)."""
    bit = 1 << c
    return tuple(n for n, can in enumerate(chars) if c == 128 or can & bit)


class _State:
    """A state's rules joined, one regex for each character that can come next.

    At a position holding `c`, only the rules that can match text starting with `c`
    (`starts`) are joined, in their order: the first of them that matches is the
    first of all the rules that matches, as the others cannot. Made when first needed,
    per character; `at[128]` (the end of the text) joins them all.

    Those alternations are many (one per set of rules), and compiling them for a
    large lexer takes a while (TypeScript's, some 200 ms): where the regex file does
    not hold one yet, this run matches with all the rules and makes it as it ends, for
    the next run (`regex_cache.later`). With no file, they are made at once."""

    __slots__ = ("_group", "_later", "_made", "_rules", "_sources", "_starts", "at")

    def __init__(
        self, sources: list[tuple[str, int]], rules: list[tuple[Any, Any, Any]], group: str
    ) -> None:
        self._sources = sources
        self._rules = rules
        self._group = group
        self._starts: tuple[int, ...] | None = None
        self._made: dict[tuple[int, ...], Any] = {}
        self._later = False  # made for the next run, as this one ends
        self.at: list[Any] = [None] * 129

    def _starts_key(self) -> tuple[Any, ...]:
        return ("starts", _STARTS_VERSION, tuple(self._sources))

    def _make_starts(self) -> tuple[int, ...]:
        return tuple(starts(regex, flags) for regex, flags in self._sources)

    def make(self, c: int) -> Any:
        """The joined regex's match for character `c` (128 and above: all the rules, as
        at the end of the text), with the rule each of its groups names (a list by the
        match's `lastindex`); () if no rule can match there."""
        c = min(c, 128)
        if self._starts is None:
            if regex_cache.keeps():
                self._starts = regex_cache.found(self._starts_key(), tuple, self._group)
                if self._starts is None:  # every rule, at every character, this run
                    self._starts = (ANY,) * len(self._sources)
                    self._keep_later()
            else:
                self._starts = self._make_starts()
        which = _rules_at(self._starts, c)
        found = self._made.get(which)
        if found is None:
            found = _join(self._sources, which, self._group, now=c == 128)
            if found is _LATER:
                self._keep_later()
                found = self.at[128]
            elif found is None:  # (`re` took them all joined, so only in theory)
                if c == 128:
                    raise re.error("the rules cannot be joined")
                found = self.at[128]
            elif found:
                match, index = found
                by_group: list[Any] = [None] * (max(index) + 1)
                for group, n in index.items():
                    by_group[group] = self._rules[n]
                found = match, by_group
            self._made[which] = found
        self.at[c] = found
        return found

    def _keep_later(self) -> None:
        if not self._later:
            self._later = True
            regex_cache.later(self._keep)

    def _keep(self) -> None:
        """As the run ends: the characters each rule can start with, and the alternation
        for each character this run met, made and kept for the next run."""
        chars = regex_cache.kept(self._starts_key(), self._make_starts, tuple, self._group)
        for c in range(128):
            if self.at[c] is not None:
                _join(self._sources, _rules_at(chars, c), self._group)


def _state(rules: list[tuple[Any, Any, Any]], group: str = "") -> _State | None:
    """A state to match by `_State`, or None: rule by rule, as Pygments does; what it
    compiles is kept in `group`'s file."""
    sources = _sources(rules)
    if sources is None:
        return None
    state = _State(sources, rules, group)
    try:
        state.make(128)  # all the rules: `re` must accept them joined
    except re.error:
        return None
    return state


class _Joined:
    """The matching loop of Pygments' RegexLexer, one regex call per position."""

    _tokens: dict[str, list[tuple[Any, Any, Any]]]
    _joined: dict[str, _State | None]  # None: a state matched rule by rule
    _kept_in: str  # the group of its regexes in the regex file (the lexer's name)

    def get_tokens_unprocessed(
        self, text: str, stack: tuple[str, ...] = ("root",)
    ) -> Iterator[Any]:
        from pygments.token import Error, Whitespace, _TokenType  # type: ignore[import-untyped]

        cls = type(self)
        joined = cls._joined
        tokendefs = self._tokens
        pos = 0
        size = len(text)
        statestack = list(stack)
        while True:  # in a state, until it changes or nothing matches
            state = statestack[-1]
            statetokens = tokendefs[state]
            found = joined.get(state)
            if found is None and state not in joined:
                found = joined[state] = _state(statetokens, cls._kept_in)
            at = None if found is None else found.at
            while True:
                m = None
                if at is None:  # rule by rule, as Pygments does
                    for rule in statetokens:
                        m = rule[0](text, pos)
                        if m:
                            rexmatch, action, new_state = rule
                            group = 0
                            break
                else:
                    c = ord(text[pos]) if pos < size else 128
                    pair = at[c if c < 128 else 128]
                    if pair is None:
                        pair = found.make(c)  # type: ignore[union-attr]
                    if pair:
                        m = pair[0](text, pos)
                        if m:
                            group = m.lastindex
                            rexmatch, action, new_state = pair[1][group]
                if not m:
                    break
                if action is None:
                    pos = m.end()
                elif type(action) is _TokenType:
                    value = m.group(group)
                    yield pos, action, value
                    pos += len(value)  # (the group is the whole match)
                else:
                    yield from action(self, m if group == 0 else rexmatch(text, pos))
                    pos = m.end()
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
                    if statestack[-1] != state:
                        break
            if m:
                continue  # a new state
            if pos >= size:
                break
            if text[pos] == "\n":  # at the end of a line, back to "root"
                statestack = ["root"]
                yield pos, Whitespace, "\n"
            else:
                yield pos, Error, text[pos]
            pos += 1
