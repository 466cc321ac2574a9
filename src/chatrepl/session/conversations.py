"""Saved conversations from inside the REPL: /reset, /list, /resume, /rename, /delete,
/export and /search."""

from __future__ import annotations

from pathlib import Path

from chatrepl import presets
from chatrepl.attach import overwrite_question
from chatrepl.commands import CommandError, command
from chatrepl.conversation import make_title
from chatrepl.errors import ChatreplError, NotFoundError
from chatrepl.manage import write_export
from chatrepl.sanitize import sanitize
from chatrepl.session.state import Session
from chatrepl.store import Store

#: Home, clear the screen and the scrollback (as `clear` does in a shell).
CLEAR_SCREEN = "\x1b[H\x1b[2J\x1b[3J"


class Conversations:
    """See the module's docstring."""

    TITLE = "Conversations"

    def __init__(self, session: Session) -> None:
        self.session = session

    def _store(self) -> Store:
        store = self.session.chat.store
        if store is None:
            raise ChatreplError(f"{self.session.chat.no_store()}, so no conversation can be read.")
        return store

    @command("reset", "Start a new conversation; the current one stays saved.", aliases=("new",))
    def reset(self, arg: str) -> None:
        self.session.chat.new()
        self.session.renderer.note("New conversation.")

    @command("clear", "Clear the screen and start a new conversation, as /reset does.")
    def clear(self, arg: str) -> None:
        self.session.renderer.write_control(CLEAR_SCREEN)
        self.reset(arg)

    @command("list", "List saved conversations, newest first.")
    def list_saved(self, arg: str) -> None:
        chat = self.session.chat
        if chat.store is None:
            self.session.renderer.note(f"{chat.no_store()}, so no conversation can be listed.")
            return
        self.session.renderer.conversations(chat.store.list_conversations(), chat.conversation.id)

    @command(
        "resume",
        "Continue a saved conversation (a unique id prefix is enough).",
        "ID",
        argument="conversation",
    )
    def resume(self, arg: str) -> None:
        if not arg:
            raise CommandError("/resume needs a conversation id.", "Type /list to see them.")
        try:
            self.session.chat.load(arg)
        except NotFoundError as exc:  # its hint speaks of the command line
            raise NotFoundError(exc.message, "Type /list to see them.") from None
        presets.resume(self.session.chat)
        self.show_resumed()

    def show_resumed(self) -> None:
        """The last turns of the conversation just loaded, and a line saying so."""
        chat, renderer = self.session.chat, self.session.renderer
        conversation = chat.conversation
        self.session.show_recent()
        if chat.copied_from:
            renderer.warn(chat.copy_notice())
        role = f", role {chat.role.name}" if chat.role is not None else ""
        renderer.note(
            f"Resumed {conversation.id}: {conversation.title} ({len(conversation)} messages{role})."
        )

    @command(
        "rename", "Give the current conversation a new title; auto: ask the model.", "TITLE|auto"
    )
    def rename(self, arg: str) -> None:
        if not arg:
            raise CommandError("/rename needs a title.", "Type /rename followed by the new title.")
        chat = self.session.chat
        if arg == "auto":
            if chat.last_answer() is None:
                raise ChatreplError("There is no answer yet to name the conversation by.")
            self.session.ask_title()
            self.session.renderer.note(
                f"Asking {chat.endpoint.name} for a title; the toolbar shows it when it comes."
            )
            return
        conversation = chat.conversation
        conversation.title = make_title(arg)
        if conversation.nodes and chat.store is not None:
            chat.store.rename(conversation.id, conversation.title)
        self.session.renderer.note(f"Renamed to {conversation.title}.")

    @command(
        "delete",
        "Delete the current conversation, or the one given (asks first).",
        "[ID]",
        argument="conversation",
    )
    def delete(self, arg: str) -> None:
        store, renderer = self._store(), self.session.renderer
        current = self.session.chat.conversation
        cid = store.resolve(arg) if arg else current.id
        if cid == current.id and not current.nodes:
            renderer.note("This conversation is empty; there is nothing to delete.")
            return
        target = store.load(cid) if cid != current.id else current
        count = len(target.nodes)
        question = f"Delete {cid} ({sanitize(target.title)}, {count} messages)? [y/N] "
        if not self.session.confirm(question):
            renderer.note("Nothing was deleted.")
            return
        store.delete_conversation(cid)
        renderer.note(f"Deleted {cid}.")
        if cid == current.id:
            self.session.chat.new()
            renderer.note("New conversation.")

    @command("export", "Save the conversation to a file (Markdown, or JSON for .json).", "[PATH]")
    def export(self, arg: str) -> None:
        conversation = self.session.chat.conversation
        if not conversation.messages:
            self.session.renderer.note("This conversation is empty; there is nothing to export.")
            return
        target = Path(arg).expanduser() if arg else Path(f"chatrepl-{conversation.id}.md")
        shown = sanitize(str(target))
        question = overwrite_question(target, shown)
        if question and not self.session.confirm(question):
            self.session.renderer.note("Nothing was written.")
            return
        fmt = write_export(conversation, target)
        self.session.renderer.note(f"Exported {len(conversation)} messages to {target} ({fmt}).")

    @command("search", "Find saved conversations whose messages contain the words.", "TEXT")
    def search(self, arg: str) -> None:
        if not arg:
            raise CommandError("/search needs words to look for.", "Type /search followed by them.")
        conversation = self.session.chat.conversation
        shown = {m.id for m in conversation.messages if m.id is not None}
        hits = self._store().search(arg, on_screen=(conversation.id, shown))
        if hits:
            self.session.renderer.search_hits(hits)
        else:
            self.session.renderer.note(f"No conversation mentions {arg}.")
