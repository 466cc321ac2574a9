"""Titles written by the model: after the first answer of a conversation the user has
not named, a short title is asked of the same endpoint on a request of its own (not a
turn of the conversation), in a background thread.

The thread only fetches; the title is put on the conversation and saved by `apply`, on
the main thread (the toolbar calls it as it draws, the REPL between lines), and only if
the title was not changed meanwhile. A failed or slow request changes nothing.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import Any

from chatrepl.config import Endpoint
from chatrepl.conversation import Conversation, make_title
from chatrepl.errors import ChatreplError, StoreError

WORDS = 6
TIMEOUT = 20.0  # seconds without a byte before the title request is given up
EXCERPT = 1_500  # characters of the question and of the answer sent
PROMPT = (
    "Write a title of at most {words} words for the conversation below. Reply with the "
    "title alone: no quotes, no full stop, no preamble.\n\nQuestion:\n{question}\n\n"
    "Answer:\n{answer}"
)


def clean(text: str) -> str:
    """The title in a reply: its first line, without quotes, Markdown marks, a `Title:`
    label or a full stop, cut to WORDS words ("" if nothing is left)."""
    line = next((ln for ln in text.splitlines() if ln.strip()), "")
    line = line.strip().strip("#*_`\"'“”‘’ ").strip()
    if line.lower().startswith("title:"):
        line = line[len("title:") :].strip().strip("\"'“”*")
    words = line.rstrip(".").split()[:WORDS]
    return make_title(" ".join(words)) if words else ""


class Titler:
    """Asks for one conversation's title at a time (see the module's docstring)."""

    def __init__(
        self,
        stream: Callable[[Endpoint, list[dict[str, str]], str], Any] | None = None,
        connect_timeout: float = 10.0,
    ) -> None:
        #: Sends one request and yields its events: by default a transport of the
        #: titler's own, made in its thread when first needed.
        self.stream = stream
        self.connect_timeout = connect_timeout
        self.on_ready: Callable[[], None] = lambda: None
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        #: Titles that came, oldest first: (conversation id, title when asked, title).
        self._results: list[tuple[str, str, str]] = []

    def ask(self, endpoint: Endpoint, token: str, conversation: Conversation) -> bool:
        """Start asking for `conversation`'s title (False: there is no answer to name it
        by). An earlier request still on its way is not waited for: of the titles that
        come, the one asked with the conversation's title as it is now is put."""
        question = next((m for m in conversation.messages if m.role == "user"), None)
        answer = next((m for m in conversation.messages if m.role == "assistant"), None)
        if question is None or answer is None:
            return False
        prompt = PROMPT.format(
            words=WORDS, question=question.content[:EXCERPT], answer=answer.content[:EXCERPT]
        )
        key, was = conversation.id, conversation.title
        self._thread = threading.Thread(
            target=self._fetch, args=(endpoint, token, prompt, key, was), daemon=True
        )
        self._thread.start()
        return True

    def busy(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def join(self, seconds: float) -> None:
        if self._thread is not None:
            self._thread.join(seconds)

    def _fetch(self, endpoint: Endpoint, token: str, prompt: str, key: str, was: str) -> None:
        from chatrepl.events import Reply

        reply = Reply()
        stream = self.stream
        if stream is None:  # a transport of this request's own
            from chatrepl.transport import Transport

            stream = Transport(connect_timeout=self.connect_timeout, idle_timeout=TIMEOUT).stream
        try:
            for event in stream(endpoint, [{"role": "user", "content": prompt}], token):
                reply.apply(event)
        except (ChatreplError, OSError, ValueError):
            return  # a title is a nicety: nothing to say
        title = clean(reply.answer) if reply.status == "complete" else ""
        if title:
            with self._lock:
                self._results.append((key, was, title))
            self.on_ready()

    def apply(self, conversation: Conversation, rename: Callable[[str], None]) -> str:
        """Put a title that arrived on `conversation`, if it is still the one asked about
        and its title was not changed meanwhile; `rename` saves it. Returns the title
        put ("" if none)."""
        with self._lock:
            results, self._results = self._results, []
        fitting = [r for r in results if r[0] == conversation.id and r[1] == conversation.title]
        if not fitting:
            return ""
        title = fitting[-1][2]
        conversation.title = title
        with contextlib.suppress(StoreError):  # kept in memory then
            rename(title)
        return title
