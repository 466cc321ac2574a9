"""Roles: presets from config.toml applied by --role, -R and /role, remembered by the
conversation (issue 26, point 4)."""

from __future__ import annotations

import io
import sqlite3
from pathlib import Path

import pytest
from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.document import Document
from prompt_toolkit.input import PipeInput

from chatrepl.config import Overrides, load
from chatrepl.errors import ConfigError
from chatrepl.repl import CommandCompleter, Repl
from tests.helpers import make_repl, run_chatrepl
from tests.server import ChatServer

CONFIG = """
[endpoints.main]
url = "{url}"
api = "openai"
model = "general"

[roles.coder]
system = "You write terse Python."
model = "coder-7b"
temperature = 0.2
template = "Answer with code only. {{input}}"

[roles.critic]
endpoint = "main"
system = "Find the flaws."
"""


def configure(home: Path, server: ChatServer, extra: str = "") -> Path:
    home.mkdir(parents=True, exist_ok=True)
    path = home / "config.toml"
    path.write_text(CONFIG.format(url=server.url) + extra)
    return path


def sent(server: ChatServer) -> list[tuple[str, str]]:
    return [(m["role"], m["content"]) for m in server.requests[-1].body["messages"]]


def test_roles_are_read_from_the_config(server: ChatServer, chatrepl_home: Path) -> None:
    path = configure(chatrepl_home, server, '[roles.odd]\ncolour = "red"\n')
    settings = load(Overrides(config_file=path), env={})
    coder = settings.roles["coder"]
    assert (coder.model, coder.temperature, coder.system) == (
        "coder-7b",
        0.2,
        "You write terse Python.",
    )
    assert coder.wrap("sort a list") == "Answer with code only. sort a list"
    assert any("unknown key roles.odd.colour" in w for w in settings.warnings)


@pytest.mark.parametrize(
    ("table", "said"),
    [
        ('template = "no slot"', "must hold {input}"),
        ('endpoint = "nowhere"', r"unknown endpoint nowhere \(main\)"),
        ("temperature = -1", "a number of at least 0"),
    ],
)
def test_a_wrong_role_is_one_line_naming_its_place(
    server: ChatServer, chatrepl_home: Path, table: str, said: str
) -> None:
    path = configure(chatrepl_home, server, f"[roles.bad]\n{table}\n")
    with pytest.raises(ConfigError, match=said) as caught:
        load(Overrides(config_file=path), env={})
    assert str(path) in str(caught.value)


def test_role_flag_sets_system_model_temperature_and_template(
    server: ChatServer, chatrepl_home: Path
) -> None:
    configure(chatrepl_home, server)
    done = run_chatrepl(chatrepl_home, "--endpoint", "main", "-R", "coder", "sort a list")
    assert done.returncode == 0, done.stderr
    body = server.requests[-1].body
    assert body["model"] == "coder-7b" and body["temperature"] == 0.2
    assert sent(server) == [
        ("system", "You write terse Python."),
        ("user", "Answer with code only. sort a list"),
    ]
    with sqlite3.connect(chatrepl_home / "chatrepl.db") as db:  # what was typed is kept
        content, meta = db.execute(
            "SELECT content, meta FROM messages WHERE role='user'"
        ).fetchone()
    assert content == "sort a list" and '"role": "coder"' in meta


def test_an_unknown_role_names_the_ones_that_exist(server: ChatServer, chatrepl_home: Path) -> None:
    configure(chatrepl_home, server)
    done = run_chatrepl(chatrepl_home, "--role", "poet", "hi")
    assert done.returncode == 2 and not server.requests
    assert done.stderr.startswith("chatrepl: Unknown role poet (coder, critic).")
    assert done.stderr.count("\n") == 1


def test_a_resumed_conversation_remembers_its_role(server: ChatServer, chatrepl_home: Path) -> None:
    configure(chatrepl_home, server)
    run_chatrepl(chatrepl_home, "--endpoint", "main", "--role", "coder", "first", check=True)
    run_chatrepl(chatrepl_home, "--endpoint", "main", "-c", "second", check=True)
    assert sent(server)[-1] == ("user", "Answer with code only. second")
    assert server.requests[-1].body["model"] == "coder-7b"
    assert sent(server)[0] == ("system", "You write terse Python.")


