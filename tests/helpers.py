"""Building a Chat and a Repl wired to a test server, with output captured."""

from __future__ import annotations

import io
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from prompt_toolkit.input import PipeInput
from prompt_toolkit.output import DummyOutput

from chatrepl.chat import Chat
from chatrepl.cli import main
from chatrepl.config import Endpoint, Settings
from chatrepl.environment import Environment
from chatrepl.render import Renderer
from chatrepl.render.drawing import make_console
from chatrepl.repl import Repl
from chatrepl.store import Store
from chatrepl.transport import Transport
from tests.conftest import clean_env, fixture_bytes
from tests.server import Script


def make_chat(
    url: str,
    home: Path,
    *,
    token: str = "",
    markdown: bool = True,
    save: bool = True,
    width: int = 80,
    context: int | None = None,
) -> tuple[Chat, io.StringIO]:
    out = io.StringIO()
    renderer = Renderer(
        make_console(out, force_terminal=markdown, width=width),
        markdown=markdown,
        plain=not markdown,
    )
    settings = Settings(endpoint=Endpoint(url=url, context_tokens=context), save=save)
    store = Store(home / "chatrepl.db") if save else None
    transport = Transport(connect_timeout=2, idle_timeout=5, sleep=lambda s: None)
    return Chat(settings, transport, renderer, store, token=token), out


def make_repl(
    settings: Settings,
    home: Path,
    pipe: PipeInput,
    *,
    width: int = 200,
    transport: Transport | None = None,
) -> tuple[Repl, io.StringIO]:
    """A Repl on `settings` reading `pipe`, saving into `home`, its output captured as a
    terminal of `width` columns would show it."""
    out = io.StringIO()
    renderer = Renderer(make_console(out, force_terminal=True, width=width))
    transport = transport or Transport(connect_timeout=2, idle_timeout=5, sleep=lambda s: None)
    chat = Chat(settings, transport, renderer, Store(home / "chatrepl.db"))
    return Repl(chat, input=pipe, output=DummyOutput()), out


def wait_for_answers(db_path: Path, count: int, seconds: float = 10) -> list[tuple[str, str]]:
    """(text so far, status) of the answers in the store, once `count` have some text
    (or `seconds` have passed): what another process is saving as it streams."""
    deadline = time.monotonic() + seconds
    rows: list[tuple[str, str]] = []
    while time.monotonic() < deadline and len(rows) < count:
        time.sleep(0.1)
        if db_path.exists():
            with sqlite3.connect(db_path) as db:
                try:
                    rows = [r for r in db.execute(ANSWERS_SO_FAR).fetchall() if r[0]]
                except sqlite3.OperationalError as exc:  # made, its tables not yet
                    if "no such table" not in str(exc):
                        raise
    return rows


#: An answer's text as saved while it streams: its content and the chunks after it.
ANSWERS_SO_FAR = (
    "SELECT m.content || COALESCE((SELECT group_concat(c.text, '') FROM message_chunks c "
    "WHERE c.message_id = m.id), ''), m.status FROM messages m WHERE m.role = 'assistant'"
)

CLI_TIMEOUT = 30


@dataclass
class Ran:
    """What a run of the command line left: its exit status and what it wrote."""

    returncode: int
    stdout: str
    stderr: str


def _environ(home: Path, url: str, env: dict[str, str] | None) -> dict[str, str]:
    """`clean_env` for `home`, with CHATREPL_URL=`url` (if any) and `env` over it."""
    return clean_env(home, **({"CHATREPL_URL": url} if url else {}), **(env or {}))


def run_chatrepl(
    home: Path,
    *args: str,
    url: str = "",
    stdin: str | bytes = "",
    env: dict[str, str] | None = None,
    check: bool = False,
    tty: bool = False,
) -> Ran:
    """Run the command line in this process, as `chatrepl ARGS` would run, with stdin,
    stdout and stderr of its own (stdout and stderr taken for a terminal with `tty`) and
    only the environment `clean_env` gives (plus CHATREPL_URL=`url` and `env`)."""
    environ = _environ(home, url, env)
    data = stdin.encode("utf-8") if isinstance(stdin, str) else stdin
    out, err = io.StringIO(), io.StringIO()
    world = Environment(
        stdin=io.TextIOWrapper(io.BytesIO(data), encoding="utf-8"),
        stdout=out,
        stderr=err,
        environ=environ,
        stdin_isatty=False,
        stdout_isatty=tty,
        stderr_isatty=tty,
    )
    code = main(list(args), world)
    ran = Ran(code, out.getvalue(), err.getvalue())
    if check and code != 0:
        raise AssertionError(f"chatrepl {' '.join(args)} exited {code}: {ran.stderr}")
    return ran


def run_process(
    home: Path,
    *args: str,
    url: str = "",
    stdin: str = "",
    env: dict[str, str] | None = None,
    check: bool = False,
) -> subprocess.CompletedProcess[str]:
    """Run the real `chatrepl` in a process of its own, for what only a process shows
    (exit statuses end to end, signals, what it imports), in `clean_env`."""
    return subprocess.run(
        [sys.executable, "-m", "chatrepl", *args],
        input=stdin,
        env=_environ(home, url, env),
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT,
        check=check,
    )


Sliceable = TypeVar("Sliceable", str, bytes)


def split_at(data: Sliceable, cuts: list[int]) -> list[Sliceable]:
    """`data` cut at the given points (taken modulo its length), in order."""
    points = sorted({c % (len(data) + 1) for c in cuts})
    pieces, last = [], 0
    for p in points:
        pieces.append(data[last:p])
        last = p
    pieces.append(data[last:])
    return pieces


def error_script(name: str, status: int, **kw: Any) -> Script:
    """A JSON error answer whose body is the named fixture."""
    return Script(
        status=status,
        content_type="application/json",
        framing="length",
        pieces=[fixture_bytes(name)],
        **kw,
    )


def conversations(home: Path) -> int:
    """How many conversations the store holds (0 when there is no store)."""
    path = home / "chatrepl.db"
    if not path.exists():
        return 0
    with sqlite3.connect(path) as db:
        return int(db.execute("select count(*) from conversations").fetchone()[0])
