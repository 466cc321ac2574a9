"""Conversations that survive anything: kills, signals, full disks, many processes."""

from __future__ import annotations

import io
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pexpect
import pytest
from prompt_toolkit.application import create_app_session
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from chatrepl.render.drawing import make_console
from chatrepl.repl import Repl
from chatrepl.schema import _V1
from chatrepl.store import Store
from tests.conftest import clean_env
from tests.helpers import make_chat, run_chatrepl
from tests.server import ChatServer
from tests.test_pty import finish, prompt, spawn

TIMEOUT = 30


def messages(home: Path) -> list[tuple[str, str, str]]:
    """Every message as saved: (role, text, status); a streaming answer's text is its
    content followed by the chunks appended at each checkpoint."""
    with sqlite3.connect(home / "chatrepl.db") as db:
        rows = db.execute("SELECT id, role, content, status FROM messages ORDER BY id")
        return [
            (
                role,
                content
                + "".join(
                    text
                    for (text,) in db.execute(
                        "SELECT text FROM message_chunks WHERE message_id = ? ORDER BY id", (mid,)
                    )
                ),
                status,
            )
            for mid, role, content, status in rows.fetchall()
        ]


def env_for(home: Path, url: str) -> dict[str, str]:
    return clean_env(home, CHATREPL_URL=url)


# ------------------------------------------------------------------ kills and signals


def test_kill_9_mid_answer_keeps_question_and_text(server: ChatServer, chatrepl_home: Path) -> None:
    child = spawn(server, chatrepl_home)
    prompt(child)
    child.send("be slow\r")
    child.expect_exact("word12 ")  # 1.2 s in: at least two checkpoints have been written
    os.kill(child.pid, signal.SIGKILL)
    child.expect(pexpect.EOF)
    child.close()
    rows = messages(chatrepl_home)
    assert rows[0] == ("user", "be slow", "complete")
    role, content, status = rows[1]
    assert role == "assistant" and status == "streaming"  # as the dead process left it
    assert content.startswith("word0 word1 word2 word3 word4 word5")

    again = spawn(server, chatrepl_home, "-c")
    again.expect_exact("[interrupted]")  # read back as interrupted, and shown so
    prompt(again)
    again.send("go on\r")
    again.expect_exact("Answer")
    prompt(again)
    again.sendcontrol("d")
    assert finish(again) == 0
    sent = server.requests[-1].body["messages"]
    assert sent[0]["content"] == "be slow" and sent[1]["content"].startswith("word0 word1")
    assert sent[2]["content"] == "go on"
    # the next chatrepl to open the store closed the abandoned answer for good
    with sqlite3.connect(chatrepl_home / "chatrepl.db") as db:
        row = db.execute("SELECT content, status, pid FROM messages WHERE id = 2").fetchone()
        chunks = db.execute("SELECT COUNT(*) FROM message_chunks WHERE message_id = 2").fetchone()[
            0
        ]
    assert row[1:] == ("interrupted", None) and row[0].startswith("word0 word1")
    assert chunks == 0
    found = run_chatrepl(chatrepl_home, "--search", "word5")  # and indexed it
    assert found.returncode == 0 and "[word5]" in found.stdout


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGHUP, 129), (signal.SIGTERM, 143)])
def test_hangup_and_terminate_save_the_partial_answer(
    server: ChatServer, chatrepl_home: Path, signum: int, code: int
) -> None:
    child = spawn(server, chatrepl_home)
    prompt(child)
    child.send("be slow\r")
    child.expect_exact("word3 ")
    child.kill(signum)
    child.expect(pexpect.EOF)
    tail = child.before
    child.close()
    assert child.exitstatus == code
    assert tail.rfind("\x1b[?25h") > tail.rfind("\x1b[?25l")  # the cursor is visible again
    role, content, status = messages(chatrepl_home)[1]
    assert (role, status) == ("assistant", "interrupted")
    assert content.startswith("word0 word1 word2 word3")


def test_terminate_at_the_prompt_exits_143(server: ChatServer, chatrepl_home: Path) -> None:
    child = spawn(server, chatrepl_home)
    prompt(child)
    child.kill(signal.SIGTERM)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 143


# ------------------------------------------------------------------ many processes


