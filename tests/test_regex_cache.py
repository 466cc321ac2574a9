"""Compiled regexes kept between runs (render.regex_cache): what comes back from the file
is the regex `re` would make; a missing, foreign or damaged file only means compiling
again; a real run keeps the file and the next run reads it."""

from __future__ import annotations

import marshal
import os
import re
import subprocess
import sys
import textwrap
from array import array
from collections.abc import Iterator
from pathlib import Path

import pexpect
import pytest

from chatrepl.render import regex_cache
from tests.server import ChatServer, Script, sse

PATTERNS = [
    (r"(?P<word>\w+)\s*=\s*(?P<value>\d+)", 0),
    (r"^(?:def|class)\b", re.MULTILINE),
    (r"select|from|where", re.IGNORECASE),
    (r"(?<=\$)\{[^}]*\}|(?!x)y+?", 0),
    (r"[\u00c0-\u024f]+|[^\W\d_]+", 0),
    (r"a  b  # spaced", re.VERBOSE),
    (r"(a)(b)?(?(2)c|d)", 0),
    (r".+", re.DOTALL | re.ASCII),
    (r"", 0),
]


@pytest.fixture
def cache(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "regexes.bin"
    regex_cache.use(path)
    yield path
    regex_cache.use(None)


def compiled_without_parsing(patterns: list[tuple[str, int]]) -> list[object]:
    """Each pattern through the cache, with parsing a regex (as compiling one needs)
    refused meanwhile: an AssertionError for a pattern the file does not hold."""
    parse = re._parser.parse  # type: ignore[attr-defined]

    def refuse(*args: object) -> None:
        raise AssertionError(f"parsed again: {args[0]!r}")

    re.purge()  # re's own cache of compiled patterns too
    re._parser.parse = refuse  # type: ignore[attr-defined]
    try:
        return [_try(pattern, flags) for pattern, flags in patterns]
    finally:
        re._parser.parse = parse  # type: ignore[attr-defined]


def _try(pattern: str, flags: int) -> object:
    try:
        return regex_cache.compile(pattern, flags)
    except AssertionError as refused:
        return refused


def test_a_compiled_regex_is_the_one_re_makes(cache: Path) -> None:
    for pattern, flags in PATTERNS:
        made = regex_cache.compile(pattern, flags)
        want = re.compile(pattern, flags)
        assert made == want  # same pattern, flags and engine code
        assert (made.groups, made.groupindex, made.flags) == (
            want.groups,
            want.groupindex,
            want.flags,
        )
        text = "x = 10 def abc select SELECT ${a} yyy ÀÉ ab abd\nx"
        assert [m.span() for m in made.finditer(text)] == [m.span() for m in want.finditer(text)]


def test_the_next_process_reads_them_from_the_file(cache: Path) -> None:
    for pattern, flags in PATTERNS:
        regex_cache.compile(pattern, flags)
    regex_cache.save()
    assert cache.exists()

    wanted = [re.compile(pattern, flags) for pattern, flags in PATTERNS]
    regex_cache.use(cache)  # as a new process starts
    assert compiled_without_parsing(PATTERNS) == wanted


def test_a_text_is_made_once_then_read_from_the_file(cache: Path) -> None:
    made: list[str] = []

    def make() -> str:
        made.append("x")
        return "if|else|elif"

    key = ("words", "2.20", ("if", "else", "elif"), "", r"\b")
    assert regex_cache.text(key, make) == "if|else|elif"
    assert regex_cache.text(key, make) == "if|else|elif"
    regex_cache.save()
    regex_cache.use(cache)  # as a new process starts
    assert regex_cache.text(key, make) == "if|else|elif"
    assert made == ["x"]
    assert regex_cache.text((*key[:2], ("if",), "", ""), lambda: "if") == "if"  # another key


def test_regexes_compiled_by_any_code_meanwhile_come_from_the_file(cache: Path) -> None:
    """`compiling()`: what modules compile as the warm-up imports them (re.compile and
    its cousins) goes through the file too, and `re` is itself again afterwards."""
    original = re._compiler.compile  # type: ignore[attr-defined]
    with regex_cache.compiling():
        re.purge()
        made = [re.compile(pattern, flags) for pattern, flags in PATTERNS]
        assert re.compile(b"bytes (?P<x>too)").match(b"bytes too")  # left to re
        assert re.match(r"x+", "xxy") is not None
    assert re._compiler.compile is original  # type: ignore[attr-defined]
    assert made == [re.compile(pattern, flags) for pattern, flags in PATTERNS]
    regex_cache.save()

    regex_cache.use(cache)  # as a new process starts
    parse = re._parser.parse  # type: ignore[attr-defined]

    def refuse(*args: object) -> None:
        raise AssertionError(f"parsed again: {args[0]!r}")

    re.purge()
    re._parser.parse = refuse  # type: ignore[attr-defined]
    try:
        with regex_cache.compiling():
            again = [re.compile(pattern, flags) for pattern, flags in PATTERNS]
    finally:
        re._parser.parse = parse  # type: ignore[attr-defined]
    assert again == made
    with pytest.raises(re.error), regex_cache.compiling():
        re.compile(r"(unclosed")


def test_a_pattern_re_refuses_raises_as_re_does(cache: Path) -> None:
    with pytest.raises(re.error):
        regex_cache.compile(r"(unclosed")
    assert regex_cache.compile(r"(?P<a>x)(?P=a)") == re.compile(r"(?P<a>x)(?P=a)")


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"not marshal at all \x00\xff",
        marshal.dumps((("chatrepl regexes", 1, "2.7.18 (another Python)", 1, 4), {})),
        marshal.dumps([1, 2, 3]),
        marshal.dumps((("chatrepl regexes", 1, sys.version), {}))[:-3],
    ],
    ids=["empty", "garbage", "another-python", "wrong-shape", "truncated"],
)
def test_a_bad_file_means_compiling_again(cache: Path, content: bytes) -> None:
    cache.write_bytes(content)
    regex_cache.use(cache)
    pattern, flags = PATTERNS[0]
    assert regex_cache.compile(pattern, flags) == re.compile(pattern, flags)
    regex_cache.save()
    regex_cache.use(cache)
    regex_cache.load()
    assert (pattern, flags) in regex_cache._loaded()  # the file was written anew


