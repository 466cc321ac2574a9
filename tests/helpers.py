"""Building a Chat and a Repl wired to a test server, with output captured."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, TypeVar

from chatrepl.chat import Chat
from chatrepl.config import Endpoint, Settings
from chatrepl.render import Renderer, make_console
from chatrepl.store import Store
from chatrepl.transport import Transport
from tests.conftest import fixture_bytes
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


CLI_TIMEOUT = 30


def run_chatrepl(
    home: Path,
    *args: str,
    url: str = "",
    stdin: str = "",
    env: dict[str, str] | None = None,
    check: bool = False,
) -> subprocess.CompletedProcess[str]:
    """Run the real `chatrepl` as a user would, with its own data folder and no token
    from outside unless `env` gives one."""
    full = {k: v for k, v in os.environ.items() if k != "CHATREPL_TOKEN"}
    full["CHATREPL_HOME"] = str(home)
    if url:
        full["CHATREPL_URL"] = url
    full.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "chatrepl", *args],
        input=stdin,
        env=full,
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
