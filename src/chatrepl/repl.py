"""The interactive loop: the one place that imports prompt_toolkit.

The loop is flat: read a line, then either dispatch a slash command or run a turn. Every
step is a method that tests drive with a pipe input and a dummy output. Input history
lives in the store (not prompt_toolkit's FileHistory, which large concurrent pastes
corrupt) and completion derives from the command registry.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import AsyncGenerator, Iterable, Iterator

from prompt_toolkit import PromptSession
from prompt_toolkit.application import get_app
from prompt_toolkit.auto_suggest import AutoSuggestFromHistory
from prompt_toolkit.completion import CompleteEvent, Completer, Completion
from prompt_toolkit.document import Document
from prompt_toolkit.filters import Condition, is_searching
from prompt_toolkit.formatted_text import FormattedText
from prompt_toolkit.history import History
from prompt_toolkit.input import Input
from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent
from prompt_toolkit.output import Output

from chatrepl import attach, commands
from chatrepl.attach import Attachment, AttachmentError
from chatrepl.chat import Chat
from chatrepl.conversation import make_title
from chatrepl.environment import Environment, detach, hung_up
from chatrepl.errors import ChatreplError, Terminated, unexpected
from chatrepl.outcome import Outcome
from chatrepl.redaction import hide_password
from chatrepl.sanitize import sanitize
from chatrepl.session import Session, compose
from chatrepl.store import Store


@contextlib.contextmanager
def quiet_terminal() -> Iterator[None]:
    """Turn off the terminal's echo while an answer streams.

    Keys typed meanwhile (and the `^C` of an interrupt) would otherwise be echoed into
    the live region and shift it, leaving stale lines. They stay in the input queue and
    reach the next prompt, an Enter still an Enter. Signals (Ctrl-C) keep working.
    """
    try:
        import termios
    except ImportError:  # no terminal modes to set here
        yield
        return
    try:
        fd = sys.stdin.fileno()
        saved = termios.tcgetattr(fd)
    except (termios.error, OSError, ValueError, AttributeError):  # stdin is no terminal
        yield
        return
    quiet = list(saved)
    # NOFLSH: a Ctrl-C that stops the answer keeps the keys typed ahead.
    quiet[3] = (quiet[3] & ~(termios.ECHO | termios.ECHONL)) | termios.NOFLSH
    # An Enter typed ahead must reach the next prompt as Enter, not as a newline (Ctrl-J).
    quiet[0] = quiet[0] & ~termios.ICRNL
    try:
        termios.tcsetattr(fd, termios.TCSANOW, quiet)
        yield
    finally:
        with contextlib.suppress(termios.error, OSError):  # a terminal gone (hung up)
            termios.tcsetattr(fd, termios.TCSANOW, saved)


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

    def __init__(self, session: Session) -> None:
        self.session = session
        self._listed: dict[str, list[str]] = {}  # an endpoint's models, by its URL
        self.providers: dict[str, commands.Provider] = {
            "conversation": self._conversations,
            "endpoint": self._endpoints,
            "model": self._models,
            "writer": lambda: self._models() + self._writers(),
            "writers": self._writers,
            "role": self._roles,
            "onoff": lambda: commands.ON_OFF,
            "think": lambda: commands.THINK_ON_OFF,
            "copy": lambda: commands.COPY,
        }

    def _conversations(self) -> list[tuple[str, str]]:
        store = self.session.chat.store
        if store is None:
            return []
        return [(s.id, sanitize(make_title(s.title, 40))) for s in store.list_conversations(200)]

    def _endpoints(self) -> list[tuple[str, str]]:
        endpoints = sorted(self.session.chat.settings.endpoints.items())
        return [(name, hide_password(ep.url)) for name, ep in endpoints]

    def _writers(self) -> list[tuple[str, str]]:
        """`@endpoint` for each endpoint, and `@endpoint:model` for its model."""
        chat = self.session.chat
        out = []
        for name, ep in sorted(chat.endpoints().items()):
            out.append((f"@{name}", hide_password(ep.url)))
            if ep.model:
                out.append((f"@{name}:{ep.model}", hide_password(ep.url)))
        return out

    def _roles(self) -> list[tuple[str, str]]:
        return [(n, r.describe()) for n, r in sorted(self.session.chat.settings.roles.items())]

    def _models(self) -> list[tuple[str, str]]:
        """The configured models, the one in use, and what the endpoint lists (kept for a
        day; asked for once a session at most, and nothing if it cannot say)."""
        chat = self.session.chat
        names = {ep.model: name for name, ep in chat.settings.endpoints.items() if ep.model}
        if chat.endpoint.model:
            names.setdefault(chat.endpoint.model, "current")
        key = chat.endpoint.url
        if key not in self._listed:
            env = self.session.env
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
        text = document.text_before_cursor
        partial = None if commands.is_command(text) else attach.mention_at_cursor(text)
        if partial is not None:  # @path anywhere in a question (a command's @ is its own)
            for value, shown in attach.complete_path(partial, attachable=True):
                yield Completion(value, start_position=-len(partial), display=shown)
            return
        if "\n" in text:
            return
        for value, meta, start in self.session.registry.complete(text, self.providers):
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


class Repl:
    """Reads lines and acts on them until the user leaves."""

    def __init__(
        self,
        chat: Chat,
        input: Input | None = None,
        output: Output | None = None,
        attached: Iterable[Attachment] = (),
        env: Environment | None = None,
    ) -> None:
        self.chat = chat
        self.renderer = chat.renderer
        self.session, self.parts = compose(chat, attached, self.confirm, quiet_terminal, env)
        self.hint = ""  # a line above the next prompt (see greet)
        self.prompt: PromptSession[str] = PromptSession(
            history=StoreHistory(chat.store),
            completer=CommandCompleter(self.session),
            auto_suggest=AutoSuggestFromHistory(),
            enable_open_in_editor=True,
            bottom_toolbar=lambda: self.session.toolbar(get_app().output.get_size().columns),
            complete_while_typing=False,
            key_bindings=key_bindings(),
            multiline=True,
            prompt_continuation=lambda width, line, wrap: "… ".rjust(width),
            enable_history_search=False,
            input=input,
            output=output,
        )

    # ---------------------------------------------------------- the loop

    def run(self) -> int:
        self.greet()
        self.session.titles.on_ready = self._redraw
        try:
            while not self.session.exiting:
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
            self.session.apply_title()  # one that came after the last prompt was drawn
            self.chat.release()
        return 0

    def _redraw(self) -> None:
        """Draw the prompt again (from any thread): a title came for the toolbar."""
        app = self.prompt.app
        if app.is_running:
            app.invalidate()

    def greet(self) -> None:
        """One dim line of where to start above the first prompt, while nothing has been
        saved yet (drawn by the prompt itself: the first prompt does not wait for rich)."""
        store = self.chat.store
        with contextlib.suppress(ChatreplError):
            if store is not None and not store.list_conversations(1):
                self.hint = FIRST_RUN

    def message(self) -> FormattedText:
        """The prompt: a hint the first time, what is attached to the next question (a 📎
        line each), then `> `."""
        hint = [("fg:ansibrightblack", self.hint + "\n")] if self.hint else []
        lines = [("ansicyan", f"📎 {sanitize(a.describe())}\n") for a in self.session.attached]
        return FormattedText([*hint, *lines, ("bold ansigreen", "> ")])

    def read(self) -> str:
        session = self.session
        default, session.pending = session.pending, ""
        message = self.message()
        self.hint = ""  # once: it stays in the scrollback above the first line typed
        with self._exit_on_signals():
            return self.prompt.prompt(message, default=default)

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
        text = line.strip()
        if not text:
            return
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
        session = self.session
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
