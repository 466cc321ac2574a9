"""Conversations as plain data: messages, roles, ids, titles and the status of a turn.

No I/O happens here; the store persists these values and the transport sends them.
"""

from __future__ import annotations

import json
import os
import time
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from chatrepl.attach import Attachment, compose, fence_for, of_meta
from chatrepl.context import estimate
from chatrepl.sanitize import sanitize
from chatrepl.wording import when

# "summary": a summary of earlier turns made by /compact, sent in their place.
Role = Literal["user", "assistant", "system", "summary"]
SUMMARY_INTRO = "A summary of the earlier part of this conversation:\n\n"

TITLE_LENGTH = 60


def new_id() -> str:
    """A fresh conversation id: 12 hex digits, sortable enough and short to type."""
    return os.urandom(6).hex()  # as secrets.token_hex(6), without importing secrets


def make_title(text: str, length: int = TITLE_LENGTH) -> str:
    """A one-line title from the first question: escape sequences and controls dropped,
    whitespace folded, shortened at a word."""
    text = sanitize(text)
    printable = "".join(
        " " if ch.isspace() else ch
        for ch in text
        if ch.isspace() or unicodedata.category(ch)[0] != "C"
    )
    words = " ".join(printable.split())
    if len(words) <= length:
        return words or "(untitled)"
    head = words[: length - 1]
    cut = head.rsplit(" ", 1)[0] if " " in head else head
    return cut.rstrip() + "…"


@dataclass(frozen=True)
class Summary:
    """One saved conversation as listed: id, title, last update, number of messages."""

    id: str
    title: str
    updated: float
    count: int


@dataclass
class Message:
    """One turn of a conversation."""

    role: Role
    content: str
    #: complete, interrupted, truncated or failed. `streaming` is only ever seen in the
    #: store while an answer is written; with its writer gone it reads as `interrupted`.
    status: str = "complete"
    created: float = field(default_factory=time.time)
    id: int | None = None  # the store's row id once saved
    #: What was measured of an answer: usage, time to first token, finish reason...
    meta: dict[str, object] = field(default_factory=dict)
    #: The message this one follows: the previous one on its branch (None: the first).
    parent: Message | None = field(default=None, repr=False, compare=False)
    _size: tuple[int, int] = field(default=(-1, 0), repr=False, compare=False)

    def tokens(self) -> int:
        """Estimated tokens of this message as sent (kept until its text changes)."""
        if self._size[0] != len(self.content):
            self._size = (len(self.content), estimate(self.wire()["content"]))
        return self._size[1]

    def wire(self) -> dict[str, str]:
        """The message as every wire format sends it: a question with its attachments
        before it; never with the model's reasoning (an answer saved by an older
        chatrepl may still hold it inline)."""
        content = self.content
        if self.role == "assistant" and "</think" in content:
            from chatrepl.think import split_whole

            content = split_whole(content)[1]
        elif self.role == "user":
            template = self.meta.get("template")
            if isinstance(template, str) and "{input}" in template:  # a role's
                content = template.replace("{input}", content)
            if "attachments" in self.meta:
                content = compose(content, self.attachments())
        return {"role": self.role, "content": content}

    def attachments(self) -> list[Attachment]:
        """The files and command output sent with this question."""
        return of_meta(self.meta)


