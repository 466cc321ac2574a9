"""A REPL session: its shared state and the parts whose methods are the slash commands.

`compose` makes a `Session` and the parts (conversations, branches, material in and code
out, the session's own controls), and gives the session the one `Registry` of their
commands. `repl` adds the prompt; nothing here imports prompt_toolkit.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator

from chatrepl.attach import Attachment
from chatrepl.chat import Chat
from chatrepl.commands import Command, Registry, declared
from chatrepl.environment import Environment
from chatrepl.material import Material
from chatrepl.session.branches import Branches
from chatrepl.session.controls import Controls
from chatrepl.session.conversations import Conversations
from chatrepl.session.state import Session

__all__ = ["PARTS", "Parts", "Session", "compose", "declared_commands"]

#: The parts' classes, in the order /help lists their groups.
PARTS = (Conversations, Branches, Material, Controls)


class Parts:
    """The parts of one session, by name."""

    def __init__(self, session: Session) -> None:
        self.conversations = Conversations(session)
        self.branches = Branches(session)
        self.material = Material(session)
        self.controls = Controls(session)

    def __iter__(self) -> Iterator[object]:
        return iter(vars(self).values())  # in the order made above, which is PARTS


def compose(
    chat: Chat,
    attached: Iterable[Attachment] = (),
    confirm: Callable[[str], bool] | None = None,
    quiet: Callable[[], contextlib.AbstractContextManager[None]] | None = None,
    env: Environment | None = None,
) -> tuple[Session, Parts]:
    session = Session(chat, attached, confirm, quiet, env)
    parts = Parts(session)
    session.registry = Registry(parts)
    return session, parts


def declared_commands() -> list[Command]:
    """Every command, as declared (unbound): for the README's table and its test."""
    return [spec for part in PARTS for _, spec in declared(part)]
