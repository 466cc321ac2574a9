"""Reasoning kept apart from the answer: inline tags, fields, any split of the bytes."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chatrepl import wire
from chatrepl.think import Recast, ThinkSplitter, split_whole, thinks
from tests.conftest import fixture_bytes
from tests.helpers import split_at

HERE = Path(__file__).parent / "fixtures"
REASONING = "The user greets me.\nI should answer briefly."

# file, content type, the endpoint's model, reasoning, answer
CASES = [
    ("think_r1_tagged.sse", "text/event-stream", "", REASONING, "Hello there."),
    ("think_r1_closing.sse", "text/event-stream", "", REASONING, "Hello there."),
    ("think_r1_closing.sse", "text/event-stream", "@cf/deepseek-ai/deepseek-r1-distill-qwen-32b",
     REASONING, "Hello there."),
    ("think_qwq.sse", "text/event-stream", "", REASONING, "Hello there."),
    ("think_thinking_tag.sse", "text/event-stream", "", REASONING, "Hello there."),
    ("think_reasoning_content.sse", "text/event-stream", "", REASONING, "Hello there."),
    ("think_ollama.ndjson", "application/x-ndjson", "", REASONING, "Hello there."),
    ("think_in_code.sse", "text/event-stream", "", "",
     "Close it like this:\n\n```xml\n<think>\nreasoning\n</think>\n```\nDone."),
    ("cf_native_basic.sse", "text/event-stream", "deepseek-r1", "", "Hello there"),
]  # fmt: skip


def _fixture(name: str) -> bytes:
    path = HERE / name
    return path.read_bytes() if path.exists() else fixture_bytes(name)


def _check(reply: wire.Reply, reasoning: str, answer: str) -> None:
    assert reply.answer == answer
    assert reply.reasoning.strip() == reasoning
    assert reply.status == "complete"


@pytest.mark.parametrize(("name", "ctype", "model", "reasoning", "answer"), CASES)
def test_each_form_whole_and_byte_by_byte(
    name: str, ctype: str, model: str, reasoning: str, answer: str
) -> None:
    data = _fixture(name)
    _check(wire.collect([data], ctype, model), reasoning, answer)
    _check(wire.collect([data[i : i + 1] for i in range(len(data))], ctype, model),
           reasoning, answer)  # fmt: skip


@pytest.mark.parametrize(("name", "ctype", "model", "reasoning", "answer"), CASES)
@settings(max_examples=60, deadline=None)
@given(cuts=st.lists(st.integers(min_value=0, max_value=4000), max_size=30))
def test_each_form_under_any_split(
    name: str, ctype: str, model: str, reasoning: str, answer: str, cuts: list[int]
) -> None:
    data = _fixture(name)
    _check(wire.collect(split_at(data, cuts), ctype, model), reasoning, answer)


def test_the_opening_tag_is_reasoning_from_the_first_piece() -> None:
    data = (HERE / "think_r1_tagged.sse").read_bytes()
    events = list(wire.decode([data]))
    kinds = [type(e).__name__ for e in events if isinstance(e, wire.Text | wire.Reasoning)]
    assert kinds[0] == "Reasoning"
    assert not any(isinstance(e, Recast) for e in events)


def test_a_known_thinker_never_shows_its_reasoning_as_answer() -> None:
    """With the model's name known, the closing-only form needs no recast."""
    data = (HERE / "think_r1_closing.sse").read_bytes()
    events = list(wire.decode([data], model="deepseek-r1-distill-llama-8b"))
    assert not any(isinstance(e, Recast) for e in events)
    texts = "".join(e.text for e in events if isinstance(e, wire.Text))
    assert texts == "Hello there."


def test_the_model_named_by_the_stream_is_a_hint() -> None:
    data = (HERE / "think_qwq.sse").read_bytes()
    events = list(wire.decode([data]))
    assert not any(isinstance(e, Recast) for e in events)
    assert "".join(e.text for e in events if isinstance(e, wire.Text)) == "Hello there."


def test_an_unknown_model_recasts_when_the_closing_tag_arrives() -> None:
    data = (HERE / "think_r1_closing.sse").read_bytes()
    events = list(wire.decode([data]))
    recasts = [e for e in events if isinstance(e, Recast)]
    assert len(recasts) == 1 and recasts[0].into == "reasoning"
    assert recasts[0].text.strip() == REASONING


