"""Files and command output in, code blocks out: the REPL through a pipe, the real CLI,
and a real local server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from prompt_toolkit.input import PipeInput

from chatrepl import clipboard
from chatrepl.attach import Attachment
from chatrepl.config import Endpoint, Settings
from chatrepl.store import Store
from tests.helpers import run_chatrepl
from tests.server import ChatServer
from tests.test_repl_commands import last_sent, repl_for

APP = "def main():\n    return 42\n"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    work = tmp_path / "work"
    (work / "src").mkdir(parents=True)
    (work / "src" / "app.py").write_text(APP)
    (work / "notes.md").write_text("Remember the `answer`.\n")
    (work / "blob.bin").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    monkeypatch.chdir(work)
    return work


def test_file_attaches_to_the_next_question_only(
    server: ChatServer, tmp_path: Path, pipe: PipeInput, project: Path
) -> None:
    r, out = repl_for(Settings(endpoint=Endpoint(url=server.url)), tmp_path, pipe)
    r.handle("/file src/app.py notes.md")
    r.handle("/file")
    prompt = "".join(text for _, text in r.message())
    assert prompt == "📎 src/app.py, 2 lines\n📎 notes.md, 1 line\n> "  # listed above it
    pipe.send_text("what does it do?\rand then?\r\x04")
    r.run()
    first = server.requests[0].body["messages"][-1]["content"]
    assert first.count("return 42") == 1 and first.count("Remember the") == 1
    assert first.index("return 42") < first.index("Remember the") < first.index("what does")
    assert "File src/app.py:\n```python\n" + APP + "```" in first
    assert last_sent(server)[-1] == "and then?"  # sent once, then gone
    text = out.getvalue()
    assert "📎" not in text  # once, above the prompt, not again by each command
    assert "2 attachments will go with your next question" in text
    assert "2 attachments (listed above the prompt) will go with your next question" in text
    assert r.chat.store is not None
    saved = r.chat.store.load(r.chat.conversation.id).messages[0]
    assert saved.content == "what does it do?"
    assert [a.name for a in saved.attachments()] == ["src/app.py", "notes.md"]


def test_at_path_in_a_question_attaches_that_file(
    server: ChatServer, tmp_path: Path, pipe: PipeInput, project: Path
) -> None:
    r, out = repl_for(Settings(endpoint=Endpoint(url=server.url)), tmp_path, pipe)
    pipe.send_text("/file src/app.py\rexplain @src/app.py and @notes.md, mail me@x.org\r\x04")
    r.run()
    sent = last_sent(server)[-1]
    assert sent.count("return 42") == 1  # attached twice, sent once
    assert sent.count("Remember the") == 1
    assert sent.endswith("explain @src/app.py and @notes.md, mail me@x.org")
    assert "📎 notes.md, 1 line" in out.getvalue()


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("look at @blob.bin", "blob.bin is a binary file"),
        ("look at @src/nothing.py", "No such file: src/nothing.py."),
        ("look at @src/", "src/ is a directory."),
    ],
)
def test_a_bad_mention_sends_nothing_and_keeps_the_question(
    server: ChatServer, tmp_path: Path, pipe: PipeInput, project: Path, line: str, message: str
) -> None:
    r, out = repl_for(Settings(endpoint=Endpoint(url=server.url)), tmp_path, pipe)
    pipe.send_text(line + "\r")
    pipe.send_text("\x04")
    r.handle(r.read())
    assert server.requests == []
    assert message in out.getvalue()
    assert r.session.pending == line  # offered again at the next prompt
    assert r.chat.conversation.messages == []


def test_bad_files_attach_nothing(
    server: ChatServer, tmp_path: Path, pipe: PipeInput, project: Path
) -> None:
    r, out = repl_for(Settings(endpoint=Endpoint(url=server.url)), tmp_path, pipe)
    pipe.send_text("/file notes.md missing.txt blob.bin\r/file\r\x04")
    r.run()
    text = out.getvalue()
    assert "No such file: missing.txt." in text and "blob.bin is a binary file" in text
    assert "Nothing was attached." in text and "Nothing is attached." in text


def test_a_file_over_the_cap_is_refused(
    server: ChatServer, tmp_path: Path, pipe: PipeInput, project: Path
) -> None:
    (project / "big.log").write_text("line\n" * 400)  # 2,000 bytes
    settings = Settings(endpoint=Endpoint(url=server.url), max_file_kb=1)
    r, out = repl_for(settings, tmp_path, pipe)
    pipe.send_text("/file big.log\r\x04")
    r.run()
    assert "big.log is 1 KB, over the 1 KB limit for a file." in out.getvalue()
    assert r.session.attached == []


def test_attachments_over_the_window_keep_question_and_files(
    server: ChatServer, tmp_path: Path, pipe: PipeInput, project: Path
) -> None:
    (project / "long.txt").write_text("many words here " * 400)
    settings = Settings(endpoint=Endpoint(url=server.url, context_tokens=1500))
    r, out = repl_for(settings, tmp_path, pipe)
    pipe.send_text("/file long.txt\rsummarise\r")
    pipe.send_text("\x04")
    r.handle(r.read())
    r.handle(r.read())
    assert server.requests == []
    assert "The question and its attachments are about" in out.getvalue()
    assert r.session.pending == "summarise" and [a.name for a in r.session.attached] == ["long.txt"]
    pipe.send_text("\x15/file clear\r")  # Ctrl-U: the question is at the prompt
    r.handle(r.read())
    assert r.session.attached == [] and "Dropped 1 attachment." in out.getvalue()


def test_bang_runs_a_command_and_offers_its_output(
    server: ChatServer, tmp_path: Path, pipe: PipeInput, project: Path
) -> None:
    r, out = repl_for(Settings(endpoint=Endpoint(url=server.url)), tmp_path, pipe)
    pipe.send_text("!printf 'hi\\033[31m red\\n'; exit 4\rwhy red?\r/run true\r\x04")
    r.run()
    text = out.getvalue()
    assert "hi red\n" in text and "\x1b[31m" not in text  # shown sanitized
    assert "Exit status 4." in text
    sent = server.requests[0].body["messages"][-1]["content"]
    assert "(exit status 4):\n```\nhi\x1b[31m red\n```\n\nwhy red?" in sent  # sent as it was
    assert "The command printed nothing; nothing of it is attached." in text
    assert r.session.attached == []


def test_a_doubled_bang_sends_a_message_that_starts_with_one(
    server: ChatServer, tmp_path: Path, pipe: PipeInput, project: Path
) -> None:
    r, out = repl_for(Settings(endpoint=Endpoint(url=server.url)), tmp_path, pipe)
    pipe.send_text("!!important: is this a shell command?\r\x04")
    r.run()
    assert last_sent(server)[-1] == "!important: is this a shell command?"
    assert r.session.attached == [] and "Exit status" not in out.getvalue()


def test_code_blocks_are_numbered_copied_and_saved(
    server: ChatServer,
    tmp_path: Path,
    pipe: PipeInput,
    project: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    copied: list[str] = []
    monkeypatch.setattr(
        clipboard,
        "copy",
        lambda text, write, env=None, interactive=None: copied.append(text) or "x",
    )
    (project / "old.sh").write_text("old\n")
    r, out = repl_for(Settings(endpoint=Endpoint(url=server.url)), tmp_path, pipe)
    pipe.send_text(
        "show two blocks\r/copy code\r/copy code 1\r/copy code 3\r/copy\r"
        "/save out.py 1\r/save old.sh\rn\r/save old.sh\ry\r\x04"
    )
    r.run()
    text = out.getvalue()
    assert "code 1 · python" in text and "code 2 · bash" in text
    assert copied[:2] == ["echo two", 'print("one")']
    assert copied[2].startswith("Answer 1: two blocks.")
    assert "The last answer has 2 code blocks; there is no code block 3." in text
    assert (project / "out.py").read_text() == 'print("one")\n'
    assert "Nothing was written." in text
    assert (project / "old.sh").read_text() == "echo two\n"
    assert text.count("Wrote code block") == 2


def test_no_code_block_is_one_line(server: ChatServer, tmp_path: Path, pipe: PipeInput) -> None:
    r, out = repl_for(Settings(endpoint=Endpoint(url=server.url)), tmp_path, pipe)
    pipe.send_text("/copy code\rhello\r/save x.py\r/copy code zero\r\x04")
    r.run()
    text = out.getvalue()
    assert "There is no answer yet." in text
    assert "The last answer has no code block." in text
    assert "/copy code takes a code block's number (1, 2, ...), not zero." in text


# ---------------------------------------------------------------- the real CLI


def test_one_shot_with_files_prints_the_answer_only(
    server: ChatServer, chatrepl_home: Path, project: Path
) -> None:
    done = run_chatrepl(
        chatrepl_home, "-f", "src/app.py", "--file", "notes.md", "check @src/app.py", url=server.url
    )
    assert done.returncode == 0, done.stderr
    assert (
        done.stdout.startswith("Answer 1:") and "return 42" in done.stdout
    )  # echoed by the server
    assert done.stdout.count("📎") == 0
    sent = last_sent(server)[-1]
    assert sent.count("return 42") == 1 and sent.endswith("check @src/app.py")
    cid = Store(chatrepl_home / "chatrepl.db").list_conversations()[0].id
    shown = run_chatrepl(chatrepl_home, "--show", cid)
    assert (
        "📎 src/app.py, 2 lines" in shown.stdout
        and "return 42" not in shown.stdout.split("Answer 1")[0]
    )
    exported = run_chatrepl(chatrepl_home, "--export", cid).stdout
    assert "```python\n" + APP + "```" in exported
    data = json.loads(run_chatrepl(chatrepl_home, "--export", cid, "--format", "json").stdout)
    assert data["messages"][0]["meta"]["attachments"][1]["text"] == "Remember the `answer`.\n"


def test_one_shot_with_a_bad_file_sends_nothing(
    server: ChatServer, chatrepl_home: Path, project: Path
) -> None:
    done = run_chatrepl(chatrepl_home, "-f", "blob.bin", "q", url=server.url)
    assert done.returncode == 2
    assert done.stderr.strip().startswith("chatrepl: blob.bin is a binary file")
    assert done.stdout == "" and server.requests == []


def test_show_code_prints_code_blocks_for_pipes(
    server: ChatServer, chatrepl_home: Path, project: Path
) -> None:
    run_chatrepl(chatrepl_home, "two blocks please", url=server.url, check=True)
    cid = Store(chatrepl_home / "chatrepl.db").list_conversations()[0].id
    assert run_chatrepl(chatrepl_home, "--show", cid, "--code").stdout == (
        'print("one")\n\necho two\n'
    )
    assert run_chatrepl(chatrepl_home, "--show", cid, "--code", "2").stdout == "echo two\n"
    missing = run_chatrepl(chatrepl_home, "--show", cid, "--code", "3")
    assert missing.returncode == 1 and "there is no code block 3" in missing.stderr
    alone = run_chatrepl(chatrepl_home, "--code")
    assert alone.returncode == 2 and "--code goes with --show ID." in alone.stderr


def test_a_copy_keeps_each_messages_attachments(
    server: ChatServer, tmp_path: Path, project: Path
) -> None:
    """Continuing on a copy (the conversation is open elsewhere) loses no details."""
    import os
    import sqlite3

    from tests.helpers import make_chat

    chat, _ = make_chat(server.url, tmp_path)
    chat.ask("read it", [Attachment("notes.md", "a note\n")])
    chat.release()
    cid = chat.conversation.id
    with sqlite3.connect(tmp_path / "chatrepl.db") as db:  # open in a live process
        db.execute("UPDATE conversations SET owner_pid = ? WHERE id = ?", (os.getppid(), cid))
    other, _ = make_chat(server.url, tmp_path)
    copy = other.load(cid)
    assert other.copied_from is not None and copy.id != cid
    assert copy.messages[0].attachments() == [Attachment("notes.md", "a note\n")]
    assert copy.messages[1].meta.get("seconds") is not None


def test_names_and_output_reach_the_terminal_sanitized(
    server: ChatServer, tmp_path: Path, pipe: PipeInput, project: Path
) -> None:
    (project / "evil\x1b]0;owned\x07.txt").write_text("harmless\n")
    r, out = repl_for(Settings(endpoint=Endpoint(url=server.url)), tmp_path, pipe)
    r.handle("/file evil*")
    assert "📎 evil.txt, 1 line\n" in [text for _, text in r.message()]  # its OSC is gone
    pipe.send_text("!printf 'a\\033[2Jb\\n'\rq\r\x04")
    r.run()
    text = out.getvalue()
    assert "\x1b]0;" not in text and "\x1b[2J" not in text and "ab\n" in text
    sent = last_sent(server)[-1]
    assert "harmless" in sent and "a\x1b[2Jb" in sent  # the model gets the bytes as they were