def test_damaged_code_in_the_file_is_made_again(cache: Path) -> None:
    pattern, flags = PATTERNS[0]
    regex_cache.compile(pattern, flags)
    regex_cache.save()
    header, entries = marshal.loads(cache.read_bytes())
    entry = entries[(pattern, flags)]
    garbage = array(regex_cache._UNIT, [7, 7, 7]).tobytes()
    entries[(pattern, flags)] = (entry[0], garbage, *entry[2:])  # the engine refuses it
    cache.write_bytes(marshal.dumps((header, entries)))
    regex_cache.use(cache)
    assert regex_cache.compile(pattern, flags) == re.compile(pattern, flags)


def test_a_folder_that_cannot_be_written_is_no_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a file"
    blocker.write_text("in the way")
    regex_cache.use(blocker / "regexes.bin")
    try:
        assert regex_cache.compile(r"\d+") == re.compile(r"\d+")
        regex_cache.save()
        assert not (blocker / "regexes.bin").exists()
        assert list(tmp_path.iterdir()) == [blocker]  # no temporary file left either
    finally:
        regex_cache.use(None)


def test_without_a_place_nothing_is_kept(tmp_path: Path) -> None:
    regex_cache.use(None)
    assert regex_cache.compile(r"x+y") == re.compile(r"x+y")
    regex_cache.save()
    assert list(tmp_path.iterdir()) == []