def test_eight_one_shots_at_once(server: ChatServer, chatrepl_home: Path) -> None:
    env = env_for(chatrepl_home, server.url)
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "chatrepl", f"question {n}"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for n in range(8)
    ]
    outputs = [p.communicate(timeout=TIMEOUT) for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert all(err == b"" for _, err in outputs), outputs
    rows = messages(chatrepl_home)
    assert len(rows) == 16 and all(status == "complete" for *_, status in rows)
    assert sorted(c for r, c, _ in rows if r == "user") == [f"question {n}" for n in range(8)]


def test_two_repls_at_once_and_on_one_conversation(server: ChatServer, chatrepl_home: Path) -> None:
    first = spawn(server, chatrepl_home)
    second = spawn(server, chatrepl_home)
    for child, text in ((first, "from the first"), (second, "from the second")):
        prompt(child)
        child.send(text + "\r")
    for child in (first, second):
        child.expect_exact("Answer")
        prompt(child)
    # a third resumes the newest conversation while its REPL still has it open
    third = spawn(server, chatrepl_home, "-c")
    third.expect_exact("is open in another chatrepl")
    third.expect_exact("continuing on a copy")
    prompt(third)
    third.send("on the copy\r")
    third.expect_exact("Answer")
    prompt(third)
    for child in (first, second, third):
        child.sendcontrol("d")
        assert finish(child) == 0
    store = Store(chatrepl_home / "chatrepl.db")
    convs = store.list_conversations()
    assert len(convs) == 3
    copy = store.load(convs[0].id)
    assert copy.title.endswith("(copy)")
    original = store.load(convs[1].id)  # the newest before the copy: the one resumed
    assert copy.messages[0].content == original.messages[0].content
    assert copy.messages[0].content in ("from the first", "from the second")
    assert [m.content for m in copy.messages][::2] == [copy.messages[0].content, "on the copy"]
    assert "on the copy" not in [m.content for m in original.messages]  # left alone
    original = store.load(store.resolve(convs[1].id))
    assert len(original.messages) == 2  # nothing of the copy's turns leaked into it
    assert "database is locked" not in first.before + second.before + third.before


# ------------------------------------------------------------------ full and read-only


def test_full_database_goes_on_in_memory_then_catches_up(
    server: ChatServer, tmp_path: Path
) -> None:
    chat, _ = make_chat(server.url, tmp_path, context=100_000)  # nothing trimmed here
    assert chat.store is not None
    chat.ask("first")  # saved
    db = chat.store._db
    pages = db.execute("PRAGMA page_count").fetchone()[0]
    db.execute(f"PRAGMA max_page_count = {pages}")  # SQLite: database or disk is full
    warn = io.StringIO()
    chat.renderer.err_console = make_console(warn, width=200)
    chat.ask("x" * 20000)
    assert chat.ask("third").status == "complete"
    lines = [ln for ln in warn.getvalue().splitlines() if ln.strip()]
    assert len(lines) == 2  # one line per turn, not one per write
    assert "Could not save the conversation: Database or disk is full." in lines[0]
    assert len(chat.conversation.messages) == 6  # nothing lost in memory
    db.execute("PRAGMA max_page_count = 1073741823")
    chat.ask("fourth")  # saving works again: the missed turns are written first, in order
    assert [c for _, c, _ in messages(tmp_path)] == [m.content for m in chat.conversation.messages]


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "tiny"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", str(mount)],
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip("mounting a small tmpfs needs privileges this machine does not give")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def test_disk_full_is_one_line_and_the_answer_still_shows(
    server: ChatServer, tiny_disk: Path
) -> None:
    home, url = tiny_disk, server.url
    assert run_chatrepl(home, "warm up", url=url).returncode == 0
    filler = tiny_disk / "filler"
    with open(filler, "wb", buffering=0) as f:  # unbuffered: closing it writes nothing
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        except OSError:
            pass
    done = run_chatrepl(home, "--context", "200000", url=url, stdin="y" * 300_000)
    assert "Answer 2" in done.stdout
    errors = [ln for ln in done.stderr.splitlines() if ln.strip()]
    assert len(errors) == 1 and "Could not save the conversation:" in errors[0]
    assert "No space left on device" in errors[0]
    filler.unlink()
    again = run_chatrepl(home, "after", url=url)
    assert again.returncode == 0 and again.stderr == ""


def test_read_only_folder_is_one_line(server: ChatServer, tiny_disk: Path) -> None:
    home, url = tiny_disk, server.url
    run_chatrepl(home, "first", url=url, check=True)
    subprocess.run(["mount", "-o", "remount,ro", str(tiny_disk)], check=True)
    done = run_chatrepl(home, "second", url=url)
    assert "Answer 2" in done.stdout
    assert "Traceback" not in done.stderr
    lines = [ln for ln in done.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and ("read-only" in lines[0].lower() or "readonly" in lines[0].lower())


# ------------------------------------------------------------------ versions and damage


def test_a_version_1_database_is_migrated_with_its_text_searchable(tmp_path: Path) -> None:
    path = tmp_path / "chatrepl.db"
    with sqlite3.connect(path) as db:
        db.executescript(_V1)
        db.execute("INSERT INTO conversations VALUES ('old1', 'old', '', 1, 1, 1)")
        db.execute(
            "INSERT INTO messages(conversation_id, role, content, status, created) "
            "VALUES ('old1', 'user', 'an ancient question about otters', 'complete', 1)"
        )
        db.execute("PRAGMA user_version = 1")
    store = Store(path)
    assert [h[0] for h in store.search("otters")] == ["old1"]
    assert store.load("old1").messages[0].content == "an ancient question about otters"


def test_damaged_database_chat_goes_on_unsaved_and_list_says_why(
    server: ChatServer, chatrepl_home: Path
) -> None:
    chatrepl_home.mkdir(parents=True)
    db = chatrepl_home / "chatrepl.db"
    db.write_bytes(b"garbage" * 1000)
    home, url = chatrepl_home, server.url
    done = run_chatrepl(home, "hello", url=url)
    assert done.returncode == 0 and "Answer 1" in done.stdout
    assert "is damaged" in done.stderr and "move it aside" in done.stderr
    listed = run_chatrepl(home, "--list", url=url)
    assert listed.returncode == 1 and "is damaged" in listed.stderr
    assert db.read_bytes() == b"garbage" * 1000
    shutil.move(db, chatrepl_home / "damaged.db")  # the recovery the message suggests
    fresh = run_chatrepl(home, "again", url=url)
    assert fresh.returncode == 0 and fresh.stderr == ""


# ------------------------------------------------------------------ history


def test_input_history_is_shared_live_between_sessions(server: ChatServer, tmp_path: Path) -> None:
    with create_pipe_input() as inp, create_app_session(input=inp, output=DummyOutput()):
        chat_a, _ = make_chat(server.url, tmp_path)
        chat_b, _ = make_chat(server.url, tmp_path)
        a = Repl(chat_a, input=inp, output=DummyOutput())
        b = Repl(chat_b, input=inp, output=DummyOutput())
        inp.send_text("hello from b\r\x04")
        b.run()  # b's history is loaded now
        inp.send_text("typed in a\r\x04")
        a.run()
        b.exiting = False
        inp.send_text("\x1b[A\r\x04")  # Up in b: a's line, typed after b loaded
        b.run()
    assert server.requests[-1].body["messages"][-1]["content"] == "typed in a"


def test_many_large_pastes_keep_history_whole(tmp_path: Path) -> None:
    """Processes writing large pastes at once: every entry whole, none torn or mixed."""
    store = Store(tmp_path / "chatrepl.db")
    paste = "".join(f"line {n} of a large paste\n" for n in range(5000))
    code = (
        "import sys; from pathlib import Path; from chatrepl.store import Store\n"
        "s = Store(Path(sys.argv[1])); text = sys.stdin.read()\n"
        "for _ in range(5): s.add_history(text)\n"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", code, str(store.path)], stdin=subprocess.PIPE)
        for _ in range(4)
    ]
    for n, proc in enumerate(procs):
        assert proc.stdin is not None
        proc.stdin.write((paste + f"end {n}").encode())
        proc.stdin.close()
    assert all(p.wait(timeout=TIMEOUT) == 0 for p in procs)
    with sqlite3.connect(store.path) as db:
        texts = [row[0] for row in db.execute("SELECT text FROM history")]
    assert len(texts) == 20
    assert sorted(texts) == sorted(paste + f"end {n}" for n in range(4) for _ in range(5))
