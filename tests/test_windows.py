"""What the server's refusals teach of its window (issue 23, rows 18 and 23): refusals in
the words of transformers serve, LiteLLM, vLLM and llama.cpp are read for the window they
name; a refusal naming none halves the window for the retry only; a configured window
always wins; /stats shows what was learnt and forgetting it is possible."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from prompt_toolkit.input import PipeInput

from chatrepl.config import Endpoint, Settings
from chatrepl.context import DEFAULT_CONTEXT, too_long, window_in
from chatrepl.store import Store
from tests.conftest import fixture_bytes
from tests.helpers import error_script, make_chat, run_chatrepl
from tests.server import ChatServer, Recorded, Script, sse
from tests.test_repl_commands import repl_for

# fixture: (the server's limit on the prompt, in its own count; the window learnt)
REFUSALS = {
    "http_transformers_400_context.json": (48, 64),
    "http_litellm_400_context.json": (50, 50 + 1024),
    "http_vllm_400_context.json": (1024, 2048),
    "http_llamacpp_400_context.json": (48, 64),
}


def server_count(messages: list[dict[str, str]]) -> int:
    return sum(4 + len(m["content"]) // 4 for m in messages)


def refusing(limit: int, fixture: str, status: int = 400):  # type: ignore[no-untyped-def]
    def answer(record: Recorded) -> Script:
        if server_count(record.body["messages"]) > limit:
            return error_script(fixture, status)
        return Script(pieces=sse("Fits now."))

    return answer


def detail(fixture: str) -> str:
    return fixture_bytes(fixture).decode()


@pytest.mark.parametrize("fixture", sorted(REFUSALS))
def test_each_refusal_is_recognised_and_its_window_read(fixture: str) -> None:
    text = detail(fixture)
    assert too_long(text)
    assert window_in(text, 1024) == REFUSALS[fixture][1]


def chat_with_history(url: str, home: Path, server: ChatServer, context: int | None = None):  # type: ignore[no-untyped-def]
    chat, _ = make_chat(url, home, context=context)
    for n in range(6):
        server.add(Script(pieces=sse(f"answer {n}")))
        assert chat.ask(f"q{n} " + "x" * 2000).status == "complete"
    return chat


@pytest.mark.parametrize("fixture", sorted(REFUSALS))
def test_a_refusal_in_unknown_words_trims_to_the_window_it_names(
    server: ChatServer, tmp_path: Path, fixture: str
) -> None:
    limit, learnt = REFUSALS[fixture]
    chat = chat_with_history(server.url, tmp_path, server)
    server.add(refusing(limit, fixture), refusing(limit, fixture))
    asides: list[str] = []
    chat.renderer.aside = asides.append  # type: ignore[method-assign]
    outcome = chat.ask("the latest question")
    assert outcome.status == "complete", outcome.error
    assert len(server.requests) == 8  # refused once, then trimmed and answered
    assert server_count(server.requests[-1].body["messages"]) <= limit
    assert any("too long for its window" in a for a in asides)
    assert chat.window.budget.context_tokens == learnt
    again, _ = make_chat(server.url, tmp_path)
    assert again.window.budget.context_tokens == learnt  # a named window is learnt


NO_NUMBER = {"code": 413, "message": "Request too long."}


def no_number(limit: int):  # type: ignore[no-untyped-def]
    def answer(record: Recorded) -> Script:
        if server_count(record.body["messages"]) > limit:
            body = json.dumps(NO_NUMBER).encode()
            return Script(
                status=413, content_type="application/json", framing="length", pieces=[body]
            )
        return Script(pieces=sse("Fits now."))

    return answer


def test_a_refusal_without_a_number_never_overrides_a_configured_window(
    server: ChatServer, tmp_path: Path
) -> None:
    chat = chat_with_history(server.url, tmp_path, server, context=8192)
    server.add(no_number(1500), no_number(1500))
    assert chat.ask("the latest question").status == "complete"
    assert chat.window.budget.context_tokens < 8192  # halved for the retry
    again, _ = make_chat(server.url, tmp_path, context=8192)
    assert again.window.budget.context_tokens == 8192  # the setting wins
    assert "learnt" in again.context_report() or "taught" in again.context_report()


def test_a_halved_window_is_learnt_only_when_a_request_of_that_size_is_answered(
    server: ChatServer, tmp_path: Path
) -> None:
    chat = chat_with_history(server.url, tmp_path, server)
    server.add(no_number(1), no_number(1))  # refuses the retry too
    outcome = chat.ask("the latest question")
    assert outcome.status == "unsent"
    assert chat.window.budget.context_tokens == DEFAULT_CONTEXT  # the retry only
    again, _ = make_chat(server.url, tmp_path)
    assert again.window.budget.context_tokens == DEFAULT_CONTEXT  # nothing learnt
    server.add(no_number(1500), no_number(1500))
    assert chat.ask("once more").status == "complete"
    halved = chat.window.budget.context_tokens
    assert halved < DEFAULT_CONTEXT
    third, _ = make_chat(server.url, tmp_path)
    assert third.window.budget.context_tokens == halved  # answered at that size: learnt


def test_stats_shows_what_was_learnt_and_forget_drops_it(
    server: ChatServer, tmp_path: Path
) -> None:
    fixture = "http_transformers_400_context.json"
    chat = chat_with_history(server.url, tmp_path, server)
    server.add(refusing(48, fixture), refusing(48, fixture))
    assert chat.ask("the latest question").status == "complete"
    assert "window of 64 tokens learnt from the server" in chat.context_report()
    chat.window.forget()
    assert "learnt" not in chat.context_report()
    assert chat.window.budget.context_tokens == DEFAULT_CONTEXT
    again, _ = make_chat(server.url, tmp_path)
    assert again.window.budget.context_tokens == DEFAULT_CONTEXT


def test_context_reset_in_the_repl_forgets_the_learnt_window(
    server: ChatServer, tmp_path: Path, pipe: PipeInput
) -> None:
    fixture = "http_vllm_400_context.json"
    r, out = repl_for(Settings(endpoint=Endpoint(url=server.url)), tmp_path, pipe)
    server.add(Script(pieces=sse("long")), refusing(1024, fixture), refusing(1024, fixture))
    pipe.send_text("x" * 6000 + "\rsecond\r/context\r/context reset\r/context\r\x04")
    r.run()
    text = " ".join(out.getvalue().split())
    assert "window of 2,048 tokens learnt from the server" in text
    assert "Forgot what the server taught of its window; the window is 8,192 tokens." in text
    assert text.count("learnt from the server") == 1
    again, _ = make_chat(server.url, tmp_path)
    assert again.window.budget.context_tokens == DEFAULT_CONTEXT


def test_a_configured_window_wins_and_context_reset_forgets_the_learnt_one(
    server: ChatServer, chatrepl_home: Path
) -> None:
    """`--context N` wins for the run and keeps what was learnt (a later run without it
    uses it again); `--context-reset` forgets it, on the command line as /context reset
    does in the REPL."""
    store = Store(chatrepl_home / "chatrepl.db")
    key = f"{server.url} "  # the endpoint's URL and model (none here)
    store.save_endpoint_state(key, 1.0, 1088)
    store.close()

    def learnt() -> int | None:
        reader = Store(chatrepl_home / "chatrepl.db")
        state = reader.endpoint_state(key)
        reader.close()
        return None if state is None else state[1]

    chat = make_chat(server.url, chatrepl_home)[0]
    assert chat.window.budget.context_tokens == 1088  # learnt, in use
    configured = make_chat(server.url, chatrepl_home, context=8192)[0]
    assert configured.window.budget.context_tokens == 8192  # the flag wins...
    assert "the configured 8,192 wins" in configured.context_report()
    assert learnt() == 1088  # ...and what was learnt is kept
    done = run_chatrepl(chatrepl_home, "--context", "8192", "q", url=server.url)
    assert done.returncode == 0 and learnt() == 1088

    done = run_chatrepl(chatrepl_home, "--context-reset", "q", url=server.url)
    assert done.returncode == 0, done.stderr
    assert "Forgot the window of 1,088 tokens learnt from the server." in done.stderr
    assert learnt() is None
    assert make_chat(server.url, chatrepl_home)[0].window.budget.context_tokens == DEFAULT_CONTEXT
    quiet = run_chatrepl(chatrepl_home, "--context-reset", "q", url=server.url)
    assert quiet.returncode == 0 and quiet.stderr == ""  # nothing learnt: nothing said

    refused = run_chatrepl(chatrepl_home, "--context-reset", "--no-save", "q", url=server.url)
    assert refused.returncode == 2 and "--context-reset" in refused.stderr


def test_context_reset_on_its_own_in_a_script_forgets_and_exits_0(
    server: ChatServer, chatrepl_home: Path
) -> None:
    store = Store(chatrepl_home / "chatrepl.db")
    store.save_endpoint_state(f"{server.url} ", 1.0, 150)
    store.close()
    done = run_chatrepl(chatrepl_home, "--context-reset", url=server.url)  # stdin: empty
    assert done.returncode == 0, done.stderr
    assert "Forgot the window of 150 tokens learnt from the server." in done.stderr
    assert not server.requests
    reader = Store(chatrepl_home / "chatrepl.db")
    assert reader.endpoint_state(f"{server.url} ") in (None, (1.0, None))
    reader.close()
