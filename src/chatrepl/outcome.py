"""How a turn ended: its status, the reply, timings, a question to give back, and the
one place where that becomes words on the screen and an exit status.

The REPL and one-shot mode both tell a turn's end through `told` and one-shot mode
leaves with `exit_status`, so the two cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum, StrEnum
from typing import TYPE_CHECKING, Any

from chatrepl.errors import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, ChatreplError

if TYPE_CHECKING:
    from chatrepl.events import Reply


class Status(StrEnum):
    """How a turn ended. The first four are also an answer's status in the store."""

    COMPLETE = "complete"
    INTERRUPTED = "interrupted"  # Ctrl-C, SIGTERM or a hang-up: what arrived is kept
    TRUNCATED = "truncated"  # the stream ended before its end
    FAILED = "failed"  # the request failed, or the server reported an error in the stream
    UNSENT = "unsent"  # nothing came back: the question returns to the prompt


class Level(Enum):
    """How a line about a turn is shown: red, yellow, or dim."""

    ERROR = "error"
    WARNING = "warning"
    NOTE = "note"


@dataclass(frozen=True)
class Line:
    level: Level
    text: str


def _reply() -> Reply:
    """An empty reply (events, which decodes a stream, is imported when one is read)."""
    from chatrepl.events import Reply

    return Reply()


@dataclass
class Outcome:
    """How a turn ended: its status, the reply, and a question to give back if unsent."""

    status: Status
    reply: Reply = field(default_factory=_reply)
    error: ChatreplError | None = None
    restore: str = ""
    first_token: float | None = None  # seconds from sending to the first thing shown
    first_text: float | None = None  # seconds from sending to the first answer text
    seconds: float = 0.0

    def meta(self) -> dict[str, Any]:
        usage = self.reply.usage
        out: dict[str, Any] = {"seconds": round(self.seconds, 3)}
        if self.first_token is not None:
            out["first_token"] = round(self.first_token, 3)
        if usage:
            out["usage"] = {
                "prompt_tokens": usage.prompt_tokens,
                "completion_tokens": usage.completion_tokens,
                "total_tokens": usage.total_tokens,
            }
        if usage and usage.completion_tokens and self.first_token is not None:
            streaming = self.seconds - self.first_token
            if streaming > 0:
                out["tokens_per_second"] = round(usage.completion_tokens / streaming, 1)
        if self.reply.finish_reason:
            out["finish_reason"] = self.reply.finish_reason
        return out | self.thinking()

    def thinking(self) -> dict[str, Any]:
        """The reasoning and how long it and the answer took, for an answer's meta."""
        reasoning = self.reply.reasoning.strip()
        if not reasoning or self.first_token is None:
            return {"reasoning": reasoning} if reasoning else {}
        answered = self.first_text if self.first_text is not None else self.seconds
        out: dict[str, Any] = {
            "reasoning": reasoning,
            "thinking_seconds": round(answered - self.first_token, 3),
        }
        if self.first_text is not None:
            out["answer_seconds"] = round(self.seconds - self.first_text, 3)
        return out


def told(outcome: Outcome, interactive: bool) -> list[Line]:
    """The lines that say how a turn ended, when it did not simply complete. In the REPL
    (`interactive`) an interruption is said too; one-shot mode says nothing of it (the
    exit status does)."""
    reply = outcome.reply
    if outcome.error is not None:
        return [Line(Level.ERROR, str(outcome.error))]
    if outcome.status is Status.FAILED and reply.error:
        said = reply.error.rstrip()
        said += "" if said.endswith((".", "!", "?")) else "."
        return [Line(Level.ERROR, f"The server reported an error: {said} Try again.")]
    if outcome.status is Status.TRUNCATED:
        return [Line(Level.ERROR, "The answer ended early: the stream closed before its end.")]
    if outcome.status is Status.INTERRUPTED and interactive:
        said = "Interrupted; your question is back at the prompt." if outcome.restore else ""
        return [Line(Level.NOTE, said or "Interrupted.")]
    if outcome.status is Status.COMPLETE and reply.finish_reason == "length":
        return [Line(Level.WARNING, "The answer was cut at the length limit.")]
    return []


def exit_status(outcome: Outcome) -> int:
    """One-shot mode's exit status for a turn that ended this way."""
    if outcome.status is Status.INTERRUPTED:
        return EXIT_INTERRUPTED
    return EXIT_OK if outcome.status is Status.COMPLETE else EXIT_FAILED
