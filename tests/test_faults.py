"""Every server, every failure: the fault table of the transport, end to end.

Each case runs the real transport (and, where the status matters, a whole turn) against
a real server on 127.0.0.1 that misbehaves on purpose.
"""

from __future__ import annotations

import email.utils
import threading
import time
import zlib
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


# ------------------------------------------------------------------ compressed and not streams


def compressed(pieces: list[bytes], encoding: str) -> list[bytes]:
    """Each piece compressed and flushed on its own, as a streaming gzip proxy sends it."""
    wbits = {"gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS, "raw": -zlib.MAX_WBITS}
    z = zlib.compressobj(wbits=wbits[encoding])
    out = [z.compress(p) + z.flush(zlib.Z_SYNC_FLUSH) for p in pieces]
    out[-1] += z.flush()
    return out


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "raw"])
def test_a_compressed_stream_is_decoded_as_it_arrives(server: ChatServer, encoding: str) -> None:
    gate = threading.Event()
    first, *rest = compressed(sse("Hello", " there", "."), encoding)
    name = "deflate" if encoding == "raw" else encoding
    server.add(Script(pieces=[first, gate, *rest], headers={"Content-Encoding": name}))
    reply = wire.Reply()
    for event in quick().stream(Endpoint(url=server.url), MESSAGES):
        if isinstance(event, wire.Text) and event.text == "Hello":
            assert not gate.is_set()  # the server still holds the rest back
            gate.set()
        reply.apply(event)
    assert (reply.answer, reply.status) == ("Hello there.", "complete")
    assert server.gate_timeouts == 0
    assert "gzip" in server.requests[0].headers["Accept-Encoding"]


def test_a_corrupt_compressed_stream_keeps_the_partial(server: ChatServer, tmp_path: Path) -> None:
    first, *_ = compressed(sse("Partial", " answer"), "gzip")
    server.add(Script(pieces=[first, b"\xff" * 64], headers={"Content-Encoding": "gzip"}))
    chat, _ = make_chat(server.url, tmp_path)
    outcome = chat.ask("q")
    assert outcome.status == "truncated" and "corrupt" in str(outcome.error)
    assert chat.conversation.messages[-1].content == "Partial"
    assert chat.conversation.messages[-1].status == "truncated"


def test_an_encoding_that_cannot_be_decoded_is_one_line(server: ChatServer) -> None:
    server.add(
        Script(pieces=[b"\x28\xb5\x2f\xfd" + b"x" * 20], headers={"Content-Encoding": "zstd"})
    )
    with pytest.raises(StreamError, match="compressed the answer as zstd") as caught:
        collect(quick(), server.url)
    assert not caught.value.retryable and len(server.requests) == 1


PORTAL = (
    b"<!DOCTYPE html><html><head><title>Hotel WiFi \x1b[31msign in</title></head>"
    b"<body><h1>Welcome</h1></body></html>"
)


@pytest.mark.parametrize(
    ("ctype", "body", "words"),
    [
        ("text/html; charset=utf-8", PORTAL, "a web page, not a chat stream (200 OK, text/html)"),
        ("text/plain", b"Hello from a plain text page", "text, not a chat stream (200 OK"),
        ("image/png", b"\x89PNG\r\n\x1a\n" + b"\0" * 40, "image/png, not a chat stream"),
    ],
)
def test_a_body_that_is_not_a_stream_is_one_line_and_not_retried(
    server: ChatServer, tmp_path: Path, ctype: str, body: bytes, words: str
) -> None:
    server.add(Script(content_type=ctype, framing="length", pieces=[body]))
    chat, _ = make_chat(server.url, tmp_path)
    outcome = chat.ask("my question")
    line = str(outcome.error)
    assert words in line and "Check the URL" in line and "\n" not in line
    assert outcome.restore == "my question" and len(server.requests) == 1
    if ctype.startswith("text/plain"):
        assert "“Hello from a plain text page”" in line
    if ctype.startswith("text/html"):
        assert "Hotel WiFi" in line and "<" not in line


def test_a_plain_text_content_type_on_a_real_stream_still_works(server: ChatServer) -> None:
    server.add(Script(content_type="text/plain", pieces=sse("still ", "fine")))
    assert collect(quick(), server.url).answer == "still fine"


