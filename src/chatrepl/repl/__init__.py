"""The interactive loop: the one place that imports prompt_toolkit (with `repl.prompt`).

The loop is flat: read a line, then either dispatch a slash command or run a turn. Every
step is a method that tests drive with a pipe input and a dummy output. Input history
lives in the store (not prompt_toolkit's FileHistory, which large concurrent pastes
corrupt) and completion derives from the command registry.

A fresh session draws its first prompt before its conversation exists (`Repl.starting`):
in the prompt's loop, the store is opened at once after it is drawn, before any key is
taken (the history needs it); the chat and the commands once the keys typed meanwhile
are shown (or when a line sent, or Tab, needs them).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING

from prompt_toolkit import PromptSession
from prompt_toolkit.application import get_app, run_in_terminal
from prompt_toolkit.auto_suggest import AutoSuggestFromHistory
from prompt_toolkit.formatted_text import FormattedText
from prompt_toolkit.input import Input
from prompt_toolkit.output import Output

from chatrepl.environment import Environment, detach, hung_up, quiet_terminal
from chatrepl.errors import ChatreplError, Terminated, unexpected
from chatrepl.repl.prompt import (
    FIRST_RUN,
    CommandCompleter,
    StoreHistory,
    key_bindings,
    pasting,
)

if TYPE_CHECKING:
    from chatrepl.attach import Attachment
    from chatrepl.chat import Chat
    from chatrepl.outcome import Outcome
    from chatrepl.render import Renderer
    from chatrepl.session import Parts, Session
    from chatrepl.store import Store

__all__ = [
    "FIRST_RUN",
    "CommandCompleter",
    "Held",
    "Repl",
    "StoreHistory",
    "key_bindings",
    "pasting",
    "quiet_terminal",
]


class Held:
    """What building the session had to say (the store's notices), kept until it can be
    said above the prompt instead of through it."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []

    def aside(self, message: str) -> None:
        self.lines.append(("aside", message))

    def warn(self, message: str) -> None:
        self.lines.append(("warn", message))

    def say(self, renderer: Renderer) -> None:
        lines, self.lines = self.lines, []
        for kind, message in lines:
            getattr(renderer, kind)(message)


class Repl:
    """Reads lines and acts on them until the user leaves."""

    # Set by `_compose`: at once when given a chat, once built when `starting`.
    chat: Chat
    renderer: Renderer
    session: Session
    parts: Parts

    def __init__(
        self,
        chat: Chat | None,
        input: Input | None = None,
        output: Output | None = None,
        attached: Iterable[Attachment] = (),
        env: Environment | None = None,
        opening: Callable[[Held], Store | None] | None = None,
        build: Callable[[Store | None], Chat] | None = None,
    ) -> None:
        self.env = env
        self._attached = list(attached)
        self.hint = ""  # a line above the first prompt (see greet)
        self.reads = 0  # lines read so far
        #: Called once the first prompt is over (cli: the terminal as it was given).
        self.after_first: Callable[[], object] | None = None
        self.built = False  # the session is there (see ready)
        self._opening = opening if chat is None else None
        self._build = build if chat is None else None
        self._held = Held()  # what opening the store had to say
        self.history = StoreHistory(None)
        self.completer = CommandCompleter(None, self.ready)
        self.prompt: PromptSession[str] = PromptSession(
            history=self.history,
            completer=self.completer,
            auto_suggest=AutoSuggestFromHistory(),
            enable_open_in_editor=True,
            bottom_toolbar=None,  # (once the session is there: see _compose)
            complete_while_typing=False,
            key_bindings=key_bindings(),
            multiline=True,
            prompt_continuation=lambda width, line, wrap: "… ".rjust(width),
            enable_history_search=False,
            input=input,
            output=output,
        )
        if chat is not None:
            self._compose(chat)

    @classmethod
    def starting(
        cls,
        opening: Callable[[Held], Store | None],
        build: Callable[[Store | None], Chat],
        renderer: Renderer,
        attached: Iterable[Attachment] = (),
        env: Environment | None = None,
    ) -> Repl:
        """A REPL whose first prompt is drawn first: then `opening` opens the store (what
        it has to say goes to the Held it is given, said above the prompt), before any
        key is taken; then `build` makes the chat on it, once the prompt has shown the
        keys typed meanwhile (or at once when a line, or Tab, needs it)."""
        repl = cls(None, attached=attached, env=env, opening=opening, build=build)
        repl.renderer = renderer
        return repl

    def _compose(self, chat: Chat) -> None:
        from chatrepl.session import compose

        self.chat = chat
        self.renderer = chat.renderer
        self.session, self.parts = compose(
            chat, self._attached, self.confirm, quiet_terminal, self.env
        )
        self.history.store = chat.store
        self.prompt.bottom_toolbar = self._toolbar
        self.session.titles.on_ready = self._redraw
        self.built = True

    def _drawing(self, app: object) -> None:
        """A prompt is about to be drawn: open the store right after it, in the prompt's
        loop, ahead of the keys and of the history's loading, which needs it."""
        self.prompt.app.before_render -= self._drawing
        asyncio.get_running_loop().call_soon(self._in_loop, self._open, self._drawn)

    def _drawn(self) -> None:
        """The store is open: build the rest once the prompt has been drawn again (with
        the keys typed so far, and the first-run hint)."""
        self.prompt.app.after_render += self._shown
        self.prompt.app.invalidate()

    def _shown(self, app: object) -> None:
        self.prompt.app.after_render -= self._shown
        asyncio.get_running_loop().call_soon(self._in_loop, self.ready, self._redraw)

    def _in_loop(self, step: Callable[[], object], then: Callable[[], None]) -> None:
        """A step of the start in the prompt's loop; one that fails ends the prompt with
        its error, for the boundary to report."""
        app = self.prompt.app
        if not app.is_running:
            return
        try:
            step()
        except Exception as exc:
            app.exit(exception=exc)
            return
        then()

    def _open(self) -> None:
        opening, self._opening = self._opening, None
        if opening is None:
            return
        self.history.store = opening(self._held)
        if not self.reads:
            self.greet()
        if not self.prompt.app.is_running:
            self._held.say(self.renderer)
        elif self._held.lines:  # said above the prompt, drawn again under them
            run_in_terminal(self._say_quietly)

    def _say_quietly(self) -> None:
        """What was held, said while prompt_toolkit has given the terminal back to its
        own mode: quiet meanwhile, so that keys typed then are not echoed into the
        lines and an Enter typed then stays an Enter."""
        with quiet_terminal():
            self._held.say(self.renderer)

    def ready(self) -> Session:
        """The session: built now if the start has not built it yet."""
        build = self._build
        if build is None:
            return self.session
        self._open()
        try:
            chat = build(self.history.store)
        except Exception:
            self._build = None
            raise
        self._build = None
        self._compose(chat)
        return self.session

    # ---------------------------------------------------------- the loop

    def run(self) -> int:
        if self.built:
            self.greet()
        try:
            while not self.built or not self.session.exiting:
                try:
                    line = self.read()
                except KeyboardInterrupt:
                    continue  # Ctrl-C at the prompt clears the line
                except EOFError:
                    if hung_up():  # the terminal was closed, not Ctrl-D
                        detach()
                        raise Terminated(signal.SIGHUP) from None
                    break  # Ctrl-D on an empty line
                try:
                    self.handle(line)
                except KeyboardInterrupt:  # between the prompt and what it started
                    self.renderer.note("Interrupted.")
        finally:
            self._held.say(self.renderer)  # what a build that failed had to say
            if self.built:
                self.session.apply_title()  # one that came after the last prompt was drawn
                self.chat.release()
        return 0

    def _toolbar(self) -> str:
        return self.session.toolbar(get_app().output.get_size().columns)

    def _redraw(self) -> None:
        """Draw the prompt again (from any thread): a title came for the toolbar."""
        app = self.prompt.app
        if app.is_running:
            app.invalidate()

    def greet(self) -> None:
        """One dim line of where to start above the first prompt, while nothing has been
        saved yet (drawn by the prompt itself: the first prompt does not wait for rich)."""
        store = self.history.store
        with contextlib.suppress(ChatreplError):
            if store is not None and not store.list_conversations(1):
                self.hint = FIRST_RUN

    def message(self) -> FormattedText:
        """The prompt: a hint the first time, what is attached to the next question (a 📎
        line each), then `> `."""
        from chatrepl.sanitize import sanitize

        hint = [("fg:ansibrightblack", self.hint + "\n")] if self.hint else []
        attached = self.session.attached if self.built else self._attached
        lines = [("ansicyan", f"📎 {sanitize(a.describe())}\n") for a in attached]
        return FormattedText([*hint, *lines, ("bold ansigreen", "> ")])

    def read(self) -> str:
        default = ""
        if self.built:
            default, self.session.pending = self.session.pending, ""
        else:  # (until it is built, each prompt builds it once drawn)
            self.prompt.app.before_render += self._drawing
        try:
            with self._exit_on_signals():
                return self.prompt.prompt(self.message, default=default)
        finally:
            self.reads += 1
            self.hint = ""  # once: it stays in the scrollback above the first line typed
            after, self.after_first = self.after_first, None
            if after is not None:
                after()

    @contextlib.contextmanager
    def _exit_on_signals(self) -> Iterator[None]:
        """While the prompt runs, SIGTERM/SIGHUP end it (its loop would swallow a raise)."""
        app = self.prompt.app

        def handler(signum: int, frame: object) -> None:
            if signum == getattr(signal, "SIGHUP", None):
                detach()
            loop = app.loop
            if app.is_running and loop is not None:
                loop.call_soon_threadsafe(lambda: app.exit(exception=Terminated(signum)))
            else:
                raise Terminated(signum)

        names = [n for n in ("SIGTERM", "SIGHUP") if hasattr(signal, n)]
        try:
            previous = {n: signal.signal(getattr(signal, n), handler) for n in names}
        except ValueError:  # not the main thread: leave signals alone
            yield
            return
        try:
            yield
        finally:
            for name, old in previous.items():
                signal.signal(getattr(signal, name), old)

    def handle(self, line: str) -> None:
        """Act on one line: a slash command, `!command`, or a question."""
        self.ready()
        text = line.strip()
        if not text:
            return
        from chatrepl import commands
        from chatrepl.attach import AttachmentError

        try:
            if commands.is_command(text):
                self.session.registry.dispatch(text)
            elif text.startswith("!") and not text.startswith("!!"):
                self.parts.material.run_command(text[1:].strip())
            else:
                if text.startswith(("//", "!!")):  # doubled: the message starts with it
                    text = text[1:]
                self.ask(text)
        except AttachmentError as exc:
            self.renderer.error(str(exc))
            self.session.pending = line.rstrip("\n")
        except ChatreplError as exc:
            self.renderer.error(str(exc))
        except Exception as exc:  # a bug: said in one line, and the session goes on
            self.renderer.error(unexpected(exc, self.chat.settings.debug))

    def ask(self, text: str) -> Outcome:
        """Send a question with what is attached and what it names with `@path`."""
        from chatrepl import attach

        session = self.ready()
        mentioned = session.mentioned(text)
        if mentioned:
            self.renderer.attachments(mentioned)
        attachments = attach.merge(session.attached, mentioned)
        outcome = session.turn(lambda: self.chat.ask(text, attachments))
        if not outcome.restore:
            session.attached = []  # sent with the question (a question given back keeps them)
        return outcome

    def confirm(self, question: str) -> bool:
        """Ask yes or no at a prompt of its own; anything but y or yes is no."""
        ask: PromptSession[str] = PromptSession(input=self.prompt.input, output=self.prompt.output)
        try:
            answer = ask.prompt(question)
        except (KeyboardInterrupt, EOFError):
            return False
        return answer.strip().lower() in ("y", "yes")
