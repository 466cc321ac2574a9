"""Keys as a person presses them, in a real pseudo-terminal."""

from __future__ import annotations

import stat
import sys
from pathlib import Path

from tests.server import ChatServer
from tests.test_pty import finish, prompt, spawn

ALT_ENTER = "\x1b\r"
PASTE_START, PASTE_END = "\x1b[200~", "\x1b[201~"
UP, RIGHT = "\x1b[A", "\x1b[C"


def sent(server: ChatServer) -> list[str]:
    return [r.body["messages"][-1]["content"] for r in server.requests]


def test_newlines_paste_and_history_keys(server: ChatServer, chatrepl_home: Path) -> None:
    child = spawn(server, chatrepl_home)
    prompt(child)
    child.send("first line" + ALT_ENTER + "second line")
    child.sendcontrol("j")
    child.send("third line\r")
    child.expect_exact("Answer 1")
    prompt(child)
    child.send(PASTE_START + "pasted one\rpasted two\r" + PASTE_END)
    child.send("\r")
    child.expect_exact("Answer 2")
    prompt(child)
    child.send("unique walrus question\r")
    child.expect_exact("Answer 3")
    prompt(child)
    child.sendcontrol("r")  # reverse search through the input history
    child.send("walrus")
    child.send("\r")  # accept the match into the line
    child.send("\r")  # and send it
    child.expect_exact("Answer 4")
    prompt(child)
    child.send("uniq")  # a suggestion from history appears; Right accepts it
    child.send(RIGHT)
    child.send("\r")
    child.expect_exact("Answer 5")
    prompt(child)
    child.send(UP + "\r")
    child.expect_exact("Answer 6")
    prompt(child)
    child.sendcontrol("d")
    assert finish(child) == 0
    assert sent(server) == [
        "first line\nsecond line\nthird line",
        "pasted one\npasted two",  # as pasted, trailing newline trimmed
        "unique walrus question",
        "unique walrus question",
        "unique walrus question",
        "unique walrus question",
    ]


def test_tab_completes_commands(server: ChatServer, chatrepl_home: Path) -> None:
    # (The toolbar is checked through the REPL's own test: prompt_toolkit draws it only
    # where the terminal answers cursor-position requests, which pexpect does not.)
    chatrepl_home.mkdir(parents=True)
    (chatrepl_home / "config.toml").write_text('[endpoints.alternative]\nurl = "http://x.test/"\n')
    child = spawn(server, chatrepl_home)
    prompt(child)
    child.send("/sta\t")
    # (prompt_toolkit writes only what changed: "ts" if "/sta" was drawn first)
    child.expect_exact("ts")
    child.send("\r")
    child.expect_exact("No answers yet")  # what /stats says: the completion was taken
    prompt(child)
    child.send("/endpoint alt\t")  # an argument, which Enter alone would not complete
    child.expect_exact("ernative")
    child.send("\r")
    child.expect_exact("alternative: http://x.test/")
    prompt(child)
    child.sendcontrol("d")
    assert finish(child) == 0
    assert server.requests == []


def test_ctrl_x_ctrl_e_edits_the_line_in_the_editor(
    server: ChatServer, chatrepl_home: Path, tmp_path: Path
) -> None:
    editor = tmp_path / "editor"
    editor.write_text(
        f"#!{sys.executable}\nimport sys\np = sys.argv[-1]\n"
        "text = open(p).read()\nopen(p, 'w').write(text.upper())\n"
    )
    editor.chmod(editor.stat().st_mode | stat.S_IEXEC)
    child = spawn(server, chatrepl_home, extra={"EDITOR": str(editor)})
    prompt(child)
    child.send("shout this")
    child.sendcontrol("x")
    child.sendcontrol("e")
    # back at the prompt, not sent yet (the repaint may step over the unchanged space)
    child.expect(r"SHOUT(\x1b\[C| )THIS")
    assert server.requests == []
    child.send("\r")
    child.expect_exact("Answer 1")
    prompt(child)
    child.sendcontrol("d")
    assert finish(child) == 0
    assert sent(server) == ["SHOUT THIS"]


def test_a_paste_without_bracketed_paste_is_one_message(
    server: ChatServer, chatrepl_home: Path
) -> None:
    """Lines that arrive in one read (a terminal or tmux pasting without bracketed
    paste) are one message; the Enter a person presses afterwards sends it."""
    child = spawn(server, chatrepl_home)
    prompt(child)
    child.send("pasted one\rpasted two\rpasted three")
    child.expect_exact("pasted three")
    child.send("\r")
    child.expect_exact("Answer 1")
    prompt(child)
    child.send("typed alone\r")
    child.expect_exact("Answer 2")
    prompt(child)
    child.sendcontrol("d")
    assert finish(child) == 0
    assert sent(server) == ["pasted one\npasted two\npasted three", "typed alone"]


def test_keys_typed_ahead_survive_the_ctrl_c_that_stops_an_answer(
    server: ChatServer, chatrepl_home: Path
) -> None:
    child = spawn(server, chatrepl_home)
    prompt(child)
    child.send("write something slow\r")
    child.expect_exact("word3")
    child.send("keep me")  # typed while the answer streams (not echoed)
    child.sendintr()  # Ctrl-C through the terminal, as a person presses it
    child.expect_exact("Interrupted")
    child.expect_exact("keep me")  # the keys typed ahead reach the next prompt
    child.sendcontrol("u")
    child.sendcontrol("d")
    assert finish(child) == 0
