"""Wire decoding against the byte-exact fixtures, whole and under every kind of split."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chatrepl import sse, wire
from tests.conftest import clean_env, fixture_bytes
from tests.helpers import split_at

# file -> (text, status, usage (prompt, completion, total) or None, finish_reason, error)
ANSWERS = {
    "cf_native_basic.sse": ("Hello there", "complete", None, "", ""),
    "cf_native_padded_usage.sse": ("As an AI", "complete", (24, 3, 27), "", ""),
    "cf_native_quirks.sse": ("color: #155724;\n", "complete", None, "", ""),
    "cf_native_truncated.sse": ("Hello", "truncated", None, "", ""),
    "cf_openai_style.sse": ("Hello there", "complete", (147, 3, 150), "stop", ""),
    "openai_basic.sse": ("Hello there", "complete", None, "stop", ""),
    "openai_with_usage.sse": ("Hi", "complete", (9, 1, 10), "length", ""),
    "openai_compat_keepalive_and_error.sse": ("Par", "failed", None, "", "upstream model crashed"),
    "ollama_chat.ndjson": ("Hello there", "complete", (10, 17, 27), "stop", ""),
    "ollama_midstream_error.ndjson": (
        "Yes",
        "failed",
        None,
        "",
        "an error was encountered while running the model",
    ),
}

CONTENT_TYPES = {".sse": "text/event-stream", ".ndjson": "application/x-ndjson"}

SSE_EDGES = {
    "edge_crlf.sse": [("message", "a\nb")],
    "edge_cr_only.sse": [("message", "a\nb")],
    "edge_mixed_endings.sse": [("message", "a"), ("message", "b")],
    "edge_no_space.sse": [("message", '{"response":"x"}')],
    "edge_two_spaces.sse": [("message", " x")],
    "edge_multiline_json.sse": [("message", '{"response":\n"x"}')],
    "edge_comments_only.sse": [("message", "x")],
    "edge_named_event.sse": [("delta", "x")],
    "edge_empty_data.sse": [("message", "")],
    "edge_field_no_colon.sse": [("message", "")],
    "edge_unknown_field.sse": [("message", "x")],
    "edge_no_data_no_event.sse": [],
    "edge_bom.sse": [("message", "x")],
    "edge_unterminated.sse": [("message", "x")],
    "edge_unterminated_nl.sse": [("message", "x")],
    "edge_utf8_u2028.sse": [("message", '{"response":"日\u2028é"}')],
    "edge_id_with_nul.sse": [("message", "x")],
}
TRUNCATED_EDGES = {"edge_unterminated.sse", "edge_unterminated_nl.sse"}


def content_type(name: str) -> str:
    return CONTENT_TYPES[name[name.rindex(".") :]]


def summary(reply: wire.Reply) -> tuple[object, ...]:
    usage = reply.usage
    counts = (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) if usage else None
    return (reply.answer, reply.status, counts, reply.finish_reason, reply.error)


def sse_events(chunks: list[bytes]) -> tuple[list[tuple[str, str]], bool]:
    parser = sse.SSEParser()
    events = []
    for chunk in chunks:
        events.extend(parser.feed(chunk))
    events.extend(parser.close())
    return [(e.type, e.data) for e in events], parser.truncated


@pytest.mark.parametrize("name", sorted(ANSWERS))
def test_answer_fixture_whole(name: str) -> None:
    reply = wire.collect([fixture_bytes(name)], content_type(name))
    assert summary(reply) == ANSWERS[name]


@pytest.mark.parametrize("name", sorted(ANSWERS))
def test_answer_fixture_byte_by_byte(name: str) -> None:
    data = fixture_bytes(name)
    reply = wire.collect([data[i : i + 1] for i in range(len(data))], content_type(name))
    assert summary(reply) == ANSWERS[name]


@pytest.mark.parametrize("name", sorted(ANSWERS))
def test_answer_fixture_without_content_type(name: str) -> None:
    """Sniffing the first bytes picks the same framing as the header would."""
    reply = wire.collect([fixture_bytes(name)], "")
    assert summary(reply) == ANSWERS[name]


@settings(max_examples=60, deadline=None)
@given(name=st.sampled_from(sorted(ANSWERS)), cuts=st.lists(st.integers(0, 10_000), max_size=12))
def test_answer_fixture_any_split(name: str, cuts: list[int]) -> None:
    data = fixture_bytes(name)
    reply = wire.collect(split_at(data, cuts), content_type(name))
    assert summary(reply) == ANSWERS[name]


@pytest.mark.parametrize("name", sorted(SSE_EDGES))
def test_sse_edge_whole_and_bytewise(name: str) -> None:
    data = fixture_bytes(name)
    for chunks in ([data], [data[i : i + 1] for i in range(len(data))]):
        events, truncated = sse_events(chunks)
        assert events == SSE_EDGES[name]
        assert truncated == (name in TRUNCATED_EDGES)


@settings(max_examples=80, deadline=None)
@given(name=st.sampled_from(sorted(SSE_EDGES)), cuts=st.lists(st.integers(0, 200), max_size=8))
def test_sse_edge_any_split(name: str, cuts: list[int]) -> None:
    events, truncated = sse_events(split_at(fixture_bytes(name), cuts))
    assert events == SSE_EDGES[name]
    assert truncated == (name in TRUNCATED_EDGES)


def test_u2028_inside_response_is_text_not_a_line_break() -> None:
    reply = wire.collect([fixture_bytes("edge_utf8_u2028.sse")], "text/event-stream")
    assert reply.answer == "日\u2028é"


def test_escaped_quotes_newlines_and_unicode_in_response() -> None:
    body = 'data: {"response":"say \\"hi\\"\\n\\u00e9 \\ud83d\\ude00"}\n\ndata: [DONE]\n\n'
    reply = wire.collect([body.encode()], "text/event-stream")
    assert reply.answer == 'say "hi"\né 😀'
    assert reply.status == "complete"


def test_invalid_utf8_becomes_replacement_character() -> None:
    body = b'data: {"response":"a\xffb"}\n\ndata: [DONE]\n\n'
    # invalid bytes inside JSON text: decoded with U+FFFD, JSON still parses
    assert wire.collect([body], "text/event-stream").answer == "a\ufffdb"


@settings(max_examples=100, deadline=None)
@given(text=st.text(max_size=40), cuts=st.lists(st.integers(0, 400), max_size=6))
def test_any_text_round_trips_through_sse_any_split(text: str, cuts: list[int]) -> None:
    import json

    body = f"data: {json.dumps({'response': text})}\r\n\r\ndata: [DONE]\r\n\r\n".encode()
    reply = wire.collect(split_at(body, cuts), "text/event-stream")
    assert reply.answer == text
    assert reply.status == "complete"


def test_a_line_over_the_cap_is_refused_not_buffered() -> None:
    splitter = sse.LineSplitter(max_line=1000)
    splitter.feed(b"x" * 900)
    with pytest.raises(sse.WireError):
        splitter.feed(b"x" * 200)


def test_plain_json_body_is_shown() -> None:
    for body in (
        b'{"response": "whole answer"}',
        b'{\n  "result": {"response": "whole answer"},\n  "success": true\n}\n',
        b'{"choices":[{"message":{"role":"assistant","content":"whole answer"},'
        b'"finish_reason":"stop"}]}',
    ):
        reply = wire.collect([body], "application/json")
        assert (reply.answer, reply.status) == ("whole answer", "complete")


def test_reasoning_is_kept_apart_from_the_answer() -> None:
    body = (
        b'data: {"choices":[{"delta":{"reasoning_content":"think"}}]}\n\n'
        b'data: {"choices":[{"delta":{"reasoning":" more"}}]}\n\n'
        b'data: {"choices":[{"delta":{"content":"answer"},"finish_reason":"stop"}]}\n\n'
    )
    reply = wire.collect([body], "text/event-stream")
    assert (reply.answer, reply.reasoning) == ("answer", "think more")


# ---------------------------------------------------------------- joined events


def test_coalesce_joins_adjacent_text_and_keeps_everything_else_in_order() -> None:
    events: list[wire.Event] = [
        wire.Text("a"),
        wire.Text("b"),
        wire.Reasoning("r1"),
        wire.Reasoning("r2"),
        wire.Text("c"),
        wire.Usage(1, 2, 3),
        wire.Text("d"),
        wire.Text("e"),
        wire.Done(),
    ]
    assert wire.coalesce(events) == [
        wire.Text("ab"),
        wire.Reasoning("r1r2"),
        wire.Text("c"),
        wire.Usage(1, 2, 3),
        wire.Text("de"),
        wire.Done(),
    ]
    assert wire.coalesce([wire.Text("x")]) == [wire.Text("x")]
    assert wire.coalesce([]) == []


SSE_LINES = st.sampled_from(
    [
        "data: one",
        "data:two",
        "data:  spaced",
        "data",
        "",
        "",
        "event: custom",
        "id: 7",
        ": a comment",
        "retry: 10",
        'data: {"response":"x"}',
        "field without colon",
    ]
)


@given(lines=st.lists(SSE_LINES, max_size=30), ending=st.sampled_from(["\n", "\r\n", "\r"]))
def test_the_quick_sse_path_reads_as_the_general_one(lines: list[str], ending: str) -> None:
    """Fed whole, most events take the quick path (`data:` then a blank line in one read);
    fed a byte at a time, every line goes through the general rules. Both must agree."""
    body = ending.join(lines).encode() + ending.encode()
    whole = sse.SSEParser()
    at_once = whole.feed(body) + whole.close()
    slow = sse.SSEParser()
    bytewise = [e for i in range(len(body)) for e in slow.feed(body[i : i + 1])] + slow.close()
    assert at_once == bytewise
    assert (whole.last_id, whole.truncated) == (slow.last_id, slow.truncated)


def test_plain_one_shot_into_a_pipe_never_imports_rich(tmp_path: Path) -> None:
    """A plain run into a pipe writes the answer without loading rich at all."""
    from tests.server import ChatServer

    server = ChatServer().start()
    try:
        env = clean_env(tmp_path, CHATREPL_URL=server.url)
        done = subprocess.run(
            [sys.executable, "-X", "importtime", "-m", "chatrepl", "hello"],
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
        )
    finally:
        server.stop()
    assert done.returncode == 0 and done.stdout.startswith("Answer 1")
    imported = [line.split("|")[-1].strip() for line in done.stderr.splitlines()]
    assert "chatrepl.transport" in imported  # the importtime listing is there
    assert not [name for name in imported if name.split(".")[0] in ("rich", "markdown_it")]
