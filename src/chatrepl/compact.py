"""/compact: the model summarises earlier turns, and the summary is sent in their place.

The summary is a message of its own kind (role `summary`) saved at the end of the
conversation, with `covers` (how many messages from the start it stands for) and
`active` in its meta. `Conversation.request_parts` sends an active summary as a system
message, then only the turns after what it covers. Nothing else changes: every turn
stays in the store, on screen and in exports, and undoing sends them all again.
"""

from __future__ import annotations

from chatrepl.chat import Chat
from chatrepl.conversation import Message
from chatrepl.errors import ChatreplError

DEFAULT_KEEP = 2
INSTRUCTIONS = (
    "You write summaries of conversations between a user and an assistant. The summary "
    "replaces the conversation in the assistant's memory, so keep every fact, name, "
    "number, decision, piece of code that matters and open question; drop pleasantries."
)
REQUEST = (
    "Summarise our conversation so far in a few short paragraphs or a list, as the "
    "instructions say. Write only the summary."
)


def compact(chat: Chat, keep: int = DEFAULT_KEEP) -> Message:
    """Summarise all but the last `keep` turns; the summary is then sent in their place.
    A failure changes nothing."""
    conversation = chat.conversation
    messages = conversation.messages
    questions = [i for i, m in enumerate(messages) if m.role == "user"]
    current = conversation.active_summary()
    start = current.meta.get("covers", 0) if current is not None else 0
    assert isinstance(start, int)
    cut = questions[-keep] if 0 < keep <= len(questions) else (len(messages) if keep == 0 else 0)
    if cut <= start:
        raise ChatreplError(
            f"There is nothing to compact: keeping the last {keep} turns leaves none.",
            "Try /compact 0 or /compact 1.",
        )
    system, _ = conversation.request_parts()
    system = [
        {"role": "system", "content": INSTRUCTIONS},
        *system[1 if conversation.system else 0 :],
    ]
    chosen = [m for m in messages[start:cut] if m.role in ("user", "assistant") and m.content]
    turns = [*chosen, Message("user", REQUEST)]
    plan = chat.window.plan(system, turns)
    from chatrepl.events import Reply

    reply = Reply()
    for event in chat.transport.stream(chat.endpoint, plan.messages, chat.token):
        reply.apply(event)
    text = reply.answer.strip()
    if reply.error or not text:
        raise ChatreplError(
            "The model gave no summary"
            + (f" ({reply.error})" if reply.error else "")
            + "; nothing changed."
        )
    if current is not None:
        current.meta["active"] = False
        chat.update_message(current, final=True, meta=current.meta)
    summary = conversation.add("summary", text)
    summary.meta = {"covers": cut, "active": True}
    chat.save_message(summary)
    return summary


def undo(chat: Chat) -> Message:
    """Send the full turns again in place of the active summary (which stays saved)."""
    summary = chat.conversation.active_summary()
    if summary is None:
        raise ChatreplError("No summary is in use; the whole conversation is sent.")
    summary.meta["active"] = False
    chat.update_message(summary, final=True, meta=summary.meta)
    return summary
