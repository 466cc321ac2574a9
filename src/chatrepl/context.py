"""The context budget: what of a conversation fits the model's window, and what is left out.

Token counts are estimated without a tokenizer: `estimate` takes the larger of one token
per 4 characters and 4 tokens per 3 words, plus 4 tokens of framing per message, which
is near what Llama 3 and GPT tokenizers give for English prose and code, and errs high
on text with many short words. When the server reports how many prompt tokens a request
took, the ratio of that to our estimate is kept per endpoint (`Budget.calibrate`), so
the estimate follows the real tokenizer as the user chats.

`plan` chooses what is sent: the system prompt, a short note when earlier turns were
left out, and the newest whole turns that fit, never fewer than the latest question.
Nothing is removed from the conversation itself.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from chatrepl.errors import RequestError

DEFAULT_CONTEXT = 8192
DEFAULT_ANSWER = 1024
PER_MESSAGE = 4
MIN_RATIO, MAX_RATIO = 0.25, 4.0
LEFT_OUT = "Earlier turns of this conversation were left out to fit the model's context window."
# Words servers use when a request is longer than the model's window.
TOO_LONG_WORDS = (
    "context length",
    "context_length",
    "maximum context",
    "context window",
    "too long",
    "too many tokens",
    "exceeds the maximum",
    "input length",
    "prompt is too long",
    "reduce the length",
)


_WINDOWS = (
    re.compile(r">\s*(\d[\d,]{2,})\s*tokens"),
    re.compile(r"(?:maximum context length|context window|context length)\D{0,24}?(\d[\d,]{2,})"),
)


def window_in(message: str) -> int | None:
    """The window a server's refusal names ("maximum context length is 8192", "9120 >
    8192 tokens"), if it names one."""
    for pattern in _WINDOWS:
        match = pattern.search(message.lower())
        if match is not None:
            return int(match.group(1).replace(",", ""))
    return None


def estimate(text: str) -> int:
    """Estimated tokens of one message's text, framing included."""
    by_chars = len(text) / 4
    by_words = text.count(" ") * 4 / 3
    return PER_MESSAGE + math.ceil(max(by_chars, by_words))


def too_long(message: str) -> bool:
    """Whether a server's error message says the request exceeded the window."""
    lowered = message.lower()
    return any(word in lowered for word in TOO_LONG_WORDS)


class ContextError(RequestError):
    """The latest question alone does not fit the window."""

    def __init__(self, tokens: int, window: int, attached: bool = False) -> None:
        what = "The question and its attachments are" if attached else "The question is"
        super().__init__(
            f"{what} about {tokens:,} tokens, too long for the model's window "
            f"of {window:,} tokens.",
            (
                "Attach less (/file clear drops them), or raise"
                if attached
                else "Shorten it, or raise"
            )
            + " the window with --context or context_tokens.",
        )
        self.tokens = tokens
        self.window = window


class Sendable(Protocol):
    """A message as `plan` needs it: its role and its wire form."""

    @property
    def role(self) -> str: ...

    def wire(self) -> dict[str, str]: ...


@dataclass
class Budget:
    """The window of one endpoint, the share kept for the answer, and the calibration."""

    context_tokens: int = DEFAULT_CONTEXT
    answer_tokens: int = DEFAULT_ANSWER
    ratio: float = 1.0  # server's prompt tokens / our estimate

    @property
    def available(self) -> int:
        """Tokens the request may use (in the server's count)."""
        return max(1, self.context_tokens - self.answer_tokens)

    def tokens(self, estimated: int) -> int:
        """An estimate, in the server's count."""
        return math.ceil(estimated * self.ratio)

    def calibrate(self, reported: int, estimated: int) -> None:
        """Move the ratio towards what the server reported for a request."""
        if reported <= 0 or estimated <= 0:
            return
        seen = min(MAX_RATIO, max(MIN_RATIO, reported / estimated))
        self.ratio = round(seen if self.ratio == 1.0 else (self.ratio + seen) / 2, 4)

    def lower(self, sent_tokens: int, window: int | None = None) -> None:
        """The server refused a request of about `sent_tokens`: take the window it named,
        else aim at half of what was sent."""
        target = (
            window if window else int(min(self.available, sent_tokens) * 0.5) + (self.answer_tokens)
        )
        self.context_tokens = max(self.answer_tokens + 64, min(self.context_tokens, target))