def test_a_thinker_that_does_not_think_gets_its_answer_back() -> None:
    reasoning, answer = split_whole("Just the answer.", expect=True)
    assert (reasoning, answer) == ("", "Just the answer.")


@pytest.mark.parametrize(
    "text",
    [
        "Here is the tag: <think> and more.",
        "An answer that quotes `</think>` in code.",
        "Text\n```\n</think>\n```\n",
        "~~~\n</think>\n~~~",
        "<table><tr><td>1</td></tr></table>",
        "a < b and c </ d",
        "  leading spaces are kept",
    ],
)
def test_answer_text_that_merely_mentions_tags_is_answer(text: str) -> None:
    assert split_whole(text) == ("", text)
    splitter = ThinkSplitter()
    out = [p for ch in text for p in splitter.feed(ch)] + splitter.close()
    assert "".join(p[1] for p in out if not isinstance(p, Recast)) == text
    assert not any(isinstance(p, Recast) or p[0] == "reasoning" for p in out)


@settings(max_examples=200, deadline=None)
@given(
    thought=st.text(alphabet="ab <>/thinkg\n`", max_size=40).filter(
        lambda t: "</think" not in t and "<think" not in t
    ),
    answer=st.text(alphabet="ab <>/\n`x", max_size=40).filter(lambda t: "</think" not in t),
    tag=st.sampled_from([("<think>", "</think>"), ("<thinking>", "</thinking>")]),
    cuts=st.lists(st.integers(min_value=0, max_value=200), max_size=12),
    expect=st.booleans(),
)
def test_tagged_reasoning_splits_the_same_under_any_split(
    thought: str, answer: str, tag: tuple[str, str], cuts: list[int], expect: bool
) -> None:
    answer = "x" + answer  # an answer starts with a word, after the tag's white space
    text = f"{tag[0]}{thought}{tag[1]}\n\n{answer}"
    whole = split_whole(text, expect)
    assert whole == (thought, answer)
    splitter = ThinkSplitter(expect)
    reasoning, shown = [], []
    for piece in split_at(text, cuts):
        for out in splitter.feed(piece):
            assert not isinstance(out, Recast)
            (reasoning if out[0] == "reasoning" else shown).append(out[1])
    for out in splitter.close():
        assert not isinstance(out, Recast)
        (reasoning if out[0] == "reasoning" else shown).append(out[1])
    assert ("".join(reasoning), "".join(shown)) == whole


@settings(max_examples=200, deadline=None)
@given(text=st.text(alphabet="ab <>/thinkg\n`~", max_size=60))
def test_answer_text_is_held_back_no_longer_than_a_tag(text: str) -> None:
    """Fed one character at a time, what was shown lags the input by at most a tag."""
    text = "x" + text  # past the start, where leading white space may wait
    splitter = ThinkSplitter()
    given_chars = 0
    shown = 0
    for ch in text:
        given_chars += 1
        for out in splitter.feed(ch):
            if isinstance(out, Recast):
                shown = 0
                given_chars = 0
            else:
                shown += len(out[1])
        assert given_chars - shown <= len("</thinking>")


def test_one_character_per_event_over_the_wire() -> None:
    text = "<think>\nhmm, a greeting\n</think>\n\nHi!"
    body = b"".join(b'data: {"response": ' + wire.json.dumps(ch).encode() + b"}\n\n" for ch in text)
    reply = wire.collect([body + b"data: [DONE]\n\n"])
    assert (reply.reasoning.strip(), reply.answer) == ("hmm, a greeting", "Hi!")


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("@cf/deepseek-ai/deepseek-r1-distill-qwen-32b", True),
        ("deepseek-r1:8b", True),
        ("@cf/qwen/qwq-32b", True),
        ("qwen3-thinking", True),
        ("llama3.2", False),
        ("@cf/meta/llama-3.1-8b-instruct", False),
        ("", False),
    ],
)
def test_thinkers_are_known_by_name(model: str, expected: bool) -> None:
    assert thinks(model) is expected


def test_recast_reasoning_is_timed_from_when_the_answer_began() -> None:
    from chatrepl.think import Thought

    now = [100.0]
    thought = Thought(lambda: now[0])
    now[0] = 106.2  # the closing tag arrives 6.2 s into what looked like an answer
    thought.recast("some reasoning words")
    assert thought.end() == "Thought for 6.2 s, 3 words"
