"""The interactive loop: the one place that imports prompt_toolkit.

The loop is flat: read a line, then either dispatch a slash command or run a turn. Every
step is a method that tests drive with a pipe input and a dummy output. Input history
lives in the store (not prompt_toolkit's FileHistory, which large concurrent pastes
corrupt) and completion derives from the command registry.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import AsyncGenerator, Iterable, Iterator
from pathlib import Path

from prompt_toolkit import PromptSession
from prompt_toolkit.auto_suggest import AutoSuggestFromHistory
from prompt_toolkit.completion import CompleteEvent, Completer, Completion
from prompt_toolkit.document import Document
from prompt_toolkit.filters import is_searching
from prompt_toolkit.formatted_text import FormattedText
from prompt_toolkit.history import History
from prompt_toolkit.input import Input
from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent
from prompt_toolkit.output import Output

from chatrepl import clipboard, commands
from chatrepl.chat import Chat, Outcome
from chatrepl.conversation import Message, make_title
from chatrepl.errors import ChatreplError, Terminated
from chatrepl.manage import write_export
from chatrepl.sanitize import sanitize
from chatrepl.store import Store

RESUME_SHOWN = 6  # turns shown when a conversation is resumed


@contextlib.contextmanager
def quiet_terminal() -> Iterator[None]:
    """Turn off the terminal's echo while an answer streams.

    Keys typed meanwhile (and the `^C` of an interrupt) would otherwise be echoed into
    the live region and shift it, leaving stale lines. They stay in the input queue and
    reach the next prompt, an Enter still an Enter. Signals (Ctrl-C) keep working.
    """
    try:
        import termios

        fd = sys.stdin.fileno()
        saved = termios.tcgetattr(fd)
    except (ImportError, OSError, ValueError, AttributeError):
        yield
        return
    quiet = list(saved)
    quiet[3] = quiet[3] & ~(termios.ECHO | termios.ECHONL)
    # An Enter typed ahead must reach the next prompt as Enter, not as a newline (Ctrl-J).
    quiet[0] = quiet[0] & ~termios.ICRNL
    try:
        termios.tcsetattr(fd, termios.TCSANOW, quiet)
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSANOW, saved)


def _host(url: str) -> str:
    return url.split("//", 1)[-1].split("/", 1)[0]


def _seconds(value: float | None) -> str:
    return f"{value:.2f} s" if value is not None else "n/a"


def _speed(value: float | None) -> str:
    return f"{value:.1f} tok/s" if value else "n/a"


def stats_rows(answers: list[Message]) -> list[tuple[str, str]]:
    """The /stats table: the last answer, then the whole conversation."""

    def tokens(m: Message, key: str) -> int:
        usage = m.meta.get("usage")
        count = usage.get(key) if isinstance(usage, dict) else None
        return count if isinstance(count, int) else 0

    def reported(m: Message) -> bool:
        return isinstance(m.meta.get("usage"), dict)

    def measure(m: Message, key: str) -> float | None:
        value = m.meta.get(key)
        return float(value) if isinstance(value, int | float) else None

    def mean(values: list[float]) -> float | None:
        return sum(values) / len(values) if values else None

    last = answers[-1]
    firsts = [v for m in answers if (v := measure(m, "first_token")) is not None]
    speeds = [v for m in answers if (v := measure(m, "tokens_per_second"))]
    total = sum(tokens(m, "completion_tokens") for m in answers)
    last_tokens = (
        f"{tokens(last, 'prompt_tokens')} prompt and {tokens(last, 'completion_tokens')} "
        "answer tokens"
        if reported(last)
        else "tokens not reported by the server"
    )
    all_tokens = (
        f"{total} answer tokens" if any(reported(m) for m in answers) else "tokens not reported"
    )
    return [
        (
            "last answer",
            f"{last_tokens}; first token after {_seconds(measure(last, 'first_token'))}; "
            f"speed {_speed(measure(last, 'tokens_per_second'))}",
        ),
        (
            "conversation",
            f"{len(answers)} answers, {all_tokens}; first token after "
            f"{_seconds(mean(firsts))} and speed {_speed(mean(speeds))} on average",
        ),
    ]


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

    def __init__(self, chat: Chat) -> None:
        self.chat = chat
        self.providers: dict[str, commands.Provider] = {
            "conversation": self._conversations,
            "endpoint": self._endpoints,
            "model": self._models,
            "onoff": lambda: commands.ON_OFF,
        }

    def _conversations(self) -> list[tuple[str, str]]:
        store = self.chat.store
        if store is None:
            return []
        return [(s.id, sanitize(make_title(s.title, 40))) for s in store.list_conversations(200)]

    def _endpoints(self) -> list[tuple[str, str]]:
        return [(name, ep.url) for name, ep in sorted(self.chat.settings.endpoints.items())]

    def _models(self) -> list[tuple[str, str]]:
        names = {ep.model: name for name, ep in self.chat.settings.endpoints.items() if ep.model}
        if self.chat.endpoint.model:
            names.setdefault(self.chat.endpoint.model, "current")
        return sorted(names.items())

    def get_completions(
        self, document: Document, complete_event: CompleteEvent
    ) -> Iterator[Completion]:
        text = document.text_before_cursor
        if "\n" in text:
            return
        for value, meta, start in commands.complete(text, self.providers):
            yield Completion(value, start_position=start, display_meta=meta)


def key_bindings() -> KeyBindings:
    kb = KeyBindings()

    @kb.add("enter", filter=~is_searching)  # while searching, Enter accepts the match
    def _send(event: KeyPressEvent) -> None:
        buffer = event.current_buffer
        if buffer.complete_state and buffer.complete_state.current_completion:
            buffer.apply_completion(buffer.complete_state.current_completion)
            return
        buffer.validate_and_handle()

    @kb.add("c-x", "c-e")
    def _editor(event: KeyPressEvent) -> None:
        """Edit the line in $VISUAL/$EDITOR; it comes back to the prompt, unsent."""
        event.current_buffer.open_in_editor(validate_and_handle=False)

    @kb.add("escape", "enter")
    @kb.add("c-j")
    def _newline(event: KeyPressEvent) -> None:
        event.current_buffer.insert_text("\n")

    return kb


class Repl(commands.App):
    """Reads lines and acts on them until the user leaves."""

    def __init__(
        self, chat: Chat, input: Input | None = None, output: Output | None = None
    ) -> None:
        self.chat = chat
        self.renderer = chat.renderer
        self.exiting = False
        self.pending = ""  # text offered at the next prompt (an unsent question)
        self.session: PromptSession[str] = PromptSession(
            history=StoreHistory(chat.store),
            completer=CommandCompleter(chat),
            auto_suggest=AutoSuggestFromHistory(),
            enable_open_in_editor=True,
            bottom_toolbar=self.toolbar,
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
        try:
            while not self.exiting:
                try:
                    line = self.read()
                except KeyboardInterrupt:
                    continue  # Ctrl-C at the prompt clears the line
                except EOFError:
                    break  # Ctrl-D on an empty line
                self.handle(line)
        finally:
            self.chat.release()
        return 0

    def read(self) -> str:
        default, self.pending = self.pending, ""
        with self._exit_on_signals():
            return self.session.prompt(FormattedText([("bold ansigreen", "> ")]), default=default)

    @contextlib.contextmanager
    def _exit_on_signals(self) -> Iterator[None]:
        """While the prompt runs, SIGTERM/SIGHUP end it (its loop would swallow a raise)."""
        app = self.session.app

        def handler(signum: int, frame: object) -> None:
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
        text = line.strip()
        if not text:
            return
        if commands.is_command(text):
            try:
                commands.dispatch(self, text)
            except ChatreplError as exc:
                self.renderer.error(str(exc))
            return
        if text.startswith("//"):
            text = text[1:]
        self.ask(text)

    def ask(self, text: str) -> Outcome:
        with quiet_terminal():
            outcome = self.chat.ask(text)
        self.report(outcome)
        return outcome

    def report(self, outcome: Outcome) -> None:
        """The one line that says how a turn ended, when it did not simply complete."""
        if outcome.restore:
            self.pending = outcome.restore
        if outcome.error is not None:
            self.renderer.error(str(outcome.error))
        elif outcome.status == "interrupted":
            self.renderer.note(
                "Interrupted."
                if not outcome.restore
                else "Interrupted; your question is back at the prompt."
            )
        if outcome.status == "truncated" and outcome.error is None:
            self.renderer.warn("The answer ended early: the stream closed before its end.")
        if outcome.status == "failed" and outcome.reply.error and outcome.error is None:
            self.renderer.error(f"The server reported an error: {outcome.reply.error}")
        if outcome.status == "complete" and outcome.reply.finish_reason == "length":
            self.renderer.warn("The answer was cut at the length limit.")

    # ---------------------------------------------------------- App protocol

    def show_help(self, rows: list[tuple[str, str]]) -> None:
        self.renderer.rows(rows)
        if len(rows) > 1:
            self.renderer.note(
                "Enter sends, Alt+Enter or Ctrl-J adds a line, Ctrl-C stops "
                "an answer, Ctrl-D leaves. Start a message with // to send "
                "a leading slash."
            )

    def new_conversation(self) -> None:
        self.chat.new()
        self.renderer.note("New conversation.")

    def show_conversations(self) -> None:
        if self.chat.store is None:
            self.renderer.note("Saving is off, so there are no saved conversations.")
            return
        self.renderer.conversations(self.chat.store.list_conversations(), self.chat.conversation.id)

    def resume(self, ref: str) -> None:
        self.chat.load(ref)
        self.show_resumed()

    def show_resumed(self) -> None:
        conversation = self.chat.conversation
        self.renderer.transcript(conversation, last=RESUME_SHOWN)
        if self.chat.copied_from:
            self.renderer.warn(self.chat.copy_notice())
        self.renderer.note(
            f"Resumed {conversation.id}: {conversation.title} ({len(conversation)} messages)."
        )

    def _saved_store(self) -> Store:
        if self.chat.store is None:
            raise ChatreplError("Saving is off, so there are no saved conversations.")
        return self.chat.store

    def rename(self, title: str) -> None:
        conversation = self.chat.conversation
        conversation.title = make_title(title)
        if conversation.messages and self.chat.store is not None:
            self.chat.store.rename(conversation.id, conversation.title)
        self.renderer.note(f"Renamed to {conversation.title}.")

    def delete(self, ref: str) -> None:
        store = self._saved_store()
        current = self.chat.conversation
        cid = store.resolve(ref) if ref else current.id
        if cid == current.id and not current.messages:
            self.renderer.note("This conversation is empty; there is nothing to delete.")
            return
        target = store.load(cid) if cid != current.id else current
        question = f"Delete {cid} ({sanitize(target.title)}, {len(target)} messages)? [y/N] "
        if not self.confirm(question):
            self.renderer.note("Nothing was deleted.")
            return
        store.delete_conversation(cid)
        self.renderer.note(f"Deleted {cid}.")
        if cid == current.id:
            self.chat.new()
            self.renderer.note("New conversation.")

    def confirm(self, question: str) -> bool:
        session: PromptSession[str] = PromptSession(
            input=self.session.input, output=self.session.output
        )
        try:
            answer = session.prompt(question)
        except (KeyboardInterrupt, EOFError):
            return False
        return answer.strip().lower() in ("y", "yes")

    def export(self, path: str) -> None:
        conversation = self.chat.conversation
        if not conversation.messages:
            self.renderer.note("This conversation is empty; there is nothing to export.")
            return
        target = Path(path).expanduser() if path else Path(f"chatrepl-{conversation.id}.md")
        fmt = write_export(conversation, target)
        self.renderer.note(f"Exported {len(conversation)} messages to {target} ({fmt}).")

    def search(self, text: str) -> None:
        hits = self._saved_store().search(text)
        if hits:
            self.renderer.search_hits(hits)
        else:
            self.renderer.note(f"No conversation mentions {text}.")

    # ---------------------------------------------------------- more commands

    def toolbar(self) -> str:
        chat = self.chat
        ep = chat.endpoint
        parts = [f" {ep.name}: {ep.model or _host(ep.url)}"]
        conv = chat.conversation
        parts.append(sanitize(conv.title) if conv.title else "new conversation")
        parts.append(f"{len(conv)} messages")
        last = chat.last_answer()
        speed = last.meta.get("tokens_per_second") if last else None
        if speed:
            parts.append(f"last answer {speed} tok/s")
        return "  │  ".join(parts)

    def retry(self) -> None:
        with quiet_terminal():
            outcome = self.chat.retry()
        self.report(outcome)

    def undo(self) -> None:
        question = self.chat.drop_last()
        self.pending = question.content
        self.renderer.note("Took back the last exchange; the question is at the prompt.")

    def edit(self) -> None:
        editor = (
            os.environ.get("VISUAL")
            or os.environ.get("EDITOR")
            or next((name for name in ("nano", "vi") if shutil.which(name)), "")
        )
        if not editor:
            raise ChatreplError("No editor found.", "Set $EDITOR to the editor you use.")
        with tempfile.NamedTemporaryFile("w+", suffix=".md", delete=False) as f:
            f.write(self.pending)
            path = f.name
        try:
            done = subprocess.run([*shlex.split(editor), path], check=False)
            text = Path(path).read_text(encoding="utf-8").rstrip("\n")
        except (OSError, ValueError) as exc:
            raise ChatreplError(f"Could not run the editor {editor}: {exc}.") from None
        finally:
            Path(path).unlink(missing_ok=True)
        if done.returncode != 0:
            raise ChatreplError(f"The editor {editor} exited with status {done.returncode}.")
        self.pending = text
        if not text.strip():
            self.renderer.note("The message is empty; nothing to send.")

    def copy(self) -> None:
        last = self.chat.last_answer()
        if last is None or not last.content:
            raise ChatreplError("There is no answer to copy yet.")
        how = clipboard.copy(last.content, self.renderer.write_control)
        self.renderer.note(f"Copied the last answer ({len(last.content)} characters) to {how}.")

    def system(self, text: str) -> None:
        if text:
            self.chat.set_system(text)
            self.renderer.note("System prompt set for this conversation.")
        elif self.chat.conversation.system:
            self.renderer.info(self.chat.conversation.system)
        else:
            self.renderer.note("This conversation has no system prompt. /system TEXT sets one.")

    def endpoint(self, name: str) -> None:
        if name:
            self.chat.use_endpoint(name)
        ep = self.chat.endpoint
        model = f", model {ep.model}" if ep.model else ""
        self.renderer.info(f"{ep.name}: {ep.url} (api {ep.api}{model}).")
        others = sorted(n for n in self.chat.settings.endpoints if n != ep.name)
        if others and not name:
            self.renderer.note(f"Others: {', '.join(others)}.")

    def model(self, name: str) -> None:
        if name:
            self.chat.use_model(name)
            self.renderer.note(f"Model set to {name} for {self.chat.endpoint.name}.")
        elif self.chat.endpoint.model:
            self.renderer.info(self.chat.endpoint.model)
        else:
            self.renderer.note("No model is set; the endpoint uses its default.")

    def markdown(self, setting: str) -> None:
        if setting not in ("on", "off", ""):
            raise commands.CommandError("/markdown takes on or off.")
        if setting:
            self.renderer.markdown = setting == "on"
        self.renderer.note(f"Markdown is {'on' if self.renderer.markdown else 'off'}.")

    def stats(self) -> None:
        answers = [m for m in self.chat.conversation.messages if m.role == "assistant"]
        if not answers:
            self.renderer.note("No answers yet in this conversation.")
            return
        self.renderer.rows(stats_rows(answers))

    def request_exit(self) -> None:
        self.exiting = True
