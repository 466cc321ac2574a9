"""What a streamed answer means: the typed events decoders make, runs of them joined,
and a whole answer accumulated from them (`Reply`). Pure data; `wire` makes the events
from bytes and re-exports all of this."""

from __future__ import annotations

from dataclasses import dataclass, field

from chatrepl.think import Recast

# ---------------------------------------------------------------- events


@dataclass(frozen=True)
class Text:
    """A piece of the answer."""

    text: str


@dataclass(frozen=True)
class Reasoning:
    """A piece of the model's reasoning, kept apart from the answer."""

    text: str


@dataclass(frozen=True)
class Usage:
    """Token counts as the server reported them; the last one seen wins."""

    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    total_tokens: int | None = None


@dataclass(frozen=True)
class Finish:
    """The server said why the answer ended (`stop`, `length`, ...)."""

    reason: str


@dataclass(frozen=True)
class Failure:
    """An error reported inside the stream, after the 2xx status."""

    message: str


@dataclass(frozen=True)
class Done:
    """The explicit end marker (`[DONE]` or `done: true`)."""


@dataclass(frozen=True)
class Notice:
    """Something about the stream itself, not part of the answer, worth one line once
    the answer is shown (a garbled line that was skipped)."""

    message: str


Event = Text | Reasoning | Recast | Usage | Finish | Failure | Done | Notice


def coalesce(events: list[Event]) -> list[Event]:
    """Adjacent pieces of text (or of reasoning) joined into one, the rest in order.

    What one read of the body delivers is then shown, saved and written at once: the
    work per token after decoding does not grow with how finely the server cut them.
    """
    if len(events) < 2:
        return events
    out: list[Event] = []
    run: list[str] = []
    kind: type[Text] | type[Reasoning] | None = None
    for event in events:
        if type(event) is kind:
            run.append(event.text)
            continue
        if kind is not None:
            out.append(kind("".join(run)))
        if isinstance(event, Text | Reasoning):
            kind, run = type(event), [event.text]
        else:
            kind, run = None, []
            out.append(event)
    if kind is not None:
        out.append(kind("".join(run)))
    return out


# ---------------------------------------------------------------- a whole answer


@dataclass
class Reply:
    """Accumulates the events of one answer and says how it ended."""

    reasoning: str = ""
    usage: Usage | None = None
    finish_reason: str = ""
    error: str = ""
    done: bool = False
    notices: list[str] = field(default_factory=list)
    _parts: list[str] = field(default_factory=list)

    def apply(self, event: Event) -> None:
        if isinstance(event, Text):
            self._parts.append(event.text)
        elif isinstance(event, Reasoning):
            self.reasoning += event.text
        elif isinstance(event, Recast):
            if event.into == "reasoning":  # the answer so far was thinking
                self.reasoning += self.answer
                self._parts.clear()
            else:  # what looked like thinking was the answer
                if self.reasoning.endswith(event.text):
                    self.reasoning = self.reasoning[: len(self.reasoning) - len(event.text)]
                self._parts.insert(0, event.text)
        elif isinstance(event, Usage):
            self.usage = event
        elif isinstance(event, Finish):
            self.finish_reason = event.reason
        elif isinstance(event, Failure):
            if not self.error:
                self.error = event.message
        elif isinstance(event, Done):
            self.done = True
        elif isinstance(event, Notice):
            self.notices.append(event.message)

    @property
    def answer(self) -> str:
        if len(self._parts) > 1:
            self._parts[:] = ["".join(self._parts)]
        return self._parts[0] if self._parts else ""

    @property
    def unanswered(self) -> bool:
        """The stream ended with reasoning and no answer: a `<think>` that never closed,
        or a reasoning model stopped before it wrote anything else."""
        ended = self.done or bool(self.finish_reason)
        return ended and not self.error and bool(self.reasoning.strip()) and not self.answer.strip()

    @property
    def status(self) -> str:
        """complete, failed or truncated, judged from what the stream said; reasoning
        with no answer is a failed answer, not a complete empty one."""
        if self.error or self.unanswered:
            return "failed"
        if self.done or self.finish_reason:
            return "complete"
        return "truncated"
