"""Building a Chat and a Repl wired to a test server, with output captured."""

from __future__ import annotations

import io
from pathlib import Path

from chatrepl.chat import Chat
from chatrepl.config import Endpoint, Settings
from chatrepl.render import Renderer, make_console
from chatrepl.store import Store
from chatrepl.transport import Transport


def make_chat(
    url: str,
    home: Path,
    *,
    token: str = "",
    markdown: bool = True,
    save: bool = True,
    width: int = 80,
) -> tuple[Chat, io.StringIO]:
    out = io.StringIO()
    renderer = Renderer(
        make_console(out, force_terminal=markdown, width=width),
        markdown=markdown,
        plain=not markdown,
    )
    settings = Settings(endpoint=Endpoint(url=url), save=save)
    store = Store(home / "chatrepl.db") if save else None
    transport = Transport(connect_timeout=2, idle_timeout=5, sleep=lambda s: None)
    return Chat(settings, transport, renderer, store, token=token), out