@dataclass
class Conversation:
    """A tree of messages, one branch of it on screen, with an id, a title and an
    optional system prompt.

    `messages` is the branch on screen, from the first message to the newest: what is
    shown, sent and continued. `nodes` holds every message of every branch, in the
    order they were made; each message knows its `parent`. A retried answer, an undone
    turn and an edited question leave their old branch in `nodes`.
    """

    id: str = field(default_factory=new_id)
    title: str = ""
    messages: list[Message] = field(default_factory=list)
    system: str = ""
    created: float = field(default_factory=time.time)
    nodes: list[Message] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.nodes:  # built from one straight branch
            self.nodes = list(self.messages)
            for before, message in zip(self.messages, self.messages[1:], strict=False):
                message.parent = before

    def add(
        self,
        role: Role,
        content: str,
        status: str = "complete",
        attachments: Sequence[Attachment] = (),
    ) -> Message:
        message = Message(role, content, status)
        message.parent = self.messages[-1] if self.messages else None
        self.nodes.append(message)
        if attachments:
            message.meta["attachments"] = [a.to_meta() for a in attachments]
        self.messages.append(message)
        if role == "user" and not self.title:
            self.title = make_title(content)
        return message

    def request_messages(self) -> list[dict[str, str]]:
        """What the next request sends, untrimmed: `request_parts` joined."""
        system, messages = self.request_parts()
        return [*system, *(m.wire() for m in messages)]

    def request_parts(self) -> tuple[list[dict[str, str]], list[Message]]:
        """What the next request sends: the system part (the system prompt, and the
        active summary of /compact), then every turn with text after what it covers.

        An assistant turn that ended early is still sent (the model sees what the user
        saw); an empty one is left out, as servers reject empty assistant messages.
        """
        system: list[dict[str, str]] = []
        if self.system:
            system.append({"role": "system", "content": self.system})
        start = 0
        summary = self.active_summary()
        if summary is not None:
            system.append({"role": "system", "content": SUMMARY_INTRO + summary.content})
            covers = summary.meta.get("covers")
            start = covers if isinstance(covers, int) else 0
        messages = [
            m
            for m in self.messages[start:]
            if m.role in ("user", "assistant") and (m.content or m.role == "user")
        ]
        return system, messages

    def last_answer(self) -> Message | None:
        """The newest answer on the branch on screen."""
        return next((m for m in reversed(self.messages) if m.role == "assistant"), None)

    def active_summary(self) -> Message | None:
        """The summary of /compact that is sent in place of the turns it covers."""
        for message in reversed(self.messages):
            if message.role == "summary" and message.meta.get("active"):
                return message
        return None

    def __len__(self) -> int:
        return len(self.messages)


# ---------------------------------------------------------------- export


def to_markdown(conversation: Conversation, about: Callable[[Message], str] | None = None) -> str:
    """The branch on screen as Markdown; `about` says who wrote an answer (a line in
    italics under its heading)."""
    lines = [f"# {conversation.title or conversation.id}", ""]
    lines.append(f"Conversation `{conversation.id}`, started {when(conversation.created)}.")
    lines.append("")
    if conversation.system:
        lines += ["## System", "", conversation.system, ""]
    for message in conversation.messages:
        heading = {"user": "Question", "assistant": "Answer", "summary": "Summary"}.get(
            message.role, message.role
        )
        status = "" if message.status == "complete" else f" ({message.status})"
        lines += [f"## {heading}{status}", ""]
        said = about(message) if about is not None and message.role == "assistant" else ""
        if said:
            lines += [f"*{said}*", ""]
        reasoning = message.meta.get("reasoning")
        if isinstance(reasoning, str) and reasoning:
            lines += ["<details><summary>Reasoning</summary>", "", reasoning, "", "</details>", ""]
        for attachment in message.attachments():
            fence = fence_for(attachment.text)
            lines += [f"📎 {attachment.header()}", "", f"{fence}{attachment.language}"]
            lines += [attachment.text.rstrip("\n"), fence, ""]
        lines += [message.content, ""]
    return "\n".join(lines)


def to_json(conversation: Conversation) -> str:
    """The whole tree: `messages` is the branch on screen, `other_branches` every other
    message; each has its `node` number (its place in the order messages were made)
    and its `parent`'s, so the tree can be rebuilt."""
    number = {id(m): n for n, m in enumerate(conversation.nodes, 1)}
    on_screen = {id(m) for m in conversation.messages}

    def entry(m: Message) -> dict[str, object]:
        return {
            "node": number.get(id(m)),
            "parent": number.get(id(m.parent)) if m.parent is not None else None,
            "role": m.role,
            "content": m.content,
            "status": m.status,
            "created": m.created,
            **({"meta": m.meta} if m.meta else {}),
        }

    return json.dumps(
        {
            "id": conversation.id,
            "title": conversation.title,
            "system": conversation.system,
            "created": conversation.created,
            "messages": [entry(m) for m in conversation.messages],
            "other_branches": [entry(m) for m in conversation.nodes if id(m) not in on_screen],
        },
        ensure_ascii=False,
        indent=2,
    )
