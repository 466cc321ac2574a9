"""Markdown read and drawn without markdown-it (render.reading, render.inline,
render.layout) looks exactly as rich's Markdown draws it; what it is unsure of goes to
rich; the live region's lenient reading never fails; lexers give Pygments' tokens."""

from __future__ import annotations

import io
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.segment import Segment
from rich.style import Style

from chatrepl.render import make_console
from chatrepl.render.drawing import rich_markdown, trimmed_lines
from chatrepl.render.layout import Layout, markdown
from chatrepl.render.reading import parse

WIDTHS = (13, 40, 90)


def drawn(renderable: Any, width: int) -> list[list[Segment]]:
    """The lines drawn, neighbouring segments of one style joined, and no style the
    same as an empty one (both are written as plain text)."""
    console = make_console(io.StringIO(), force_terminal=True, width=width)
    lines = trimmed_lines(console, renderable, console.options)
    return [
        list(Segment.simplify(Segment(s.text, s.style or Style.null(), s.control) for s in line))
        for line in lines
    ]


def assert_same_as_rich(source: str, theme: str = "monokai") -> None:
    elements = parse(source)
    assert elements is not None, source
    for width in WIDTHS:
        ours = drawn(Layout(elements, theme), width)
        rich = drawn(rich_markdown(source, theme), width)
        assert ours == rich, (source, width)


COMMON = [
    "Here is **how** it works: call `run()` with *care*, see "
    "[the docs](https://docs.python.org/3/library).",
    "# A title\n\nA first paragraph\nthat goes on over two lines.",
    "## Steps\n1. **Install** it: `pip install chatrepl`\n2. Run `chatrepl`\n"
    "3. Ask ~~nothing~~ anything",
    "Some options:\n- `--plain` for text\n- `--no-save` to keep nothing\n- **-c** to go on",
    "* one\n* two with a lazy\ncontinuation line",
    "| Option | Meaning | Default |\n|:-------|:-------:|--------:|\n"
    "| `-c` | continue | off |\n| **-m** | model | none |",
    "| a | b |\n|---|---|\n| short row |\n| x | y | extra |",
    "```python\ndef f(x: int) -> int:\n    return x * 2\n```\nAnd after it, text.",
    "```\nno language\n```",
    "~~~bash\nls -la | grep '^d'\n~~~",
    "```js\nunterminated fence",
    "### Heading with `code` and **bold**\nText right under it.",
    "Wide characters: 日本語のテキスト and emoji 😀 wrap by cell width, over and over again.",
    "a < b and c > d, R&D, 2 * 3 = 6, snake_case_name, 50% off!",
    "3. starts at three\n4. then four",
    "Text then a list:\n1. one\n2. two",
    "_underscored emphasis_ and __strong underscores__",
    "See [the query](https://x.io/a?b=1&c=2#top), [a port](http://localhost:8080/x%20y).",
    "- **Setup**\n  - install it\n  - run `chatrepl`\n- **Use**\n    - ask\n- done",
    "1. First\n   1. one\n   2. two\n      - deeper, with a lazy\n      line\n2. Second",
    "Above\n\n---\n\nBelow, then a rule and a list:\n\n* * *\n- item",
    "# Title\n___\n| a | b |\n|---|---|\n| 1 | 2 |",
    "> **Note:** quoted, and long enough to wrap in a narrow window\n> over two lines\n>\n"
    "> and a second paragraph",
]


@pytest.mark.parametrize("source", COMMON)
def test_common_answer_shapes_are_drawn_as_rich_draws_them(source: str) -> None:
    assert_same_as_rich(source)


@pytest.mark.parametrize("theme", ["default", "solarized-light", "ansi_dark"])
def test_code_in_other_themes(theme: str) -> None:
    assert_same_as_rich("```python\nx = {'a': 1}  # note\n```\ntext", theme)


UNSURE = [
    "> a quote\nand a lazy line",
    "> - a list in a quote",
    "- outer\n  more of its text",
    "1. a\n    2. b (an ordered list interrupts a paragraph only from 1)",
    "- a\n  - b\nlazy, right after a nested list",
    "- a\n        - indented as code",
    "- loose\n\n- list",
    "<div>html</div>",
    "an <b>inline</b> tag",
    "an \\*escaped\\* star",
    "an &amp; entity",
    "an ![image](https://x.io/a.png)",
    "a [reference][ref] link",
    "Setext\n======",
    "Setext two\n---",
    "    indented code",
    "a\ttab",
    "**mismatched*",
    "intra*word*emphasis",
    "[label with *star*](https://x.io)",
    "[x](javascript:alert(1))",
    "[an entity in a link](https://x.io/?a=1&amp;b=2)",
    "[a space](https://x.io/a b)",
    "| no | delimiter |\n| row | here |",
    "text\n| a | b |\n|---|---|",
    "trailing two spaces  \nmake a hard break",
    "## heading ##",
]


