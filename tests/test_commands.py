"""The slash-command registry: lookup, prefixes, help and completion come from the
commands the session's parts declare, each defined once where it is handled."""

from __future__ import annotations

from pathlib import Path

import pytest

from chatrepl import commands
from chatrepl.commands import Command, CommandError, Registry, command
from chatrepl.session import PARTS, compose, declared_commands
from tests.helpers import make_chat


@pytest.fixture
def registry(chatrepl_home: Path) -> Registry:
    chat, _ = make_chat("http://127.0.0.1:9/api/chat", chatrepl_home, save=False)
    session, _ = compose(chat)
    return session.registry


def test_every_summary_is_one_sentence_ending_with_a_period() -> None:
    for cmd in declared_commands():
        assert cmd.summary.endswith("."), cmd.name
        assert cmd.summary[0].isupper() and "\n" not in cmd.summary


def test_the_registry_is_what_the_parts_declare_each_bound_to_its_part(
    registry: Registry,
) -> None:
    assert [c.name for c in registry.ordered] == [c.name for c in declared_commands()]
    for cmd in registry.ordered:
        handler = cmd.handler
        assert handler is not None
        owner = type(getattr(handler, "__self__", None))
        assert owner in PARTS and cmd.group == owner.TITLE, cmd.name


def test_a_name_registered_twice_is_refused() -> None:
    class One:
        @command("same", "One.")
        def a(self, arg: str) -> None: ...

    class Other:
        @command("other", "Other.", aliases=("same",))
        def b(self, arg: str) -> None: ...

    with pytest.raises(ValueError, match="/same is registered twice"):
        Registry([One(), Other()])


def test_dispatch_calls_the_bound_method_with_the_argument() -> None:
    heard: list[str] = []

    class Part:
        TITLE = "Mine"

        @command("say", "Say it.", "TEXT")
        def say(self, arg: str) -> None:
            heard.append(arg)

    registry = Registry([Part()])
    registry.dispatch("/sa  two words ")
    assert heard == ["two words"]
    assert registry.help_rows() == [("Mine", [("/say TEXT", "Say it.")])]
    assert isinstance(registry.lookup("say"), Command)


def test_names_aliases_and_unique_prefixes(registry: Registry) -> None:
    assert registry.lookup("quit").name == "exit"
    assert registry.lookup("new").name == "reset"
    assert registry.lookup("clear").name == "clear"
    assert registry.lookup("he").name == "help"
    assert registry.lookup("li").name == "list"


def test_ambiguous_prefix_names_the_candidates(registry: Registry) -> None:
    with pytest.raises(CommandError, match=r"/res is ambiguous: /reset, /resume\."):
        registry.lookup("res")


def test_unknown_command_points_at_help(registry: Registry) -> None:
    with pytest.raises(CommandError) as caught:
        registry.lookup("foo")
    assert str(caught.value) == "Unknown command /foo. Type /help for the list."


def test_help_lists_every_command_once_in_its_group(registry: Registry) -> None:
    groups = registry.help_rows()
    assert [title for title, _ in groups] == [part.TITLE for part in PARTS]
    listed = [sig.split()[0].rstrip(",") for _, rows in groups for sig, _ in rows]
    assert listed == ["/" + c.name for c in registry.ordered]
    assert len(set(listed)) == len(listed)
    assert registry.help_rows("resume") == [
        ("", [("/resume ID", registry.lookup("resume").summary)])
    ]


def test_completion_of_names_and_arguments(registry: Registry) -> None:
    providers = {
        "conversation": lambda: [("abc1", "title"), ("xyz", "other")],
        "endpoint": lambda: [("local", "http://x"), ("cloud", "https://y")],
        "onoff": lambda: commands.ON_OFF,
    }
    names = [c[0] for c in registry.complete("/re", providers)]
    assert names == ["/reset", "/resume", "/rename", "/retry"]
    assert registry.complete("/resume ab", providers) == [("abc1", "title", -2)]
    assert [c[0] for c in registry.complete("/endpoint ", providers)] == ["local", "cloud"]
    assert [c[0] for c in registry.complete("/markdown o", providers)] == ["on", "off"]
    assert [c[0] for c in registry.complete("/help ret", providers)] == ["retry"]
    assert registry.complete("/model x", providers) == []  # no provider given
    assert registry.complete("plain text", providers) == []


def test_double_slash_is_a_message() -> None:
    assert commands.is_command("/help")
    assert not commands.is_command("//etc/hosts is a file")
