"""Lexers and code themes kept as tables (render.tables, render.drawing): rebuilt from
what the file holds, they give Pygments' tokens and rich's styles, and a run that has
them imports none of Pygments' lexers or styles."""

from __future__ import annotations

import marshal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chatrepl.render import regex_cache
from tests.test_layout import CODE_TEXT, LANGUAGES, SAMPLE, lexers_and_tokens


def _rebuilt(cls: Any) -> Any:
    """`cls` made fast, described, written and read back by marshal, and rebuilt; None
    if it cannot be described."""
    from chatrepl.render.lexers import _fast_class, from_table, table_of

    fast = _fast_class(cls)
    table = None if fast is None else table_of(fast(stripnl=False, ensurenl=True, tabsize=4))
    return None if table is None else from_table(marshal.loads(marshal.dumps(table)), "")


def test_every_described_lexer_gives_pygments_tokens() -> None:
    """Every Pygments lexer whose table can be described (some 380 of 430), rebuilt from
    it, lexes a mixed sample to the same tokens as Pygments' own."""
    compared = 0
    for cls, _, want in lexers_and_tokens():
        kept = _rebuilt(cls)
        if kept is not None:
            assert list(kept.get_tokens(SAMPLE)) == want, cls
            compared += 1
    assert compared > 300


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.sampled_from(LANGUAGES), CODE_TEXT, st.sampled_from(["", "\r\n", "\ufeff", "\t"]))
def test_rebuilt_lexers_give_pygments_tokens(language: str, code: str, extra: str) -> None:
    """Generated code, with what Pygments tidies first (tabs, CR LF, a byte-order mark)."""
    from pygments.lexers import find_lexer_class_by_name

    cls = find_lexer_class_by_name(language)
    kept = _rebuilt(cls)
    if kept is None:
        # not regex lexers, another loop than Pygments' RegexLexer's, or other lexers
        # as callbacks (HTML's CSS and JavaScript)
        assert language in ("json", "yaml", "ruby", "c", "html")
        return
    code = extra + code if extra == "\ufeff" else code.replace("\n", extra or "\n")
    if not code.isascii():
        return
    want = list(cls(stripnl=False, ensurenl=True, tabsize=4).get_tokens(code))
    assert list(kept.get_tokens(code)) == want


@pytest.mark.parametrize("language", ["html", "markdown"])
def test_a_lexer_with_callbacks_of_its_own_is_not_described(language: str) -> None:
    from pygments.lexers import find_lexer_class_by_name

    from chatrepl.render.lexers import _fast_class
    from chatrepl.render.matching import _source
    from chatrepl.render.tables import describe

    fast = _fast_class(find_lexer_class_by_name(language))
    assert fast is not None
    assert describe(fast(stripnl=False, ensurenl=True, tabsize=4)._tokens, _source) is None


_DRAW = """
import sys
from pathlib import Path
from chatrepl.render import regex_cache
from chatrepl.render.drawing import code_lines
regex_cache.use(Path(sys.argv[1]))
blocks = [("python", "@dec\\nclass A(B):\\n    def f(self, x=1):\\n        return f'{x!r}'\\n"),
          ("kotlin", "fun main() { val x: Int = 1; println(\\"$x\\") }\\n"),
          ("html", "<p class='a'>x</p><style>a {}</style>\\n"),
          ("no-such-language", "x = 1\\n")]
for language, code in blocks:
    print(repr(code_lines(code, language, "monokai", 60)))
    if language == "kotlin":  # (HTML's lexer imports others)
        print(sorted(m for m in sys.modules if m.startswith("pygments.")))
print(sorted(m for m in sys.modules if m.startswith("pygments.")))
"""


def test_a_run_with_the_tables_imports_no_lexer_or_style_module(tmp_path: Path) -> None:
    """The first run draws code through Pygments and keeps the tables; the next draws
    the same cells (Ruby still through Pygments, which has callbacks of its own) while
    importing no lexer module for the languages it has tables for, nor any style (HTML,
    whose callbacks are other lexers, is still made by Pygments)."""
    path = tmp_path / "regexes.bin"

    def run() -> list[str]:
        done = subprocess.run([sys.executable, "-c", _DRAW, str(path)], capture_output=True,
                              text=True, timeout=120, check=True)  # fmt: skip
        return done.stdout.splitlines()

    first = run()
    second = run()
    assert second[:2] + second[3:-1] == first[:2] + first[3:-1]  # the cells drawn
    assert "pygments.lexers.python" in first[2] and "pygments.styles" in first[2]
    modules = eval(second[2])  # after Python and Kotlin
    assert "pygments.lexers.python" not in modules
    assert "pygments.lexers.jvm" not in modules  # Kotlin's
    assert not any(m.startswith(("pygments.styles", "pygments.lexers")) for m in modules)
    assert "pygments.lexers.html" in eval(second[-1])  # not described: made by Pygments