def test_an_empty_body_says_so(server: ChatServer) -> None:
    server.add(Script(content_type="text/event-stream", framing="length", pieces=[b""]))
    with pytest.raises(StreamError, match="with an empty body") as caught:
        collect(quick(), server.url)
    assert not caught.value.retryable and len(server.requests) == 1


# ------------------------------------------------------------------ one-shot: stdout is the answer

ONE_SHOT_FAULTS = [
    # id, scripts the server answers with, what stdout must hold, exit status
    ("ok", [Script(pieces=sse("fine"))], "fine\n", 0),
    ("retry-503", [Script(status=503, framing="length", pieces=[b"busy"])], "Answer", 0),
    ("retry-429", [error_script("http_cf_api_429_capacity.json", 429)], "Answer", 0),
    ("reset", [Script(abort=True)], "Answer", 0),
    ("drop", [Script(pieces=[b": hi\n\n"], drop=True)], "Answer", 0),
    ("401", [error_script("http_worker_401.json", 401)], "", 1),
    ("quota", [error_script("http_cf_api_429_daily.json", 429)], "", 1),
    ("html-500", [Script(status=500, content_type="text/html", pieces=[b"<p>x</p>"])], "", 1),
    ("html-200", [Script(content_type="text/html", framing="length", pieces=[PORTAL])], "", 1),
    ("empty", [Script(framing="length", pieces=[b""])], "", 1),
    ("truncated", [Script(pieces=sse("cut", done=False), framing="close")], "cut\n", 1),
    ("in-band", [Script(pieces=[*sse("part", done=False), b'data: {"error":"boom"}\n\n'])],
     "part\n", 1),
    ("stall", [Script(pieces=[*sse("stall", done=False), 3.0])], "stall\n", 1),
    ("gzip", [Script(pieces=compressed(sse("zipped"), "gzip"),
                     headers={"Content-Encoding": "gzip"})], "zipped\n", 0),
    ("corrupt", [Script(pieces=[compressed(sse("bro", "ken"), "gzip")[0], b"\xff" * 64],
                        headers={"Content-Encoding": "gzip"})], "bro\n", 1),
    ("json", [Script(content_type="application/json", framing="length",
                     pieces=[b'{"response":"whole"}'])], "whole\n", 0),
    ("think", [Script(pieces=sse("<think>hmm</think>", "Answer."))], "Answer.\n", 0),
]  # fmt: skip


@pytest.mark.parametrize(
    ("scripts", "stdout", "status"),
    [case[1:] for case in ONE_SHOT_FAULTS],
    ids=[case[0] for case in ONE_SHOT_FAULTS],
)
def test_one_shot_stdout_carries_the_answer_and_nothing_else(
    server: ChatServer, chatrepl_home: Path, scripts: list[Script], stdout: str, status: int
) -> None:
    server.add(*scripts)
    chatrepl_home.mkdir(parents=True, exist_ok=True)
    (chatrepl_home / "config.toml").write_text("[timeouts]\nidle = 1\n")
    done = run_chatrepl(chatrepl_home, "q", url=server.url)
    if stdout == "Answer":  # retried, then the server's made-up answer
        assert done.stdout.startswith("Answer 2: you said *q*.") and done.stdout.count("\n") == 1
        assert "Retrying in" in done.stderr
    else:
        assert done.stdout == stdout
    assert done.returncode == status, done.stderr
    assert (done.stderr != "") == (status != 0 or stdout == "Answer")


def test_an_answer_with_no_text_is_said_and_gives_the_question_back(
    server: ChatServer, chatrepl_home: Path
) -> None:
    server.add(Script(pieces=[b"data: [DONE]\n\n"]))
    done = run_chatrepl(chatrepl_home, "empty please", url=server.url)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr == (
        "chatrepl: The server ended its answer without any text. Try again; if it goes on, "
        "check the model name (--model, /model).\n"
    )
    assert run_chatrepl(chatrepl_home, "--list").stdout.startswith("No saved")  # nothing kept


def test_an_event_that_is_not_json_is_skipped_and_said_once(
    server: ChatServer, chatrepl_home: Path
) -> None:
    pieces = [b"data: {not json\n\n", *sse("still ", "here"), b"data: {nor this\n\n"]
    server.add(Script(pieces=pieces))
    done = run_chatrepl(chatrepl_home, "q", url=server.url)
    assert done.returncode == 0 and done.stdout == "still here\n"
    assert done.stderr.count("Skipped an event of the answer stream that is not JSON.") == 1
