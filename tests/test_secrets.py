"""Secrets stay secret (issue 23, rows 8-10): credentials a server echoes and URL
passwords are masked in every message and in --print-config; a redirect of the chat
request is never followed; the 401/403 hint names where the token came from."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
from pathlib import Path

import pytest

from chatrepl.redaction import hide_password, redact
from tests.helpers import run_chatrepl
from tests.server import ChatServer, Script, sse

TOKEN = "sk-live-7f3a9c21"


def echo_401(token: str = TOKEN) -> Script:
    """A 401 whose body repeats the request's Authorization header, as some proxies do."""
    body = json.dumps(
        {"error": {"message": f"Rejected header Authorization: Bearer {token} for this route"}}
    ).encode()
    return Script(status=401, content_type="application/json", framing="length", pieces=[body])


def test_redact_masks_credentials_and_leaves_words() -> None:
    assert (
        redact("bad Authorization: Bearer abc.def-123 here")
        == "bad Authorization: Bearer **** here"
    )
    assert redact('{"authorization": "sekret99"}') == '{"authorization": "****"}'
    assert redact("Missing Bearer token.") == "Missing Bearer token."
    assert redact("Missing authorization: please log in") == "Missing authorization: please log in"
    assert redact("key hunter2abc seen", ["hunter2abc"]) == "key **** seen"
    assert hide_password("http://user:PASS@host:8/api?x=1") == "http://user:****@host:8/api?x=1"
    assert hide_password("http://host/api") == "http://host/api"


def test_a_server_echoing_the_bearer_token_is_masked(
    server: ChatServer, chatrepl_home: Path
) -> None:
    server.add(echo_401())
    done = run_chatrepl(chatrepl_home, "q", url=server.url, env={"CHATREPL_TOKEN": TOKEN})
    assert done.returncode == 1
    assert TOKEN not in done.stderr + done.stdout
    assert "Authorization: Bearer ****" in done.stderr


def test_an_echoed_token_that_looks_like_a_word_is_masked_too(
    server: ChatServer, chatrepl_home: Path
) -> None:
    word = "opensesameplease"
    server.add(echo_401(word))
    done = run_chatrepl(chatrepl_home, "q", url=server.url, env={"CHATREPL_TOKEN": word})
    assert word not in done.stderr + done.stdout
    assert "****" in done.stderr


def with_password(url: str) -> str:
    return url.replace("http://", "http://alice:PASSW0RD@")


def test_a_url_password_never_shows_in_messages(chatrepl_home: Path) -> None:
    url = with_password("http://127.0.0.1:9/api/chat")
    done = run_chatrepl(chatrepl_home, "q", url=url)
    assert done.returncode == 1
    assert "PASSW0RD" not in done.stderr
    assert "Connection refused by 127.0.0.1:9." in done.stderr


def test_a_url_password_is_masked_in_print_config(chatrepl_home: Path) -> None:
    url = with_password("http://127.0.0.1:9/api/chat")
    done = run_chatrepl(chatrepl_home, "--print-config", url=url)
    assert done.returncode == 0
    assert 'url = "http://alice:****@127.0.0.1:9/api/chat"' in done.stdout
    assert "PASSW0RD" not in done.stdout


def test_a_url_password_is_not_saved(server: ChatServer, chatrepl_home: Path) -> None:
    usage = b'data: {"response":"","usage":{"prompt_tokens":40,"total_tokens":44}}\n\n'
    server.add(Script(pieces=[*sse("Hi.", done=False), usage, b"data: [DONE]\n\n"]))
    done = run_chatrepl(chatrepl_home, "q", url=with_password(server.url))
    assert done.returncode == 0, done.stderr
    assert "PASSW0RD" not in done.stderr + done.stdout
    with sqlite3.connect(chatrepl_home / "chatrepl.db") as db:
        dump = "\n".join(db.iterdump())
    assert "alice:****@" in dump  # the endpoint's learnt state is kept, by the masked URL
    assert "PASSW0RD" not in dump


# ------------------------------------------------------------------ redirects


