"""One question, several writers at once: `/compare @a @b [-- QUESTION]` and
`chatrepl --compare a,b QUESTION`.

Each writer (an endpoint, or `@endpoint:model`) gets a lane: a thread of its own with a
transport of its own reads the answer's events and hands them to one queue. The main
thread takes them in the order they come: it shows the watched lane as it streams,
keeps the others' status, and saves every lane's answer as an alternative of the
question as it streams (checkpointed as a single answer is, so a kill -9 loses none of
them). A lane that fails does not stop the others; Ctrl-C stops them all and keeps what
arrived.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from chatrepl import wire, writer
from chatrepl.chat import Chat
from chatrepl.config import Endpoint, token_for
from chatrepl.context import PER_MESSAGE, estimate
from chatrepl.conversation import Message
from chatrepl.errors import ChatreplError, RequestError, StreamError
from chatrepl.events import Reply
from chatrepl.outcome import Outcome, Status
from chatrepl.think import Recast
from chatrepl.tree import path_to

CHECKPOINT_SECONDS = 0.5
TICK = 0.1  # seconds between looks at the lanes when no event comes
_END = object()


@dataclass(frozen=True)
class _Retrying:
    said: str  # the transport's line: what failed, and when it tries again


@dataclass
class Lane:
    """One writer's answer as it streams."""

    endpoint: Endpoint
    token: str
    reply: Reply = field(default_factory=Reply)
    status: Status | None = None  # None: still streaming
    error: str = ""
    answer: Message | None = None
    first_token: float | None = None
    first_text: float | None = None  # seconds to the first answer text (not reasoning)
    seconds: float = 0.0
    checkpoint: float = 0.0
    retrying: str = ""  # the last retry said, while no answer has started

    @property
    def host(self) -> str:
        """The endpoint's host (and port), never its user information."""
        return urlsplit(self.endpoint.url).netloc.rpartition("@")[2]

    @property
    def label(self) -> str:
        model = f":{self.endpoint.model}" if self.endpoint.model else ""
        return f"@{self.endpoint.name}{model}"

    def tokens(self) -> int | None:
        usage = self.reply.usage
        return usage.completion_tokens if usage and usage.completion_tokens else None

    @property
    def estimated(self) -> int:
        """Tokens of the text so far, as chatrepl estimates them (the server's count is
        `tokens`, when it gives one)."""
        text = self.reply.answer
        return estimate(text) - PER_MESSAGE if text else 0

    def speed(self) -> float | None:
        count = self.tokens() or self.estimated
        if self.first_token is None or not count:
            return None
        streaming = self.seconds - self.first_token
        return count / streaming if streaming > 0 else None

    def status_line(self) -> str:
        """`@b: 312 tokens, 41 tok/s`, `@b: done, …`, `@b: waiting`, or the error."""
        if self.error:
            return f"{self.label}: {self.error}"
        count = self.tokens()
        said = f"{count:,} tokens" if count else f"~{self.estimated:,} tokens"
        speed = self.speed()
        pace = f", {pace_of(speed)}" if speed else ""
        if self.status is None:
            if self.answer:
                return f"{self.label}: {said}{pace}"
            return f"{self.label}: {self.retrying or 'waiting'}"
        state = "done" if self.status is Status.COMPLETE else str(self.status)
        return f"{self.label}: {state}, {said}{pace}"


def pace_of(speed: float) -> str:
    """A speed as the status lines and the summary say it: `41 tok/s`, `3.5 tok/s`."""
    return f"{speed:.0f} tok/s" if speed >= 10 else f"{speed:.1f} tok/s"


def parse(arg: str, chat: Chat) -> tuple[list[Endpoint], str]:
    """`@a @b:model … [-- QUESTION]`: the writers, and a new question ("": the last)."""
    spec, _, question = arg.partition("--")
    names = spec.split()
    endpoints = chat.endpoints()
    if len(names) < 2 or not all(n.startswith("@") for n in names):
        some = " ".join(f"@{n}" for n in sorted(endpoints)[:2])
        raise ChatreplError(
            "/compare takes two or more writers: @ENDPOINT or @ENDPOINT:MODEL.",
            f"Try: /compare {some}, or /compare {some} -- a new question.",
        )
    return [writer.target(n, endpoints, chat.endpoint) for n in names], question.strip()


