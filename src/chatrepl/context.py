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
    "context size",  # llama.cpp
    "too long",
    "too many tokens",
    "exceeds the maximum",
    "input length",
    "prompt is too long",
    "reduce the length",
    "takes at most",  # transformers serve
    "max-model-len",
    "max input tokens",  # LiteLLM
)


# Where a refusal names the limit: (pattern, whether the number is the prompt's share
# alone, without the answer's). Read in this order; the first that matches wins.
_WINDOWS = (
    (re.compile(r"max input tokens\s*=\s*(\d[\d,]*)"), True),  # LiteLLM
    (re.compile(r"takes at most\s*(\d[\d,]*)"), False),  # transformers serve
    (re.compile(r"\bn_ctx\W{0,4}?(\d[\d,]*)"), False),  # llama.cpp's body
    (re.compile(r">\s*(\d[\d,]*)\s*tokens"), False),  # Workers AI: "3120 > 2000 tokens"
    (
        re.compile(
            r"(?:maximum context length|context window|context length|context size)"
            r"\D{0,24}?(\d[\d,]+)"
        ),
        False,
    ),
)


def window_in(message: str, answer_tokens: int = 0) -> int | None:
    """The window a server's refusal names ("maximum context length is 8192", "9120 >
    8192 tokens", "takes at most 64", "n_ctx": 64), if it names one. A limit on the
    prompt alone ("Max Input Tokens=50") is given as a window with `answer_tokens` kept
    for the answer on top."""
    lowered = message.lower()
    for pattern, prompt_only in _WINDOWS:
        match = pattern.search(lowered)
        if match is not None:
            tokens = int(match.group(1).replace(",", ""))
            if tokens > 0:
                return tokens + (answer_tokens if prompt_only else 0)
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

    def __init__(
        self, tokens: int, window: int, attached: bool = False, room: int | None = None
    ) -> None:
        what = "The question and its attachments are" if attached else "The question is"
        kept = window - room if room is not None and room < window else 0
        part = f" ({room:,} once {kept:,} are kept for the answer)" if kept else ""
        super().__init__(
            f"{what} about {tokens:,} tokens, too long for the model's window "
            f"of {window:,} tokens{part}.",
            (
                "Attach less (/file clear drops them), or raise"
                if attached
                else "Shorten it, or raise"
            )
            + " the window with --context or context_tokens.",
        )
        self.tokens = tokens
        self.window = window
        self.room = room


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
        if window:
            self.context_tokens = min(self.context_tokens, window)
            self.answer_tokens = fitting_answer(self.context_tokens, self.answer_tokens)
            return
        target = int(min(self.available, sent_tokens) * 0.5) + self.answer_tokens
        self.context_tokens = max(self.answer_tokens + 64, min(self.context_tokens, target))


def fitting_answer(window: int, answer_tokens: int) -> int:
    """The share kept for the answer, made smaller for a window too small to hold it
    and a question (a server that takes 64 tokens in all)."""
    return answer_tokens if window > answer_tokens else max(1, window // 4)


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
                tokens = budget.tokens(fixed + turn)
                raise ContextError(tokens, budget.context_tokens, room=room)
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
    request left out. `load` and `save` keep what was learnt per endpoint (the store).

    A window configured (`--context`, `context_tokens`) always wins over one learnt. A
    refusal that names the window teaches it at once; one that names none halves the
    window for the retry only, and the halved size is learnt when a request of that size
    is answered (`settle`). `forget` (/context reset) drops what was learnt.
    """

    def __init__(self, load: Loader | None = None, save: Saver | None = None) -> None:
        self._load = load
        self._save = save
        self.key = ""
        self.budget = Budget()
        self.last: Plan | None = None
        self.reported: int | None = None  # the server's prompt tokens for the last request
        self._said: tuple[str, bool] | None = None
        self.learned: int | None = None  # the window the server's refusals taught
        self.configured: int | None = None  # --context or context_tokens
        self._answer_tokens: int | None = None
        self._trial: tuple[int, int] | None = None  # (halved window, the one before)

    @property
    def lowered(self) -> int | None:
        """The learnt window when it is the one in use (older name, kept for callers)."""
        return self.learned if self.configured is None else None

    def use(self, key: str, context_tokens: int | None, answer_tokens: int | None) -> None:
        """Switch to an endpoint (`key`: its URL and model) with its configured window."""
        self.key = key
        self.configured = context_tokens
        self._answer_tokens = answer_tokens
        self._trial = None
        state = self._load(key) if self._load is not None else None
        ratio, learned = state if state is not None else (1.0, None)
        self.learned = learned or None
        self.budget = Budget(self._window(), self._answer(), ratio)

    def _window(self) -> int:
        if self.configured:
            return self.configured
        if self.learned and self.learned < DEFAULT_CONTEXT:
            return self.learned
        return DEFAULT_CONTEXT

    def _answer(self) -> int:
        answer = self._answer_tokens or min(
            DEFAULT_ANSWER, (self.configured or DEFAULT_CONTEXT) // 4
        )
        return fitting_answer(self._window(), answer)

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
        """The server refused `plan` as too long (saying `message`): aim lower for the
        retry; a window the server named is learnt at once."""
        before = self.budget.context_tokens
        named = window_in(message, self.budget.answer_tokens)
        self.budget.lower(plan.tokens, named)
        if named:
            self.learned = self.budget.context_tokens
            self._store()
        else:
            self._trial = (self.budget.context_tokens, before)

    def settle(self, answered: bool) -> None:
        """The turn ended: a window halved for its retry is learnt if the request of that
        size was answered, else the window goes back to what it was."""
        if self._trial is None:
            return
        size, before = self._trial
        self._trial = None
        if answered and self.budget.context_tokens == size:
            self.learned = size
            self._store()
        else:
            self.budget.context_tokens = before

    def forget(self) -> None:
        """Forget what the server's refusals taught: the configured or default window."""
        self.learned = None
        self._trial = None
        self.budget.context_tokens = self._window()
        self.budget.answer_tokens = self._answer()
        self._store()

    def describe_learned(self) -> str:
        """For /stats: what was learnt and whether it is in use, or ""."""
        if not self.learned:
            return ""
        if self.configured:
            return (
                f"the server's refusals taught a window of {self.learned:,} tokens; "
                f"the configured {self.configured:,} wins (/context reset forgets it)"
            )
        return (
            f"window of {self.learned:,} tokens learnt from the server (/context reset forgets it)"
        )

    def _store(self) -> None:
        if self._save is not None and self.key:
            self._save(self.key, self.budget.ratio, self.learned)
