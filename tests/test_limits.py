"""Input out of range (issue 23, rows 12-14): timeouts and URLs that cannot work are one
line naming where they were set, before anything is saved; `-f` reads regular files
only; stdin is capped before it is stored."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import conversations, run_chatrepl
from tests.server import ChatServer

EXIT_USAGE, EXIT_CONFIG = 2, 78


def write_config(home: Path, text: str) -> Path:
    home.mkdir(parents=True, exist_ok=True)
    path = home / "config.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("key", ["idle", "connect"])
@pytest.mark.parametrize("value", ["0", "-1", "inf", "1e400", "nan", "-0.5"])
def test_a_timeout_that_cannot_work_is_one_line_naming_its_place(
    server: ChatServer, chatrepl_home: Path, key: str, value: str
) -> None:
    path = write_config(chatrepl_home, f"# timeouts\n[timeouts]\n{key} = {value}\n")
    done = run_chatrepl(chatrepl_home, "a question", url=server.url)
    assert done.returncode == EXIT_CONFIG
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"chatrepl: {path}:3:1: timeouts.{key} must be a number of seconds")
    assert server.requests == []
    assert conversations(chatrepl_home) == 0


BAD_URLS = {
    "http://[::1": "not a valid URL (Invalid IPv6 URL)",
    "http://127.0.0.1:99999/api/chat": "not a valid URL (Port out of range 0-65535)",
    "http://127.0.0.1:-1/api/chat": "not a valid URL",
    "http://": "an address with no host",
    "ftp://127.0.0.1/x": "not an http:// or https:// address",
}


@pytest.mark.parametrize("url", sorted(BAD_URLS))
def test_a_bad_url_flag_is_a_usage_error(chatrepl_home: Path, url: str) -> None:
    done = run_chatrepl(chatrepl_home, "--url", url, "a question")
    assert done.returncode == EXIT_USAGE
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"chatrepl: --url: {url} is {BAD_URLS[url]}")
    assert "Traceback" not in done.stderr
    assert conversations(chatrepl_home) == 0


@pytest.mark.parametrize("url", sorted(BAD_URLS))
def test_a_bad_url_in_the_config_names_its_line(chatrepl_home: Path, url: str) -> None:
    path = write_config(chatrepl_home, f'endpoint = "x"\n\n[endpoints.x]\n  url = "{url}"\n')
    done = run_chatrepl(chatrepl_home, "a question")
    assert done.returncode == EXIT_CONFIG
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"chatrepl: {path}:4:3: {url} is {BAD_URLS[url]}")
    assert conversations(chatrepl_home) == 0


def test_a_bad_url_in_the_environment_is_named(chatrepl_home: Path) -> None:
    done = run_chatrepl(chatrepl_home, "a question", url="http://[::1")
    assert done.returncode == EXIT_CONFIG
    assert done.stderr.startswith("chatrepl: CHATREPL_URL: http://[::1 is not a valid URL")
    assert conversations(chatrepl_home) == 0


def test_an_empty_url_flag_is_refused_not_taken_for_the_default(chatrepl_home: Path) -> None:
    """`--url "$UNSET"` must not send the conversation to the public default."""
    done = run_chatrepl(chatrepl_home, "--url", "", "q")
    assert done.returncode == 2 and done.stderr.startswith("chatrepl: --url is empty.")
    assert run_chatrepl(chatrepl_home, "--url", " ", "--print-config").returncode == 2
    assert not (chatrepl_home / "chatrepl.db").exists()
