"""What slash commands do in a running REPL, apart from the prompt itself.

`Actions` implements the `commands.App` protocol on a chat and a renderer; `repl.Repl`
adds the prompt_toolkit loop and supplies `turn` (run a turn with the terminal quiet)
and `confirm` (ask yes or no). Nothing here imports prompt_toolkit.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from chatrepl import branches, commands, tree
from chatrepl.chat import Chat
from chatrepl.conversation import Message, make_title
from chatrepl.errors import ChatreplError
from chatrepl.manage import write_export
from chatrepl.material import Material
from chatrepl.outcome import Outcome
from chatrepl.render import Renderer
from chatrepl.sanitize import sanitize
from chatrepl.store import Store

RESUME_SHOWN = 6  # turns shown when a conversation is resumed


def _host(url: str) -> str:
    return url.split("//", 1)[-1].split("/", 1)[0]


def _seconds(value: float | None) -> str:
    return f"{value:.2f} s" if value is not None else "n/a"


def _speed(value: float | None) -> str:
    return f"{value:.1f} tok/s" if value else "n/a"


def stats_rows(answers: list[Message]) -> list[tuple[str, str]]:
    """The /stats table: the last answer, then the whole conversation."""

    def tokens(m: Message, key: str) -> int:
        usage = m.meta.get("usage")
        count = usage.get(key) if isinstance(usage, dict) else None
        return count if isinstance(count, int) else 0

    def reported(m: Message) -> bool:
        return isinstance(m.meta.get("usage"), dict)

    def measure(m: Message, key: str) -> float | None:
        value = m.meta.get(key)
        return float(value) if isinstance(value, int | float) else None

    def mean(values: list[float]) -> float | None:
        return sum(values) / len(values) if values else None

    last = answers[-1]
    firsts = [v for m in answers if (v := measure(m, "first_token")) is not None]
    speeds = [v for m in answers if (v := measure(m, "tokens_per_second"))]
    total = sum(tokens(m, "completion_tokens") for m in answers)
    last_tokens = (
        f"{tokens(last, 'prompt_tokens')} prompt and {tokens(last, 'completion_tokens')} "
        "answer tokens"
        if reported(last)
        else "tokens not reported by the server"
    )
    all_tokens = (
        f"{total} answer tokens" if any(reported(m) for m in answers) else "tokens not reported"
    )
    thinking = measure(last, "thinking_seconds")
    timing = (
        f"; thought for {_seconds(thinking)}, answered in "
        f"{_seconds(measure(last, 'answer_seconds'))}"
        if thinking is not None
        else ""
    )
    return [
        (
            "last answer",
            f"{last_tokens}; first token after {_seconds(measure(last, 'first_token'))}"
            f"{timing}; speed {_speed(measure(last, 'tokens_per_second'))}",
        ),
        (
            "conversation",
            f"{len(answers)} answers, {all_tokens}; first token after "
            f"{_seconds(mean(firsts))} and speed {_speed(mean(speeds))} on average",
        ),
    ]


class Actions(Material, commands.App):
    """The slash commands' effects; see the module's docstring."""

    chat: Chat
    renderer: Renderer
    pending: str  # text offered at the next prompt
    exiting: bool

    def turn(self, run: Callable[[], Outcome]) -> Outcome:
        raise NotImplementedError

    def confirm(self, question: str) -> bool:
        raise NotImplementedError

    def show_help(self, rows: list[tuple[str, str]]) -> None:
        self.renderer.rows(rows)
        if len(rows) > 1:
            self.renderer.note(
                "Enter sends, Alt+Enter or Ctrl-J adds a line, Ctrl-C stops "
                "an answer, Ctrl-D leaves. Start a message with // to send "
                "a leading slash."
            )

    def new_conversation(self) -> None:
        self.chat.new()
        self.renderer.note("New conversation.")

    def show_conversations(self) -> None:
        if self.chat.store is None:
            self.renderer.note("Saving is off, so there are no saved conversations.")
            return
        self.renderer.conversations(self.chat.store.list_conversations(), self.chat.conversation.id)

    def resume(self, ref: str) -> None:
        self.chat.load(ref)
        self.show_resumed()

    def show_resumed(self) -> None:
        conversation = self.chat.conversation
        self.renderer.transcript(conversation, last=RESUME_SHOWN)
        if self.chat.copied_from:
            self.renderer.warn(self.chat.copy_notice())
        self.renderer.note(
            f"Resumed {conversation.id}: {conversation.title} ({len(conversation)} messages)."
        )

    def _saved_store(self) -> Store:
        if self.chat.store is None:
            raise ChatreplError("Saving is off, so there are no saved conversations.")
        return self.chat.store

    def rename(self, title: str) -> None:
        conversation = self.chat.conversation
        conversation.title = make_title(title)
        if conversation.nodes and self.chat.store is not None:
            self.chat.store.rename(conversation.id, conversation.title)
        self.renderer.note(f"Renamed to {conversation.title}.")

    def delete(self, ref: str) -> None:
        store = self._saved_store()
        current = self.chat.conversation
        cid = store.resolve(ref) if ref else current.id
        if cid == current.id and not current.nodes:
            self.renderer.note("This conversation is empty; there is nothing to delete.")
            return
        target = store.load(cid) if cid != current.id else current
        count = len(target.nodes)
        question = f"Delete {cid} ({sanitize(target.title)}, {count} messages)? [y/N] "
        if not self.confirm(question):
            self.renderer.note("Nothing was deleted.")
            return
        store.delete_conversation(cid)
        self.renderer.note(f"Deleted {cid}.")
        if cid == current.id:
            self.chat.new()
            self.renderer.note("New conversation.")

    def export(self, path: str) -> None:
        conversation = self.chat.conversation
        if not conversation.messages:
            self.renderer.note("This conversation is empty; there is nothing to export.")
            return
        target = Path(path).expanduser() if path else Path(f"chatrepl-{conversation.id}.md")
        fmt = write_export(conversation, target)
        self.renderer.note(f"Exported {len(conversation)} messages to {target} ({fmt}).")

    def search(self, text: str) -> None:
        hits = self._saved_store().search(text)
        if hits:
            self.renderer.search_hits(hits)
        else:
            self.renderer.note(f"No conversation mentions {text}.")

    # ---------------------------------------------------------- more commands

    def toolbar(self) -> str:
        chat = self.chat
        ep = chat.endpoint
        parts = [f" {ep.name}: {ep.model or _host(ep.url)}"]
        share = chat.context_share()
        if share:
            parts.append(share)  # before the title, which may be cut at the window's edge
        conv = chat.conversation
        parts.append(sanitize(conv.title) if conv.title else "new conversation")
        parts.append(f"{len(conv)} messages")
        alternatives = tree.alternatives(conv)
        if alternatives is not None:
            parts.append(alternatives.describe())
        last = chat.last_answer()
        speed = last.meta.get("tokens_per_second") if last else None
        if speed:
            parts.append(f"last answer {speed} tok/s")
        return "  │  ".join(parts)

    def retry(self) -> None:
        outcome = self.turn(self.chat.retry)
        alternatives = tree.alternatives(self.chat.conversation)
        if alternatives is not None and outcome.status != "unsent":
            self.renderer.note(
                f"This is {alternatives.describe()}; /prev (Alt+Left) shows the earlier one."
            )

    def undo(self) -> None:
        messages = self.chat.conversation.messages
        if messages and messages[-1].role == "summary" and messages[-1].meta.get("active"):
            self.compact("undo")  # /undo right after /compact takes the summary back
            return
        question = self.chat.drop_last()
        self.pending = question.content
        self.attached = question.attachments()
        self.renderer.note(
            "Took back the last exchange; the question is at the prompt "
            "(the exchange stays as a branch: /branches)."
        )

    def edit(self, arg: str) -> None:
        question = branches.edit(self.chat, int(arg) if arg else None)
        self.pending = question.content
        self.attached = question.attachments()
        self.renderer.note(
            "The question is back at the prompt: sending it starts a new branch from there; "
            "the old one stays (/branches)."
        )

    def history(self) -> None:
        asked = tree.questions(self.chat.conversation)
        if not asked:
            self.renderer.note("No questions yet on this branch.")
            return
        self.renderer.rows((str(n), make_title(m.content, 70)) for n, (_, m) in enumerate(asked, 1))

    def step(self, delta: int) -> None:
        alternatives = branches.step(self.chat, delta)
        path = self.chat.conversation.messages
        after = path[path.index(alternatives.question) + 1 :]
        self.renderer.note(f"{alternatives.describe().capitalize()}:")
        self.renderer.transcript(self.chat.conversation, messages=after[:RESUME_SHOWN])

    def branches(self) -> None:
        lines = tree.tree_lines(self.chat.conversation)
        if not lines:
            self.renderer.note("This conversation is empty.")
            return
        self.renderer.tree(lines)
        count = len(tree.leaves(self.chat.conversation))
        if count > 1:
            self.renderer.note("* marks the branch on screen; /branch K puts branch K there.")
        else:
            self.renderer.note("One branch so far: /retry, /undo and /edit N start others.")

    def branch(self, arg: str) -> None:
        branches.switch(self.chat, int(arg))
        conversation = self.chat.conversation
        self.renderer.transcript(conversation, last=RESUME_SHOWN)
        self.renderer.note(f"Branch {arg} is on screen ({len(conversation)} messages).")

    def system(self, text: str) -> None:
        if text:
            self.chat.set_system(text)
            self.renderer.note("System prompt set for this conversation.")
        elif self.chat.conversation.system:
            self.renderer.info(self.chat.conversation.system)
        else:
            self.renderer.note("This conversation has no system prompt. /system TEXT sets one.")

    def endpoint(self, name: str) -> None:
        if name:
            self.chat.use_endpoint(name)
        ep = self.chat.endpoint
        model = f", model {ep.model}" if ep.model else ""
        self.renderer.info(f"{ep.name}: {ep.url} (api {ep.api}{model}).")
        others = sorted(n for n in self.chat.settings.endpoints if n != ep.name)
        if others and not name:
            self.renderer.note(f"Others: {', '.join(others)}.")

    def model(self, name: str) -> None:
        if name:
            self.chat.use_model(name)
            self.renderer.note(f"Model set to {name} for {self.chat.endpoint.name}.")
        elif self.chat.endpoint.model:
            self.renderer.info(self.chat.endpoint.model)
        else:
            self.renderer.note("No model is set; the endpoint uses its default.")

    def markdown(self, setting: str) -> None:
        if setting not in ("on", "off", ""):
            raise commands.CommandError("/markdown takes on or off.")
        if setting:
            self.renderer.markdown = setting == "on"
        self.renderer.note(f"Markdown is {'on' if self.renderer.markdown else 'off'}.")

    def think(self, setting: str) -> None:
        if setting not in ("on", "off", ""):
            raise commands.CommandError("/think takes on or off, or nothing.")
        if setting:
            self.renderer.show_reasoning = setting == "on"
            shown = "in full" if setting == "on" else "collapsed to one line"
            self.renderer.note(f"Reasoning is shown {shown} from now on.")
            return
        last = self.chat.last_answer()
        reasoning = last.meta.get("reasoning") if last is not None else None
        if not isinstance(reasoning, str) or not reasoning:
            self.renderer.note("The last answer came with no reasoning.")
            return
        self.renderer.reasoning(reasoning)

    def compact(self, arg: str) -> None:
        from chatrepl import compact

        if arg == "undo":
            compact.undo(self.chat)
            self.renderer.note("The summary is set aside; the full turns are sent again.")
            return
        if arg and not arg.isdigit():
            raise commands.CommandError("/compact takes a number of turns to keep, or undo.")
        summary = compact.compact(self.chat, int(arg) if arg else compact.DEFAULT_KEEP)
        self.renderer.summary(summary)
        plan = self.chat.plan()
        self.renderer.note(
            f"From now on this summary is sent in place of {summary.meta['covers']} messages "
            f"({plan.tokens:,} of {plan.window:,} tokens now). /compact undo sends them again."
        )

    def stats(self) -> None:
        answers = [m for m in self.chat.conversation.messages if m.role == "assistant"]
        if not answers:
            self.renderer.note("No answers yet in this conversation.")
            return
        self.renderer.rows([*stats_rows(answers), ("context", self.chat.context_report())])

    def request_exit(self) -> None:
        self.exiting = True
