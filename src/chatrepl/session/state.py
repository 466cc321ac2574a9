"""What the parts of a REPL session share: the chat, the renderer, what waits for the
next prompt, and how to ask the person at the terminal.

`repl.Repl` supplies `confirm` (a yes-or-no question) and `quiet` (keys not echoed while
something runs); the defaults answer no and do nothing, as a session without a terminal
should. Nothing here imports prompt_toolkit.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable

from chatrepl import attach, tree, writer
from chatrepl.attach import Attachment
from chatrepl.chat import Chat
from chatrepl.commands import Registry
from chatrepl.conversation import make_title
from chatrepl.environment import Environment
from chatrepl.outcome import Outcome, Status, told
from chatrepl.sanitize import sanitize
from chatrepl.titles import Titler
from chatrepl.wording import cut

#: Turns shown when a conversation is resumed or a branch is put on screen.
RESUME_SHOWN = 6


def host(url: str) -> str:
    return url.split("//", 1)[-1].split("/", 1)[0].rpartition("@")[2]


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
        #: Asks the model for a title after the first answer (see `titles`).
        self.titles = Titler(connect_timeout=chat.settings.connect_timeout)

    def turn(self, run: Callable[[], Outcome]) -> Outcome:
        """Run one turn with the terminal quiet, then say how it ended."""
        with self.quiet():
            outcome = run()
        if outcome.restore:
            self.pending = outcome.restore
        for line in told(outcome, interactive=True):
            self.renderer.tell(line)
        if outcome.status is Status.COMPLETE:
            self.ask_title(first=True)
        return outcome

    def mentioned(self, text: str) -> list[Attachment]:
        """The files `@path` names in a question (a question asked, or compared);
        AttachmentError for any that fails."""
        return attach.gather(
            attach.mentions(text),
            self.chat.settings.max_file_kb * 1024,
            "Nothing was sent; your question is back at the prompt.",
        )

    def ask_title(self, first: bool = False) -> bool:
        """Ask the model for the conversation's title in the background (`first`: only
        after the answers to the first question of a conversation still titled by it,
        and when `auto_title` is on)."""
        chat = self.chat
        conversation = chat.conversation
        if first:
            asked = next((m for m in conversation.messages if m.role == "user"), None)
            questions = sum(m.role == "user" for m in conversation.nodes)
            if not chat.settings.auto_title or questions != 1 or asked is None:
                return False
            if conversation.title != make_title(asked.content) or self.titles.busy():
                return False  # named by the user, or being named
        return self.titles.ask(chat.endpoint, chat.token, conversation)

    def apply_title(self) -> str:
        """Put a title that arrived on the conversation, and save it."""
        chat = self.chat
        conversation, store = chat.conversation, chat.store

        def rename(title: str) -> None:
            if store is not None and any(m.id is not None for m in conversation.nodes):
                store.rename(conversation.id, title)

        return self.titles.apply(conversation, rename)

    def show_recent(self) -> None:
        """The last turns of the conversation on screen, as they looked."""
        self.renderer.transcript(self.chat.conversation, last=RESUME_SHOWN)

    def toolbar(self, width: int = 0) -> str:
        """The line below the prompt. At `width` columns (0: any) the endpoint and the
        title give way first, then words, so that the counts stay whole."""
        self.apply_title()
        chat = self.chat
        ep = chat.endpoint
        where = ep.model or host(ep.url)
        conv = chat.conversation
        title = sanitize(conv.title) if conv.title else "new conversation"
        alternatives = tree.alternatives(conv)
        last = chat.last_answer()
        speed = last.meta.get("tokens_per_second") if last else None

        share = chat.context_share()  # (a plan of the next request: once, not per try)

        def line(where: str, title: str, speed_label: str, between: str = "  │  ") -> str:
            parts = [f" {ep.name}: {where}" if where else f" {ep.name}"]
            if share:
                parts.append(share)  # before the title, which may be cut at the edge
            if title:
                parts.append(title)
            parts.append(f"{len(conv)} messages")
            if alternatives is not None:
                by = writer.among(alternatives.answers, alternatives.index, short=True)
                parts.append(alternatives.describe() + (f" · {by}" if by else ""))
            if speed:
                parts.append(f"{speed_label}{speed} tok/s")
            return between.join(parts)

        tries = [
            (where, title, "last answer "),
            (cut(where, 12), cut(title, 16), "last answer "),
            (cut(where, 12), cut(title, 16), ""),
            ("", cut(title, 12), ""),
            ("", "", ""),
            ("", "", "", " │ "),
        ]
        for args in tries:
            shown = line(*args)
            if width <= 0 or len(shown) <= width:
                break
        return shown