@pytest.fixture
def elsewhere() -> ChatServer:
    srv = ChatServer().start()
    yield srv  # type: ignore[misc]
    srv.stop()


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_a_redirect_to_another_host_is_named_not_followed(
    server: ChatServer, elsewhere: ChatServer, chatrepl_home: Path, status: int
) -> None:
    server.add(Script(status=status, headers={"Location": elsewhere.url}, framing="length"))
    done = run_chatrepl(
        chatrepl_home, "secret plans", url=server.url, env={"CHATREPL_TOKEN": TOKEN}
    )
    assert done.returncode == 1
    assert elsewhere.requests == []
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1
    assert f"a redirect to {elsewhere.url}; it was not followed." in lines[0]
    assert str(status) in lines[0]


def test_a_same_origin_redirect_never_trades_the_token_for_netrc(
    server: ChatServer, chatrepl_home: Path, tmp_path: Path
) -> None:
    home = tmp_path / "user"
    home.mkdir()
    netrc = home / ".netrc"
    netrc.write_text("machine 127.0.0.1 login bob password NETRCPASS\n")
    netrc.chmod(stat.S_IRUSR | stat.S_IWUSR)
    other = server.url.replace("/api/chat", "/v2/chat")
    server.add(Script(status=308, headers={"Location": other}, framing="length"))
    env = {"CHATREPL_TOKEN": TOKEN, "HOME": str(home), "NETRC": str(netrc)}
    done = run_chatrepl(chatrepl_home, "q", url=server.url, env=env)
    assert done.returncode == 1
    assert [r.path for r in server.requests] == ["/api/chat"]
    assert server.requests[0].headers["Authorization"] == f"Bearer {TOKEN}"
    assert "308" in done.stderr and "/v2/chat" in done.stderr


# ------------------------------------------------------------------ where the token came from


def config(home: Path, text: str) -> None:
    home.mkdir(parents=True, exist_ok=True)
    path = home / "config.toml"
    path.write_text(text)
    os.chmod(path, 0o600)


@pytest.mark.parametrize(
    ("endpoint", "env", "hint"),
    [
        ("", {"CHATREPL_TOKEN": "x1234"}, "Check the token in CHATREPL_TOKEN."),
        (
            'token_env = "WORK_TOKEN"',
            {"WORK_TOKEN": "x1234"},
            "Check the token in WORK_TOKEN (token_env of endpoint work).",
        ),
        (
            'token_command = "echo x1234"',
            {},
            "Check the token that token_command of endpoint work prints.",
        ),
        (
            'token = "x1234"',
            {},
            "Check the token written in the config file (endpoints.work.token).",
        ),
        (
            "",
            {},
            "No token was sent: set CHATREPL_TOKEN, or token_command in config.toml.",
        ),
    ],
    ids=["CHATREPL_TOKEN", "token_env", "token_command", "literal", "none"],
)
def test_the_401_hint_names_where_the_token_came_from(
    server: ChatServer, chatrepl_home: Path, endpoint: str, env: dict[str, str], hint: str
) -> None:
    config(
        chatrepl_home, f'endpoint = "work"\n[endpoints.work]\nurl = "{server.url}"\n{endpoint}\n'
    )
    server.add(echo_401("x1234"))
    done = run_chatrepl(chatrepl_home, "q", env=env)
    assert done.returncode == 1
    assert done.stderr.rstrip().endswith(hint), done.stderr


def test_a_page_echoing_the_token_is_masked_in_its_first_words(
    server: ChatServer, chatrepl_home: Path
) -> None:
    page = b"Proxy login failed for header Authorization: Bearer sk-live-7f3a9c21 sorry"
    server.add(Script(content_type="text/plain", framing="length", pieces=[page]))
    done = run_chatrepl(chatrepl_home, "q", url=server.url)
    assert done.returncode == 1
    assert "sk-live" not in done.stderr and "Bearer ****" in done.stderr


def test_a_literal_token_is_not_in_the_settings_repr() -> None:
    """A --debug traceback or a log of the settings shows no token of the config file."""
    from chatrepl.config import Endpoint, Settings

    endpoint = Endpoint(name="work", token=TOKEN)
    shown = repr(Settings(endpoint=endpoint, endpoints={"work": endpoint}))
    assert TOKEN not in shown and "name='work'" in shown
    assert endpoint.token == TOKEN  # kept, for the request