@dataclass
class Plan:
    """What one request sends and what was left out."""

    messages: list[dict[str, str]]
    tokens: int  # estimated, in the server's count
    total: int  # messages of the conversation that could be sent
    sent: int  # of those, how many are sent
    window: int = 0
    estimated: int = 0  # our raw estimate, before calibration
    summary: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def trimmed(self) -> bool:
        return self.sent < self.total

    def describe(self) -> str:
        return (
            f"Sending the last {self.sent} of {self.total} messages: "
            f"{self.tokens:,} of {self.window:,} tokens."
        )


def _turn_starts(roles: Sequence[str]) -> list[int]:
    """Index of the first message of each turn (a user message and what follows it)."""
    starts = [i for i, role in enumerate(roles) if role == "user"]
    if not starts or starts[0] != 0:
        starts.insert(0, 0)
    return starts


def plan(
    system: Sequence[dict[str, str]],
    messages: Sequence[Sendable],
    budget: Budget,
    size: Callable[[Sendable], int] | None = None,
) -> Plan:
    """The request for `messages` under `budget` (see the module). `system` is always
    sent; `size` gives a message's estimate (a cached one, for long conversations).
    Turns are weighed from the newest back and only until the window is full, and only
    the messages sent are turned into their wire form, so the cost follows what is
    sent, not the length of the conversation."""
    weigh = size or (lambda m: estimate(m.wire()["content"]))
    fixed = sum(estimate(m["content"]) for m in system)
    room = budget.available
    note = estimate(LEFT_OUT)
    used = fixed + note  # the note is counted until the walk reaches the first turn
    first = len(messages)
    for start in reversed(_turn_starts([m.role for m in messages])):
        turn = sum(weigh(m) for m in messages[start:first])
        whole = start == 0 and budget.tokens(used - note + turn) <= room
        if not whole and budget.tokens(used + turn) > room:
            if first == len(messages):  # the latest turn alone does not fit
                raise ContextError(budget.tokens(fixed + turn), budget.context_tokens)
            break
        used += turn
        first = start
    if first == 0:
        used -= note
    kept = [m.wire() for m in messages[first:]]
    head = [*system, {"role": "system", "content": LEFT_OUT}] if first > 0 else list(system)
    return Plan(
        [*head, *kept], budget.tokens(used), len(messages), len(kept), budget.context_tokens, used
    )


Loader = Callable[[str], "tuple[float, int | None] | None"]
Saver = Callable[[str, float, "int | None"], None]


class Window:
    """The budget of the endpoint in use, what was learnt of it, and what the last
    request left out. `load` and `save` keep what was learnt per endpoint (the store)."""

    def __init__(self, load: Loader | None = None, save: Saver | None = None) -> None:
        self._load = load
        self._save = save
        self.key = ""
        self.budget = Budget()
        self.last: Plan | None = None
        self.reported: int | None = None  # the server's prompt tokens for the last request
        self._said: tuple[str, bool] | None = None
        self.lowered: int | None = None  # a window lowered after the server refused

    def use(self, key: str, context_tokens: int | None, answer_tokens: int | None) -> None:
        """Switch to an endpoint (`key`: its URL and model) with its configured window."""
        self.key = key
        window = context_tokens or DEFAULT_CONTEXT
        answer = answer_tokens or min(DEFAULT_ANSWER, window // 4)
        state = self._load(key) if self._load is not None else None
        ratio, lowered = state if state is not None else (1.0, None)
        self.lowered = lowered if lowered and lowered < window else None
        if self.lowered:
            window = self.lowered
        self.budget = Budget(window, answer, ratio)

    def plan(
        self,
        system: Sequence[dict[str, str]],
        messages: Sequence[Sendable],
        size: Callable[[Sendable], int] | None = None,
    ) -> Plan:
        self.last = plan(system, messages, self.budget, size)
        return self.last

    def notice(self, conversation_id: str, plan: Plan) -> str:
        """The line to show when trimming starts or stops (the toolbar and /stats show
        the share of the window at every turn)."""
        said = self._said
        self._said = (conversation_id, plan.trimmed)
        if said == self._said or (
            not plan.trimmed and (said is None or said[0] != conversation_id)
        ):
            return ""
        if not plan.trimmed:
            return "Sending the whole conversation again."
        return plan.describe()

    def calibrate(self, plan: Plan, reported: int | None) -> None:
        self.reported = reported
        if reported:
            self.budget.calibrate(reported, plan.estimated)
            self._store()

    def lower(self, plan: Plan, message: str = "") -> None:
        """The server refused `plan` as too long (saying `message`): aim lower from now on."""
        self.budget.lower(plan.tokens, window_in(message))
        self.lowered = self.budget.context_tokens
        self._store()

    def _store(self) -> None:
        if self._save is not None and self.key:
            self._save(self.key, self.budget.ratio, self.lowered)
