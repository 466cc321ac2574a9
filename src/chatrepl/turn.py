"""One answer to one question, as it streams: sent (trimmed to the window, and once more
if the server refuses it as too long), shown, checkpointed into the store every half
second, and closed with how it ended.

`Turn.run` is the whole of it, step by step: `_take` each event, `_stopped` for an end
that was not the stream's own, `_learn` what the end tells, then `_unanswered` (no
answer started: the question goes back) or `_close` (the answer saved as it ended). A
signal or a bug that stops it is raised again once what arrived is saved.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from chatrepl import wire, writer
from chatrepl.context import too_long
from chatrepl.conversation import Message
from chatrepl.errors import HTTPStatusError, RequestError, StreamError, Terminated
from chatrepl.outcome import Outcome, Status
from chatrepl.think import NO_ANSWER, NO_ANSWER_HINT, Recast

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from chatrepl.chat import Chat

CHECKPOINT_SECONDS = 0.5
#: ...or sooner, once this much text arrived: the store writes a checkpoint while the
#: answer streams on, so at a fast server's pace what is left for the end stays short.
CHECKPOINT_CHARS = 2_000_000
EMPTY_ANSWER = "The server ended its answer without any text."
EMPTY_ANSWER_HINT = "Try again; if it goes on, check the model name (--model, /model)."


class Turn:
    """See the module's docstring. `head` is what the store showed before a new
    question; `before` the branch on screen before a question asked again."""

    def __init__(
        self,
        chat: Chat,
        question: Message,
        head: int | None = None,
        before: list[Message] | None = None,
    ) -> None:
        self.chat = chat
        self.question = question
        self.head = head
        self.before = before
        self.outcome = Outcome(Status.COMPLETE)
        self.started = chat.clock()
        self.answer: Message | None = None
        self.checkpoint = 0.0
        #: Answer text that arrived since the last checkpoint (handed to the store as is:
        #: joining the whole answer at each checkpoint would cost as much as saving it).
        self.unsaved: list[str] = []
        self.unsaved_chars = 0
        self.recast = False  # the text so far was rewritten since the last checkpoint
        #: Raised again once the partial answer is saved: a signal, or a bug.
        self.stop: BaseException | None = None
        self.writer = writer.stamp(chat.endpoint)

    def run(self) -> Outcome:
        view = self.chat.renderer.answer()
        try:
            with view:
                for event in self._stream(view.waiting):
                    self._take(event, view)
            self.outcome.status = Status(self.outcome.reply.status)
        except (KeyboardInterrupt, Terminated, Exception) as exc:
            self._stopped(exc)
        self.outcome.seconds = self.chat.clock() - self.started
        self._learn()
        if self.answer is None and (
            self.stop is not None or self.outcome.status is not Status.COMPLETE
        ):
            return self._unanswered()
        self._close()
        return self.outcome

    def _stream(self, waiting: Callable[[str], None]) -> Iterator[Any]:
        """The answer's events; a request the server refuses as too long for its window
        is trimmed further and sent once more, before any text. `waiting` is called as
        the request goes, once what sends it is loaded."""
        chat = self.chat
        plan = chat.plan()
        notice = chat.window.notice(chat.conversation.id, plan)
        if notice:
            chat.renderer.aside(notice)
        try:
            events = chat.transport.stream(chat.endpoint, plan.messages, chat.token)
            waiting(urlsplit(chat.endpoint.url).netloc.rpartition("@")[2])  # no user:password
            yield from events
            return
        except HTTPStatusError as exc:
            refusal = f"{exc.message} {exc.detail}"
            if exc.status not in (400, 413, 422) or not too_long(refusal):
                raise
        chat.window.lower(plan, refusal)
        plan = chat.plan()
        chat.window.notice(chat.conversation.id, plan)
        chat.renderer.aside(
            f"The server says the conversation is too long for its window; "
            f"trying again with {plan.sent} of {plan.total} messages "
            f"({plan.tokens:,} of {plan.window:,} tokens)."
        )
        yield from chat.transport.stream(chat.endpoint, plan.messages, chat.token)

    def _take(self, event: Any, view: Any) -> None:
        """One event of the stream: shown, and saved every CHECKPOINT_SECONDS (or
        CHECKPOINT_CHARS)."""
        chat, outcome = self.chat, self.outcome
        outcome.reply.apply(event)
        if not isinstance(event, wire.Text | wire.Reasoning | Recast):
            return
        now = chat.clock()
        if self.answer is None:  # the first thing shown: the answer is saved from here
            outcome.first_token = now - self.started
            self.answer = chat.conversation.add("assistant", "", "streaming")
            self.answer.content = outcome.reply.answer
            self.answer.meta = dict(self.writer)  # who writes it: saved from the start
            chat.save_message(self.answer, streaming=True)
            self.checkpoint = now
        elif isinstance(event, wire.Text):
            self.unsaved.append(event.text)
            self.unsaved_chars += len(event.text)
        if isinstance(event, wire.Text):
            if outcome.first_text is None:
                outcome.first_text = now - self.started
            view.text(event.text)
        elif isinstance(event, wire.Reasoning):
            view.reasoning(event.text)
        else:
            outcome.first_text = outcome.first_token if event.into == "answer" else None
            view.recast(event.into, event.text)
            self.recast = True  # the text so far changed: the next save rewrites it
        if now - self.checkpoint >= CHECKPOINT_SECONDS or self.unsaved_chars >= CHECKPOINT_CHARS:
            outcome.seconds = now - self.started
            meta = self.writer | outcome.thinking()
            if self.recast:  # the text so far changed: written whole
                self.answer.content = outcome.reply.answer
                chat.update_message(self.answer, meta=meta, rewritten=True)
            else:  # the answer's content is brought up to date when it ends
                added = "".join(self.unsaved)
                chat.update_message(self.answer, meta=meta, added=added)
            self.checkpoint, self.recast = now, False
            self.unsaved, self.unsaved_chars = [], 0

    def _stopped(self, exc: BaseException) -> None:
        """How an answer that did not reach its stream's end ended."""
        outcome = self.outcome
        if isinstance(exc, KeyboardInterrupt | Terminated):
            outcome.status = Status.INTERRUPTED
            self.stop = exc if isinstance(exc, Terminated) else None
        elif isinstance(exc, StreamError):
            outcome.status, outcome.error = Status.TRUNCATED, exc
        elif isinstance(exc, RequestError):
            outcome.status, outcome.error = Status.FAILED, exc
        else:  # not ours to explain: keep what arrived, then let it go
            outcome.status, self.stop = Status.INTERRUPTED, exc

    def _learn(self) -> None:
        """What the end of a stream tells: the notices it carried, an answer that was
        all reasoning, and what the window learns from the server's count and verdict."""
        chat, outcome = self.chat, self.outcome
        for notice in outcome.reply.notices:
            chat.renderer.aside(notice)
        if outcome.status is Status.FAILED and outcome.error is None and outcome.reply.unanswered:
            outcome.error = RequestError(NO_ANSWER, NO_ANSWER_HINT)
        if outcome.status is Status.COMPLETE and self.answer is None:
            # an end and nothing shown before it (text, reasoning or a recast makes the
            # answer): no answer, said, and the question given back
            outcome.status = Status.FAILED
            outcome.error = RequestError(EMPTY_ANSWER, EMPTY_ANSWER_HINT)
        usage = outcome.reply.usage
        if chat.window.last is not None and usage is not None:
            chat.window.calibrate(chat.window.last, usage.prompt_tokens)
        chat.window.settle(self.answer is not None)

    def _unanswered(self) -> Outcome:
        """No answer started: the question goes back to the prompt, unsent (a signal or
        a bug leaves it saved, to be answered after a resume)."""
        chat, outcome = self.chat, self.outcome
        if self.before is not None:
            chat.conversation.messages = self.before  # a retry that never started
        if self.stop is not None:
            raise self.stop
        if self.before is None:
            chat.remove([self.question], self.head)
            outcome.restore = self.question.content
        if outcome.status is not Status.INTERRUPTED:
            if outcome.error is None:
                outcome.error = RequestError(
                    f"The server reported an error: {outcome.reply.error}"
                    if outcome.reply.error
                    else "The answer ended before any text arrived."
                )
            outcome.status = Status.UNSENT
        return outcome

    def _close(self) -> None:
        """Save the answer as it ended (an empty complete one too), then let a signal
        or a bug that stopped it go on."""
        chat, outcome = self.chat, self.outcome
        if self.answer is None:  # complete but empty
            self.answer = chat.conversation.add("assistant", "", "complete")
            chat.save_message(self.answer)
        answer = self.answer
        answer.content = outcome.reply.answer
        answer.status = outcome.status
        answer.meta = self.writer | outcome.meta()
        spent = writer.cost(chat.price(), answer.meta)
        if spent is not None:
            answer.meta["cost"] = spent
        chat.update_message(answer, final=True, meta=answer.meta, rewritten=self.recast)
        if self.stop is not None:
            raise self.stop