def repl_for(path: Path, home: Path, pipe: PipeInput) -> tuple[Repl, io.StringIO]:
    settings = load(Overrides(config_file=path, endpoint="main"), env={"CHATREPL_AUTO_TITLE": "0"})
    return make_repl(settings, home, pipe)


def test_role_command_lists_applies_and_drops(
    server: ChatServer, chatrepl_home: Path, tmp_path: Path, pipe: PipeInput
) -> None:
    path = configure(chatrepl_home, server)
    r, out = repl_for(path, tmp_path, pipe)
    pipe.send_text(
        "/role\r/role coder\rone\r/role\r/reset\rtwo\r/role off\rthree\r/role off\r/role poet\r\x04"
    )
    r.run()
    text = out.getvalue()
    assert "coder" in text and "@:coder-7b" not in text and "coder-7b, temperature 0.2" in text
    assert "Role coder from now on: coder-7b, temperature 0.2, a template" in text
    assert "▶ coder" in text  # the list marks the role applied
    one, two, three = server.requests[-3:]
    assert one.body["messages"][-1]["content"] == "Answer with code only. one"
    # /reset keeps the role: its system prompt opens the new conversation
    assert two.body["messages"][0]["content"] == "You write terse Python."
    assert two.body["messages"][-1]["content"] == "Answer with code only. two"
    assert three.body["messages"][-1]["content"] == "three"  # /role off: plain again
    assert three.body["model"] == "general" and "temperature" not in three.body
    assert "Unknown role poet (coder, critic)." in text
    assert text.count("No role from now on") == 1 and "No role is on." in text  # (twice off)


def test_role_completes_with_tab(
    server: ChatServer, chatrepl_home: Path, tmp_path: Path, pipe: PipeInput
) -> None:
    path = configure(chatrepl_home, server)
    r, _ = repl_for(path, tmp_path, pipe)
    completer = CommandCompleter(r.session)
    found = completer.get_completions(Document("/role c"), CompleteEvent())
    assert [c.text for c in found] == ["coder", "critic"]


def test_a_role_on_another_endpoint_runs_only_that_ones_token_command(
    server: ChatServer, chatrepl_home: Path
) -> None:
    """The endpoint the run would have started on is left behind by the role: its
    token_command (which may ask for a passphrase) does not run; the role's does."""
    left, used = chatrepl_home / "left-ran", chatrepl_home / "used-ran"
    chatrepl_home.mkdir(parents=True, exist_ok=True)
    (chatrepl_home / "config.toml").write_text(
        'endpoint = "home"\n'
        f'[endpoints.home]\nurl = "{server.url}"\n'
        f"token_command = \"sh -c 'touch {left}; echo home-token'\"\n"
        f'[endpoints.work]\nurl = "{server.url}"\n'
        f"token_command = \"sh -c 'touch {used}; echo work-token'\"\n"
        '[roles.worker]\nendpoint = "work"\n'
    )
    done = run_chatrepl(chatrepl_home, "-R", "worker", "hello")
    assert done.returncode == 0, done.stderr
    assert server.requests[-1].headers["Authorization"] == "Bearer work-token"
    assert used.exists() and not left.exists()
    used.unlink()
    for resume in (["-c"], ["-r", latest_id(chatrepl_home)]):  # the role comes back with it
        run_chatrepl(chatrepl_home, *resume, "again", check=True)
        assert server.requests[-1].headers["Authorization"] == "Bearer work-token"
        assert used.exists() and not left.exists(), resume
        used.unlink()
    run_chatrepl(chatrepl_home, "hello", check=True)  # without the role: home's, as before
    assert server.requests[-1].headers["Authorization"] == "Bearer home-token"


def latest_id(home: Path) -> str:
    with sqlite3.connect(home / "chatrepl.db") as db:
        return str(db.execute("SELECT id FROM conversations ORDER BY rowid DESC").fetchone()[0])