def targets(names: str, chat: Chat) -> list[Endpoint]:
    """`--compare a,b:model`: the writers named, comma-separated."""
    parts = [p.strip() for p in names.split(",") if p.strip()]
    endpoints = chat.endpoints()
    if len(parts) < 2:
        some = ",".join(sorted(endpoints)[:2])
        raise ChatreplError(
            "--compare takes two or more endpoints, comma-separated.",
            f'Try: chatrepl --compare {some} "question".',
        )
    return [writer.target("@" + p.lstrip("@"), endpoints, chat.endpoint) for p in parts]


class Compare:
    """Ask one question of every lane's writer at once (see the module's docstring).

    `show` is told what the watched lane's answer does: `("start", lane)` before its
    first text, `("text", piece)`, `("reasoning", piece)`, `("recast", Recast)`,
    `("end", lane)`; `status`
    gets every lane after each change (to draw their lines). With `follow`, the next
    lane in order is watched when the watched one ends (one-shot: each answer under its
    header, in the order given)."""

    def __init__(
        self,
        chat: Chat,
        endpoints: list[Endpoint],
        show: Callable[[str, Any], None],
        status: Callable[[list[Lane]], None] = lambda lanes: None,
        follow: bool = False,
    ) -> None:
        self.chat = chat
        self.lanes = [Lane(e, self._token(e)) for e in endpoints]
        self.show = show
        self.status = status
        self.follow = follow
        self.watched = 0
        self.stop = threading.Event()
        self.events: queue.Queue[tuple[int, Any]] = queue.Queue()

    def _token(self, endpoint: Endpoint) -> str:
        if endpoint.name == self.chat.endpoint.name:
            return self.chat.token
        return token_for(endpoint)

    # ---------------------------------------------------------- the lanes' threads

    def _pump(self, index: int, messages: list[dict[str, str]]) -> None:
        from chatrepl.transport import Transport

        lane = self.lanes[index]
        settings = self.chat.settings
        transport = Transport(
            connect_timeout=settings.connect_timeout,
            idle_timeout=settings.idle_timeout,
            on_retry=lambda said: self.events.put((index, _Retrying(said))),
        )
        try:
            for event in transport.stream(lane.endpoint, messages, lane.token):
                if self.stop.is_set():
                    return
                self.events.put((index, event))
            self.events.put((index, _END))
        except Exception as exc:  # said as the lane's end, on the main thread
            self.events.put((index, exc))

    # ---------------------------------------------------------- the main thread

    def run(self, question: Message) -> list[Lane]:
        """Stream every lane's answer to `question` (already in the conversation and
        saved); return the lanes as they ended."""
        chat = self.chat
        messages = chat.plan().messages
        self.started = chat.clock()
        for index in range(len(self.lanes)):
            threading.Thread(target=self._pump, args=(index, messages), daemon=True).start()
        self.show("start", self.lanes[self.watched])
        try:
            while any(lane.status is None for lane in self.lanes):
                try:
                    index, item = self.events.get(timeout=TICK)
                except queue.Empty:
                    self._tick()
                    continue
                self._take(self.lanes[index], index, item, question)
        except KeyboardInterrupt:
            self.stop.set()
            for lane in self.lanes:
                if lane.status is None:
                    self._end(lane, Status.INTERRUPTED, "")
        finally:
            self.stop.set()
            for lane in self.lanes:
                self._save(lane, final=True)
        return self.lanes

    def _tick(self) -> None:
        now = self.chat.clock() - self.started
        for lane in self.lanes:
            if lane.status is None:
                lane.seconds = now
        self.status(self.lanes)

    def _take(self, lane: Lane, index: int, item: Any, question: Message) -> None:
        now = self.chat.clock()
        lane.seconds = now - self.started
        if item is _END:
            status = Status(lane.reply.status)
            self._end(lane, status, lane.reply.error if status is Status.FAILED else "")
        elif isinstance(item, _Retrying):
            lane.retrying = " ".join(item.said.split())
        elif isinstance(item, Exception):
            status = Status.TRUNCATED if isinstance(item, StreamError) else Status.FAILED
            said = str(item) if isinstance(item, ChatreplError) else type(item).__name__
            self._end(lane, status, said)
        else:
            lane.reply.apply(item)
            if isinstance(item, wire.Text | wire.Reasoning | Recast):
                if lane.answer is None:
                    self._begin(lane, question, now)
                if isinstance(item, wire.Text) and lane.first_text is None:
                    lane.first_text = now - self.started
                if index == self.watched:
                    self._shown(item)
                if now - lane.checkpoint >= CHECKPOINT_SECONDS:
                    self._save(lane)
                    lane.checkpoint = now
        if index == self.watched and lane.status is not None:
            self._advance()
        self.status(self.lanes)

    def _shown(self, item: Any) -> None:
        if isinstance(item, wire.Text):
            self.show("text", item.text)
        elif isinstance(item, wire.Reasoning):
            self.show("reasoning", item.text)
        elif isinstance(item, Recast):  # what was shown as one kind was the other
            self.show("recast", item)

    def _advance(self) -> None:
        """The watched lane ended: say so; with `follow`, watch the next one (showing
        what it has so far)."""
        self.show("end", self.lanes[self.watched])
        if not self.follow or self.watched + 1 >= len(self.lanes):
            return
        self.watched += 1
        lane = self.lanes[self.watched]
        self.show("start", lane)
        if lane.reply.answer:
            self.show("text", lane.reply.answer)
        if lane.status is not None:
            self._advance()

    def _begin(self, lane: Lane, question: Message, now: float) -> None:
        """The lane's first text: its answer joins the tree under the question."""
        lane.first_token = now - self.started
        answer = Message("assistant", "", "streaming")
        answer.parent = question
        answer.meta = writer.stamp(lane.endpoint)
        answer.content = lane.reply.answer
        self.chat.conversation.nodes.append(answer)
        lane.answer = answer
        lane.checkpoint = now
        self.chat.save_message(answer, streaming=True)
        first = self.lanes[0].answer
        if lane is not self.lanes[0] and first is not None:  # the store shows the first
            self.chat.set_path(path_to(first))  # writer's answer, whatever comes after

    def _end(self, lane: Lane, status: Status, error: str) -> None:
        lane.status = status
        if status is Status.FAILED and not error and lane.answer is None:
            error = "The answer ended before any text arrived."
        lane.error = " ".join(error.split())

    def _save(self, lane: Lane, final: bool = False) -> None:
        answer = lane.answer
        if answer is None:
            return
        answer.content = lane.reply.answer
        meta = writer.stamp(lane.endpoint) | self._measures(lane)
        if final:
            answer.status = lane.status or Status.INTERRUPTED
            spent = writer.cost(writer.price(lane.endpoint, self.chat.settings.prices), meta)
            if spent is not None:
                meta["cost"] = spent
            answer.meta = meta
        self.chat.update_message(answer, final=final, meta=meta)

    @staticmethod
    def _measures(lane: Lane) -> dict[str, Any]:
        """What is kept of an answer, measured as a single answer's is (`Outcome.meta`),
        and the error a writer ended with."""
        ended = Outcome(
            lane.status or Status.INTERRUPTED,
            lane.reply,
            first_token=lane.first_token,
            first_text=lane.first_text,
            seconds=lane.seconds,
        )
        return ended.meta() | ({"error": lane.error} if lane.error else {})


