"""The branches of a conversation from inside the REPL: /retry, /compare, /undo, /edit,
/history, /prev, /next, /branches and /branch. The moves themselves are
`chatrepl.branches`; a compare is `chatrepl.comparing` (imported when first used)."""

from __future__ import annotations

from chatrepl import attach, branches, tree, writer
from chatrepl.commands import CommandError, command
from chatrepl.conversation import Conversation, Message, make_title
from chatrepl.errors import ChatreplError
from chatrepl.session.state import RESUME_SHOWN, Session


class Branches:
    """See the module's docstring."""

    TITLE = "Branches"

    def __init__(self, session: Session) -> None:
        self.session = session

    @command(
        "retry",
        "Ask the last question again, of another model or endpoint if named; the earlier "
        "answer stays (/prev, /next).",
        "[MODEL|@ENDPOINT[:MODEL]]",
        argument="writer",
    )
    def retry(self, arg: str) -> None:
        chat = self.session.chat
        if not any(m.role == "user" for m in chat.conversation.messages):
            raise ChatreplError("There is no question to ask again yet.", "Ask one first.")
        if arg.startswith("@") and " " in arg.strip():  # `/retry @work llama3.2`
            name, _, model = arg.strip().partition(" ")
            arg = f"{name}:{model.strip()}"
        endpoint = writer.target(arg, chat.endpoints(), chat.endpoint) if arg else None
        if endpoint is not None and (unsent := writer.unsent_model(endpoint)):
            self.session.renderer.warn(unsent)
            had = chat.endpoint if chat.endpoint.name == endpoint.name else None
            had = had or chat.endpoints().get(endpoint.name)  # its model stays as it was
            endpoint = endpoint._replace(model=had.model if had else "")
        before = chat.conversation.messages
        self.session.turn(lambda: chat.retry(endpoint))
        alternatives = tree.alternatives(chat.conversation)
        if alternatives is not None and chat.conversation.messages is not before:
            by = writer.among(alternatives.answers, alternatives.index)
            self.session.renderer.note(
                f"This is {alternatives.describe()}{f' ({by})' if by else ''}; "
                "/prev (Alt+Left) shows the earlier one."
            )

    @command(
        "compare",
        "Ask the last question (or, after --, a new one) of several writers at once; every "
        "answer is kept (/prev, /next).",
        "@A @B [...] [-- QUESTION]",
        argument="writers",
    )
    def compare(self, arg: str) -> None:
        from chatrepl import comparing  # with what decodes a stream: when first used
        from chatrepl.compare import parse, request_error, summary

        session = self.session
        chat, renderer = session.chat, session.renderer
        endpoints, text = parse(arg, chat)
        if not text and not any(m.role == "user" for m in chat.conversation.messages):
            raise ChatreplError(
                "There is no question to compare answers to yet.", "Add -- QUESTION."
            )
        watch = comparing.Watch(renderer, chat.clock)
        # the files attached, and those `@path` names, go with a new question
        attached = attach.merge(session.attached, session.mentioned(text)) if text else []
        with session.quiet():
            lanes, shown = comparing.ask(chat, endpoints, text, watch, attached)
        watch.finish()
        if shown is None:
            session.pending = text
            renderer.error(str(request_error(lanes)))
            return
        if text:
            session.attached = []
        renderer.rows(summary(lanes))
        alternatives = tree.alternatives(chat.conversation)
        where = f"{alternatives.describe()}, " if alternatives is not None else ""
        renderer.note(
            f"On screen: {where}{writer.full_label(shown.meta)}; /next and /prev show the others."
        )
        session.ask_title(first=True)

    @command(
        "undo",
        "Take back the last question and answer (kept as a branch); the question returns to "
        "the prompt.",
    )
    def undo(self, arg: str) -> None:
        session = self.session
        messages = session.chat.conversation.messages
        if messages and messages[-1].role == "summary" and messages[-1].meta.get("active"):
            session.registry.dispatch("/compact undo")  # right after /compact: take it back
            return
        old_end = messages[-1] if messages else None
        question = session.chat.drop_last()
        session.pending = question.content
        session.attached = question.attachments()
        kept = _branch_of(session.chat.conversation, old_end)
        where = f"branch {kept}: /branch {kept} puts it back" if kept else "/branches"
        session.renderer.note(
            f"Took back the last exchange; the question is at the prompt (the exchange stays "
            f"as {where})."
        )

    @command(
        "edit",
        "Put question N (from /history; the last by default) back at the prompt; sending it "
        "starts a new branch.",
        "[N]",
    )
    def edit(self, arg: str) -> None:
        if arg and not arg.isdigit():
            raise CommandError("/edit takes a question's number, as /history shows it.")
        session = self.session
        conversation = session.chat.conversation
        old_end = conversation.messages[-1] if conversation.messages else None
        question = branches.edit(session.chat, int(arg) if arg else None)
        session.pending = question.content
        session.attached = question.attachments()
        # (after /undo the end on screen has a branch below it: the newest one holds it)
        end = tree.newest_leaf(conversation, old_end) if old_end is not None else None
        kept = _branch_of(conversation, end)
        if kept is not None:  # drawn where the new branch starts
            session.renderer.note(f"── edited: the turns above are kept as branch {kept} ──")
        session.renderer.note(
            "The question is back at the prompt: sending it starts a new branch from there; "
            "the old one stays (/branches)."
        )

    @command("history", "List the questions of the branch on screen, numbered for /edit.")
    def history(self, arg: str) -> None:
        asked = tree.questions(self.session.chat.conversation)
        if not asked:
            self.session.renderer.note("No questions yet on this branch.")
            return
        self.session.renderer.rows(
            (str(n), make_title(m.content, 70)) for n, (_, m) in enumerate(asked, 1)
        )

    @command("prev", "Show the previous answer to the last question (Alt+Left).")
    def prev(self, arg: str) -> None:
        self._step(-1)

    @command("next", "Show the next answer to the last question (Alt+Right).")
    def next(self, arg: str) -> None:
        self._step(1)

    def _step(self, delta: int) -> None:
        chat, renderer = self.session.chat, self.session.renderer
        alternatives = branches.step(chat, delta)
        path = chat.conversation.messages
        after = path[path.index(alternatives.question) + 1 :]
        by = writer.among(alternatives.answers, alternatives.index)
        renderer.note(f"{alternatives.describe().capitalize()}{f' ({by})' if by else ''}:")
        renderer.transcript(chat.conversation, messages=after[:RESUME_SHOWN])
        if said := chat.follow(chat.last_answer()):
            renderer.note(f"The conversation goes on with {said}.")

    @command("branches", "Show where the conversation forked, each branch with its number.")
    def branches(self, arg: str) -> None:
        conversation, renderer = self.session.chat.conversation, self.session.renderer
        lines = tree.tree_lines(conversation)
        if not lines:
            renderer.note("This conversation is empty.")
            return
        renderer.tree(lines)
        if len(tree.leaves(conversation)) > 1:
            renderer.note("▶ marks the branch on screen; /branch K puts branch K there.")
        else:
            renderer.note("One branch so far: /retry, /undo and /edit N start others.")

    @command("branch", "Put branch K (from /branches) on screen.", "K")
    def branch(self, arg: str) -> None:
        if not arg.isdigit():
            raise CommandError("/branch takes a branch's number, as /branches shows it.")
        chat = self.session.chat
        branches.switch(chat, int(arg))
        self.session.show_recent()
        self.session.renderer.note(
            f"Branch {arg} is on screen ({len(chat.conversation)} messages)."
        )


def _branch_of(conversation: Conversation, end: Message | None) -> int | None:
    """The number /branches gives the branch that ends at `end`, if one does."""
    leaves = tree.leaves(conversation)
    return next((n for n, leaf in enumerate(leaves, 1) if leaf is end), None)
