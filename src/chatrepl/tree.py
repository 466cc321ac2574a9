"""The message tree of a conversation: branches, alternatives and where they fork.

Pure functions over `Conversation.nodes` (every message, each knowing its parent) and
`Conversation.messages` (the branch on screen). A branch is named by its leaf, the
newest message on it; branches are numbered in the order a walk of the tree meets them,
each message's children taken in the order they were made.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from chatrepl.conversation import Conversation, Message, make_title
from chatrepl.wording import plural

WORDS = 40  # characters of a branch's first words


def path_to(leaf: Message | None) -> list[Message]:
    """The branch that ends at `leaf`: from the first message to it."""
    out: list[Message] = []
    node = leaf
    while node is not None:
        out.append(node)
        node = node.parent
    out.reverse()
    return out


def children(conversation: Conversation) -> dict[int, list[Message]]:
    """Each message's children in the order they were made, keyed by id() of the parent
    (0 for the first messages of the tree)."""
    kids: dict[int, list[Message]] = {}
    for node in conversation.nodes:
        kids.setdefault(id(node.parent) if node.parent is not None else 0, []).append(node)
    return kids


def newest_leaf(conversation: Conversation, under: Message) -> Message:
    """The newest message at or below `under`: the end of its latest branch."""
    inside = {id(under)}
    newest = under
    for node in conversation.nodes:  # parents come before their children
        if node.parent is not None and id(node.parent) in inside:
            inside.add(id(node))
            newest = node
    return newest


def leaves(conversation: Conversation) -> list[Message]:
    """Every branch's last message, numbered from 1 in the order of `tree_lines`."""
    return _leaves(children(conversation))


def _leaves(kids: dict[int, list[Message]]) -> list[Message]:
    out: list[Message] = []
    stack = list(reversed(kids.get(0, [])))
    while stack:
        node = stack.pop()
        below = kids.get(id(node), [])
        if not below:
            out.append(node)
        stack.extend(reversed(below))
    return out


@dataclass(frozen=True)
class Alternatives:
    """The answers given to the last question on screen: which one is shown."""

    question: Message
    answers: list[Message]
    index: int  # of the one on screen, from 0

    def describe(self) -> str:
        return f"answer {self.index + 1} of {len(self.answers)}"


def alternatives(conversation: Conversation) -> Alternatives | None:
    """The last answer on screen and its siblings, if there is more than one."""
    path = conversation.messages
    index = next((i for i in range(len(path) - 1, -1, -1) if path[i].role == "assistant"), None)
    if index is None or path[index].parent is None:
        return None
    answer = path[index]
    question = answer.parent
    assert question is not None
    answers = [m for m in conversation.nodes if m.parent is question and m.role == "assistant"]
    if len(answers) < 2:
        return None
    return Alternatives(question, answers, next(i for i, a in enumerate(answers) if a is answer))


def questions(conversation: Conversation) -> list[tuple[int, Message]]:
    """The questions on screen with their place in `messages`, numbered from 1 in order."""
    return [(i, m) for i, m in enumerate(conversation.messages) if m.role == "user"]


#: Markdown's marks, left out of the first words a tree line shows (they are plain text
#: there, beside the tree's own marks).
_MARKS = re.compile(r"[*_`#>~|]+")


def _words(message: Message) -> str:
    words = " ".join(_MARKS.sub("", message.content).split())
    label = make_title(words, WORDS) if words else "(empty)"
    return label if message.role == "user" else f"{message.role}: {label}"


def tree_lines(conversation: Conversation) -> list[tuple[str, str, bool]]:
    """A short tree of where the conversation forks: one line per run of messages
    between forks, with its first words as plain text. Each line is (the branch's
    number `K` on the run that ends branch K, else "", the line, whether it is on the
    branch on screen)."""
    kids = children(conversation)
    on_screen = {id(m) for m in conversation.messages}
    numbers = {id(leaf): k for k, leaf in enumerate(_leaves(kids), 1)}
    lines: list[tuple[str, str, bool]] = []

    def walk(starts: Iterable[Message], prefix: str, fork: bool) -> None:
        starts = list(starts)
        for n, start in enumerate(starts):
            last = n == len(starts) - 1
            node, count = start, 1
            while len(below := kids.get(id(node), [])) == 1:
                node, count = below[0], count + 1
            branch = str(numbers[id(node)]) if id(node) in numbers else ""
            size = plural(count, "message")
            joint = ("└─ " if last else "├─ ") if fork else ""
            line = f"{prefix}{joint}{_words(start)} ({size})"
            lines.append((branch, line, id(start) in on_screen))
            below = kids.get(id(node), [])
            if below:
                deeper = prefix + (("   " if last else "│  ") if fork else "")
                walk(below, deeper, True)

    walk(kids.get(0, []), "", len(kids.get(0, [])) > 1)
    return lines


def in_flight(conversation: Conversation) -> set[int]:
    """id()s of the turns another process is still answering: answers saved as
    `streaming` (by a writer still alive), their questions when they have no other
    answer, and questions at the end of a branch (sent, no answer yet)."""
    kids = children(conversation)
    out: set[int] = set()
    for m in conversation.nodes:
        if m.status == "streaming":
            out.add(id(m))
            asked = m.parent
            if asked is not None and asked.role == "user" and len(kids.get(id(asked), [])) == 1:
                out.add(id(asked))
        elif m.role == "user" and id(m) not in kids:
            out.add(id(m))
    return out


def copy_title(title: str) -> str:
    """`title (copy)`; for a copy of a copy, `title (copy 2)`, then `(copy 3)`..."""
    base, sep, tail = title.rpartition(" (copy")
    number = tail[:-1].strip() if tail.endswith(")") else "x"
    if not sep or not (number == "" or number.isdigit()):
        return f"{title} (copy)"
    return f"{base} (copy {int(number or 1) + 1})"


def copy_tree(
    conversation: Conversation, title: str, leave: set[int] | None = None
) -> Conversation:
    """A new conversation with a copy of every message, branches and all, but those
    in `leave` (id()s) and what follows them."""
    copies: dict[int, Message] = {}
    nodes = []
    skipped = set(leave or ())
    for m in conversation.nodes:
        if id(m) in skipped or (m.parent is not None and id(m.parent) in skipped):
            skipped.add(id(m))
            continue
        twin = Message(m.role, m.content, m.status, m.created, meta=dict(m.meta))
        twin.parent = copies.get(id(m.parent)) if m.parent is not None else None
        copies[id(m)] = twin
        nodes.append(twin)
    return Conversation(
        title=title,
        messages=[copies[id(m)] for m in conversation.messages if id(m) in copies],
        system=conversation.system,
        created=conversation.created,
        nodes=nodes,
    )