@pytest.mark.parametrize("source", UNSURE)
def test_what_it_is_unsure_of_goes_to_rich(source: str) -> None:
    assert parse(source) is None
    renderable = markdown(source)
    assert type(renderable).__name__ == "SharedParserMarkdown"
    drawn(renderable, 40)  # rich draws it (an HTML block as nothing, as rich does)


FRAGMENTS = [
    "word", "Ünï", "日本", "x", " ", " ", "  ", "\n", "\n", "\n\n", "**", "*", "_", "__",
    "~~", "~", "`", "``", "[a](https://x.io/p)", "[b c](http://e.org)", "[", "]", "(", ")",
    "[q](https://x.io/a?b=1&c=2)", "[p](http://localhost:8080/x%20y)", "[e](https://x.io/&copy;)",
    "<", "<b>", "&", "&amp;", "!", "#", "# ", "## ", "- ", "* ", "+ ", "1. ", "2) ", "|",
    "| a | b |\n|---|:-:|\n", "| c | d |\n", "```py\n", "```\n", "~~~\n", "> ", "---",
    "===", "\\", ".", ",", ":", "'", '"', "😀", "    ", "\xa0", "  \n", "***", "___",
    "* * *", ">", "> **q** ",
]  # fmt: skip
ANY_MARKDOWN = st.lists(st.sampled_from(FRAGMENTS), max_size=25).map("".join)


def _list_text(tree: list[Any], marker: str, indent: int = 0) -> str:
    """A list of `tree` (items: text and maybe (subtree, extra indent)), nested lists
    indented to their item's text plus the extra (more than 3 makes code)."""
    lines = []
    for n, (text, child) in enumerate(tree):
        mark = marker if marker[0] in "-*" else f"{n + 1}{marker[1:]}"
        lines.append(" " * indent + mark + text)
        if child is not None:
            subtree, extra = child
            inner = "* " if marker == "- " else ("1. " if marker[0] in "-*" else "- ")
            lines.append(_list_text(subtree, inner, indent + len(mark) + extra))
    return "\n".join(lines)


WORD = st.sampled_from(
    ["word", "Ünï", "日本語", "a", "x1", "😀", "snake_case", "2", "it's", '"q"', "(p)",
     "a.b", "end.", "-", "–", "→", "&", "<", "!", "#", "%", "$5", ":", "|"]
)  # fmt: skip
SPAN = WORD.flatmap(
    lambda w: st.sampled_from(
        ["{}", "**{}**", "*{}*", "_{}_", "__{}__", "~~{}~~", "`{}`", "``{}``", "**`{}`**",
         "*{} **x**.*", "[{}](https://ex.am/p)"]
    ).map(lambda f: f.format(w))
)  # fmt: skip
SEP = st.sampled_from([" ", " ", ", ", ". ", "\n", " — ", "", ": "])
TEXT = st.lists(st.tuples(SPAN, SEP), min_size=1, max_size=12).map(
    lambda xs: "".join(a + b for a, b in xs).strip()
)
LINE = TEXT.map(lambda s: s.replace("\n", " "))
ITEM = st.lists(
    st.sampled_from(["word", "**bold**", "`code`", "*em*", "日本語", "x1", "a.b", "and", "😀"]),
    min_size=1,
    max_size=8,
).map(" ".join)
NESTED = st.recursive(
    st.builds(list, st.lists(st.tuples(ITEM, st.none()), min_size=1, max_size=3)),
    lambda children: st.lists(
        st.tuples(ITEM, st.one_of(st.none(), st.tuples(children, st.integers(0, 4)))),
        min_size=1,
        max_size=3,
    ),
    max_leaves=6,
).flatmap(
    lambda tree: st.sampled_from(["- ", "* ", "1. ", "3) "]).map(lambda m: _list_text(tree, m))
)
BLOCK = st.one_of(
    TEXT,
    LINE.map(lambda s: "## " + s),
    LINE.map(lambda s: "# " + s),
    st.lists(LINE, min_size=1, max_size=4).map(lambda xs: "\n".join("- " + x for x in xs)),
    st.lists(LINE, min_size=1, max_size=4).map(
        lambda xs: "\n".join(f"{i + 3}. {x}" for i, x in enumerate(xs))
    ),
    st.lists(st.lists(LINE.map(lambda s: s.replace("|", "/")), min_size=2, max_size=2),
             min_size=2, max_size=4).map(
        lambda rows: "\n".join(
            ["| " + " | ".join(rows[0]) + " |", "|:--|--:|"]
            + ["| " + " | ".join(r) + " |" for r in rows[1:]]
        )
    ),
    st.sampled_from(
        ["```python\ndef f(x):\n    return x * 2\n```", "~~~\nplain\n~~~", "```\nopen"]
    ),
    NESTED,
    st.sampled_from(["---", "***", "___", "- - -", "* * *", "_ _ _"]),
    st.lists(st.one_of(ITEM, st.just("")), min_size=1, max_size=4).map(
        lambda xs: "\n".join(("> " + x) if x else ">" for x in xs)
    ),
)  # fmt: skip
DOCUMENT = st.lists(st.tuples(BLOCK, st.sampled_from(["\n", "\n\n"])), min_size=1, max_size=4).map(
    lambda xs: "".join(a + b for a, b in xs)
)


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.one_of(ANY_MARKDOWN, DOCUMENT))
def test_whatever_it_reads_it_draws_as_rich_does(source: str) -> None:
    """For any Markdown: either `parse` is unsure, or the drawing is rich's, segment for
    segment, at a narrow, a middling and a wide width."""
    if parse(source) is not None:
        assert_same_as_rich(source)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(NESTED)
