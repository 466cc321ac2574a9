"""Moving between branches: /prev and /next among the last answer's alternatives,
/edit N to go back to an earlier question, /branch K to put a branch on screen.

Every move only changes which branch is on screen (`Chat.set_path`); no message is
ever removed, so each one shown stays reachable through `/branches`.
"""

from __future__ import annotations

from chatrepl import tree
from chatrepl.chat import Chat
from chatrepl.conversation import Message
from chatrepl.errors import ChatreplError
from chatrepl.wording import plural


def step(chat: Chat, delta: int) -> tree.Alternatives:
    """Show the previous (-1) or next (+1) answer to the last question on screen."""
    conversation = chat.conversation
    alternatives = tree.alternatives(conversation)
    if alternatives is None:
        raise ChatreplError(
            "The last answer has no alternatives.", "/retry asks again and keeps both."
        )
    index = alternatives.index + delta
    if not 0 <= index < len(alternatives.answers):
        edge = "first" if delta < 0 else "last"
        raise ChatreplError(f"This is the {edge} answer ({alternatives.describe()}).")
    chosen = alternatives.answers[index]
    chat.set_path(tree.path_to(tree.newest_leaf(conversation, chosen)))
    return tree.Alternatives(alternatives.question, alternatives.answers, index)


def edit(chat: Chat, number: int | None) -> Message:
    """Go back to just before question `number` (from 1, as /history shows them; None:
    the last); return it. The turns from there on stay as a branch, and the one saved as
    on screen until the new question is sent (one that fails to send changes nothing)."""
    asked = tree.questions(chat.conversation)
    if not asked:
        raise ChatreplError("There is no question to edit yet.")
    if number is None:
        number = len(asked)
    if not 1 <= number <= len(asked):
        raise ChatreplError(
            f"There is no question {number}; this branch has {len(asked)}.",
            "/history lists them.",
        )
    index, question = asked[number - 1]
    chat.set_path(chat.conversation.messages[:index], save=False)
    return question


def switch(chat: Chat, number: int) -> Message:
    """Put branch `number` (from 1, as /branches shows them) on screen; return its end."""
    leaves = tree.leaves(chat.conversation)
    if not 1 <= number <= len(leaves):
        count = plural(len(leaves), "branch", "branches")
        raise ChatreplError(
            f"There is no branch {number}; this conversation has {count}.",
            "/branches shows them.",
        )
    leaf = leaves[number - 1]
    chat.set_path(tree.path_to(leaf))
    return leaf