def test_a_kept_theme_gives_the_styles_pygments_gives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pygments.token import Comment, Keyword, Name, String, Token

    from chatrepl.render import drawing

    themes = ("monokai", "default", "dracula", "solarized-light", "no-such-theme")
    tokens = (Keyword, Name.Function, String, Comment, Token, Name.Builtin.Pseudo, Token.No.Such)
    drawing._token_styles.cache_clear()
    made = {theme: drawing._token_styles(theme) for theme in themes}  # no file: made
    regex_cache.use(tmp_path / "regexes.bin")
    try:
        drawing._token_styles.cache_clear()
        for theme in themes:
            drawing._token_styles(theme)  # made and kept
        regex_cache.save()
        regex_cache.use(tmp_path / "regexes.bin")
        drawing._token_styles.cache_clear()

        def refuse(theme: str) -> Any:
            raise AssertionError("made again")

        monkeypatch.setattr(drawing, "_theme_table", refuse)
        for theme in themes:
            kept, want = drawing._token_styles(theme), made[theme]
            assert kept is not None and want is not None
            assert kept.base == want.base
            assert [kept.style(t)[0] for t in tokens] == [want.style(t)[0] for t in tokens]
    finally:
        regex_cache.use(None)
        drawing._token_styles.cache_clear()


@pytest.mark.parametrize(
    "damage",
    [
        lambda table: {"root": ((r"\s+", 0, ("t",), None),)},  # an action cut short
        lambda table: {"root": (("x", 0),)},  # a rule cut short
        lambda table: {"root": ((r"\w+", 0, ("t", (7,)), None),)},  # a token of no name
    ],
    ids=["action", "rule", "token"],
)
def test_a_damaged_table_means_making_the_lexer_again(tmp_path: Path, damage: Any) -> None:
    from pygments.lexers import PythonLexer

    from chatrepl.render import lexers

    path = tmp_path / "regexes.bin"
    code = "def f(x):\n    return x\n"
    want = list(PythonLexer(stripnl=False, ensurenl=True, tabsize=4).get_tokens(code))
    regex_cache.use(path)
    try:
        lexers.lexer.cache_clear()
        lexers.lexer("python", True)  # made, its table kept
        regex_cache.save()
        _, key = lexers._table_keys("python")
        table_file = path.with_name("regexes.PythonLexer.bin")
        header, entries = marshal.loads(table_file.read_bytes())
        entries[key] = damage(entries[key])
        table_file.write_bytes(marshal.dumps((header, entries)))
        regex_cache.use(path)
        lexers.lexer.cache_clear()
        made = lexers.lexer("python", True)
        assert type(made).__name__ == "FastPythonLexer"  # not from the table
        assert list(made.get_tokens(code)) == want
        regex_cache.save()  # the table is written again in place of the damaged one
        regex_cache.use(path)
        lexers.lexer.cache_clear()
        assert type(lexers.lexer("python", True)).__name__ == "KeptPythonLexer"
    finally:
        regex_cache.use(None)
        lexers.lexer.cache_clear()


def test_a_damaged_theme_means_making_it_again(tmp_path: Path) -> None:
    from pygments.token import Keyword

    from chatrepl.render import drawing

    drawing._token_styles.cache_clear()
    want = drawing._token_styles("monokai")
    assert want is not None
    path = tmp_path / "regexes.bin"
    regex_cache.use(path)
    try:
        drawing._token_styles.cache_clear()
        drawing._token_styles("monokai")
        regex_cache.save()
        header, entries = marshal.loads(path.read_bytes())
        key = next(k for k in entries if k[0] == "theme")
        background = entries[key][0]
        entries[key] = (background, {("Keyword",): ("66d9ef", "", "bold")})  # cut short
        path.write_bytes(marshal.dumps((header, entries)))
        regex_cache.use(path)
        drawing._token_styles.cache_clear()
        kept = drawing._token_styles("monokai")
        assert kept is not None
        assert kept.style(Keyword)[0] == want.style(Keyword)[0]
        regex_cache.save()  # made again and kept in place of the damaged one
        assert drawing._theme_table_is_whole(marshal.loads(path.read_bytes())[1][key])
    finally:
        regex_cache.use(None)
        drawing._token_styles.cache_clear()
