"""Each REPL command, driven through prompt_toolkit's pipe input."""

from __future__ import annotations

import io
import re
import stat
import sys
from pathlib import Path

import pytest
from prompt_toolkit.input import PipeInput
from prompt_toolkit.output import DummyOutput

from chatrepl import clipboard
from chatrepl.chat import Chat
from chatrepl.config import Endpoint, Settings
from chatrepl.errors import ChatreplError
from chatrepl.render import Renderer
from chatrepl.render.drawing import make_console
from chatrepl.repl import Repl
from chatrepl.store import Store
from chatrepl.transport import Transport
from tests.conftest import fixture_bytes
from tests.server import ChatServer, Script


def repl_for(settings: Settings, home: Path, pipe: PipeInput) -> tuple[Repl, io.StringIO]:
    out = io.StringIO()
    renderer = Renderer(make_console(out, force_terminal=True, width=100))
    chat = Chat(
        settings,
        Transport(connect_timeout=2, idle_timeout=5),
        renderer,
        Store(home / "chatrepl.db"),
        token=settings.token(),
    )
    return Repl(chat, input=pipe, output=DummyOutput()), out


def last_sent(server: ChatServer) -> list[str]:
    return [m["content"] for m in server.requests[-1].body["messages"]]


def test_retry_replaces_the_last_answer(
    server: ChatServer, tmp_path: Path, pipe: PipeInput
) -> None:
    r, _ = repl_for(Settings(endpoint=Endpoint(url=server.url)), tmp_path, pipe)
    pipe.send_text("first\r/retry\r\x04")
    r.run()
    assert last_sent(server) == ["first"]  # asked again without the old answer
    assert [m.content[:8] for m in r.chat.conversation.messages] == ["first", "Answer 2"]
    assert r.chat.store is not None
    saved = r.chat.store.load(r.chat.conversation.id).messages
    assert [m.content[:8] for m in saved] == ["first", "Answer 2"]


def test_undo_takes_back_and_offers_the_question(
    server: ChatServer, tmp_path: Path, pipe: PipeInput
) -> None:
    r, out = repl_for(Settings(endpoint=Endpoint(url=server.url)), tmp_path, pipe)
    pipe.send_text("one\rtwo\r/undo\r")
    pipe.send_text(" more\r\x04")  # the question is back at the prompt: edit, send
    r.run()
    assert last_sent(server)[-1] == "two more"
    assert len(r.chat.conversation.messages) == 4
    assert "Took back the last exchange" in out.getvalue()


def test_undo_with_nothing_says_so(server: ChatServer, tmp_path: Path, pipe: PipeInput) -> None:
    r, out = repl_for(Settings(endpoint=Endpoint(url=server.url)), tmp_path, pipe)
    pipe.send_text("/undo\r/retry\r/resume zzz\r/clear\r\x04")
    r.run()
    text = out.getvalue()
    assert text.count("There is no exchange to take back yet.") == 1  # /undo's words
    assert "There is no question to ask again yet. Ask one first." in text  # /retry's
    assert "No conversation matches zzz. Type /list to see them." in text
    assert "--list" not in text  # the REPL's own command, not the command line's
    assert "\x1b[H\x1b[2J\x1b[3J" in text and "New conversation." in text  # /clear
    assert server.requests == []


def test_the_first_run_hint_while_nothing_is_saved(
    server: ChatServer, tmp_path: Path, pipe: PipeInput
) -> None:
    hint = "/help for commands, Ctrl-D to leave, !cmd runs a command, @file attaches a file."
    r, _ = repl_for(Settings(endpoint=Endpoint(url=server.url)), tmp_path, pipe)
    r.greet()
    assert "".join(text for _, text in r.message()) == f"{hint}\n> "  # above the prompt
    pipe.send_text("hello\r\x04")
    r.run()
    assert "".join(text for _, text in r.message()) == "> "  # once
    again, _ = repl_for(Settings(endpoint=Endpoint(url=server.url)), tmp_path, pipe)
    again.greet()
    assert "".join(text for _, text in again.message()) == "> "  # something is saved


def test_system_prompt_is_sent_and_saved(
    server: ChatServer, tmp_path: Path, pipe: PipeInput
) -> None:
    r, out = repl_for(Settings(endpoint=Endpoint(url=server.url)), tmp_path, pipe)
    pipe.send_text("hello\r/system Answer in French.\r/system\rencore\r\x04")
    r.run()
    sent = server.requests[-1].body["messages"]
    assert sent[0] == {"role": "system", "content": "Answer in French."}
    assert "Answer in French." in out.getvalue()
    assert r.chat.store is not None
    assert r.chat.store.load(r.chat.conversation.id).system == "Answer in French."


