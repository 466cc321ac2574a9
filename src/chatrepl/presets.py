"""Applying a role (see `roles`) to a chat: its endpoint, model and temperature for the
requests from now on, its system prompt, and its template for each question (kept
with the question, so the conversation remembers its role when resumed)."""

from __future__ import annotations

from chatrepl.chat import Chat
from chatrepl.config import Endpoint
from chatrepl.conversation import Conversation
from chatrepl.errors import ChatreplError
from chatrepl.roles import Role, unknown


def apply(
    chat: Chat, name: str, system: bool = True, endpoint: bool = True, model: bool = True
) -> Role:
    """Put role `name` on `chat`; with `system`, its system prompt too (a conversation
    resumed keeps the one it was saved with). `endpoint` and `model` False: the role's
    are not used (a flag named them, and a flag wins)."""
    roles = chat.settings.roles
    if name not in roles:
        raise ChatreplError(unknown(name, roles), "/role lists them.")
    role = roles[name]
    base = chat.unroled or chat.endpoint
    chosen = chat.endpoints()[role.endpoint] if role.endpoint and endpoint else base
    chat.unroled = base
    # a role's model goes with its endpoint: not onto another one a flag named
    chat.use(_with(chosen, role, model and (endpoint or not role.endpoint)))
    if system and role.system is not None:
        chat.set_system(role.system)
    chat.role = role
    return role


def _with(endpoint: Endpoint, role: Role, model: bool) -> Endpoint:
    """`endpoint` with the role's model (if `model`) and temperature."""
    if role.model and model:
        endpoint = endpoint._replace(model=role.model)
    if role.temperature is not None:
        endpoint = endpoint._replace(temperature=role.temperature)
    return endpoint


def drop(chat: Chat) -> None:
    """No role from now on: the endpoint from before it; its system prompt stays."""
    if chat.unroled is not None:
        chat.use(chat.unroled)
    chat.role, chat.unroled = None, None


def remembered(conversation: Conversation) -> str:
    """The role of the last question on screen ("" if it had none)."""
    for message in reversed(conversation.messages):
        if message.role == "user":
            name = message.meta.get("role")
            return name if isinstance(name, str) else ""
    return ""


def resume(chat: Chat, endpoint: bool = True, model: bool = True) -> str:
    """After a conversation is loaded: its role again, if it had one that still exists
    (else none); return its name. (`endpoint`, `model`: as for `apply`.)"""
    name = remembered(chat.conversation)
    if name and name in chat.settings.roles:
        apply(chat, name, system=False, endpoint=endpoint, model=model)
        return name
    if chat.role is not None:
        drop(chat)
    return ""
