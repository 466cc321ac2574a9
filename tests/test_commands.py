"""The slash-command registry: lookup, prefixes, help and completion come from it."""

from __future__ import annotations

import pytest

from chatrepl import commands
from chatrepl.commands import CommandError, lookup


def test_every_summary_is_one_sentence_ending_with_a_period() -> None:
    for cmd in commands.commands():
        assert cmd.summary.endswith("."), cmd.name
        assert cmd.summary[0].isupper() and "\n" not in cmd.summary


def test_names_aliases_and_unique_prefixes() -> None:
    assert lookup("quit").name == "exit"
    assert lookup("clear").name == "reset"
    assert lookup("he").name == "help"
    assert lookup("li").name == "list"


def test_ambiguous_prefix_names_the_candidates() -> None:
    with pytest.raises(CommandError, match=r"/res is ambiguous: /reset, /resume\."):
        lookup("res")


def test_unknown_command_points_at_help() -> None:
    with pytest.raises(CommandError) as caught:
        lookup("foo")
    assert str(caught.value) == "Unknown command /foo. Type /help for the list."


def test_help_lists_every_command_once() -> None:
    rows = commands.help_rows()
    assert [r[0].split()[0].rstrip(",") for r in rows] == [
        "/" + c.name for c in commands.commands()
    ]
    assert commands.help_rows("resume") == [("/resume ID", lookup("resume").summary)]


def test_completion_of_names_and_arguments() -> None:
    providers = {
        "conversation": lambda: [("abc1", "title"), ("xyz", "other")],
        "endpoint": lambda: [("local", "http://x"), ("cloud", "https://y")],
        "onoff": lambda: commands.ON_OFF,
    }
    names = [c[0] for c in commands.complete("/re", providers)]
    assert names == ["/reset", "/resume", "/rename", "/retry"]
    assert commands.complete("/resume ab", providers) == [("abc1", "title", -2)]
    assert [c[0] for c in commands.complete("/endpoint ", providers)] == ["local", "cloud"]
    assert [c[0] for c in commands.complete("/markdown o", providers)] == ["on", "off"]
    assert [c[0] for c in commands.complete("/help ret", providers)] == ["retry"]
    assert commands.complete("/model x", providers) == []  # no provider given
    assert commands.complete("plain text", providers) == []


def test_double_slash_is_a_message() -> None:
    assert commands.is_command("/help")
    assert not commands.is_command("//etc/hosts is a file")
