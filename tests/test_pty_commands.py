"""Every slash command of the registry, typed into the real program in a terminal.

The test fails if a command has no case here, so a new command cannot go untried.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pexpect

from chatrepl.session import declared_commands
from tests.conftest import clean_env
from tests.server import ChatServer
from tests.test_pty import TIMEOUT, finish, prompt


def test_every_command_in_a_terminal(
    server: ChatServer, chatrepl_home: Path, tmp_path: Path
) -> None:
    other = ChatServer().start()
    chatrepl_home.mkdir(parents=True)
    (chatrepl_home / "config.toml").write_text(f'[endpoints.alt]\nurl = "{other.url}"\n')
    env = {
        **clean_env(chatrepl_home),
        "CHATREPL_URL": server.url,
        "PROMPT_TOOLKIT_NO_CPR": "1",
        "CHATREPL_OSC52": "1",
    }
    child = pexpect.spawn(
        sys.executable,
        ["-m", "chatrepl"],
        env=env,
        encoding="utf-8",
        timeout=TIMEOUT,
        dimensions=(40, 120),
        cwd=str(tmp_path),
    )
    tried: set[str] = set()
    names = {key: c.name for c in declared_commands() for key in (c.name, *c.aliases)}

    def run(line: str, *expect: str) -> None:
        name = line[1:].split()[0]
        tried.add(names[name])
        child.send(line + "\r")
        for text in expect:
            child.expect_exact(text)
        prompt(child)

    try:
        prompt(child)
        child.send("first question\r")
        child.expect_exact("Answer 1")
        prompt(child)
        run("/help", "Show the commands, or the usage of one.")
        run("/help retry", "Ask the last question again")
        run("/stats", "last answer")
        run("/context", "Context: next request about")
        run("/context reset", "the window is 8,192 tokens.")
        run("/system Be brief.", "System prompt set for this conversation.")
        run("/retry", "Answer 2", "This is answer 2 of 2")
        run("/prev", "Answer 1 of 2:", "Answer 1")
        run("/next", "Answer 2 of 2:", "Answer 2")
        run("/history", "first question")
        run("/branches", "[1]", "[2]")
        run("/branch 1", "Branch 1 is on screen (2 messages).")
        run("/copy", "Copied the last answer")
        run("/save out.py", "The last answer has no code block.")
        (tmp_path / "notes.txt").write_text("a note\n")
        run("/file notes.txt", "1 attachment will go with your next question")
        run("/run echo ran-here", "ran-here", "The output (1 line) will go")
        run("/file clear", "Dropped 2 attachments.")
        run("/think", "The last answer came with no reasoning.")
        run("/think on", "Reasoning is shown in full from now on.")
        run("/markdown off", "Markdown is off.")
        run("/model m9", "Model set to m9 for default.")
        run("/rename Renamed here", "Renamed to Renamed here.")
        run("/role", "No roles are configured: add [roles.NAME] to config.toml.")
        run("/export", "Exported 2 messages to chatrepl-")
        run("/search first", "[first]")
        run("/list", "Renamed here")
        run("/undo", "Took back the last exchange")
        child.sendcontrol("u")  # the question came back to the prompt: clear it
        child.send("second question\r")
        child.expect_exact("Answer 3")
        prompt(child)
        run("/compact 0", "From now on this summary is sent in place of 2 messages")
        run("/compact undo", "The summary is set aside")
        run("/endpoint alt", f"alt: {other.url}")
        run("/compare @alt @alt", "done · ", "of 3, alt")  # answer 2 or 3: who began first
        run("/new", "New conversation.")
        run("/clear", "New conversation.")
        run("/reset", "New conversation.")
        run("/resume " + _first_id(chatrepl_home)[:6], "Resumed")
        run("/edit 1", "The question is back at the prompt")
        child.sendcontrol("u")
        tried.add("delete")
        child.send("/delete\r")
        child.expect_exact("[y/N]")  # a question of its own, not the prompt
        child.send("n\r")
        child.expect_exact("Nothing was deleted.")
        prompt(child)
        tried.add("exit")
        child.send("/quit\r")
        assert finish(child) == 0
    finally:
        other.stop()
    assert tried == {cmd.name for cmd in declared_commands()}
    assert list(tmp_path.glob("chatrepl-*.md"))


def _first_id(home: Path) -> str:
    from chatrepl.store import Store

    return Store(home / "chatrepl.db").list_conversations()[0].id
