"""The models an endpoint serves: `chatrepl --models`, kept for a day, and /model's Tab."""

from __future__ import annotations

from pathlib import Path

from chatrepl import models
from chatrepl.config import Endpoint
from tests.helpers import run_chatrepl
from tests.server import ChatServer


def base(server: ChatServer) -> str:
    return server.url.rsplit("/api/chat", 1)[0]


def test_models_of_an_openai_endpoint_one_a_line(server: ChatServer, chatrepl_home: Path) -> None:
    done = run_chatrepl(chatrepl_home, "--models", "--url", base(server) + "/v1")
    assert (done.returncode, done.stdout, done.stderr) == (0, "m-one\nm-two\n", "")
    assert server.requests[-1].path == "/v1/models"
    token = run_chatrepl(
        chatrepl_home, "--models", "--url", base(server) + "/v1", env={"CHATREPL_TOKEN": "tk"}
    )
    assert token.returncode == 0 and server.requests[-1].headers["Authorization"] == "Bearer tk"


def test_models_of_an_ollama_endpoint(server: ChatServer, chatrepl_home: Path) -> None:
    server.models = ["llama3.2:latest"]
    done = run_chatrepl(chatrepl_home, "--models", "--api", "ollama", url=server.url)
    assert done.stdout == "llama3.2:latest\n" and server.requests[-1].path == "/api/tags"


def test_the_workers_api_says_plainly_it_cannot_list(chatrepl_home: Path) -> None:
    done = run_chatrepl(chatrepl_home, "--models", url="http://127.0.0.1:9/api/chat")
    assert done.returncode == 1
    assert done.stderr.startswith("chatrepl: This endpoint's API (workers) cannot list its models.")


def test_an_endpoint_that_cannot_be_reached_is_one_line(chatrepl_home: Path) -> None:
    done = run_chatrepl(chatrepl_home, "--models", "--url", "http://127.0.0.1:9/v1")
    assert done.returncode == 1 and done.stderr.count("\n") == 1
    assert "Connection refused by 127.0.0.1:9" in done.stderr


def test_the_list_is_kept_a_day(server: ChatServer, tmp_path: Path) -> None:
    endpoint = Endpoint(url=base(server) + "/v1")
    now = [1_000_000.0]
    cache = models.Cache(tmp_path / "models.json", clock=lambda: now[0])
    url = models.listing_url(endpoint)
    assert cache.get(url) is None
    assert models.available(endpoint, {}, tmp_path) == ["m-one", "m-two"]
    asked = len(server.requests)
    server.models = ["m-three"]
    assert models.available(endpoint, {}, tmp_path) == ["m-one", "m-two"]  # kept
    assert len(server.requests) == asked
    assert models.available(endpoint, {}, tmp_path, refresh=True) == ["m-three"]
    cache.keep(url, ["old"])
    now[0] += models.KEPT_SECONDS + 1
    assert cache.get(url) is None  # a day later: asked again


def test_tab_in_model_offers_what_the_endpoint_serves(server: ChatServer, tmp_path: Path) -> None:
    from prompt_toolkit.completion import CompleteEvent
    from prompt_toolkit.document import Document
    from prompt_toolkit.input import create_pipe_input
    from prompt_toolkit.output import DummyOutput

    from chatrepl.repl import CommandCompleter, Repl
    from tests.helpers import make_chat

    chat, _ = make_chat(base(server) + "/v1", tmp_path)
    with create_pipe_input() as pipe:
        repl = Repl(chat, input=pipe, output=DummyOutput())
        completer = repl.prompt.completer
        assert isinstance(completer, CommandCompleter)
        offered = [
            c.text for c in completer.get_completions(Document("/model m-"), CompleteEvent())
        ]
        assert offered == ["m-one", "m-two"]
        list(completer.get_completions(Document("/model "), CompleteEvent()))
        assert [r.path for r in server.requests] == ["/v1/models"]  # asked once a session
