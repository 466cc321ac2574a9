"""A new session draws its prompt first and builds its conversation right after (issue 24,
target 3): the store, the chat and the commands are made once the prompt is on screen,
before any key is taken, so keys typed at once (a line, Up, Ctrl-C) lose nothing."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from prompt_toolkit.input import PipeInput
from prompt_toolkit.output import DummyOutput

from chatrepl.chat import Chat
from chatrepl.config import Endpoint, Settings
from chatrepl.errors import ConfigError
from chatrepl.render import Renderer
from chatrepl.render.drawing import make_console
from chatrepl.repl import FIRST_RUN, Held, Repl
from chatrepl.store import Store
from chatrepl.transport import Transport
from tests.server import ChatServer

ROOT = Path(__file__).resolve().parents[1]


class Slow:
    """A start that records what it saw, its store opened only on the test's word."""

    def __init__(self, settings: Settings, home: Path, renderer: Renderer) -> None:
        self.settings, self.home, self.renderer = settings, home, renderer
        self.go = threading.Event()
        self.prompt_was_up: list[bool] = []
        self.built: list[bool] = []
        self.repl: Repl | None = None

    def opening(self, held: Held) -> Store:
        assert self.repl is not None
        self.prompt_was_up.append(self.repl.prompt.app.is_running)
        held.aside("a notice of opening the store")
        assert self.go.wait(10)
        return Store(self.home / "chatrepl.db")

    def build(self, store: Store | None) -> Chat:
        self.built.append(store is not None)
        transport = Transport(connect_timeout=2, idle_timeout=5, sleep=lambda s: None)
        return Chat(self.settings, transport, self.renderer, store)


def starting(
    server: ChatServer, home: Path, pipe: PipeInput, release_after: float = 0.3
) -> tuple[Repl, Slow, io.StringIO]:
    out = io.StringIO()
    renderer = Renderer(make_console(out, force_terminal=True, width=200))
    slow = Slow(Settings(endpoint=Endpoint(url=server.url)), home, renderer)
    repl = Repl(None, input=pipe, output=DummyOutput(), opening=slow.opening, build=slow.build)
    repl.renderer = renderer
    slow.repl = repl
    threading.Timer(release_after, slow.go.set).start()
    return repl, slow, out


def test_the_prompt_comes_first_and_a_line_sent_at_once_waits_for_the_session(
    server: ChatServer, tmp_path: Path, pipe: PipeInput
) -> None:
    repl, build, out = starting(server, tmp_path, pipe)
    pipe.send_text("hello\r")  # sent before the session exists
    pipe.send_text("\x04")
    assert repl.run() == 0
    assert build.prompt_was_up == [True]  # opened once, behind a prompt already drawn
    assert build.built == [True]  # and the chat built once, on that store
    assert [r.body["messages"][-1]["content"] for r in server.requests] == ["hello"]
    assert "a notice of opening the store" in out.getvalue()  # said, not lost
    assert [text for _, text in Store(tmp_path / "chatrepl.db").history()] == ["hello"]
    store = Store(tmp_path / "chatrepl.db")
    (summary,) = store.list_conversations(5)
    assert store.load(summary.id).messages[0].content == "hello"
    store.close()


def test_up_at_once_at_the_first_prompt_finds_the_history_of_the_store(
    server: ChatServer, tmp_path: Path, pipe: PipeInput
) -> None:
    store = Store(tmp_path / "chatrepl.db")
    store.add_history("what was asked last time")
    store.close()
    repl, _, _ = starting(server, tmp_path, pipe)
    pipe.send_text("\x1b[A\r\x04")  # Up, Enter, then Ctrl-D, before the store is open
    repl.run()
    asked = [r.body["messages"][-1]["content"] for r in server.requests]
    assert asked == ["what was asked last time"]


def test_the_first_run_hint_shows_once_the_store_is_found_empty(
    server: ChatServer, tmp_path: Path, pipe: PipeInput
) -> None:
    repl, _, _ = starting(server, tmp_path, pipe, release_after=0)
    assert repl.hint == ""  # nothing known yet
    repl.ready()
    assert repl.hint == FIRST_RUN
    assert "".join(text for _, text in repl.message()) == f"{FIRST_RUN}\n> "


def test_a_start_that_fails_ends_the_session_with_its_error(
    tmp_path: Path, pipe: PipeInput
) -> None:
    out = io.StringIO()
    renderer = Renderer(make_console(out, force_terminal=True, width=200))

    def opening(held: Held) -> Store | None:
        held.warn("said before it failed")
        return None

    def build(store: Store | None) -> Chat:
        raise ConfigError("The endpoint work is not what it should be.")

    repl = Repl(None, input=pipe, output=DummyOutput(), opening=opening, build=build)
    repl.renderer = renderer
    pipe.send_text("hello\r")
    with pytest.raises(ConfigError, match="endpoint work"):
        repl.run()
    assert "said before it failed" in out.getvalue()


def test_the_chat_is_built_once_the_keys_typed_meanwhile_are_shown(
    server: ChatServer, tmp_path: Path, pipe: PipeInput
) -> None:
    """The store opens before any key is taken; the chat after the prompt shows them."""
    repl, slow, _ = starting(server, tmp_path, pipe, release_after=0)
    seen: list[tuple[str, bool]] = []
    repl.prompt.app.after_render += lambda app: seen.append(
        (repl.prompt.default_buffer.text, repl.built)
    )
    pipe.send_text("abc")
    threading.Timer(1, lambda: pipe.send_text("\x15\x04")).start()  # Ctrl-U, Ctrl-D
    assert repl.run() == 0
    assert ("abc", False) in seen  # drawn with the keys before the chat was built
    assert repl.built and slow.built == [True]


