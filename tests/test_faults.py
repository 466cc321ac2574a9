"""Every server, every failure: the fault table of the transport, end to end.

Each case runs the real transport (and, where the status matters, a whole turn) against
a real server on 127.0.0.1 that misbehaves on purpose.
"""

from __future__ import annotations

import email.utils
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from chatrepl import wire
from chatrepl.config import Endpoint
from chatrepl.errors import HTTPStatusError, NetworkError, StreamError
from chatrepl.transport import Transport
from tests.conftest import FIXTURES, fixture_bytes
from tests.helpers import error_script, make_chat, run_chatrepl
from tests.server import ChatServer, Script, sse

MESSAGES = [{"role": "user", "content": "hi"}]
TOKEN = "sk-SENTINEL-9d2b77"


def quick(**kw: object) -> Transport:
    t = Transport(connect_timeout=2, idle_timeout=0.6, sleep=lambda s: None, **kw)  # type: ignore[arg-type]
    return t


def collect(t: Transport, url: str) -> wire.Reply:
    reply = wire.Reply()
    for event in t.stream(Endpoint(url=url), MESSAGES, TOKEN):
        reply.apply(event)
    return reply


# ------------------------------------------------------------------ TLS


@pytest.fixture
def tls_server() -> Iterator[ChatServer]:
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    import ssl

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    srv = ChatServer().start(tls=context)
    yield srv
    srv.stop()


def test_tls_verification_failure_names_the_host(tls_server: ChatServer) -> None:
    with pytest.raises(NetworkError) as caught:
        collect(quick(), tls_server.url)
    assert str(caught.value).startswith("TLS verification failed for 127.0.0.1:")
    assert len(tls_server.requests) == 0 and not caught.value.retryable


# ------------------------------------------------------------------ timeouts and stalls


def test_no_byte_before_the_timeout(server: ChatServer) -> None:
    server.add(Script(before=3.0, pieces=sse("late")))
    with pytest.raises(NetworkError) as caught:
        collect(quick(), server.url)
    assert "No answer from 127.0.0.1" in str(caught.value) and "0.6 s" in str(caught.value)


def test_stall_mid_answer_keeps_the_partial(server: ChatServer, tmp_path: Path) -> None:
    server.add(Script(pieces=[*sse("partial", done=False), 3.0, *sse(" late")]))
    chat, _ = make_chat(server.url, tmp_path)
    chat.transport.idle_timeout = 0.6  # type: ignore[attr-defined]
    outcome = chat.ask("q")
    assert outcome.status == "truncated"
    assert outcome.error is not None and "stalled" in str(outcome.error)
    assert chat.conversation.messages[-1].content == "partial"
    assert chat.conversation.messages[-1].status == "truncated"


def test_keep_alive_comments_alone_do_not_keep_an_answer_going(server: ChatServer) -> None:
    server.add(Script(pieces=[*sse("some", done=False)] + [b": ping\n\n", 0.2] * 15))
    reply = wire.Reply()
    with pytest.raises(StreamError, match=r"no new text for 0\.6 s"):
        for event in quick().stream(Endpoint(url=server.url), MESSAGES):
            reply.apply(event)
    assert reply.answer == "some" and reply.status != "complete"


# ------------------------------------------------------------------ early ends


@pytest.mark.parametrize("framing", ["chunked", "close"])
def test_end_without_done_is_truncated(server: ChatServer, framing: str) -> None:
    server.add(Script(pieces=sse("Hel", "lo", done=False), framing=framing))
    reply = collect(quick(), server.url)
    assert (reply.answer, reply.status) == ("Hello", "truncated")
    assert len(server.requests) == 1  # text had arrived: never retried


@pytest.mark.parametrize(
    ("name", "text", "error"),
    [
        ("openai_compat_keepalive_and_error.sse", "Par", "upstream model crashed"),
        (
            "ollama_midstream_error.ndjson",
            "Yes",
            "an error was encountered while running the model",
        ),
    ],
)
def test_in_band_error_after_text_is_failed(
    server: ChatServer, tmp_path: Path, name: str, text: str, error: str
) -> None:
    kind = "application/x-ndjson" if name.endswith("ndjson") else "text/event-stream"
    server.add(Script(pieces=[fixture_bytes(name)], content_type=kind))
    chat, _ = make_chat(server.url, tmp_path)
    outcome = chat.ask("q")
    assert (outcome.status, outcome.reply.answer, outcome.reply.error) == ("failed", text, error)
    assert chat.conversation.messages[-1].status == "failed"


def test_event_error_is_failed(server: ChatServer) -> None:
    server.add(Script(pieces=[*sse("a", done=False), b'event: error\ndata: {"message":"bad"}\n\n']))
    reply = collect(quick(), server.url)
    assert (reply.status, reply.error) == ("failed", "bad")