def test_endpoint_and_model_switch(server: ChatServer, tmp_path: Path, pipe: PipeInput) -> None:
    other = ChatServer().start()
    try:
        settings = Settings(
            endpoint=Endpoint(url=server.url),
            endpoints={
                "other": Endpoint(
                    name="other",
                    url=other.url,
                    api="openai",
                    model="m1",
                    token_command=f"{sys.executable} -c \"print('tok-9')\"",
                )
            },
        )
        other.add(
            Script(pieces=[fixture_bytes("openai_basic.sse")]),
            Script(pieces=[fixture_bytes("openai_basic.sse")]),
        )
        r, out = repl_for(settings, tmp_path, pipe)
        pipe.send_text("/endpoint other\rq1\r/model m2\rq2\r/model\r/endpoint\r\x04")
        r.run()
    finally:
        other.stop()
    assert server.requests == []
    assert [q.body["model"] for q in other.requests] == ["m1", "m2"]
    assert other.requests[0].headers["Authorization"] == "Bearer tok-9"
    text = out.getvalue()
    assert "Model set to m2 for other." in text and f"other: {other.url} (api openai" in text


def test_a_model_chosen_for_an_endpoint_stays_chosen_for_the_session(
    server: ChatServer, other: ChatServer, tmp_path: Path, pipe: PipeInput
) -> None:
    """`/model` chooses for this endpoint: back on it later (`/endpoint`, `/retry @a`),
    the session goes on with that model, not the config's."""
    settings = Settings(
        endpoint=Endpoint(name="a", url=server.url, api="openai", model="m-one"),
        endpoints={
            "a": Endpoint(name="a", url=server.url, api="openai", model="m-one"),
            "b": Endpoint(name="b", url=other.url, api="openai", model="m-b"),
        },
    )
    r, _ = repl_for(settings, tmp_path, pipe)
    pipe.send_text("/model m-two\r/endpoint b\rq1\r/retry @a\r/endpoint a\rq2\r\x04")
    r.run()
    assert [q.body["model"] for q in other.requests] == ["m-b"]
    assert [q.body["model"] for q in server.requests] == ["m-two", "m-two"]
    assert r.chat.endpoint.model == "m-two"


def test_unknown_endpoint_is_one_line(server: ChatServer, tmp_path: Path, pipe: PipeInput) -> None:
    r, out = repl_for(Settings(endpoint=Endpoint(url=server.url)), tmp_path, pipe)
    pipe.send_text("/endpoint nowhere\r\x04")
    r.run()
    assert "Unknown endpoint nowhere (none are configured)." in out.getvalue()


def test_markdown_off_shows_the_raw_text(
    server: ChatServer, tmp_path: Path, pipe: PipeInput
) -> None:
    server.add(Script(pieces=[b'data: {"response":"**bold** `x`"}\n\ndata: [DONE]\n\n']))
    r, out = repl_for(Settings(endpoint=Endpoint(url=server.url)), tmp_path, pipe)
    pipe.send_text("/markdown off\rq\r/markdown\r\x04")
    r.run()
    text = out.getvalue()
    assert "**bold** `x`" in text and "Markdown is off." in text


def test_stats_of_the_last_answer_and_the_conversation(
    server: ChatServer, tmp_path: Path, pipe: PipeInput
) -> None:
    server.add(Script(pieces=[fixture_bytes("cf_native_padded_usage.sse")]))
    r, out = repl_for(Settings(endpoint=Endpoint(url=server.url)), tmp_path, pipe)
    pipe.send_text("/stats\rq\r/stats\rno usage here\r/stats\r\x04")
    r.run()
    text = out.getvalue()
    assert "No answers yet in this conversation." in text
    assert "tokens not reported by the server" in text  # the echo answer has no usage
    assert "24 prompt and 3 answer tokens" in text and "1 answer, 3 answer tokens" in text


