"""What the parts of a REPL session share: the chat, the renderer, what waits for the
next prompt, and how to ask the person at the terminal.

`repl.Repl` supplies `confirm` (a yes-or-no question) and `quiet` (keys not echoed while
something runs); the defaults answer no and do nothing, as a session without a terminal
should. Nothing here imports prompt_toolkit.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable

from chatrepl import tree
from chatrepl.attach import Attachment
from chatrepl.chat import Chat
from chatrepl.commands import Registry
from chatrepl.environment import Environment
from chatrepl.outcome import Outcome, told
from chatrepl.sanitize import sanitize

#: Turns shown when a conversation is resumed or a branch is put on screen.
RESUME_SHOWN = 6


def host(url: str) -> str:
    return url.split("//", 1)[-1].split("/", 1)[0]


class Session:
    """See the module's docstring."""

    def __init__(
        self,
        chat: Chat,
        attached: Iterable[Attachment] = (),
        confirm: Callable[[str], bool] | None = None,
        quiet: Callable[[], contextlib.AbstractContextManager[None]] | None = None,
        env: Environment | None = None,
    ) -> None:
        self.chat = chat
        #: The process environment and the streams (for the clipboard, the editor).
        self.env = env or Environment()
        self.renderer = chat.renderer
        #: Text offered at the next prompt (an unsent or taken-back question).
        self.pending = ""
        #: Files and command output to send with the next question, in order.
        self.attached: list[Attachment] = list(attached)
        self.exiting = False
        self.confirm: Callable[[str], bool] = confirm or (lambda question: False)
        self.quiet: Callable[[], contextlib.AbstractContextManager[None]] = (
            quiet or contextlib.nullcontext
        )
        #: Every command of the session's parts (set when they are composed).
        self.registry = Registry(())

    def turn(self, run: Callable[[], Outcome]) -> Outcome:
        """Run one turn with the terminal quiet, then say how it ended."""
        with self.quiet():
            outcome = run()
        if outcome.restore:
            self.pending = outcome.restore
        for line in told(outcome, interactive=True):
            self.renderer.tell(line)
        return outcome

    def show_recent(self) -> None:
        """The last turns of the conversation on screen, as they looked."""
        self.renderer.transcript(self.chat.conversation, last=RESUME_SHOWN)

    def toolbar(self) -> str:
        chat = self.chat
        ep = chat.endpoint
        parts = [f" {ep.name}: {ep.model or host(ep.url)}"]
        share = chat.context_share()
        if share:
            parts.append(share)  # before the title, which may be cut at the window's edge
        conv = chat.conversation
        parts.append(sanitize(conv.title) if conv.title else "new conversation")
        parts.append(f"{len(conv)} messages")
        alternatives = tree.alternatives(conv)
        if alternatives is not None:
            parts.append(alternatives.describe())
        last = chat.last_answer()
        speed = last.meta.get("tokens_per_second") if last else None
        if speed:
            parts.append(f"last answer {speed} tok/s")
        return "  │  ".join(parts)
