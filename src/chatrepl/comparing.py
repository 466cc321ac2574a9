"""A compare as the user sees it: the question (the last one, or a new one) put to every
writer by `compare.Compare`, the tree and the store left right whatever happened, and
the two ways of showing it: `Watch` in the REPL (the first answer live with a line for
each other writer under it, then a line for each writer still going, then a summary)
and `Headers` in one-shot use (each answer under `== endpoint: model ==`, in the order
given)."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from typing import Any

from chatrepl import writer
from chatrepl.attach import Attachment
from chatrepl.chat import Chat
from chatrepl.compare import Compare, Lane, answered
from chatrepl.config import Endpoint
from chatrepl.conversation import Message
from chatrepl.outcome import Status
from chatrepl.render import Renderer
from chatrepl.sanitize import sanitize
from chatrepl.tree import path_to

#: Cursor to the start of the line `n` lines up; erase a line.
UP, ERASE = "\x1b[{}F", "\x1b[2K"
REDRAW_SECONDS = 0.1


def ask(
    chat: Chat,
    endpoints: list[Endpoint],
    text: str,
    watch: Watch | Headers,
    attachments: Sequence[Attachment] = (),
) -> tuple[list[Lane], Message | None]:
    """Put `text` with `attachments` (or, when "", the last question again) to every
    endpoint, with the role's temperature if one is applied; return the lanes and the
    answer left on screen (the first that answered, in the order given), which the
    conversation then goes on from. When none answered, nothing changed: a new question
    is taken back out (the caller offers it again)."""
    role = chat.role
    if role is not None and role.temperature is not None:
        endpoints = [e._replace(temperature=role.temperature) for e in endpoints]
    if text:
        head = chat.saved_head()
        question = chat.question(text, attachments)
        before = None
    else:
        before = chat.conversation.messages
        question = chat.drop_last(keep_question=True, save=False)
    lanes = Compare(chat, endpoints, watch.show, watch.status, watch.follow).run(question)
    watch.close()
    first = next(answered(lanes), None)
    if first is None or first.answer is None:
        if before is not None:
            chat.conversation.messages = before
        else:
            chat.remove([question], head)
        return lanes, None
    chat.set_path(path_to(first.answer))
    chat.follow(first.answer)
    return lanes, first.answer


class Watch:
    """The REPL's view of a compare: the first writer's answer streams as a single
    answer does, under a dim line naming it; then, on a terminal, one line per writer
    redrawn in place until all have ended."""

    follow = False

    def __init__(self, renderer: Renderer, clock: Any) -> None:
        self.r = renderer
        self.clock = clock
        self.view: Any = None
        self.drawn = 0
        self.last: list[str] = []
        self.at = 0.0

    def show(self, kind: str, item: Any) -> None:
        if kind == "start":
            self.r.note(f"{item.label} (watched; the others go on in the background)")
            self.view = self.r.answer()
            self.view.__enter__()
            self.view.waiting(item.host)  # a line until its first text, on a terminal
        elif kind == "text" and self.view is not None:
            self.view.text(item)
        elif self.view is not None and kind in ("reasoning", "recast"):
            shown(self.view, kind, item)
        elif kind == "end":
            self._close_view()

    def _close_view(self) -> None:
        if self.view is not None:
            view, self.view = self.view, None
            view.__exit__(None, None, None)

    def status(self, lanes: list[Lane]) -> None:
        """Each other writer's line under the watched answer as it streams; once it is
        done, every writer's line (redrawn at most ten times a second, and only on a
        terminal)."""
        now = self.clock()
        if self.r.plain or now - self.at < REDRAW_SECONDS:
            return
        self.at = now
        if self.view is not None:  # under the watched answer: the others, as they go
            self.view.footer([lane.status_line() for lane in lanes[1:]])
        elif (lines := [lane.status_line() for lane in lanes]) != self.last:
            self._draw(lines)

    def _draw(self, lines: list[str]) -> None:
        width = max(shutil.get_terminal_size().columns - 4, 20)
        if self.drawn:
            self.r.write_control(UP.format(self.drawn))
        for line in lines:
            self.r.write_control(ERASE)
            shown = sanitize(line)
            self.r.note(shown if len(shown) <= width else shown[: width - 1] + "…")
        self.drawn, self.last = len(lines), lines

    def close(self) -> None:
        self._close_view()

    def finish(self) -> None:
        """All have ended: the writers' lines go (the summary takes their place)."""
        if self.drawn:
            self.r.write_control(UP.format(self.drawn) + (ERASE + "\n") * self.drawn)
            self.r.write_control(UP.format(self.drawn))
            self.drawn, self.last = 0, []


class Headers:
    """One-shot compare: each answer, in the order given, under a header line
    (`== endpoint: model ==`); a writer that failed is said on stderr."""

    follow = True

    def __init__(self, renderer: Renderer) -> None:
        self.r = renderer
        self.view: Any = None
        self.count = 0

    def show(self, kind: str, item: Any) -> None:
        if kind == "start":
            name = writer.full_label(writer.stamp(item.endpoint))
            self.r.output(("\n" if self.count else "") + sanitize(f"== {name} ==") + "\n")
            self.count += 1
            self.view = self.r.answer()
            self.view.__enter__()
        elif kind == "text" and self.view is not None:
            self.view.text(item)
        elif self.view is not None and kind in ("reasoning", "recast"):
            shown(self.view, kind, item)
        elif kind == "end":
            self.close()
            if item.status is not Status.COMPLETE and item.status is not None:
                said = item.error or str(item.status)
                self.r.error(f"chatrepl: {item.label}: {said}")

    def status(self, lanes: list[Lane]) -> None:
        pass

    def close(self) -> None:
        if self.view is not None:
            view, self.view = self.view, None
            view.__exit__(None, None, None)


def shown(view: Any, kind: str, item: Any) -> None:
    """Reasoning, or a recast of what was shown, on an answer's view (as a turn shows
    them: `turn.Turn._take`)."""
    if kind == "reasoning":
        view.reasoning(item)
    else:
        view.recast(item.into, item.text)