def test_nested_lists_it_reads_draw_as_rich_does(source: str) -> None:
    if parse(source) is not None:
        assert_same_as_rich(source)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.one_of(ANY_MARKDOWN, DOCUMENT), st.integers(0, 60))
def test_the_lenient_reading_of_any_unfinished_tail_draws(source: str, cut: int) -> None:
    tail = source[: len(source) * cut // 60]
    elements = parse(tail, lenient=True)
    assert elements is not None
    drawn(Layout(elements, "monokai"), 30)


def test_lenient_shows_what_it_cannot_read_as_it_is() -> None:
    lines = drawn(markdown("an **unclosed and | half\n|--", lenient=True), 80)
    assert "".join(seg.text for seg in lines[0]) == "an **unclosed and | half |--"
    code = parse("text\n```python\nx = 1", lenient=True)
    assert code is not None and type(code[-1]).__name__ == "Code"


def test_drawing_an_answer_imports_no_markdown_it() -> None:
    """The benchmark's kind of answer (paragraphs, lists, tables, code, headings) is
    drawn without importing markdown-it, rich's Markdown, Table or Syntax."""
    script = textwrap.dedent(
        """
        import io, sys
        sys.path.insert(0, "bench")
        from answers import markdown_answer
        from chatrepl.render import Renderer, make_console
        renderer = Renderer(make_console(io.StringIO(), force_terminal=True, width=90))
        with renderer.answer() as view:
            for piece in markdown_answer(3000):
                view.text(piece)
        loaded = [m for m in ("markdown_it", "rich.markdown", "rich.table", "rich.syntax")
                  if m in sys.modules]
        print(loaded, len(renderer.console.file.getvalue()))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    loaded, size = result.stdout.rsplit(" ", 1)
    assert loaded == "[]"
    assert int(size) > 10_000


# ------------------------------------------------------------------ lexers

LANGUAGES = ["python", "bash", "javascript", "typescript", "rust", "go", "java", "sql",
             "html", "json", "yaml", "toml", "c", "ruby", "diff", "css"]  # fmt: skip
CODE_TEXT = st.lists(
    st.sampled_from([*"abcdefxyz_019 \n\t()[]{}<>=+-*/%.,:;'\"`#@!$&|\\^~?",
        "def ", "class ", "return ", "import ", "if ", "for ", "fn ", "let ", "const ",
        "function ", "SELECT ", "true", "None", "0x1f", "1e3", "f'", "'''", '"""', "//", "/*",
        "*/", "<div>", "</div>", "${", "\n    ", "@dec\n", "async ", "await "]),
    max_size=60,
).map("".join)  # fmt: skip


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.sampled_from(LANGUAGES), CODE_TEXT)
def test_lexers_give_pygments_tokens(language: str, code: str) -> None:
    from pygments.lexers import find_lexer_class_by_name

    from chatrepl.render.lexers import lexer

    code = code.expandtabs(4) + "\n"
    want = list(find_lexer_class_by_name(language)(stripnl=False, ensurenl=True, tabsize=4)
                .get_tokens(code))  # fmt: skip
    assert list(lexer(language, code.isascii()).get_tokens(code)) == want


SAMPLE = (
    "def f(x):\n    return x * 2  # c\nclass A: pass\n<div a='1'>hi &amp; bye</div>\n"
    "{\"k\": [1, 2.5, true, null]}\nSELECT * FROM t WHERE a = 'b';\n"
    '$x = `ls`; echo "$HOME" | grep -v ^#\n@media (x) { a { color: red } }\n'
)


