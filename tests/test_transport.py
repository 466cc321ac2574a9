"""The real transport against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import pytest

from chatrepl import wire
from chatrepl.config import Endpoint
from chatrepl.errors import HTTPStatusError, NetworkError, StreamError
from chatrepl.transport import Transport, api_for, build_request
from tests.conftest import fixture_bytes
from tests.helpers import error_script
from tests.server import ChatServer, Script, sse

TOKEN = "sk-SENTINEL-7f3a9c"
MESSAGES = [{"role": "user", "content": "hi"}]


def transport(**kw: object) -> Transport:
    sleeps: list[float] = []
    t = Transport(connect_timeout=2, idle_timeout=5, sleep=sleeps.append, **kw)  # type: ignore[arg-type]
    t.sleeps = sleeps  # type: ignore[attr-defined]
    return t


def reply_of(server: ChatServer, endpoint: Endpoint | None = None) -> wire.Reply:
    reply = wire.Reply()
    for event in transport().stream(endpoint or Endpoint(url=server.url), MESSAGES, TOKEN):
        reply.apply(event)
    return reply


@pytest.mark.parametrize("framing", ["chunked", "close", "length"])
def test_fixture_streams_decode_over_http(server: ChatServer, framing: str) -> None:
    data = fixture_bytes("cf_native_padded_usage.sse")
    server.add(Script(pieces=[data[i : i + 7] for i in range(0, len(data), 7)], framing=framing))
    reply = reply_of(server)
    assert (reply.answer, reply.status) == ("As an AI", "complete")
    assert reply.usage == wire.Usage(24, 3, 27)


@pytest.mark.parametrize("framing", ["chunked", "close"])
def test_tokens_arrive_before_the_rest_is_sent(server: ChatServer, framing: str) -> None:
    """The first token must reach us while the server still holds the rest back."""
    gate = threading.Event()
    server.add(Script(pieces=[*sse("first", done=False), gate, *sse(" second")], framing=framing))
    events = transport().stream(Endpoint(url=server.url), MESSAGES)
    first = next(events)
    gate.set()
    rest = list(events)
    assert first == wire.Text("first")
    assert wire.Text(" second") in rest
    assert server.gate_timeouts == 0


def test_bearer_token_is_sent_and_netrc_does_not_replace_it(
    server: ChatServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login someone password netrc-secret\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    reply_of(server)
    assert server.requests[0].headers["Authorization"] == f"Bearer {TOKEN}"


def test_no_token_sends_no_authorization(server: ChatServer) -> None:
    list(transport().stream(Endpoint(url=server.url), MESSAGES, ""))
    assert "Authorization" not in server.requests[0].headers


def test_request_bodies_by_api(server: ChatServer) -> None:
    reply_of(server, Endpoint(url=server.url, api="workers", model="m"))
    assert server.requests[-1].body == {"messages": MESSAGES}
    reply_of(server, Endpoint(url=server.url, api="ollama", model="m1"))
    assert server.requests[-1].body == {"model": "m1", "messages": MESSAGES, "stream": True}
    reply_of(server, Endpoint(url=server.url, api="openai", model="m1"))
    usage = {"stream_options": {"include_usage": True}}  # or tokens and speed are n/a
    assert server.requests[-1].body == {
        "model": "m1",
        "messages": MESSAGES,
        "stream": True,
        **usage,
    }
    for api in ("openai", "ollama"):  # no model set: none named ("" is refused)
        reply_of(server, Endpoint(url=server.url, api=api))
        assert "model" not in server.requests[-1].body


def test_a_server_that_refuses_stream_options_is_asked_again_without_them(
    server: ChatServer,
) -> None:
    refusal = b'{"error": {"message": "Unrecognized request argument: stream_options"}}'
    server.add(Script(status=400, content_type="application/json", framing="length",
                      pieces=[refusal]))  # fmt: skip
    endpoint = Endpoint(url=server.url, api="openai", model="m1")
    via = transport()
    list(via.stream(endpoint, MESSAGES, TOKEN))
    list(via.stream(endpoint, MESSAGES, TOKEN))
    bodies = [r.body for r in server.requests]
    assert "stream_options" in bodies[0]  # asked once,
    assert "stream_options" not in bodies[1] and "stream_options" not in bodies[2]  # then not
    assert len(bodies) == 3


def test_an_openai_base_url_gets_chat_completions(server: ChatServer) -> None:
    base = server.url.rsplit("/api/chat", 1)[0] + "/v1"
    assert api_for(Endpoint(url=base)) == "openai" and api_for(Endpoint(url=base + "/")) == "openai"
    reply_of(server, Endpoint(url=base, api="openai"))
    assert server.requests[-1].path == "/v1/chat/completions"
    reply_of(server, Endpoint(url=base + "/"))
    assert server.requests[-1].path == "/v1/chat/completions"


def test_a_refusal_about_the_model_points_at_model(server: ChatServer) -> None:
    said = b'{"error": {"message": "you must provide a model parameter"}}'
    server.add(Script(status=400, content_type="application/json", framing="length",
                      pieces=[said]))  # fmt: skip
    with pytest.raises(HTTPStatusError) as caught:
        reply_of(server, Endpoint(url=server.url, api="openai"))
    assert "--model NAME" in caught.value.hint and "/model NAME" in caught.value.hint


def test_auto_api_from_the_url() -> None:
    assert api_for(Endpoint(url="https://ai.callaback.workers.dev/api/chat")) == "workers"
    assert api_for(Endpoint(url="http://localhost:8080/v1/chat/completions")) == "openai"
    assert api_for(Endpoint(url="http://localhost:11434/api/chat")) == "ollama"
    assert api_for(Endpoint(url="http://x/v1/chat/completions", api="workers")) == "workers"
    assert (
        build_request(Endpoint(url="http://x/api/chat"), MESSAGES).body
        == b'{"messages": [{"role": "user", "content": "hi"}]}'
    )


def test_401_is_one_line_with_the_servers_message(server: ChatServer) -> None:
    server.add(error_script("http_worker_401.json", 401))
    with pytest.raises(HTTPStatusError) as caught:
        reply_of(server)
    err = caught.value
    assert err.status == 401 and not err.retryable
    assert "401" in str(err) and "Access denied: invalid authentication token." in str(err)
    assert "CHATREPL_TOKEN" in err.hint
    assert TOKEN not in str(err) and "\n" not in str(err)
    assert len(server.requests) == 1


def test_html_error_page_is_never_shown(server: ChatServer) -> None:
    small = Script(
        status=502,
        reason="Bad Gateway",
        content_type="text/html",
        framing="length",
        pieces=[b"<html>nope</html>"],
    )
    server.add(
        Script(
            status=502,
            reason="Bad Gateway",
            content_type="text/html",
            framing="length",
            pieces=[b"<html>" + b"x" * 200_000 + b"</html>"],
        ),
        *[small] * 2,
    )
    with pytest.raises(HTTPStatusError) as caught:
        reply_of(server)
    assert str(caught.value) == "The server answered 502 Bad Gateway."


def test_capacity_429_is_retried_then_succeeds(server: ChatServer) -> None:
    server.add(
        Script(
            status=429,
            content_type="application/json",
            framing="length",
            headers={"Retry-After": "2"},
            pieces=[fixture_bytes("http_cf_api_429_capacity.json")],
        )
    )
    notes: list[str] = []
    t = transport(on_retry=notes.append)
    reply = wire.Reply()
    for event in t.stream(Endpoint(url=server.url), MESSAGES):
        reply.apply(event)
    assert reply.status == "complete"
    assert t.sleeps == [2.0]  # type: ignore[attr-defined]
    assert len(notes) == 1 and "(2/3)" in notes[0]


def test_daily_quota_429_is_not_retried(server: ChatServer) -> None:
    server.add(error_script("http_cf_api_429_daily.json", 429))
    with pytest.raises(HTTPStatusError) as caught:
        reply_of(server)
    assert "daily free allocation" in str(caught.value)
    assert len(server.requests) == 1


def test_dropped_connection_after_text_keeps_the_partial(server: ChatServer) -> None:
    server.add(Script(pieces=sse("Hello", " wor", done=False), framing="close", drop=True))
    reply = reply_of(server)
    assert (reply.answer, reply.status) == ("Hello wor", "truncated")


def test_dropped_chunked_connection_is_a_stream_error_with_partial(server: ChatServer) -> None:
    server.add(Script(pieces=sse("Hello", done=False), framing="chunked", drop=True))
    reply = wire.Reply()
    with pytest.raises(StreamError):
        for event in transport().stream(Endpoint(url=server.url), MESSAGES):
            reply.apply(event)
    assert reply.answer == "Hello"


def test_connection_refused_names_the_host() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(NetworkError) as caught:
        list(transport().stream(Endpoint(url=f"http://127.0.0.1:{port}/api/chat"), MESSAGES))
    assert f"Connection refused by 127.0.0.1:{port}" in str(caught.value)


def test_dns_failure_names_the_host() -> None:
    with pytest.raises(NetworkError) as caught:
        list(transport().stream(Endpoint(url="http://no-such-host.invalid/api/chat"), MESSAGES))
    assert "no-such-host.invalid" in str(caught.value)
