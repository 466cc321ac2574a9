"""Shared test fixtures: every test runs in a small, explicit environment of its own
(nothing of the developer's shell reaches chatrepl), the data folder is always
redirected, and servers are local."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from prompt_toolkit.application import create_app_session
from prompt_toolkit.input import PipeInput, create_pipe_input
from prompt_toolkit.output import DummyOutput

from tests.server import ChatServer

#: Byte-exact server responses and what each must yield (see its README.md).
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "wire"

#: What a test's process environment keeps of the shell that runs the suite.
KEPT = ("PATH", "SYSTEMROOT", "TMPDIR", "VIRTUAL_ENV")


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def clean_env(home: Path, **extra: str) -> dict[str, str]:
    """The whole environment of a chatrepl process a test starts: PATH, the test's own
    HOME (see `chatrepl_home`), `home` as CHATREPL_HOME, UTF-8, a known terminal, and
    `extra`."""
    env = {name: os.environ[name] for name in KEPT if name in os.environ}
    env.update(
        HOME=os.environ.get("HOME", str(home)),
        CHATREPL_HOME=str(home),
        LANG="C.UTF-8",
        LC_ALL="C.UTF-8",
        TERM="xterm-256color",
        CHATREPL_AUTO_TITLE="0",  # no title requests beside the turns a test counts
    )
    env.update(extra)
    return env


@pytest.fixture(autouse=True)
def chatrepl_home(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """Every test gets its own CHATREPL_HOME and HOME (apart from `tmp_path`, which it
    may list), and nothing else of the shell's environment: no token, endpoint, editor,
    NO_COLOR or TMUX from outside."""
    home = tmp_path / "home"
    for name in list(os.environ):
        if name not in KEPT and name != "PYTEST_CURRENT_TEST":
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(tmp_path_factory.mktemp("user")))
    for name, value in clean_env(home).items():
        monkeypatch.setenv(name, value)
    yield home


@pytest.fixture
def server() -> Iterator[ChatServer]:
    srv = ChatServer().start()
    yield srv
    srv.stop()


@pytest.fixture
def other() -> Iterator[ChatServer]:
    """A second server, whose echoed answers start with `[b] `."""
    srv = ChatServer().start()
    srv.name = "b"
    yield srv
    srv.stop()


@pytest.fixture
def pipe() -> Iterator[PipeInput]:
    """prompt_toolkit's pipe input, with a dummy output, for driving a Repl."""
    with create_pipe_input() as inp, create_app_session(input=inp, output=DummyOutput()):
        yield inp