def test_a_lexer_in_a_new_process_lexes_from_the_file(tmp_path: Path) -> None:
    """Two processes: the first compiles Python's joined states (and Rust's) and keeps
    them, with the keyword regexes, in a file for each lexer, and as it ends the
    alternations for the characters it met; the second parses and builds no regex at
    all, gets the same tokens as Pygments with those alternations, and reads Python's
    file only, beside the main file that says which lexer "python" is."""
    path = tmp_path / "regexes.bin"
    code = "def f(x):\n    return f'{x!r:>4}' + \"s\"  # c\n@dec\nclass A(B): pass\n"
    script = textwrap.dedent(
        f"""
        import sys
        from pathlib import Path
        from pygments.lexers import PythonLexer
        from chatrepl.render import regex_cache
        from chatrepl.render.lexers import lexer
        import re._parser
        regex_cache.use(Path({str(path)!r}))
        code = {code!r}
        want = list(PythonLexer(stripnl=False, ensurenl=True, tabsize=4).get_tokens(code))
        if sys.argv[1] == "second":  # no regex is parsed or built from here on
            import pygments.lexer
            def refuse(*args, **kwargs):
                raise AssertionError("made again")
            re._parser.parse = refuse
            pygments.lexer.regex_opt = refuse
        assert list(lexer("python", True).get_tokens(code)) == want
        root = type(lexer("python", True))._joined["root"]
        if sys.argv[1] == "first":
            list(lexer("rust", True).get_tokens("fn main() {{}}" + chr(10)))
            # every rule at every character: the alternations are made as it ends
            assert root.at[ord("d")] is root.at[128]
        else:
            # the main file says which lexer "python" is; its own file holds the rest
            assert sorted(regex_cache._entries) == ["", "PythonLexer"], list(regex_cache._entries)
            assert type(lexer("python", True)).__name__ == "KeptPythonLexer"
            assert root.at[ord("d")] is not root.at[128]  # only the rules that can match
        print(len(regex_cache._loaded("PythonLexer")))
        """
    )
    first = subprocess.run([sys.executable, "-c", script, "first"], capture_output=True,
                           text=True, timeout=60, check=True)  # fmt: skip
    assert path.exists()  # (which lexer each name is: the lexers' own files hold the rest)
    assert path.with_name("regexes.PythonLexer.bin").exists()
    assert path.with_name("regexes.RustLexer.bin").exists()
    second = subprocess.run([sys.executable, "-c", script, "second"], capture_output=True,
                            text=True, timeout=60, check=True)  # fmt: skip
    assert int(first.stdout) >= 3
    assert int(second.stdout) > int(first.stdout)  # what the first made as it ended


@pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")
def test_a_markdown_answer_keeps_its_regexes_for_the_next_run(
    server: ChatServer, chatrepl_home: Path
) -> None:
    """A one-shot answer with Python in it, in a terminal, twice: the first run leaves
    the file in CHATREPL_HOME, and the second looks exactly the same."""
    answer = "Here:\n\n```python\ndef f(x):\n    return x * 2\n```\n\nDone.\n"
    screens = []
    for _ in range(2):
        server.add(Script(pieces=sse(answer)))
        env = {**os.environ, "CHATREPL_HOME": str(chatrepl_home), "CHATREPL_URL": server.url,
               "TERM": "xterm-256color", "COLUMNS": "80", "LINES": "24"}  # fmt: skip
        env.pop("NO_COLOR", None)
        child = pexpect.spawn(sys.executable, ["-m", "chatrepl", "--no-save", "q"], env=env,
                              timeout=15, dimensions=(24, 80))  # fmt: skip
        child.expect(pexpect.EOF)
        child.close()
        assert child.exitstatus == 0
        screens.append(child.before)
        assert list(chatrepl_home.glob("regexes-*.bin"))
    assert b"return" in screens[0] and b"\x1b[" in screens[0]
    assert screens[1] == screens[0]


def test_a_full_file_starts_again_with_what_is_in_use(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(regex_cache, "MAX_ENTRIES", 3)
    for n in range(3):
        regex_cache.compile(f"old{n}+")
    regex_cache.save()
    regex_cache.use(cache)
    regex_cache.compile("new+")  # a fourth: over the limit
    regex_cache.save()
    regex_cache.use(cache)
    regex_cache.load()
    assert sorted(regex_cache._loaded()) == [("new+", 0)]
    assert regex_cache.compile("new+") == re.compile("new+")
