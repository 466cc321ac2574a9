"""`render.starts`: the characters a regex's match can start with may be too many, never
too few; and the lexers that try only those rules still give Pygments' tokens."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chatrepl.render.starts import ANY, starts


def chars(text: str) -> int:
    return sum(1 << ord(c) for c in text)


@pytest.mark.parametrize(
    ("pattern", "want"),
    [
        (r"def\b", chars("d")),
        (r"(def)((?:\s|\\\s)+)", chars("d")),
        (r"(?i)abc", chars("aA")),
        (r"(?i:[a-c_])x", chars("abcABC_")),
        (r"[^a]", ANY & ~chars("a")),
        (r"a*b", chars("ab")),
        (r"(a|bc|)d", chars("abd")),
        (r"\bfoo", chars("f")),
        (r"(?=x)y|^z", chars("yz")),
        (r"(?<=x)y", chars("y")),
        (r"\d+", chars("0123456789")),
        (r"(?:if|elif|else)\b", chars("ie")),
        ("\u00e9t\u00e9", 0),  # cannot match ASCII text
    ],
)
def test_the_characters_a_match_can_start_with(pattern: str, want: int) -> None:
    assert starts(pattern) == want


@pytest.mark.parametrize(
    "pattern",
    [
        "a*",  # can be empty: matches before any character
        "",
        "(?=a)",
        r"(b?)\1a",  # back references are not followed
        "(?i)\u212a",  # the Kelvin sign matches "k" when case is ignored
        "(?i)[\u0100-\u017f]",  # ſ matches "s"
        ".",
        "[",  # not a regex
    ],
)
def test_when_unsure_any_character(pattern: str) -> None:
    assert starts(pattern) == ANY


def test_kelvin_sign_really_matches_k() -> None:
    assert re.match("(?i)\u212a", "k")  # why non-ASCII under IGNORECASE means any


ATOMS = st.sampled_from(
    ["a", "b", "A", "1", " ", "_", "-", r"\n", "[ab]", "[^a]", "[a-cX]", r"\d", r"\w", r"\s",
     r"\W", ".", "^", "$", r"\b", r"\B", "(?=a)", "(?!b)", "(?<=a)", "(?<!b)", "\u212a",
     "\u00e9"]
)  # fmt: skip


def _regex(depth: int = 3) -> st.SearchStrategy[str]:
    if depth == 0:
        return ATOMS
    inner = _regex(depth - 1)
    return st.one_of(
        ATOMS,
        st.lists(inner, min_size=1, max_size=4).map("".join),
        st.lists(inner, min_size=2, max_size=3).map("|".join),
        inner.map(lambda r: f"({r})"),
        inner.map(lambda r: f"(?:{r})"),
        inner.map(lambda r: f"(?i:{r})"),
        inner.map(lambda r: f"(?>{r})"),
        st.tuples(inner, st.sampled_from(["*", "+", "?", "{0,2}", "{2}", "*?", "*+"])).map(
            lambda t: f"(?:{t[0]}){t[1]}"
        ),
    )


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(_regex(), st.text(alphabet="aAbBkK1 _-\n", min_size=1, max_size=8))
def test_a_match_never_starts_outside_the_set(pattern: str, text: str) -> None:
    try:
        compiled = re.compile(pattern)
    except re.error:
        return
    found = starts(pattern)
    for pos in range(len(text)):
        if compiled.match(text, pos):
            assert found >> ord(text[pos]) & 1, (pattern, text, pos)


def test_every_rule_of_common_lexers_matches_only_where_it_can_start() -> None:
    """The rules of real lexers, at every position of mixed code."""
    from pygments.lexers import find_lexer_class_by_name

    from chatrepl.render.lexers import _fast_class
    from chatrepl.render.matching import _source

    sample = (
        "def f(x):\n    return x * 2  # c\nclass A: pass\n<div a='1'>hi &amp; bye</div>\n"
        "{\"k\": [1, 2.5, true, null]}\nSELECT * FROM t WHERE a = 'b';\n"
        '$x = `ls`; echo "$HOME" | grep -v ^#\n@media (x) { a { color: red } }\n'
        "fn main() -> Result<(), E> { let v = vec![1u8]; Ok(()) }\n/* c */ // d\n"
    )
    checked = 0
    for language in (
        "python",
        "javascript",
        "typescript",
        "rust",
        "bash",
        "sql",
        "html",
        "go",
        "css",
        "java",
        "toml",
        "diff",
    ):
        fast = _fast_class(find_lexer_class_by_name(language))
        assert fast is not None
        fast(stripnl=False)  # its rules, processed
        for rules in fast._tokens.values():
            for rule, _, _ in rules:
                source = _source(rule)
                if source is None:
                    continue
                regex, flags = source
                compiled = re.compile(regex, flags)
                found = starts(regex, flags)
                for pos in range(len(sample)):
                    if compiled.match(sample, pos):
                        assert found >> ord(sample[pos]) & 1, (language, regex, pos)
                        checked += 1
    assert checked > 1000


def test_python_tries_few_rules_at_a_name() -> None:
    """The speed comes from trying only the rules that can start at a character: a
    change that put every rule back (a too wide `starts`) would still give the right
    tokens, so check it does not."""
    from chatrepl.render.lexers import lexer

    python = lexer("python", True)
    list(python.get_tokens("value = 1\n"))
    root = type(python)._joined["root"]
    assert root is not None
    _, index_at_v = root.at[ord("v")]
    _, index_at_end = root.at[128]
    assert len(index_at_v) < len(index_at_end) / 2


def test_starts_are_kept_with_the_regexes(tmp_path: Path) -> None:
    from chatrepl.render import regex_cache
    from chatrepl.render.matching import _state

    regex_cache.use(tmp_path / "regexes.bin")
    try:
        rules = [(regex_cache.compile(p, re.M).match, None, None) for p in ("a+", "b")]
        state = _state(rules)
        assert state is not None
        assert state.make(ord("b"))
        regex_cache.save()
        regex_cache.use(tmp_path / "regexes.bin")
        kept = [key for key in regex_cache._loaded() if key[0] == "starts"]
        assert len(kept) == 1
        assert regex_cache._loaded()[kept[0]] == (chars("a"), chars("b"))
    finally:
        regex_cache.use(None)
