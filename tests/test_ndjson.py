"""NDJSON (Ollama) and JSON bodies spanning lines: a garbled line is skipped with one
notice and the answer goes on; any split of the bytes reads the same (issue 23, row 17)."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from chatrepl import wire
from tests.helpers import run_chatrepl, split_at
from tests.server import ChatServer, Script

NDJSON = "application/x-ndjson"


def line(content: str, done: bool = False) -> bytes:
    obj: dict[str, object] = {
        "model": "llama3.2",
        "message": {"role": "assistant", "content": content},
        "done": done,
    }
    if done:
        obj.update(done_reason="stop", prompt_eval_count=10, eval_count=3)
    return json.dumps(obj).encode() + b"\n"


def body(*parts: bytes) -> bytes:
    return b"".join(parts)


GARBLED = body(
    line("Hello"),
    b'{"model":"llama3.2","message":{"role":"assistant","content":" wor\n',  # cut short
    line(" there"),
    b"<html>proxy hiccup</html>\n",
    line(", friend."),
    line("", done=True),
)


def read(chunks: list[bytes], content_type: str = NDJSON) -> tuple[str, str, list[str]]:
    reply = wire.collect(chunks, content_type)
    return reply.answer, reply.status, reply.notices


def test_a_garbled_line_is_skipped_and_the_answer_goes_on() -> None:
    answer, status, notices = read([GARBLED])
    assert answer == "Hello there, friend."
    assert status == "complete"
    assert notices == ["Skipped line 2 of the answer stream, which is not JSON; the rest was read."]


def test_a_line_left_open_is_dropped_when_the_next_one_stands_alone() -> None:
    data = body(line("A"), b'{"message": {"content": "B"}\n', line("C"), line("", done=True))
    answer, status, notices = read([data])
    assert (answer, status, len(notices)) == ("AC", "complete", 1)


def test_a_pretty_printed_answer_of_100000_lines_is_read_whole() -> None:
    obj = {"message": {"role": "assistant", "content": "Hi."}, "numbers": list(range(100_000))}
    data = json.dumps(obj, indent=1).encode()
    assert data.count(b"\n") > 100_000
    chunks = [data[i : i + 65536] for i in range(0, len(data), 65536)]
    assert read(chunks, "application/json") == ("Hi.", "complete", [])


def test_a_pretty_printed_value_that_does_not_decode_is_skipped() -> None:
    data = b'{\n  "message": {"content": "x"},\n  oops\n}\n' + line("ok") + line("", True)
    answer, status, notices = read([data])
    assert (answer, status) == ("ok", "complete")
    assert notices == [
        "Skipped lines 1 to 4 of the answer stream, which is not JSON; the rest was read."
    ]


PRETTY = json.dumps({"message": {"content": "Whole {answer} [here]"}}, indent=2).encode()


@settings(max_examples=150, deadline=None)
@given(
    data=st.sampled_from([GARBLED, PRETTY, GARBLED.replace(b"\n", b"\r\n")]),
    cuts=st.lists(st.integers(0, 2_000), max_size=12),
)
def test_any_split_of_the_bytes_reads_the_same(data: bytes, cuts: list[int]) -> None:
    kind = NDJSON if data is not PRETTY else "application/json"
    assert read(split_at(data, cuts), kind) == read([data], kind)


def test_the_cli_prints_the_whole_answer_and_one_notice(
    server: ChatServer, chatrepl_home: Path
) -> None:
    server.add(Script(content_type=NDJSON, pieces=[GARBLED]))
    done = run_chatrepl(chatrepl_home, "q", url=server.url, env={"CHATREPL_API": "ollama"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "Hello there, friend."
    notices = [ln for ln in done.stderr.splitlines() if "not JSON" in ln]
    assert notices == ["Skipped line 2 of the answer stream, which is not JSON; the rest was read."]
