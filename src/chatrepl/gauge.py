"""The context window as the user sees it: the toolbar's share of it and /stats' report."""

from __future__ import annotations

from collections.abc import Callable

from chatrepl.context import ContextError, Plan, Window
from chatrepl.conversation import Conversation


class Gauge:
    """Says how full the window is; the toolbar's share is planned again only when the
    conversation or the budget changed (the toolbar is drawn at every key)."""

    def __init__(self) -> None:
        self._key: object = None
        self._share = ""

    def share(self, window: Window, conversation: Conversation, plan: Callable[[], Plan]) -> str:
        budget = window.budget
        key = (
            conversation.id,
            len(conversation.messages),
            id(conversation.messages[-1]) if conversation.messages else 0,
            budget.context_tokens,
            budget.ratio,
            conversation.active_summary() is not None,
        )
        if key != self._key:
            try:
                planned = plan()
                self._share = f"ctx {round(100 * planned.tokens / planned.window)}%"
            except ContextError:
                self._share = "ctx >100%"
            self._key = key
        return self._share

    @staticmethod
    def report(window: Window, conversation: Conversation, plan: Callable[[], Plan]) -> str:
        try:
            planned = plan()
        except ContextError as exc:
            return exc.message
        budget = window.budget
        parts = [
            f"next request about {planned.tokens:,} of {planned.window:,} tokens "
            f"({budget.answer_tokens:,} kept for the answer; estimate × {budget.ratio:g})"
        ]
        if window.reported is not None:
            parts.append(f"the server counted {window.reported:,} for the last one")
        if planned.trimmed:
            parts.append(f"{planned.total - planned.sent} of {planned.total} messages left out")
        if window.describe_learned():
            parts.append(window.describe_learned())
        if conversation.active_summary() is not None:
            parts.append("a /compact summary stands for the earliest turns")
        return "; ".join(parts)
