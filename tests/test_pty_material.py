"""Files in and code out, typed into the real program in a pseudo-terminal."""

from __future__ import annotations

import base64
import sys
from pathlib import Path

import pexpect
import pytest

from tests.server import ChatServer
from tests.test_pty import finish, prompt
from tests.test_pty import spawn as pty_spawn

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")


def spawn(server: ChatServer, home: Path, cwd: Path) -> pexpect.spawn:
    """chatrepl in `cwd`, with /copy going through OSC 52 into the pty's output."""
    return pty_spawn(server, home, cwd=cwd, extra={"CHATREPL_OSC52": "1", "TMUX": ""})


@pytest.fixture
def work(tmp_path: Path) -> Path:
    folder = tmp_path / "work"
    (folder / "src").mkdir(parents=True)
    (folder / "src" / "application.py").write_text("print('app')\n")
    (folder / "readme.txt").write_text("read me\n")
    return folder


def test_file_completes_paths_with_tab(server: ChatServer, chatrepl_home: Path, work: Path) -> None:
    child = spawn(server, chatrepl_home, work)
    prompt(child)
    # prompt_toolkit redraws only what changed: what it writes for the completion is
    # "src/" if the typed "sr" was not drawn yet, else "c/" (either way it ends so)
    child.send("/file sr\t")  # completes the folder
    child.expect_exact("c/")
    child.send("ap\t")  # then the only file in it
    child.expect_exact("plication.py")
    child.send("\r")
    child.expect_exact("will go with your next question")
    child.expect_exact("📎 src/application.py, 1 line")  # listed above the prompt, once
    prompt(child)
    child.send("what is it?\r")
    child.expect_exact("Answer 1")
    prompt(child)
    assert server.requests[-1].body["messages"][-1]["content"].count("print('app')") == 1
    child.sendcontrol("d")
    assert finish(child) == 0


def test_at_pops_up_the_files(server: ChatServer, chatrepl_home: Path, work: Path) -> None:
    child = spawn(server, chatrepl_home, work)
    prompt(child)
    child.send("explain @")  # the menu opens by itself
    child.expect_exact("readme.txt")
    child.send("rea\t")
    child.send(" please\r")
    child.expect_exact("Answer 1")
    prompt(child)
    sent = server.requests[-1].body["messages"][-1]["content"]
    assert sent.startswith("File readme.txt:\n```text\nread me\n```")
    assert sent.endswith("explain @readme.txt please")
    child.sendcontrol("d")
    assert finish(child) == 0


def test_bang_command_output_and_ctrl_c(
    server: ChatServer, chatrepl_home: Path, work: Path
) -> None:
    child = spawn(server, chatrepl_home, work)
    prompt(child)
    child.send("!echo hi\r")
    child.expect_exact("hi")
    child.expect_exact("The output (1 line) will go with your next question")
    child.expect_exact("📎 output of `echo hi`, 1 line, exit status 0")
    prompt(child)
    child.send("!echo started; sleep 30\r")
    child.expect_exact("started\r\n")  # the output, not the echo of the line typed
    child.sendintr()
    child.expect_exact("Stopped; what it printed until then is attached.")
    prompt(child)  # still in the REPL
    child.send("and so?\r")
    child.expect_exact("Answer 1")
    prompt(child)
    sent = server.requests[-1].body["messages"][-1]["content"]
    assert "Output of the command `echo hi` (exit status 0):\n```\nhi\n```" in sent
    assert "(it was stopped):\n```\nstarted\n```" in sent
    child.sendcontrol("d")
    assert finish(child) == 0


def test_copy_code_through_osc52_and_save_asks(
    server: ChatServer, chatrepl_home: Path, work: Path
) -> None:
    (work / "two.sh").write_text("old\n")
    child = spawn(server, chatrepl_home, work)
    prompt(child)
    child.send("two blocks\r")
    child.expect_exact("code 2 · bash")
    prompt(child)
    child.send("/copy code 2\r")
    child.expect_exact("\x1b]52;c;" + base64.b64encode(b"echo two").decode() + "\x07")
    child.expect_exact("Copied code block 2 (1 line) to the terminal (OSC 52).")
    prompt(child)
    child.send("/save two.sh\r")
    child.expect_exact("two.sh exists. Overwrite it? [y/N]")
    child.send("y\r")
    child.expect_exact("Wrote code block 2 (1 line) to two.sh.")
    prompt(child)
    child.sendcontrol("d")
    assert finish(child) == 0
    assert (work / "two.sh").read_text() == "echo two\n"
