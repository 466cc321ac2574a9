"""The prompt's parts: its history in the store, its completion, its keys.

Nothing here needs the conversation to exist when it is made: the first prompt is drawn
before `Repl` builds it (see `repl.Repl`), so what the history and the completer need
from the session is looked up when they are used.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncGenerator, Callable, Iterable, Iterator
from typing import TYPE_CHECKING

from prompt_toolkit.application import get_app
from prompt_toolkit.completion import CompleteEvent, Completer, Completion
from prompt_toolkit.document import Document
from prompt_toolkit.filters import Condition, is_searching
from prompt_toolkit.history import History
from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent

from chatrepl.errors import ChatreplError
from chatrepl.redaction import hide_password

if TYPE_CHECKING:
    from chatrepl.commands import Provider
    from chatrepl.session import Session
    from chatrepl.store import Store


FIRST_RUN = "/help for commands, Ctrl-D to leave, !cmd runs a command, @file attaches a file."


class StoreHistory(History):
    """Input history kept in the conversation database, shared live between sessions.

    prompt_toolkit reloads the history at every new prompt; each reload first takes
    in what other chatrepl processes added since (this process's own lines are
    already there).
    """

    def __init__(self, store: Store | None) -> None:
        super().__init__()
        self.store = store
        self._last_id = 0
        self._own: set[int] = set()

    def load_history_strings(self) -> Iterable[str]:
        if self.store is None:
            return []
        try:
            rows = self.store.history()
        except Exception:  # a history that cannot be read is no reason to stop
            return []
        self._last_id = max((row_id for row_id, _ in rows), default=0)
        return [text for _, text in rows]

    async def load(self) -> AsyncGenerator[str, None]:
        if self._loaded and self.store is not None:
            with contextlib.suppress(Exception):
                for row_id, text in self.store.history_after(self._last_id):
                    self._last_id = row_id
                    if row_id not in self._own:
                        self._loaded_strings.insert(0, text)
        async for item in super().load():
            yield item

    def store_string(self, string: str) -> None:
        if self.store is not None:
            with contextlib.suppress(ChatreplError):  # the turn reports saving problems
                self._own.add(self.store.add_history(string))


class CommandCompleter(Completer):
    """Completes slash commands and their arguments from the registry."""

    def __init__(self, session: Session | None, ready: Callable[[], Session] | None = None) -> None:
        #: The session, or None while it is built: `ready` then waits for it.
        self.session = session
        self.ready = ready
        self._listed: dict[str, list[str]] = {}  # an endpoint's models, by its URL
        self.providers: dict[str, Provider] = {
            "conversation": self._conversations,
            "endpoint": self._endpoints,
            "model": self._models,
            "writer": lambda: self._models() + self._writers(),
            "writers": self._writers,
            "role": self._roles,
            "onoff": lambda: self._listing("ON_OFF"),
            "think": lambda: self._listing("THINK_ON_OFF"),
            "copy": lambda: self._listing("COPY"),
        }

    @staticmethod
    def _listing(name: str) -> list[tuple[str, str]]:
        from chatrepl import commands  # (with the session, not before the first prompt)

        listing: list[tuple[str, str]] = getattr(commands, name)
        return listing

    def _ready(self) -> Session:
        if self.session is None:
            assert self.ready is not None, "a completer with no session says how to wait"
            self.session = self.ready()
        return self.session

    def _conversations(self) -> list[tuple[str, str]]:
        from chatrepl.conversation import make_title
        from chatrepl.sanitize import sanitize

        store = self._ready().chat.store
        if store is None:
            return []
        return [(s.id, sanitize(make_title(s.title, 40))) for s in store.list_conversations(200)]

    def _endpoints(self) -> list[tuple[str, str]]:
        endpoints = sorted(self._ready().chat.settings.endpoints.items())
        return [(name, hide_password(ep.url)) for name, ep in endpoints]

    def _writers(self) -> list[tuple[str, str]]:
        """`@endpoint` for each endpoint, and `@endpoint:model` for its model."""
        chat = self._ready().chat
        out = []
        for name, ep in sorted(chat.endpoints().items()):
            out.append((f"@{name}", hide_password(ep.url)))
            if ep.model:
                out.append((f"@{name}:{ep.model}", hide_password(ep.url)))
        return out

    def _roles(self) -> list[tuple[str, str]]:
        roles = self._ready().chat.settings.roles
        return [(n, r.describe()) for n, r in sorted(roles.items())]

    def _models(self) -> list[tuple[str, str]]:
        """The configured models, the one in use, and what the endpoint lists (kept for a
        day; asked for once a session at most, and nothing if it cannot say)."""
        session = self._ready()
        chat = session.chat
        names = {ep.model: name for name, ep in chat.settings.endpoints.items() if ep.model}
        if chat.endpoint.model:
            names.setdefault(chat.endpoint.model, "current")
        key = chat.endpoint.url
        if key not in self._listed:
            env = session.env
            try:
                from chatrepl import models  # (not before the first prompt)

                self._listed[key] = models.available(
                    chat.endpoint, env.environ, env.paths.cache_dir
                )
            except ChatreplError:
                self._listed[key] = []
        for name in self._listed[key]:
            names.setdefault(name, f"served by {chat.endpoint.name}")
        return sorted(names.items())

    def get_completions(
        self, document: Document, complete_event: CompleteEvent
    ) -> Iterator[Completion]:
        from chatrepl import attach, commands  # (not before the first prompt)

        text = document.text_before_cursor
        partial = None if commands.is_command(text) else attach.mention_at_cursor(text)
        if partial is not None:  # @path anywhere in a question (a command's @ is its own)
            for value, shown in attach.complete_path(partial, attachable=True):
                yield Completion(value, start_position=-len(partial), display=shown)
            return
        if "\n" in text:
            return
        for value, meta, start in self._ready().registry.complete(text, self.providers):
            yield Completion(value, start_position=start, display_meta=meta)


def pasting(event: KeyPressEvent) -> bool:
    """This Enter came from a terminal in one read with more keys after it: a paste
    without bracketed paste (some terminals, tmux's paste-buffer without -p), not a
    person pressing Enter, so it is a newline in the message, not the end of it. A key
    typed ahead while an answer streamed comes in one read too, but its Enter is the
    last key of that read, and sends."""
    if not event.key_processor.input_queue:
        return False
    try:
        return os.isatty(event.app.input.fileno())
    except (OSError, ValueError, NotImplementedError):
        return False


def key_bindings() -> KeyBindings:
    kb = KeyBindings()

    @kb.add("enter", filter=~is_searching)  # while searching, Enter accepts the match
    def _send(event: KeyPressEvent) -> None:
        buffer = event.current_buffer
        if buffer.complete_state and buffer.complete_state.current_completion:
            buffer.apply_completion(buffer.complete_state.current_completion)
            return
        if pasting(event):
            buffer.insert_text("\n")
            return
        buffer.validate_and_handle()

    @kb.add("@")
    def _mention(event: KeyPressEvent) -> None:
        """`@` at the start of a word offers the files to attach."""
        buffer = event.current_buffer
        before = buffer.document.text_before_cursor
        buffer.insert_text("@")
        if not before or before[-1] in " \t\n([{\"'":
            buffer.start_completion(select_first=False)

    empty = Condition(lambda: not get_app().current_buffer.text)

    @kb.add("escape", "left", filter=empty)
    def _previous_answer(event: KeyPressEvent) -> None:
        """At an empty prompt: the previous answer to the last question (/prev)."""
        event.app.exit(result="/prev")

    @kb.add("escape", "right", filter=empty)
    def _next_answer(event: KeyPressEvent) -> None:
        event.app.exit(result="/next")

    @kb.add("c-x", "c-e")
    def _editor(event: KeyPressEvent) -> None:
        """Edit the line in $VISUAL/$EDITOR; it comes back to the prompt, unsent."""
        event.current_buffer.open_in_editor(validate_and_handle=False)

    @kb.add("escape", "enter")
    @kb.add("c-j")
    def _newline(event: KeyPressEvent) -> None:
        event.current_buffer.insert_text("\n")

    return kb
