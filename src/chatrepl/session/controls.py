"""The session itself from inside the REPL: /help, /system, /endpoint, /model,
/markdown, /think, /compact, /stats and /exit."""

from __future__ import annotations

from chatrepl import compact, presets, writer
from chatrepl.addresses import api_for
from chatrepl.commands import CommandError, command
from chatrepl.conversation import Message
from chatrepl.redaction import hide_password
from chatrepl.session.state import Session
from chatrepl.wording import plural

#: What /help says of the keys and of what a line may start with, after the commands.
KEYS = [
    ("Enter", "Send the message."),
    ("Alt+Enter, Ctrl-J", "Start a new line in the message."),
    ("Ctrl-C", "Stop an answer; at the prompt, clear the line."),
    ("Ctrl-D", "Leave, at an empty prompt."),
    ("Up, Down, Ctrl-R", "Walk and search the input history."),
    ("Ctrl-X Ctrl-E", "Edit the line in $VISUAL or $EDITOR."),
    ("Alt+Left, Alt+Right", "Show the other answers to the last question."),
    ("@path", "Attach a file to the question (Tab completes)."),
    ("!command", "Run a shell command and attach its output."),
    ("//text", "Send a message that starts with a slash."),
]


def _seconds(value: float | None) -> str:
    return f"{value:.2f} s" if value is not None else "n/a"


def _speed(value: float | None) -> str:
    return f"{value:.1f} tok/s" if value else "n/a"


def stats_rows(answers: list[Message], every: list[Message] | None = None) -> list[tuple[str, str]]:
    """The /stats table: the last answer, then the branch on screen (`answers`), and
    what was spent on every answer of the conversation (`every`), where prices are set."""
    every = answers if every is None else every

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
    by = writer.full_label(last.meta) if last.meta.get("model") or writer.among(every, 0) else ""
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
    rows = [
        (
            "last answer",
            f"{f'by {by}; ' if by else ''}{last_tokens}; first token after "
            f"{_seconds(measure(last, 'first_token'))}"
            f"{timing}; speed {_speed(measure(last, 'tokens_per_second'))}",
        ),
        (
            "conversation",
            f"{plural(len(answers), 'answer')}, {all_tokens}; first token after "
            f"{_seconds(mean(firsts))} and speed {_speed(mean(speeds))} on average",
        ),
    ]
    spent = writer.total(m.meta for m in every)
    if spent is not None:
        last_cost = last.meta.get("cost")
        shown = writer.money(last_cost) if isinstance(last_cost, int | float) else "not priced"
        rows.append(
            (
                "cost",
                f"last answer {shown}; conversation {writer.money(spent)} "
                f"({plural(len(every), 'answer')} in all its branches)",
            )
        )
    return rows


def _on_off(arg: str, name: str, also: str = "") -> str:
    if arg not in ("on", "off", ""):
        raise CommandError(f"/{name} takes on or off{also}.")
    return arg


