"""The context budget: estimate, calibration, which turns are kept, the server's verdict,
/compact and its undo, against a real local server that enforces a window."""

from __future__ import annotations

import io
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chatrepl.context import LEFT_OUT, Budget, ContextError, estimate, plan, too_long
from chatrepl.conversation import Message
from tests.helpers import make_chat, run_chatrepl
from tests.server import ChatServer, Recorded, Script, sse

# Error bodies servers send for a request longer than the window.
TOO_LONG = {
    "workers": (400, {"errors": [{"message": "AiError: Input is too long for this model's "
                                  "context window (3120 > 2000 tokens)."}]}),
    "openai": (400, {"error": {"message": "This model's maximum context length is 2000 "
                               "tokens. However, your messages resulted in 3120 tokens.",
                               "code": "context_length_exceeded"}}),
    "ollama": (400, {"error": "input length exceeds the maximum context length"}),
    "plain": (413, {"code": 413, "message": "Request too long."}),
}  # fmt: skip


def server_count(messages: list[dict[str, str]]) -> int:
    """The limiting server's own token count: one per 4 characters, 4 per message."""
    return sum(4 + len(m["content"]) // 4 for m in messages)


def limiting(limit: int, body: tuple[int, Any] = TOO_LONG["workers"], always: bool = False):  # type: ignore[no-untyped-def]
    """A script that refuses requests over `limit` tokens as servers do, else echoes."""
    turn = {"n": 0}

    def answer(record: Recorded) -> Script:
        turn["n"] += 1
        messages = record.body["messages"]
        if always or server_count(messages) > limit:
            status, payload = body
            return Script(status=status, content_type="application/json", framing="length",
                          pieces=[json.dumps(payload).encode()])  # fmt: skip
        question = messages[-1]["content"]
        return Script(pieces=sse(f"Answer {turn['n']} to {question[:40]}."))

    return answer


# ------------------------------------------------------------------ units


def test_estimate_is_cheap_and_errs_high_on_short_words() -> None:
    assert estimate("") == 4
    assert estimate("x" * 400) == 104  # one per 4 characters
    assert estimate("a " * 300) == 4 + 400  # 4 per 3 words when words are short


@pytest.mark.parametrize("name", sorted(TOO_LONG))
def test_each_servers_too_long_message_is_recognised(name: str) -> None:
    payload = TOO_LONG[name][1]
    assert too_long(json.dumps(payload))
    assert not too_long("Access denied: invalid authentication token.")


def test_calibration_moves_towards_the_servers_count() -> None:
    budget = Budget(8192, 1024)
    budget.calibrate(reported=150, estimated=100)
    assert budget.ratio == 1.5
    budget.calibrate(reported=100, estimated=100)
    assert budget.ratio == 1.25
    budget.calibrate(reported=10**6, estimated=1)
    assert budget.ratio == 2.625 and budget.tokens(100) == 263  # (1.25 + 4) / 2, rounded up


def msg(role: str, size: int) -> Message:
    return Message(role, "w" * size)  # type: ignore[arg-type]


@settings(max_examples=300, deadline=None)
@given(
    sizes=st.lists(st.tuples(st.integers(1, 3000), st.lists(st.integers(0, 3000), max_size=2)),
                   min_size=1, max_size=30),
    window=st.integers(300, 6000),
    system=st.integers(0, 400),
)  # fmt: skip
def test_the_kept_turns_fit_are_a_suffix_of_whole_turns_and_hold_the_question(
    sizes: list[tuple[int, list[int]]], window: int, system: int
) -> None:
    messages: list[Message] = []
    for question, answers in sizes:
        messages.append(msg("user", question))
        messages += [msg("assistant", a) for a in answers if a]
    messages.append(msg("user", 10))  # the question being asked
    head = [{"role": "system", "content": "s" * system}] if system else []
    budget = Budget(window, min(1024, window // 4))
    try:
        p = plan(head, messages, budget)
    except ContextError:
        last = sum(m.tokens() for m in messages[-1:]) + sum(estimate(m["content"]) for m in head)
        assert last + estimate(LEFT_OUT) > budget.available
        return
    assert p.tokens <= budget.available or not p.trimmed
    if p.trimmed:
        assert p.tokens <= budget.available
    sent = p.messages[len(head) :]
    assert p.messages[: len(head)] == head
    if p.trimmed:
        assert sent[0] == {"role": "system", "content": LEFT_OUT}
        sent = sent[1:]
        assert sent[0]["role"] == "user"  # whole turns only
    assert sent == [m.wire() for m in messages[len(messages) - len(sent) :]]  # a suffix
    assert sent[-1] == messages[-1].wire()  # the last question, always


# ------------------------------------------------------------------ over a real server


def test_a_long_conversation_is_trimmed_and_nothing_is_lost(
    server: ChatServer, tmp_path: Path
) -> None:
    chat, _ = make_chat(server.url, tmp_path, context=1200)
    server.add(*[limiting(1200)] * 40)
    asides: list[str] = []
    chat.renderer.aside = asides.append  # type: ignore[method-assign]
    for n in range(40):
        assert chat.ask(f"question {n} " + "words " * 30).status == "complete"
    assert len(server.requests) == 40  # every turn answered at the first try
    for request in server.requests:
        assert server_count(request.body["messages"]) <= 1200
        assert request.body["messages"][-1]["content"].startswith("question")
    assert asides == [chat.window.last.describe()] or (
        len(asides) == 1 and asides[0].startswith("Sending the last")
    )  # said once, when trimming started
    with sqlite3.connect(tmp_path / "chatrepl.db") as db:
        assert db.execute("SELECT count(*) FROM messages").fetchone()[0] == 80
    assert "left out" in chat.context_report() and chat.context_share().startswith("ctx ")


@pytest.mark.parametrize("name", sorted(TOO_LONG))
def test_the_servers_verdict_lowers_the_window_and_retries_once(
    server: ChatServer, tmp_path: Path, name: str
) -> None:
    chat, _ = make_chat(server.url, tmp_path, context=100_000)  # far more than it takes
    for n in range(6):
        server.add(limiting(10**9))
        chat.ask(f"q{n} " + "x" * 2000)
    server.add(limiting(2000, TOO_LONG[name]), limiting(2000, TOO_LONG[name]))
    asides: list[str] = []
    chat.renderer.aside = asides.append  # type: ignore[method-assign]
    outcome = chat.ask("the latest question")
    assert outcome.status == "complete", outcome.error
    assert len(server.requests) == 8  # refused once, then trimmed and accepted
    assert any("too long for its window" in a for a in asides)
    again, _ = make_chat(server.url, tmp_path)  # remembered in the store
    assert again.window.budget.context_tokens < 8192
    configured, _ = make_chat(server.url, tmp_path, context=100_000)  # a setting wins
    assert configured.window.budget.context_tokens == 100_000


def test_a_server_that_keeps_refusing_gives_the_question_back(
    server: ChatServer, tmp_path: Path
) -> None:
    chat, _ = make_chat(server.url, tmp_path)
    server.add(limiting(1, always=True), limiting(1, always=True))
    outcome = chat.ask("hello")
    assert outcome.status == "unsent" and outcome.restore == "hello"
    assert "too long" in str(outcome.error) and len(server.requests) == 2


def test_a_question_larger_than_the_window_says_how_large(
    server: ChatServer, tmp_path: Path
) -> None:
    chat, _ = make_chat(server.url, tmp_path, context=2000)
    outcome = chat.ask("y " * 5000)
    assert outcome.restore == "y " * 5000 and len(server.requests) == 0
    assert "tokens, too long for the model's window of 2,000 tokens" in str(outcome.error)
    # what the question may take once the answer's part is kept is said too
    assert "(1,500 once 500 are kept for the answer)" in str(outcome.error)


def test_compact_sends_the_summary_in_place_of_earlier_turns_and_undo_restores(
    server: ChatServer, tmp_path: Path
) -> None:
    from chatrepl import compact

    chat, _ = make_chat(server.url, tmp_path)
    for n in range(5):
        chat.ask(f"question {n}")
    server.add(Script(status=500, content_type="text/plain", framing="length", pieces=[b"x"]))
    with pytest.raises(Exception, match="500"):
        compact.compact(chat, 2)
    assert chat.conversation.active_summary() is None  # a failure changes nothing
    server.add(Script(pieces=sse("The user asked five questions.")))
    summary = compact.compact(chat, 2)
    assert summary.meta == {"covers": 6, "active": True}
    chat.ask("next")
    sent = server.requests[-1].body["messages"]
    assert sent[0]["role"] == "system" and "five questions" in sent[0]["content"]
    assert [m["content"] for m in sent if m["role"] == "user"] == [
        "question 3", "question 4", "next"
    ]  # fmt: skip
    compact.undo(chat)
    chat.ask("after undo")
    sent = server.requests[-1].body["messages"]
    assert sent[0] == {"role": "user", "content": "question 0"}
    assert not any("five questions" in m["content"] for m in sent)
    store = chat.store
    assert store is not None
    loaded = store.load(chat.conversation.id)
    kinds = [m.role for m in loaded.messages]
    assert kinds.count("summary") == 1 and loaded.active_summary() is None
    assert store.search("five questions")


@pytest.mark.parametrize("value", ["0", "-5", '"big"', "1.5"])
def test_a_bad_context_tokens_is_a_located_config_error(chatrepl_home: Path, value: str) -> None:
    chatrepl_home.mkdir(parents=True)
    (chatrepl_home / "config.toml").write_text(
        f'endpoint = "e"\n[endpoints.e]\nurl = "http://127.0.0.1:9/api/chat"\n'
        f"context_tokens = {value}\n"
    )
    done = run_chatrepl(chatrepl_home, "q")
    assert done.returncode == 78
    assert "config.toml:4:1: endpoints.e.context_tokens must be a positive integer" in (done.stderr)


def test_one_shot_resume_trims_the_same_way(server: ChatServer, chatrepl_home: Path) -> None:
    for n in range(12):
        run_chatrepl(chatrepl_home, *(["-c"] if n else []), f"q{n} " + "z" * 400, url=server.url)
    server.add(limiting(900))
    done = run_chatrepl(chatrepl_home, "--context", "900", "-c", "last one", url=server.url)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Answer") and "Sending the last" in done.stderr
    assert server_count(server.requests[-1].body["messages"]) <= 900


def test_sixty_turns_in_a_terminal_against_a_small_window(
    server: ChatServer, chatrepl_home: Path
) -> None:
    """A person chats 60 turns with a model whose window is 2,000 tokens."""
    from tests.test_pty import finish, prompt, spawn

    server.add(*[limiting(2000)] * 60)
    child = spawn(server, chatrepl_home, "--context", "2000")
    seen = io.StringIO()
    child.logfile_read = seen
    prompt(child)
    for n in range(60):
        child.send(f"turn {n} " + "talk " * 20 + "\r")
        child.expect_exact(f"Answer {n + 1} to turn {n}")
        prompt(child)
    child.sendcontrol("d")
    assert finish(child) == 0
    assert len(server.requests) == 60  # every turn answered at the first try
    assert all(server_count(r.body["messages"]) <= 2000 for r in server.requests)
    assert seen.getvalue().count("Sending the last") == 1  # said once, as trimming started
    left_out = [m["content"] == LEFT_OUT for r in server.requests for m in r.body["messages"]]
    assert any(left_out) and server.requests[0].body["messages"][0]["content"] != LEFT_OUT
    shown = run_chatrepl(chatrepl_home, "--show", run_chatrepl(chatrepl_home, "--list")
                         .stdout.split("\t", 1)[0])  # fmt: skip
    assert all(f"turn {n} " in shown.stdout for n in range(60))  # the full history