def test_copy_through_a_clipboard_command(
    server: ChatServer, tmp_path: Path, pipe: PipeInput, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "clipboard.txt"
    fake = tmp_path / "fake-copy"
    fake.write_text(
        f"#!{sys.executable}\nimport sys\nopen({str(target)!r}, 'w').write(sys.stdin.read())\n"
    )
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setattr(clipboard, "COMMANDS", ((str(fake),),))
    r, out = repl_for(Settings(endpoint=Endpoint(url=server.url)), tmp_path, pipe)
    pipe.send_text("/copy\rsomething\r/copy\r\x04")
    r.run()
    assert "There is no answer to copy yet." in out.getvalue()
    assert target.read_text().startswith("Answer 1: you said *something*.")


def test_osc52_and_its_tmux_wrapping(tmp_path: Path) -> None:
    written: list[str] = []
    how = clipboard.copy("hé", written.append, env={"TERM": "xterm-kitty"}, interactive=True)
    assert how == "the terminal (OSC 52)" and written == ["\x1b]52;c;aMOp\x07"]
    no_tmux = {"TMUX": "/tmp/t,1,0", "PATH": str(tmp_path)}  # no tmux command to confirm
    how = clipboard.copy("hé", written.append, env=no_tmux, interactive=True)
    assert written[1] == "\x1bPtmux;\x1b\x1b]52;c;aMOp\x07\x1b\\"
    assert "may not pass on" in how  # not claimed as copied


def test_under_tmux_the_text_goes_into_tmux_s_buffer(tmp_path: Path) -> None:
    """tmux drops OSC 52 by default: the text is loaded into its own buffer too."""
    target = tmp_path / "buffer.txt"
    fake = tmp_path / "tmux"
    fake.write_text(
        f"#!{sys.executable}\nimport sys\n"
        f"assert sys.argv[1:] == ['load-buffer', '-w', '-']\n"
        f"open({str(target)!r}, 'w').write(sys.stdin.read())\n"
    )
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    written: list[str] = []
    env = {"TMUX": "/tmp/t,1,0", "PATH": str(tmp_path)}
    how = clipboard.copy("hé there", written.append, env=env, interactive=True)
    assert target.read_text() == "hé there"
    assert how.startswith("tmux's paste buffer") and len(written) == 1


def test_no_clipboard_at_all_is_one_clear_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(clipboard.shutil, "which", lambda name, path=None: None)
    with pytest.raises(ChatreplError, match="Could not copy"):
        clipboard.copy("x", print, env={"TERM": "xterm"}, interactive=True)


def test_toolbar_shows_endpoint_title_count_and_speed(
    server: ChatServer, tmp_path: Path, pipe: PipeInput
) -> None:
    server.add(Script(pieces=[fixture_bytes("cf_openai_style.sse")]))
    r, _ = repl_for(Settings(endpoint=Endpoint(url=server.url)), tmp_path, pipe)
    assert "new conversation" in r.session.toolbar() and "0 messages" in r.session.toolbar()
    pipe.send_text("a question\r\x04")
    r.run()
    bar = r.session.toolbar()
    assert "default: 127.0.0.1:" in bar and "a question" in bar and "2 messages" in bar
    assert "tok/s" in bar
    speed = bar.rsplit("  │  ", 1)[-1].removeprefix("last answer ")
    for width in (50, 60, 70):  # the host and the title give way; the counts stay whole
        narrow = r.session.toolbar(width)
        assert len(narrow) <= width, width
        assert re.search(rf"2 messages +│ +{re.escape(speed)}$", narrow), width
    assert r.session.toolbar(80).startswith(" default: 127.0.0.1:") and "…" in r.session.toolbar(80)


def test_help_lists_the_commands_in_groups_then_the_keys(
    server: ChatServer, tmp_path: Path, pipe: PipeInput
) -> None:
    r, out = repl_for(Settings(endpoint=Endpoint(url=server.url)), tmp_path, pipe)
    pipe.send_text("/help\r\x04")
    r.run()
    text = out.getvalue()
    titles = ["Conversations", "Branches", "Files and code", "This session", "Keys"]
    places = [text.index(title) for title in titles]
    assert places == sorted(places)
    for key in ("@path", "!command", "//text", "Ctrl-X Ctrl-E", "Alt+Left, Alt+Right"):
        assert key in text


def test_help_for_one_command(server: ChatServer, tmp_path: Path, pipe: PipeInput) -> None:
    r, out = repl_for(Settings(endpoint=Endpoint(url=server.url)), tmp_path, pipe)
    pipe.send_text("/help retry\r/help nope\r\x04")
    r.run()
    text = out.getvalue()
    assert "Ask the last question again" in text and "Unknown command /nope" in text