class Controls:
    """See the module's docstring."""

    TITLE = "This session"

    def __init__(self, session: Session) -> None:
        self.session = session

    @command("help", "Show the commands, or the usage of one.", "[COMMAND]", argument="command")
    def help(self, arg: str) -> None:
        groups = self.session.registry.help_rows(arg)
        if len(groups) > 1:
            groups.append(("Keys", KEYS))
        self.session.renderer.sections(groups)

    @command("system", "Show this conversation's system prompt, or set it.", "[TEXT]")
    def system(self, arg: str) -> None:
        chat, renderer = self.session.chat, self.session.renderer
        if arg:
            chat.set_system(arg)
            renderer.note("System prompt set for this conversation.")
        elif chat.conversation.system:
            renderer.info(chat.conversation.system)
        else:
            renderer.note("This conversation has no system prompt. /system TEXT sets one.")

    @command(
        "endpoint",
        "Show the endpoint, or switch to one from the config file.",
        "[NAME]",
        argument="endpoint",
    )
    def endpoint(self, arg: str) -> None:
        chat, renderer = self.session.chat, self.session.renderer
        if arg:
            chat.use_endpoint(arg)
        ep = chat.endpoint
        model = f", model {ep.model}" if ep.model else ""
        renderer.info(f"{ep.name}: {hide_password(ep.url)} (api {ep.api}{model}).")
        others = sorted(n for n in chat.settings.endpoints if n != ep.name)
        if others and not arg:
            renderer.note(f"Others: {', '.join(others)}.")

    @command(
        "model",
        "Show the model, or choose another for this endpoint (for the rest of the session).",
        "[NAME]",
        argument="model",
    )
    def model(self, arg: str) -> None:
        chat, renderer = self.session.chat, self.session.renderer
        if arg:
            chat.use_model(arg)
            renderer.note(f"Model set to {arg} for {chat.endpoint.name}.")
            if unsent := writer.unsent_model(chat.endpoint):
                renderer.warn(unsent)
        elif chat.endpoint.model:
            renderer.info(chat.endpoint.model)
        else:
            renderer.note("No model is set; the endpoint uses its default.")

    @command(
        "role",
        "Apply a role from config.toml ([roles.NAME]); off: no role; alone: list them.",
        "[NAME|off]",
        argument="role",
    )
    def role(self, arg: str) -> None:
        chat, renderer = self.session.chat, self.session.renderer
        if arg == "off" and chat.role is None:
            renderer.note("No role is on.")
        elif arg == "off":
            presets.drop(chat)
            renderer.note(
                f"No role from now on: back to {writer.full_label(writer.stamp(chat.endpoint))} "
                "(the system prompt stays: /system changes it)."
            )
        elif arg:
            role = presets.apply(chat, arg)
            renderer.note(f"Role {role.name} from now on: {role.describe().rstrip('.')}.")
            if role.temperature is not None and api_for(chat.endpoint) == "workers":
                renderer.warn("This endpoint's API (workers) takes no temperature; it is not sent.")
        elif not chat.settings.roles:
            renderer.note("No roles are configured: add [roles.NAME] to config.toml.")
        else:
            current = chat.role.name if chat.role is not None else ""
            roles = sorted(chat.settings.roles.items())
            renderer.rows((("▶ " if n == current else "  ") + n, r.describe()) for n, r in roles)

    @command("markdown", "Render answers as Markdown, or not.", "on|off", argument="onoff")
    def markdown(self, arg: str) -> None:
        renderer = self.session.renderer
        if _on_off(arg, "markdown"):
            renderer.markdown = arg == "on"
        renderer.note(f"Markdown is {'on' if renderer.markdown else 'off'}.")

    @command(
        "think",
        "Show the last answer's reasoning in full; on or off: stream reasoning expanded.",
        "[on|off]",
        argument="think",
    )
    def think(self, arg: str) -> None:
        renderer = self.session.renderer
        if _on_off(arg, "think", ", or nothing"):
            renderer.show_reasoning = arg == "on"
            shown = "in full" if arg == "on" else "collapsed to one line"
            renderer.note(f"Reasoning is shown {shown} from now on.")
            return
        last = self.session.chat.last_answer()
        reasoning = last.meta.get("reasoning") if last is not None else None
        if not isinstance(reasoning, str) or not reasoning:
            renderer.note("The last answer came with no reasoning.")
            return
        renderer.reasoning(reasoning)

    @command(
        "compact",
        "Summarise all but the last N turns (default 2) and send the summary in their place; "
        "undo sends them again.",
        "[N|undo]",
    )
    def compact(self, arg: str) -> None:
        chat, renderer = self.session.chat, self.session.renderer
        if arg == "undo":
            compact.undo(chat)
            renderer.note("The summary is set aside; the full turns are sent again.")
            return
        if arg and not arg.isdigit():
            raise CommandError("/compact takes a number of turns to keep, or undo.")
        summary = compact.compact(chat, int(arg) if arg else compact.DEFAULT_KEEP)
        renderer.summary(summary)
        plan = chat.plan()
        renderer.note(
            f"From now on this summary is sent in place of {summary.meta['covers']} messages "
            f"({plan.tokens:,} of {plan.window:,} tokens now). /compact undo sends them again."
        )

    @command(
        "context",
        "Show the context window in use; reset: forget the window learnt from the server.",
        "[reset]",
    )
    def context(self, arg: str) -> None:
        chat = self.session.chat
        if arg not in ("", "reset"):
            raise CommandError("/context takes nothing, or reset.")
        if arg == "reset":
            chat.window.forget()
            self.session.renderer.note(
                f"Forgot what the server taught of its window; the window is "
                f"{chat.window.budget.context_tokens:,} tokens."
            )
            return
        self.session.renderer.info(f"Context: {chat.context_report()}.")

    @command("stats", "Show tokens, time to first token and speed, of the last answer and all.")
    def stats(self, arg: str) -> None:
        chat = self.session.chat
        answers = [m for m in chat.conversation.messages if m.role == "assistant"]
        if not answers:
            self.session.renderer.note("No answers yet in this conversation.")
            return
        every = [m for m in chat.conversation.nodes if m.role == "assistant"]
        self.session.renderer.rows(
            [*stats_rows(answers, every), ("context", chat.context_report())]
        )

    @command("exit", "Leave chatrepl (Ctrl-D does the same).", aliases=("quit",))
    def exit(self, arg: str) -> None:
        self.session.exiting = True