# ------------------------------------------------------------------ HTTP errors

ERRORS = [
    # file, status, words the one line must hold, retried?
    ("http_worker_401.json", 401, "Access denied: invalid authentication token.", False),
    ("http_openai_401.json", 401, "Incorrect API key provided", False),
    ("http_cf_api_404_route.json", 404, "Could not route to", False),
    ("http_ollama_404.json", 404, 'model "llama9" not found, try pulling it first', False),
    ("http_cf_api_429_daily.json", 429, "daily free allocation", False),
    ("http_openai_429_quota.json", 429, "You exceeded your current quota", False),
    ("http_cf_api_429_capacity.json", 429, "Capacity temporarily exceeded", True),
]


@pytest.mark.parametrize(("name", "status", "words", "retried"), ERRORS)
def test_error_bodies(
    server: ChatServer, name: str, status: int, words: str, retried: bool
) -> None:
    server.add(*[error_script(name, status)] * 3)
    notes: list[str] = []
    with pytest.raises(HTTPStatusError) as caught:
        collect(quick(on_retry=notes.append), server.url)
    line = str(caught.value)
    assert f"answered {status}" in line and words in line and "\n" not in line
    assert len(server.requests) == (3 if retried else 1)
    assert len(notes) == (2 if retried else 0)
    if status == 401:
        assert "CHATREPL_TOKEN" in line
    if status == 429 and not retried:
        assert "quota" in line.lower()


@pytest.mark.parametrize("status", [400, 403, 413])
def test_other_client_errors_are_not_retried(server: ChatServer, status: int) -> None:
    server.add(error_script("http_worker_401.json", status))
    with pytest.raises(HTTPStatusError) as caught:
        collect(quick(), server.url)
    assert caught.value.status == status and len(server.requests) == 1
    assert ("CHATREPL_TOKEN" in str(caught.value)) == (status == 403)


@pytest.mark.parametrize("status", [502, 503, 504])
def test_gateway_errors_are_retried_with_backoff(server: ChatServer, status: int) -> None:
    server.add(Script(status=status, content_type="text/plain", framing="length", pieces=[b"x"]))
    sleeps: list[float] = []
    notes: list[str] = []
    t = Transport(connect_timeout=2, idle_timeout=2, sleep=sleeps.append, on_retry=notes.append)
    reply = collect(t, server.url)
    assert reply.status == "complete" and len(server.requests) == 2
    assert len(sleeps) == 1 and 0.5 <= sleeps[0] <= 1.5  # backoff with jitter
    assert notes[0].endswith(f"Retrying in {sleeps[0]:.0f}s (2/3).")


def test_retry_after_in_seconds_and_as_a_date(server: ChatServer) -> None:
    date = email.utils.formatdate(time.time() + 5, usegmt=True)
    for value in ("3", date):
        server.add(
            error_script("http_cf_api_429_capacity.json", 429, headers={"Retry-After": value})
        )
    sleeps: list[float] = []
    t = Transport(connect_timeout=2, idle_timeout=2, sleep=sleeps.append)
    collect(t, server.url)
    assert sleeps[0] == 3.0 and 3.0 <= sleeps[1] <= 6.0


def test_a_long_retry_after_is_said_not_slept(server: ChatServer) -> None:
    server.add(error_script("http_cf_api_429_capacity.json", 429, headers={"Retry-After": "3600"}))
    with pytest.raises(HTTPStatusError) as caught:
        collect(quick(), server.url)
    assert "wait 3600 s" in str(caught.value) and len(server.requests) == 1


def test_at_most_three_tries(server: ChatServer) -> None:
    server.add(*[Script(status=503, framing="length", pieces=[b"busy"])] * 5)
    with pytest.raises(HTTPStatusError):
        collect(quick(), server.url)
    assert len(server.requests) == 3


def test_reset_before_any_text_is_retried(server: ChatServer) -> None:
    server.add(Script(abort=True))
    reply = collect(quick(), server.url)
    assert reply.status == "complete" and len(server.requests) == 2


def test_dropped_after_headers_before_text_is_retried(server: ChatServer) -> None:
    server.add(Script(pieces=[b": hello\n\n"], framing="chunked", drop=True))
    reply = collect(quick(), server.url)
    assert reply.status == "complete" and len(server.requests) == 2


def test_html_error_of_any_size_is_one_line(server: ChatServer) -> None:
    page = b"<!DOCTYPE html><html><body>" + b"<p>oops</p>" * 500_000 + b"</body></html>"
    server.add(
        Script(
            status=500,
            reason="Internal Server Error",
            content_type="text/html",
            framing="length",
            pieces=[page],
        )
    )
    with pytest.raises(HTTPStatusError) as caught:
        collect(quick(), server.url)
    assert str(caught.value) == "The server answered 500 Internal Server Error."


