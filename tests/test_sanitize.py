"""Nothing from the server drives the terminal: the sanitizer, whole and split."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chatrepl.sanitize import Sanitizer, sanitize
from tests.helpers import run_chatrepl, split_at
from tests.server import ChatServer, Script, sse

# (name, hostile input, what must remain)
HOSTILE = [
    ("csi colour", "a\x1b[31mred\x1b[0mb", "aredb"),
    ("csi private mode (alt screen)", "x\x1b[?1049hy\x1b[?1049lz", "xyz"),
    ("csi clear screen", "\x1b[2J\x1b[Hhome", "home"),
    ("csi with intermediates", "a\x1b[1 qb", "ab"),
    ("osc title, BEL", "\x1b]0;pwned\x07text", "text"),
    ("osc hyperlink, ST", "\x1b]8;;http://evil\x1b\\link\x1b]8;;\x1b\\", "link"),
    ("osc 52 clipboard write", "\x1b]52;c;ZXZpbA==\x07ok", "ok"),
    ("dcs", "a\x1bPq#0;2;0;0;0\x1b\\b", "ab"),
    ("sos", "a\x1bXhidden\x1b\\b", "ab"),
    ("pm", "a\x1b^hidden\x1b\\b", "ab"),
    ("apc", "a\x1b_hidden\x1b\\b", "ab"),
    ("two-byte escapes", "a\x1bcb\x1b7c\x1b8d\x1b=e", "abcde"),
    ("charset designation", "a\x1b(0b", "ab"),
    ("8-bit csi", "a\x9b31mb", "ab"),
    ("8-bit osc", "a\x9d0;t\x9cb", "ab"),
    ("other c1", "a\x85\x8d\x8eb", "ab"),
    ("c0 controls", "a\x00\x01\x07\x08\x0b\x0c\r\x0e\x1fb", "ab"),
    ("del", "a\x7fb", "ab"),
    ("tab and newline stay", "a\tb\nc", "a\tb\nc"),
    ("bidi overrides", "a\u202eb\u202dc\u2066d\u2069e\u202af\u202bg\u202ch", "abcdefgh"),
    ("unicode text stays", "日本語 é 😀 \u2028", "日本語 é 😀 \u2028"),
    ("esc then non-ascii", "a\x1bé", "aé"),
    ("csi broken by text", "a\x1b[12;é", "aé"),
    ("esc esc", "a\x1b\x1b[31mb", "ab"),
    ("osc ended by new escape", "a\x1b]0;t\x1b[31mb", "ab"),
]


@pytest.mark.parametrize(("name", "hostile", "safe"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_whole_and_one_character_at_a_time(name: str, hostile: str, safe: str) -> None:
    assert sanitize(hostile) == safe
    s = Sanitizer()
    assert "".join(s.feed(ch) for ch in hostile) == safe


@settings(max_examples=200, deadline=None)
@given(case=st.sampled_from(HOSTILE), cuts=st.lists(st.integers(0, 100), max_size=6))
def test_any_split(case: tuple[str, str, str], cuts: list[int]) -> None:
    _, hostile, safe = case
    s = Sanitizer()
    assert "".join(s.feed(p) for p in split_at(hostile, cuts)) == safe


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_output_never_holds_a_control_character(text: str) -> None:
    out = sanitize(text)
    assert all(ch in "\t\n" or not (ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F) for ch in out)
    assert not any("\u202a" <= ch <= "\u202e" or "\u2066" <= ch <= "\u2069" for ch in out)


def test_an_unterminated_sequence_does_not_swallow_the_answer() -> None:
    s = Sanitizer()
    out = s.feed("\x1b]0;" + "x" * 5000 + " visible")
    assert out.endswith(" visible")


def test_plain_text_passes_unchanged() -> None:
    text = "Just **markdown** with [links](http://x) and `code`.\n" * 100
    assert sanitize(text) == text


def test_a_json_export_to_a_terminal_is_escaped_and_to_a_pipe_exact(
    server: ChatServer, chatrepl_home: Path
) -> None:
    hostile = "right\u202eto left, C1 \x9b31m, DEL \x7f"
    server.add(Script(pieces=sse(hostile)))
    run_chatrepl(chatrepl_home, "q", url=server.url, check=True)
    cid = run_chatrepl(chatrepl_home, "--list").stdout.split("\t")[0]
    piped = run_chatrepl(chatrepl_home, "--export", cid, "--format", "json").stdout
    shown = run_chatrepl(chatrepl_home, "--export", cid, "--format", "json", tty=True).stdout
    assert hostile in piped  # exact bytes to a file or a pipe
    assert not any(c in shown for c in "\u202e\x9b\x7f")  # nothing raw reaches a terminal
    assert "\\u202e" in shown and "\\u009b" in shown
    assert json.loads(shown) == json.loads(piped)  # the same JSON all the same
