"""The REPL's commands for material in and code out: /file, @path, !COMMAND and /run,
/copy code and /save. `Material` is one of the parts composed into a session (see
`chatrepl.session`); nothing here imports prompt_toolkit or rich."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import TYPE_CHECKING

from chatrepl import attach, clipboard, commands, shell
from chatrepl.attach import Attachment, overwrite_question
from chatrepl.chat import Chat
from chatrepl.errors import ChatreplError
from chatrepl.render import Renderer
from chatrepl.sanitize import Sanitizer
from chatrepl.sanitize import shown as shown_name
from chatrepl.session.state import Session
from chatrepl.wording import lines, plural

if TYPE_CHECKING:
    from chatrepl.render.source import CodeBlock


def _words(arg: str) -> list[str]:
    try:
        return shlex.split(arg)
    except ValueError as exc:
        raise commands.CommandError(f"Cannot read the paths: {exc}.") from None


def _number(text: str, what: str) -> int:
    if not text.isdigit() or int(text) == 0:
        raise commands.CommandError(f"{what} takes a code block's number (1, 2, ...), not {text}.")
    return int(text)


class Material:
    """Attachments waiting for the next question, and code taken out of answers."""

    TITLE = "Files and code"

    def __init__(self, session: Session) -> None:
        self.session = session
        self.chat: Chat = session.chat
        self.renderer: Renderer = session.renderer

    @property
    def attached(self) -> list[Attachment]:
        """What goes with the next question (the session's)."""
        return self.session.attached

    @attached.setter
    def attached(self, attached: list[Attachment]) -> None:
        self.session.attached = attached

    @property
    def max_bytes(self) -> int:
        return self.chat.settings.max_file_kb * 1024

    # ---------------------------------------------------------- in

    @commands.command(
        "file",
        "Attach files (globs, ~) to the next question; alone: list them; clear: drop them.",
        "[PATH...|clear]",
        argument="paths",
    )
    def attach(self, arg: str) -> None:
        if arg == "clear":
            count = len(self.attached)
            self.attached = []
            self.renderer.note(f"Dropped {plural(count, 'attachment')}.")
            return
        if not arg:  # the prompt lists them, each on a 📎 line of its own
            if not self.attached:
                self.renderer.note("Nothing is attached. /file PATH attaches a file.")
                return
            self.renderer.note(
                f"{plural(len(self.attached), 'attachment')} (listed above the prompt) will go "
                "with your next question; /file clear drops them."
            )
            return
        found, errors = attach.read_all(_words(arg), self.max_bytes)
        for error in errors:
            self.renderer.error(error)
        if errors:
            self.renderer.note("Nothing was attached.")
            return
        self.attached = attach.merge(self.attached, found)  # the prompt lists them
        total = len(self.attached)
        self.renderer.note(
            f"{plural(total, 'attachment')} will go with your next question; "
            "/file clear drops them."
        )

    @commands.command(
        "run",
        "Run a shell command; its output goes with the next question (as !COMMAND).",
        "COMMAND",
    )
    def run(self, arg: str) -> None:
        self.run_command(arg)

    def run_command(self, command: str) -> None:
        if not command:
            raise commands.CommandError(
                "!COMMAND runs a shell command, e.g. !git status; !! starts a message with !."
            )
        sanitizer = Sanitizer()
        ends_with_newline = [True]

        def show(text: str) -> None:
            safe = sanitizer.feed(text)
            if safe:
                self.renderer.output(safe)
                ends_with_newline[0] = safe.endswith("\n")

        with self.session.quiet():
            output = shell.run(command, show, self.max_bytes)
        if not ends_with_newline[0]:
            self.renderer.output("\n")
        if output.status is not None and output.status != 0:
            self.renderer.warn(f"Exit status {output.status}.")
        if not output.text.strip():
            if output.status is None:
                self.renderer.warn(
                    "Stopped; the command printed nothing, so nothing of it is attached."
                )
            else:
                self.renderer.note("The command printed nothing; nothing of it is attached.")
            return
        if output.status is None:
            self.renderer.warn("Stopped; what it printed until then is attached.")
        self.attached = [
            a for a in self.attached if not (a.kind == "output" and a.name == command)
        ] + [output]
        self.renderer.note(
            f"The output ({lines(output.text)}) will go with your next question; "
            "/file clear drops it."
        )

    # ---------------------------------------------------------- out

    def _code(self, number: int | None) -> tuple[int, CodeBlock]:
        last = self.chat.last_answer()
        if last is None or not last.content:
            raise ChatreplError("There is no answer yet.")
        from chatrepl.render.source import choose_code

        chosen = choose_code(
            last.content, number, "The last answer", "/copy copies the whole answer."
        )
        return chosen[-1]

    def _copy(self, text: str) -> str:
        env = self.session.env
        return clipboard.copy(text, self.renderer.write_control, env.environ, env.stdout_isatty)

    @commands.command(
        "copy",
        "Copy the last answer to the clipboard; code [N]: its N-th code block (the last).",
        "[code [N]]",
        argument="copy",
    )
    def copy(self, arg: str = "") -> None:
        words = arg.split()
        if not words:
            last = self.chat.last_answer()
            if last is None or not last.content:
                raise ChatreplError("There is no answer to copy yet.")
            how = self._copy(last.content)
            self.renderer.note(f"Copied the last answer ({len(last.content)} characters) to {how}.")
            return
        if words[0] != "code" or len(words) > 2:
            raise commands.CommandError("/copy takes nothing, or code and a block's number.")
        number, block = self._code(_number(words[1], "/copy code") if len(words) > 1 else None)
        how = self._copy(block.text)
        self.renderer.note(f"Copied code block {number} ({lines(block.text)}) to {how}.")

    @commands.command(
        "save",
        "Write a code block of the last answer to a file (the last block).",
        "PATH [N]",
        argument="path",
    )
    def save(self, arg: str) -> None:
        words = _words(arg)
        if not words or len(words) > 2:
            raise commands.CommandError(
                "/save needs a file name, then optionally a code block's number."
            )
        number, block = self._code(_number(words[1], "/save") if len(words) > 1 else None)
        path = Path(words[0]).expanduser()
        shown = shown_name(words[0])
        if path.is_dir():
            raise ChatreplError(f"{shown} is a directory.", "Give a file name.")
        question = overwrite_question(path, shown)
        if question and not self.session.confirm(question):
            self.renderer.note("Nothing was written.")
            return
        text = block.text if block.text.endswith("\n") else block.text + "\n"
        try:
            path.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise ChatreplError(f"Could not write {shown}: {exc.strerror or exc}.") from None
        self.renderer.note(f"Wrote code block {number} ({lines(block.text)}) to {shown}.")
