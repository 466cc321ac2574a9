"""The conversation and the means to continue it, shared by the REPL and one-shot mode.

`Chat.ask` commits the question, then a `turn.Turn` sends the conversation, shows the
answer as it streams, checkpoints it into the store, and closes it with how it ended;
`Chat` keeps the conversation, its window, its saving and its endpoint. Nothing the
user typed or received is lost: a request that fails before any answer gives the
question back (for the prompt to offer again), and a partial answer is kept with its
status. Saving problems are reported once per turn and never stop the conversation.
"""

from __future__ import annotations

import contextlib
import functools
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from chatrepl import writer
from chatrepl.attach import Attachment
from chatrepl.config import Endpoint, Settings, token_for
from chatrepl.context import ContextError, Plan, Window
from chatrepl.conversation import Conversation, Message
from chatrepl.errors import (
    ChatreplError,
    StoreError,
)
from chatrepl.gauge import Gauge
from chatrepl.outcome import Outcome
from chatrepl.redaction import hide_password
from chatrepl.render import Renderer
from chatrepl.roles import Role
from chatrepl.store import Store
from chatrepl.tree import copy_title, copy_tree, in_flight


class Streamer(Protocol):
    """The transport seam: sends messages, yields answer events."""

    def stream(
        self, endpoint: Endpoint, messages: list[dict[str, str]], token: str = ""
    ) -> Any: ...


def _tokens(message: Any) -> int:
    return int(message.tokens())