def summary(lanes: list[Lane]) -> list[tuple[str, str]]:
    """The table shown when every lane has ended: a row per writer with its status,
    tokens, time to first token, speed and (where a price is set) cost."""
    rows = []
    for lane in lanes:
        count, speed = lane.tokens(), lane.speed()
        spent = lane.answer.meta.get("cost") if lane.answer is not None else None
        said = ["done" if lane.status is Status.COMPLETE else str(lane.status)]
        if count or lane.estimated:
            said.append(f"{count:,} tokens" if count else f"~{lane.estimated:,} tokens")
        if lane.first_token is not None:
            said.append(f"first token after {lane.first_token:.2f} s")
        if speed:
            said.append(pace_of(speed))
        if isinstance(spent, int | float):
            said.append(writer.money(spent))
        if lane.error:
            said.append(lane.error)
        rows.append((lane.label, " · ".join(said)))
    return rows


def answered(lanes: list[Lane]) -> Iterator[Lane]:
    return (lane for lane in lanes if lane.answer is not None)


def failed(lanes: list[Lane]) -> bool:
    """Whether any lane failed (one-shot mode then exits 1)."""
    return any(lane.status is not Status.COMPLETE for lane in lanes)


def request_error(lanes: list[Lane]) -> RequestError:
    said = "; ".join(lane.status_line().rstrip(".") for lane in lanes)
    return RequestError(f"No writer answered: {said}.")
