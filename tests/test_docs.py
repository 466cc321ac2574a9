"""The README tells the truth: its command table is the registry's."""

from __future__ import annotations

import re
from pathlib import Path

from chatrepl.arguments import parser
from chatrepl.session import declared_commands

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def readme_commands() -> dict[str, str]:
    section = README.split("### Slash commands", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        cells = [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
        if len(cells) == 2 and cells[0].startswith("`/"):
            rows[cells[0]] = cells[1]
    return rows


def test_readme_command_table_matches_the_registry() -> None:
    expected = {}
    for cmd in declared_commands():
        names = ", ".join(f"`/{n}`" for n in (cmd.name, *cmd.aliases))
        if cmd.usage:
            first, _, rest = names.partition(",")
            names = f"{first[:-1]} {cmd.usage}`" + ("," + rest if rest else "")
        expected[names] = cmd.summary
    assert readme_commands() == expected


def test_readme_names_every_flag() -> None:
    flags = {
        opt
        for action in parser()._actions
        for opt in action.option_strings
        if opt.startswith("--") and opt != "--help"
    }
    missing = {flag for flag in flags if not re.search(re.escape(flag) + r"\b", README)}
    assert missing == set()


def test_readme_names_every_config_key_and_variable() -> None:
    from chatrepl import config, roles

    keys = config.TOP_KEYS | config.ENDPOINT_KEYS | config.TIMEOUT_KEYS
    for key in keys | roles.ROLE_KEYS | roles.MODEL_KEYS:
        assert re.search(rf"^\s*\[?{key}\b|`{key}`|\b{key} =", README, re.M), key
    sources = Path(__file__).resolve().parents[1] / "src" / "chatrepl"
    variables = set()
    for path in sources.glob("*.py"):
        variables |= set(re.findall(r'"(CHATREPL_[A-Z0-9_]+)"', path.read_text()))
    assert variables, "no CHATREPL_* variables found in the sources"
    assert {v for v in variables if f"`{v}`" not in README} == set()