def lexers_and_tokens() -> Iterator[tuple[Any, Any, list[Any]]]:
    """Each of Pygments' regex lexers that can be made faster (some 430), its faster
    class, and Pygments' own tokens of a sample of mixed code, markup and data."""
    from pygments.lexers import find_lexer_class_by_name, get_all_lexers

    from chatrepl.render.lexers import _fast_class

    for _, aliases, _, _ in get_all_lexers():
        if not aliases:
            continue
        cls = find_lexer_class_by_name(aliases[0])
        fast = _fast_class(cls)
        if fast is None:
            continue
        try:
            want = list(cls(stripnl=False, ensurenl=True, tabsize=4).get_tokens(SAMPLE))
        except Exception:  # a few lexers need options or fail on foreign text
            continue
        yield cls, fast, want


def test_every_pygments_lexer_gives_its_own_tokens() -> None:
    compared = 0
    for cls, fast, want in lexers_and_tokens():
        assert list(fast(stripnl=False, ensurenl=True, tabsize=4).get_tokens(SAMPLE)) == want, cls
        compared += 1
    assert compared > 300


def test_python_states_are_joined() -> None:
    """The speed comes from joined states: a change that stopped joining them (a flag
    Python's re refuses, say) would still pass the token test, so check it happens."""
    from chatrepl.render.lexers import lexer

    python = lexer("python", True)
    list(python.get_tokens("def f(x):\n    return f'{x}'\n"))
    joined = type(python)._joined
    assert joined["root"] is not None
    assert sum(found is not None for found in joined.values()) >= 3


def test_ascii_parts_are_the_ascii_members_of_the_classes() -> None:
    import re

    from chatrepl.render.lexers import _ascii_classes

    for whole, ascii_part in _ascii_classes():
        members = {chr(c) for c in range(128) if re.fullmatch(f"[{whole}]", chr(c))}
        assert members == {chr(c) for c in range(128) if re.fullmatch(f"[{ascii_part}]", chr(c))}


def test_token_styles_are_richs() -> None:
    from pygments.token import Comment, Keyword, Name, String, Token
    from rich.syntax import RICH_SYNTAX_THEMES, Syntax

    from chatrepl.render.drawing import ANSI_THEMES, _token_styles

    assert set(ANSI_THEMES) == set(RICH_SYNTAX_THEMES)
    for theme in ("monokai", "default", "dracula", "solarized-light", "no-such-theme"):
        styles = _token_styles(theme)
        assert styles is not None
        rich_theme = Syntax.get_theme(theme)
        assert styles.base == rich_theme.get_background_style()
        for token in (Keyword, Name.Function, String, Comment, Token, Name.Builtin.Pseudo):
            assert styles.style_for(token) == rich_theme.get_style_for_token(token)
    assert _token_styles("ansi_dark") is None


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    st.lists(st.sampled_from([*"code 12·–py ", "中", "é", "\u0301", "\t", "x" * 9])).map("".join),
    st.sampled_from([1, 5, 13, 40]),
)
def test_a_label_is_drawn_as_rich_draws_it(label: str, width: int) -> None:
    from rich.text import Text

    from chatrepl.render.drawing import label_lines

    console = make_console(io.StringIO(), force_terminal=True, width=width)
    want = trimmed_lines(console, Text(label, style="dim"), console.options)
    assert label_lines(console, label, "dim") == want


ASCII_CELL = st.lists(
    st.sampled_from(["word", "**bold**", "`code`", "*em*", "x1", "a.b", "", "and", "~~s~~",
                     "[l](https://e.x/p)", "averyveryveryverylongword"]),
    max_size=4,
).map(" ".join)  # fmt: skip


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    st.lists(st.sampled_from(["---", ":--", "--:", ":-:"]), min_size=1, max_size=4).flatmap(
        lambda aligns: st.lists(
            st.lists(ASCII_CELL, min_size=len(aligns), max_size=len(aligns)),
            min_size=1,
            max_size=4,
        ).map(
            lambda rows: "\n".join(
                ["| " + " | ".join(rows[0]) + " |", "|" + "|".join(aligns) + "|"]
                + ["| " + " | ".join(row) + " |" for row in rows[1:]]
            )
        )
    )
)
def test_ascii_tables_are_drawn_as_rich_draws_them(source: str) -> None:
    """Cells of printable ASCII are drawn without rich's Text (`layout._Cell`): every
    alignment, styled and empty cells, and tables too wide for a line (rich's Table)."""
    assert_same_as_rich(source)