def test_nothing_of_the_store_or_the_chat_is_imported_before_the_first_prompt(
    tmp_path: Path,
) -> None:
    """What the first prompt waits for: the arguments, the settings and prompt_toolkit,
    not sqlite3, the store, the chat, the commands or requests (a real start in a pty)."""
    pexpect = pytest.importorskip("pexpect")
    listing = tmp_path / "modules.txt"
    code = (
        "import sys\n"
        "from chatrepl import cli, repl\n"
        "drawing = repl.Repl._drawing\n"
        "def _drawing(self, app):\n"
        f"    open({str(listing)!r}, 'w').write('\\n'.join(sorted(sys.modules)))\n"
        "    drawing(self, app)\n"
        "repl.Repl._drawing = _drawing\n"
        "sys.exit(cli.main([]))\n"
    )
    env = {**os.environ, "CHATREPL_HOME": str(tmp_path), "PROMPT_TOOLKIT_NO_CPR": "1"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), env.get("PYTHONPATH")]))
    child = pexpect.spawn(sys.executable, ["-c", code], env=env, dimensions=(30, 100), timeout=20)
    try:
        child.expect("> ")
        child.expect("/help for commands")  # the hint: the store was opened behind it
        child.send("/exit\r")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    before = set(listing.read_text().split())
    assert {"prompt_toolkit", "chatrepl.config", "chatrepl.repl"} <= before
    late = {"sqlite3", "chatrepl.store", "chatrepl.chat", "chatrepl.commands", "requests"}
    assert not late & before, late & before
    assert child.exitstatus == 0


def test_the_import_of_chatrepl_repl_stays_light() -> None:
    """`chatrepl.repl` itself imports no part of the session (a guard for the above)."""
    code = "import sys, chatrepl.repl; print(' '.join(sorted(sys.modules)))"
    loaded = set(subprocess.check_output([sys.executable, "-c", code], text=True).split())
    assert not {"chatrepl.chat", "chatrepl.store", "chatrepl.session", "sqlite3"} & loaded


def test_ctrl_c_at_once_at_the_first_prompt_leaves_the_hint_and_the_session(
    server: ChatServer, tmp_path: Path, pipe: PipeInput
) -> None:
    repl, build, _ = starting(server, tmp_path, pipe)
    hints: list[str] = []
    repl.prompt.app.after_render += lambda app: hints.append(repl.hint)
    pipe.send_text("\x03")  # Ctrl-C; a second later Ctrl-D at the next prompt
    threading.Timer(1, lambda: pipe.send_text("\x04")).start()
    assert repl.run() == 0
    assert FIRST_RUN in hints  # the first prompt showed it before Ctrl-C cleared it
    assert build.prompt_was_up == [True]
    assert repl.built and build.built == [True]  # built behind the second prompt


def test_an_enter_typed_before_the_prompt_is_drawn_sends_the_line(
    server: ChatServer, tmp_path: Path
) -> None:
    """`chatrepl⏎question⏎` typed fast: once chatrepl runs, the terminal neither echoes
    what is typed nor turns its Enter into a newline (Ctrl-J), before the prompt too."""
    pexpect = pytest.importorskip("pexpect")
    import termios

    env = {**os.environ, "CHATREPL_HOME": str(tmp_path), "PROMPT_TOOLKIT_NO_CPR": "1"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), env.get("PYTHONPATH")]))
    args = ["-m", "chatrepl", "--url", server.url]
    child = pexpect.spawn(sys.executable, args, env=env, dimensions=(30, 100), timeout=20)
    child.delaybeforesend = None
    try:
        deadline = time.monotonic() + 10
        while True:  # the terminal made quiet, before prompt_toolkit's own mode
            lflag = termios.tcgetattr(child.child_fd)[3]
            if lflag & termios.ICANON and not lflag & termios.ECHO:
                break
            assert time.monotonic() < deadline, "the terminal was not made quiet before a prompt"
            time.sleep(0.0005)
        child.send("typed ahead\r")
        child.expect(r"you said \S*typed ahead")
        child.expect("> ")
        child.sendcontrol("d")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0


@pytest.mark.parametrize("how", ["start", "role", "switch"])
def test_a_token_command_may_ask_on_the_terminal(
    server: ChatServer, tmp_path: Path, how: str
) -> None:
    """`pass show` through pinentry asks on the terminal: it runs with the terminal as
    the user has it, for the endpoint in use at the start, for the one a role switches
    to, and for one `/endpoint` switches to later."""
    pexpect = pytest.importorskip("pexpect")
    ask = "sh -c 'printf PIN: >/dev/tty; read x </dev/tty; echo tok$x'"
    config = tmp_path / "config.toml"
    config.write_text(
        f'endpoint = "{"pin" if how == "start" else "other"}"\n'
        f'[endpoints.pin]\nurl = "{server.url}"\ntoken_command = "{ask}"\n'
        f'[endpoints.other]\nurl = "{server.url}"\n'
        '[roles.r]\nendpoint = "pin"\n'
    )
    config.chmod(0o600)
    env = {**os.environ, "CHATREPL_HOME": str(tmp_path), "PROMPT_TOOLKIT_NO_CPR": "1"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), env.get("PYTHONPATH")]))
    args = ["-m", "chatrepl", *(["-R", "r"] if how == "role" else [])]
    child = pexpect.spawn(sys.executable, args, env=env, dimensions=(30, 100), timeout=20)
    try:
        if how == "switch":
            child.expect("> ")
            child.send("/endpoint pin\r")
        child.expect("PIN:")
        child.send("42\r")
        child.expect("> ")
        child.send("hello\r")
        child.expect("Answer")
        child.expect("> ")
        child.sendcontrol("d")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert server.requests[0].headers.get("Authorization") == "Bearer tok42"