# ------------------------------------------------------------------ sizes and bytes


def test_a_line_of_megabytes_is_refused_with_a_clear_message(server: ChatServer) -> None:
    server.add(Script(pieces=[*sse("ok ", done=False), b"data: " + b"x" * (9 * 1024 * 1024)]))
    reply = wire.Reply()
    with pytest.raises(StreamError, match="more than 8 MiB"):
        for event in quick().stream(Endpoint(url=server.url), MESSAGES):
            reply.apply(event)
    assert reply.answer == "ok "


def test_a_huge_answer_is_capped(server: ChatServer) -> None:
    server.add(Script(pieces=sse(*["y" * 1000] * 3000)))
    t = quick()
    t.max_answer = 1024 * 1024
    reply = wire.Reply()
    with pytest.raises(StreamError, match="larger than 1 MiB"):
        for event in t.stream(Endpoint(url=server.url), MESSAGES):
            reply.apply(event)
    assert 0 < len(reply.answer) <= 1024 * 1024


def test_invalid_utf8_is_replaced_not_fatal(server: ChatServer) -> None:
    server.add(
        Script(
            pieces=[
                b'data: {"response":"caf\xc3"}\n\n',
                b'data: {"response":"\xa9 \xff!"}\n\n',
                b"data: [DONE]\n\n",
            ]
        )
    )
    reply = collect(quick(), server.url)
    assert reply.answer == "caf\ufffd\ufffd \ufffd!" and reply.status == "complete"


def test_non_streaming_json_body_is_shown(server: ChatServer) -> None:
    server.add(
        Script(
            content_type="application/json",
            framing="length",
            pieces=[b'{"choices":[{"message":{"content":"whole"},"finish_reason":"stop"}]}'],
        )
    )
    reply = collect(quick(), server.url)
    assert (reply.answer, reply.status) == ("whole", "complete")


@pytest.mark.parametrize(
    "name",
    sorted(
        p.name
        for p in FIXTURES.glob("*")
        if p.suffix in (".sse", ".ndjson") and not p.name.startswith("edge")
    ),
)
def test_every_answer_fixture_over_http(server: ChatServer, name: str) -> None:
    kind = "application/x-ndjson" if name.endswith("ndjson") else "text/event-stream"
    data = fixture_bytes(name)
    server.add(Script(pieces=[data[i : i + 5] for i in range(0, len(data), 5)], content_type=kind))
    expected = wire.collect([data], kind)
    t = quick()
    reply = wire.Reply()
    try:
        for event in t.stream(Endpoint(url=server.url), MESSAGES):
            reply.apply(event)
    except StreamError:
        pass
    assert (reply.answer, reply.status, reply.usage, reply.error) == (
        expected.answer,
        expected.status,
        expected.usage,
        expected.error,
    )


# ------------------------------------------------------------------ the token never leaks


def run_cli(home: Path, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text("[timeouts]\nidle = 0.6\n")
    return run_chatrepl(home, "--debug", *args, "question", url=url, env={"CHATREPL_TOKEN": TOKEN})


@pytest.mark.parametrize(
    "script",
    [
        Script(pieces=sse("fine")),
        Script(
            status=401,
            content_type="application/json",
            framing="length",
            pieces=[fixture_bytes("http_worker_401.json")],
        ),
        Script(pieces=[*sse("part", done=False), b'data: {"error":{"message":"boom"}}\n\n']),
        Script(pieces=sse("cut", done=False), framing="close"),
        Script(pieces=[*sse("stall", done=False), 2.0]),
        Script(status=500, content_type="text/html", framing="length", pieces=[b"<html/>"]),
    ],
    ids=["ok", "401", "in-band", "truncated", "stall", "html"],
)
def test_the_token_never_appears_anywhere(
    server: ChatServer, chatrepl_home: Path, script: Script
) -> None:
    server.add(script, script, script)
    done = run_cli(chatrepl_home, server.url)
    assert server.requests[0].headers["Authorization"] == f"Bearer {TOKEN}"
    assert TOKEN not in done.stdout and TOKEN not in done.stderr
    for path in chatrepl_home.rglob("*"):
        if path.is_file():
            assert TOKEN.encode() not in path.read_bytes(), path
    with sqlite3.connect(chatrepl_home / "chatrepl.db") as db:
        assert TOKEN not in "\n".join(db.iterdump())


def test_unreachable_with_debug_does_not_leak_the_token(chatrepl_home: Path) -> None:
    done = run_cli(chatrepl_home, "http://127.0.0.1:9/api/chat")
    assert done.returncode == 1 and TOKEN not in done.stderr + done.stdout
