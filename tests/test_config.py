"""Configuration: precedence, endpoints, tokens, errors with their place, --print-config."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from chatrepl.config import Overrides, load
from chatrepl.errors import ConfigError
from tests.conftest import clean_env
from tests.helpers import run_chatrepl
from tests.server import ChatServer

TIMEOUT = 20


def write(path: Path, text: str, mode: int = 0o600) -> Path:
    path.write_text(text)
    path.chmod(mode)
    return path


def test_precedence_flags_environment_file_defaults(tmp_path: Path) -> None:
    cfg = write(
        tmp_path / "c.toml",
        'system = "from file"\n[timeouts]\nidle = 5\n'
        '[endpoints.e]\nurl = "http://file/api/chat"\nmodel = "file-model"\n'
        "endpoint_unused = 1\n",
    )
    base = load(Overrides(config_file=cfg), env={})
    assert base.endpoint.url.startswith("https://ai.callaback.workers.dev")  # default endpoint
    assert base.system == "from file" and base.idle_timeout == 5 and base.connect_timeout == 10
    env = {"CHATREPL_URL": "http://env/api/chat", "CHATREPL_MODEL": "env-model"}
    assert load(Overrides(config_file=cfg), env=env).endpoint.url == "http://env/api/chat"
    flags = load(
        Overrides(config_file=cfg, url="http://flag/api/chat", model="flag-model"), env=env
    )
    assert (flags.endpoint.url, flags.endpoint.model) == ("http://flag/api/chat", "flag-model")
    named = load(Overrides(config_file=cfg, endpoint="e"), env=env)
    assert (named.endpoint.url, named.endpoint.model) == ("http://file/api/chat", "file-model")
    assert load(Overrides(config_file=cfg, system="from flag"), env={}).system == "from flag"


def test_show_reasoning_from_the_file_or_the_flag(tmp_path: Path) -> None:
    cfg = write(tmp_path / "c.toml", "show_reasoning = true\n")
    assert load(Overrides(config_file=cfg), env={}).show_reasoning is True
    empty = write(tmp_path / "e.toml", "")
    assert load(Overrides(config_file=empty), env={}).show_reasoning is False
    flag = Overrides(config_file=empty, show_reasoning=True)
    assert load(flag, env={}).show_reasoning is True


def test_unknown_keys_warn_and_are_ignored(tmp_path: Path) -> None:
    cfg = write(tmp_path / "c.toml", 'colour = "blue"\n[endpoints.e]\nurll = "x"\n')
    settings = load(Overrides(config_file=cfg), env={})
    assert any("unknown key colour" in w for w in settings.warnings)
    assert any("unknown key endpoints.e.urll" in w for w in settings.warnings)


@pytest.mark.parametrize(
    ("text", "where", "what"),
    [
        ('system = "a"\nmarkdown = maybe\n', ":2:12:", "Invalid value"),
        ('markdown = "yes"\n', ":1:1:", "markdown must be true or false, not str."),
        ("show_reasoning = 1\n", ":1:1:", "show_reasoning must be true or false, not int."),
        ('[endpoints.x]\nurl = "http://h"\napi = "grpc"\n', "", "must be one of"),
        ("[timeouts]\nconnect = 'slow'\n", ":2:1:", "timeouts.connect must be a number"),
        ("timeouts = { idle = true }\n", ":1:14:", "timeouts.idle must be a number"),
        ("[endpoints.x]\nheaders = { A = 1 }\n", ":2:13:", "headers.A must be a string"),
    ],
)
def test_errors_name_file_line_and_column(tmp_path: Path, text: str, where: str, what: str) -> None:
    cfg = write(tmp_path / "c.toml", text)
    with pytest.raises(ConfigError) as caught:
        load(Overrides(config_file=cfg), env={})
    assert str(caught.value).startswith(f"{cfg}{where}") and what in str(caught.value)


def test_literal_token_only_in_a_private_file(tmp_path: Path) -> None:
    text = '[endpoints.e]\nurl = "http://h/api/chat"\ntoken = "sk-literal"\n'
    open_file = write(tmp_path / "open.toml", text, 0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        load(Overrides(config_file=open_file, endpoint="e"), env={})
    private = write(tmp_path / "private.toml", text, 0o600)
    assert load(Overrides(config_file=private, endpoint="e"), env={}).token(env={}) == "sk-literal"


def test_token_sources_in_order(tmp_path: Path) -> None:
    cmd = f"{sys.executable} -c \"print('from-command')\""
    cfg = write(
        tmp_path / "c.toml",
        f'[endpoints.e]\nurl = "http://h/api/chat"\n'
        f'token_env = "MY_TOKEN"\ntoken_command = """{cmd}"""\n',
    )
    settings = load(Overrides(config_file=cfg, endpoint="e"), env={})
    assert settings.token(env={"MY_TOKEN": "from-env"}) == "from-env"
    assert settings.token(env={}) == "from-command"
    bad = write(
        tmp_path / "bad.toml",
        '[endpoints.e]\nurl = "http://h/api/chat"\n'
        f'token_command = """{sys.executable} -c "import sys; sys.exit(3)" """\n',
    )
    with pytest.raises(ConfigError, match="failed"):
        load(Overrides(config_file=bad, endpoint="e"), env={}).token(env={})


def test_a_failing_token_command_says_what_it_said(tmp_path: Path) -> None:
    """The last line the command wrote to stderr (`gpg: decryption failed`, `pass: not
    found`) is in the one line, controls removed and credentials masked."""
    script = write(
        tmp_path / "fail.py",
        "import sys\n"
        "print('sk-half-a-token')\n"
        "sys.stderr.write('working\\n')\n"
        "sys.stderr.write('gpg: decryption failed for https://me:hunter22@vault ')\n"
        "sys.stderr.write('sk-half-a-token \\x1b[31m(no key)\\n\\n')\n"
        "sys.exit(2)\n",
    )
    cfg = write(
        tmp_path / "c.toml",
        f'[endpoints.e]\nurl = "http://h/api/chat"\ntoken_command = "{sys.executable} {script}"\n',
    )
    with pytest.raises(ConfigError) as caught:
        load(Overrides(config_file=cfg, endpoint="e"), env={}).token(env={})
    said = str(caught.value)
    assert said.startswith(
        "The token_command of endpoint e failed (exit 2): gpg: decryption failed"
    ), said
    assert "hunter22" not in said and "\x1b" not in said and "(no key)" in said
    assert "sk-half-a-token" not in said  # what it printed before it failed: a token?
    empty = write(
        tmp_path / "empty.toml",
        f'[endpoints.e]\nurl = "http://h/api/chat"\ntoken_command = "{sys.executable} -c pass"\n',
    )
    with pytest.raises(ConfigError, match=r"^The token_command of endpoint e printed nothing\.$"):
        load(Overrides(config_file=empty, endpoint="e"), env={}).token(env={})


cli = run_chatrepl


def test_print_config_masks_secrets_and_runs_nothing(chatrepl_home: Path) -> None:
    chatrepl_home.mkdir(parents=True)
    marker = chatrepl_home / "ran"
    write(
        chatrepl_home / "config.toml",
        '[endpoints.e]\nurl = "http://h/api/chat"\ntoken = "sk-literal-secret"\n'
        f'token_command = "touch {marker}"\n'
        'headers = { "Authorization-Extra" = "secret-header", "X-Plain" = "plain-value" }\n',
    )
    done = cli(
        chatrepl_home, "--endpoint", "e", "--print-config", env={"CHATREPL_TOKEN": "sk-env-secret"}
    )
    assert done.returncode == 0
    out = done.stdout
    assert "sk-literal-secret" not in out and "secret-header" not in out
    assert "sk-env-secret" not in out and "plain-value" in out
    assert 'url = "http://h/api/chat"' in out and "# token: set, from $CHATREPL_TOKEN" in out
    assert f"# cache folder: {chatrepl_home}\n" in out  # CHATREPL_HOME holds the cache too
    assert not marker.exists()


def test_bad_config_exits_78_and_leaves_the_file(chatrepl_home: Path) -> None:
    chatrepl_home.mkdir(parents=True)
    cfg = write(chatrepl_home / "config.toml", "[endpoints.e\n")
    done = cli(chatrepl_home, "question")
    assert done.returncode == 78 and f"{cfg}:1:" in done.stderr
    assert cfg.read_text() == "[endpoints.e\n"


@pytest.mark.parametrize("how", ["--plain", "NO_COLOR", "TERM=dumb"])
def test_plain_output_in_a_terminal_has_no_escape_codes(
    server: ChatServer, chatrepl_home: Path, how: str
) -> None:
    import pexpect

    env = clean_env(chatrepl_home, CHATREPL_URL=server.url)
    args = ["-m", "chatrepl", "a **question**"]
    if how == "--plain":
        args.insert(2, "--plain")
    elif how == "NO_COLOR":
        env["NO_COLOR"] = "1"
    else:
        env["TERM"] = "dumb"
    child = pexpect.spawn(sys.executable, args, env=env, timeout=TIMEOUT)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert child.before == b"Answer 1: you said *a **question***. \r\n"