class Chat:
    """The current conversation and the means to continue it."""

    def __init__(
        self,
        settings: Settings,
        transport: Streamer,
        renderer: Renderer,
        store: Store | None,
        token: str = "",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.endpoint = settings.endpoint
        self.transport = transport
        self.renderer = renderer
        self.store = store if settings.save else None
        self.token = token
        self.clock = clock
        self.conversation = Conversation(system=settings.system)
        self._save_warned = False
        self._read_only_said = False  # (a store opened read-only: said once a session)
        self._claimed = False
        #: Opens the store again when it could not be opened at start (None: do not try).
        self.open_store: Callable[[], Store] | None = None
        #: Set by `load` when the conversation was open elsewhere and a copy was made.
        self.copied_from: tuple[str, int] | None = None
        self.window = Window(self._endpoint_state, self._save_endpoint_state)
        self.gauge = Gauge()
        #: The role applied (see `presets`), and the endpoint in use before any was.
        self.role: Role | None = None
        self.unroled: Endpoint | None = None
        #: The model `/model` chose for an endpoint, by its name: that endpoint's model
        #: for the rest of the session (`/endpoint`, `@NAME`), as the config's is not.
        self.chosen: dict[str, str] = {}
        self._use_window()

    # ---------------------------------------------------------- the context window

    def _endpoint_state(self, key: str) -> tuple[float, int | None] | None:
        try:
            return self.store.endpoint_state(key) if self.store is not None else None
        except StoreError:
            return None

    def _save_endpoint_state(self, key: str, ratio: float, lowered: int | None) -> None:
        store = self.store
        if store is not None:
            self._save(lambda: store.save_endpoint_state(key, ratio, lowered))

    def _use_window(self) -> None:
        ep = self.endpoint
        self.window.use(f"{hide_password(ep.url)} {ep.model}", ep.context_tokens, ep.answer_tokens)

    def plan(self) -> Plan:
        """What the next request sends: the newest whole turns that fit the window."""
        system, messages = self.conversation.request_parts()
        return self.window.plan(system, messages, _tokens)

    def context_share(self) -> str:
        """For the toolbar: the share of the window the next request will use."""
        return self.gauge.share(self.window, self.conversation, self.plan)

    def context_report(self) -> str:
        """For /stats: the estimate, the server's count, and what was trimmed."""
        return self.gauge.report(self.window, self.conversation, self.plan)

    # ---------------------------------------------------------- saving

    def _save(self, action: Callable[[], object]) -> bool:
        """Run one store write; report a failure once per turn (a full disk or a lock
        may be gone by the next), or once per session for a store opened read-only,
        and go on in memory."""
        store = self.store
        if store is None:
            return False
        try:
            action()
        except StoreError as exc:
            if not self._save_warned:
                self._save_warned = True
                if not store.read_only:
                    self.renderer.warn(f"{exc} The conversation goes on unsaved for now.")
                elif not (self._read_only_said or store.notice):  # (a notice said it at open)
                    self.renderer.warn(f"{exc} The conversation goes on unsaved.")
                self._read_only_said = store.read_only
            return False
        return True

    def save_message(self, message: Message, streaming: bool = False) -> None:
        """Commit a message, and first, in order, every earlier one not saved yet.

        A failure stops there: a later message is never saved ahead of an earlier one.
        """
        store = self.store
        if store is None:
            return
        for earlier in self.conversation.messages:
            if earlier is message:
                break
            if earlier.id is None and not self._save(
                functools.partial(store.add_message, self.conversation, earlier)
            ):
                return
        self._save(
            functools.partial(store.add_message, self.conversation, message, streaming=streaming)
        )
        if not self._claimed and message.id is not None:
            with contextlib.suppress(StoreError):
                self._claimed = store.claim(self.conversation.id) is None

    def _reopen(self) -> None:
        """A store that could not be opened is tried again at each turn."""
        if self.store is not None or self.open_store is None:
            return
        try:
            self.store = self.open_store()
        except StoreError:
            return
        self.renderer.aside("The conversation database can be written again; saving resumes.")

    def update_message(
        self,
        message: Message,
        final: bool = False,
        meta: dict[str, Any] | None = None,
        rewritten: bool = False,
        added: str | None = None,
    ) -> None:
        store = self.store
        if store is not None and message.id is not None:
            self._save(
                lambda: store.update_message(
                    message, final=final, meta=meta, rewritten=rewritten, added=added
                )
            )

    def remove(self, doomed: list[Message], head: int | None) -> None:
        """Take messages that were never answered out of the conversation and the store;
        the store shows again the branch it showed before them (`head`)."""
        conversation = self.conversation
        conversation.messages = [
            m for m in conversation.messages if all(m is not d for d in doomed)
        ]
        conversation.nodes = [m for m in conversation.nodes if all(m is not d for d in doomed)]
        if not any(m.role == "user" for m in conversation.nodes):
            conversation.title = ""
        store = self.store
        for message in doomed:
            if store is not None and message.id is not None:
                self._save(functools.partial(store.delete_message, conversation.id, message))
        if store is not None and head is not None:
            self._save(functools.partial(store.restore_head, conversation.id, head))

    def set_path(self, messages: list[Message], save: bool = True) -> None:
        """Put a branch on screen: what is shown, sent and continued from now on.
        `save=False`: only until a new message is saved (a question about to be sent)."""
        self.conversation.messages = messages
        store = self.store
        if save and store is not None and any(m.id is not None for m in self.conversation.nodes):
            last = messages[-1] if messages else None
            self._save(functools.partial(store.set_head, self.conversation.id, last))

    # ---------------------------------------------------------- a turn

    def ask(self, text: str, attachments: Sequence[Attachment] = ()) -> Outcome:
        """Ask `text`, with files or command output sent before it."""
        self._save_warned = False
        self._reopen()
        head = self.saved_head()
        outcome = self._answer(self.question(text, attachments), head=head)
        if attachments and isinstance(outcome.error, ContextError):
            error = outcome.error
            outcome.error = ContextError(error.tokens, error.window, True, error.room)
        return outcome

    def question(self, text: str, attachments: Sequence[Attachment] = ()) -> Message:
        """A new question on the branch on screen, saved (with the role it was asked in,
        whose template wraps it as it is sent)."""
        question = self.conversation.add("user", text, attachments=attachments)
        if self.role is not None:
            question.meta["role"] = self.role.name
            if self.role.template:
                question.meta["template"] = self.role.template
        self.save_message(question)
        return question

    def retry(self, endpoint: Endpoint | None = None) -> Outcome:
        """Ask the last question again (of `endpoint`, when given); its earlier answer
        stays as an alternative. Nothing is saved until the new answer starts: a retry
        that fails leaves the conversation, in memory and in the store, as it was, and
        goes on with the endpoint it had."""
        before = self.conversation.messages
        question = self.drop_last(keep_question=True, save=False)
        self._save_warned = False
        self._reopen()
        was = self.endpoint, self.token
        if endpoint is not None:
            self.use(endpoint)
        outcome = self._answer(question, before=before)
        if self.conversation.messages is before and self.endpoint is not was[0]:
            self.endpoint, self.token = was  # no answer started: nothing changed
            self._use_window()
        return outcome

    def saved_head(self) -> int | None:
        """The branch the store shows for this conversation (None: not saved)."""
        store = self.store
        if store is None or not any(m.id is not None for m in self.conversation.nodes):
            return None
        try:
            return store.head(self.conversation.id)
        except StoreError:
            return None

    def drop_last(self, keep_question: bool = False, save: bool = True) -> Message:
        """Take the last exchange (or only its answer) off the screen; return its
        question. It stays in the conversation as a branch of its own."""
        messages = self.conversation.messages
        index = next(
            (i for i in range(len(messages) - 1, -1, -1) if messages[i].role == "user"), None
        )
        if index is None:
            raise ChatreplError("There is no exchange to take back yet.")
        question = messages[index]
        self.set_path(messages[: index + 1 if keep_question else index], save=save)
        return question

    def last_answer(self) -> Message | None:
        return self.conversation.last_answer()

    def set_system(self, text: str) -> None:
        self.conversation.system = text
        store = self.store
        if store is not None and self.conversation.nodes:
            self._save(functools.partial(store.set_system, self.conversation.id, text))

    def _answer(
        self, question: Message, head: int | None = None, before: list[Message] | None = None
    ) -> Outcome:
        """Stream the answer to `question` (see `turn.Turn`)."""
        from chatrepl.turn import Turn  # with what decodes a stream: at the first question

        return Turn(self, question, head, before).run()

    # ---------------------------------------------------------- switching

    def no_store(self) -> str:
        """Why there is no store to read, for the start of a sentence."""
        if not self.settings.save:
            return "Saving is off (--no-save)"
        return "The conversation database could not be opened (said at start)"

    def new(self) -> None:
        """A new conversation (with the role's system prompt, while one is applied)."""
        self.release()
        role = self.role
        system = role.system if role is not None and role.system is not None else None
        self.conversation = Conversation(system=self.settings.system if system is None else system)

    def load(self, ref: str) -> Conversation:
        """Continue a saved conversation; on a copy if another chatrepl has it open."""
        store = self.store
        if store is None:
            raise StoreError(f"{self.no_store()}, so there is nothing to resume.")
        loaded = store.load(store.resolve(ref))
        self.release()
        self.copied_from = None
        self.conversation = loaded
        owner: int | None = None
        with contextlib.suppress(StoreError):  # a read-only store: nothing is written
            owner = store.claim(loaded.id)
        self._claimed = owner is None
        if owner is not None:
            copy = copy_tree(loaded, copy_title(loaded.title), in_flight(loaded))
            self._save(lambda: store.copy(loaded.id, copy))
            self.conversation = copy
            self._claimed = True
            self.copied_from = (loaded.id, owner)
        return self.conversation

    def use_endpoint(self, name: str) -> Endpoint:
        """Switch to a named endpoint of the config file (its token is resolved now)."""
        endpoints = self.settings.endpoints
        if name not in endpoints:
            known = ", ".join(sorted(endpoints)) or "none are configured"
            raise ChatreplError(
                f"Unknown endpoint {name} ({known}).", "Add [endpoints.NAME] to config.toml."
            )
        endpoint = self.endpoints()[name]
        self.token = token_for(endpoint)
        self.endpoint = endpoint
        self._use_window()
        return endpoint

    def endpoints(self) -> dict[str, Endpoint]:
        """Every endpoint by name: the configured ones, and the one this run started
        with (as the flags made it), each with the model `/model` chose for it, if any."""
        known = {**self.settings.endpoints, self.settings.endpoint.name: self.settings.endpoint}
        chosen = self.chosen
        return {n: e._replace(model=chosen[n]) if n in chosen else e for n, e in known.items()}

    def use(self, endpoint: Endpoint) -> None:
        """Go on with `endpoint` (its token is resolved now)."""
        if endpoint is not self.endpoint:
            self.token = token_for(endpoint) if endpoint.name != self.endpoint.name else self.token
            self.endpoint = endpoint
            self._use_window()

    def follow(self, answer: Message | None) -> str:
        """Go on with the endpoint and model that wrote `answer` (the one on screen), if
        it is still configured; return its writer's label when that changed anything."""
        if answer is None:
            return ""
        name, model = answer.meta.get("endpoint"), answer.meta.get("model")
        known = self.endpoints()
        if not isinstance(name, str) or name not in known:
            return ""
        chosen = known[name]
        if isinstance(model, str) and model != chosen.model:
            chosen = chosen._replace(model=model)
        same = chosen.name == self.endpoint.name and chosen.model == self.endpoint.model
        if same:
            return ""
        self.use(chosen)
        return writer.full_label(answer.meta)

    def price(self) -> tuple[float, float] | None:
        """The price per million tokens (in, out) of the endpoint in use, if configured."""
        return writer.price(self.endpoint, self.settings.prices)

    def use_model(self, model: str) -> None:
        self.chosen[self.endpoint.name] = model
        self.endpoint = self.endpoint._replace(model=model)
        self._use_window()

    def copy_notice(self) -> str:
        """What to tell the user when `load` continued on a copy."""
        if self.copied_from is None:
            return ""
        original, pid = self.copied_from
        return (
            f"Conversation {original} is open in another chatrepl (pid {pid}); "
            f"continuing on a copy, {self.conversation.id}."
        )

    def release(self) -> None:
        """Let other chatrepl processes continue the current conversation."""
        store = self.store
        if store is not None and self._claimed:
            self._claimed = False
            with contextlib.suppress(StoreError):
                store.release(self.conversation.id)
