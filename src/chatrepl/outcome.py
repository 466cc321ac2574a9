"""How a turn ended: its status, the reply, timings, and a question to give back."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from chatrepl import wire
from chatrepl.errors import ChatreplError


@dataclass
class Outcome:
    """How a turn ended: its status, the reply, and a question to give back if unsent."""

    status: str  # complete | interrupted | truncated | failed | unsent
    reply: wire.Reply = field(default_factory=wire.Reply)
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
