"""An answer as plain text (pipes, files, `--plain`, `NO_COLOR`): written as it comes,
sanitized (escape sequences and control characters other than tab and newline removed;
with `--raw`, exactly as the server sent it), with no escape codes of ours and without
importing rich, so a one-shot run into a pipe streams at the cost of the text alone."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chatrepl.sanitize import Sanitizer

if TYPE_CHECKING:
    from chatrepl.render import Renderer

THINKING_HEADER = "Thinking…"


class PlainView:
    """One answer in plain text; reasoning only to the reasoning file, if any. Use as a
    context manager. `view.AnswerView` builds on it: what it does without Markdown, or
    without a terminal of the REPL's, is what this class does."""

    def __init__(self, renderer: Renderer) -> None:
        self.r = renderer
        self._text = Sanitizer()
        self._reasoning = Sanitizer()
        self._ends_with_newline = True
        self._closed = False
        from chatrepl.think import Thought  # (not before the first prompt)

        self.thought = Thought(renderer.clock)

    def __enter__(self) -> PlainView:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def waiting(self, host: str = "") -> None:
        """The request to `host` is on its way: a moment for work that would have
        delayed it, and for saying so on a terminal (nothing in plain text)."""

    def _arrived(self) -> None:
        """Something of the answer arrived (or it ended)."""

    def text(self, piece: str) -> None:
        self._arrived()
        safe = piece if self.r.raw else self._text.feed(piece)
        if not safe:
            return
        if self.thought.pending:
            self._end_thinking()
        self._show(safe)

    def _show(self, safe: str) -> None:
        """Show text of the answer, sanitized (or raw), its reasoning ended."""
        self.r.output(safe)
        self._ends_with_newline = safe.endswith("\n")

    def whole(self, text: str) -> None:
        self.text(text)

    def footer(self, lines: list[str]) -> None:
        """Lines under a live answer (see `AnswerView.footer`): none in plain text."""

    def reasoning(self, piece: str) -> None:
        self._arrived()
        safe = self._reasoning.feed(piece)
        if safe:
            self._think(safe)

    def _think(self, safe: str) -> None:
        """Show reasoning, sanitized."""
        self.thought.add(safe)
        if self.r.reasoning_file is not None:
            self.r.reasoning_file.write(safe)
            self.r.reasoning_file.flush()

    def recast(self, into: str, text: str) -> None:
        """What was written as one kind was the other (see `think.Recast`)."""
        if into == "answer":
            self.thought.clear()
            self._end_thinking()
            self.text(text)
            return
        self.r.warn("The text above was the model's reasoning: it sent no opening <think> tag.")
        if self.r.reasoning_file is not None:
            self.r.reasoning_file.write(text)

    def _end_thinking(self) -> None:
        summary = self.thought.end()
        if self.r.reasoning_file is not None and summary:
            self.r.reasoning_file.write("\n\n")
            self.r.reasoning_file.flush()

    def close(self) -> None:
        """Settle the answer, once: end its thinking, then its last line."""
        if self._closed:
            return
        self._closed = True
        self._text.flush()
        try:
            if self.thought.pending:
                self._end_thinking()
            self._stop()
        finally:
            self._settle()

    def _stop(self) -> None:
        """Stop what shows the answer as it streams (nothing, in plain text)."""

    def _settle(self) -> None:
        if not self._ends_with_newline:
            self.r.output("\n")
