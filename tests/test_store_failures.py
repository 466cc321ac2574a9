"""A database that is damaged, locked by another program or read-only, and a data folder
others can read: found at open, said in one line, and nothing written where it must
not be (issue 23, rows 5, 6, 7 and 11)."""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import random
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from prompt_toolkit.input import PipeInput

from chatrepl.config import Endpoint, Settings
from chatrepl.conversation import Conversation
from chatrepl.errors import StoreError
from chatrepl.render.drawing import make_console
from chatrepl.store import Store
from tests.helpers import run_chatrepl
from tests.server import ChatServer
from tests.test_repl_commands import repl_for


def lines(text: str) -> list[str]:
    return [ln for ln in text.splitlines() if ln.strip()]


def answered_with_one_line(done: object) -> str:
    """The one line on stderr of a run that answered (exit 0, an answer on stdout)."""
    returncode, stdout, stderr = (getattr(done, k) for k in ("returncode", "stdout", "stderr"))
    assert returncode == 0 and "Answer" in stdout, stderr
    (line,) = lines(stderr)
    return str(line)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def saved_store(home: Path, url: str, *questions: str) -> tuple[Path, str]:
    """A data folder holding one conversation asked through the real CLI; its id."""
    for n, question in enumerate(questions):
        run_chatrepl(home, *(["-c"] if n else []), question, url=url, check=True)
    store = Store(home / "chatrepl.db")
    cid = store.latest()
    store.close()
    assert cid is not None
    return home / "chatrepl.db", cid


# ------------------------------------------------------------------ row 5: damaged


def damage(path: Path) -> None:
    """Overwrite every page after the first with noise: the header (and the schema on
    page 1) stay intact, the data does not."""
    data = bytearray(path.read_bytes())
    page = int.from_bytes(data[16:18], "big")
    noise = random.Random(5).randbytes(len(data) - page)
    data[page:] = noise
    path.write_bytes(bytes(data))


def test_the_check_reads_the_file_mapped_and_then_unmapped(tmp_path: Path) -> None:
    """`quick_check` reads the file through a memory map (a long answer's pages, without
    a copy of each), finds damage there as well, and the session that follows reads and
    writes as before, without the map."""
    path = tmp_path / "chatrepl.db"
    store = Store(path)
    conversation = Conversation()
    store.add_message(conversation, conversation.add("user", "q"))
    store.add_message(conversation, conversation.add("assistant", "x" * 3_000_000))
    store.close()
    store = Store(path)
    assert store._db.execute("PRAGMA mmap_size").fetchone()[0] == 0
    store.close()
    data = bytearray(path.read_bytes())
    middle = len(data) // 2 // 4096 * 4096  # a page of the long answer's chain
    data[middle : middle + 4096] = random.Random(7).randbytes(4096)
    path.write_bytes(bytes(data))
    with pytest.raises(StoreError, match="is damaged"):
        Store(path)


def test_a_damaged_database_is_refused_at_open_and_left_untouched(
    server: ChatServer, chatrepl_home: Path
) -> None:
    path, cid = saved_store(chatrepl_home, server.url, "about otters", "and beavers")
    damage(path)
    before = digest(path)
    for args in (["--list"], ["--search", "otters"], ["--show", cid]):
        done = run_chatrepl(chatrepl_home, *args, url=server.url)
        assert done.returncode == 1, (args, done.stderr)
        (line,) = lines(done.stderr)
        assert f"The conversation database {path} is damaged" in line
        assert f"sqlite3 {path} .recover" in line and "move it aside" in line
        assert "Traceback" not in done.stderr
    done = run_chatrepl(chatrepl_home, "a new question", url=server.url)
    assert done.returncode == 0 and "Answer" in done.stdout  # the chat goes on, unsaved
    (line,) = lines(done.stderr)
    assert "is damaged" in line and "This session is not saved for now." in line
    assert digest(path) == before  # nothing was written into it


def fail_later(path: Path, cid: str) -> None:
    """Damage that `quick_check` cannot see: text that is not UTF-8 (a flipped bit in
    a message) and a full-text index whose blocks are noise (the index a search built)."""
    store = Store(path)
    store.search("otters")
    store.close()
    with sqlite3.connect(path) as db:
        db.execute(
            "UPDATE messages SET content = CAST(x'6f7474657273ff' AS TEXT) "
            "WHERE conversation_id = ? AND role = 'user'",
            (cid,),
        )
        db.execute("UPDATE messages_fts_data SET block = x'ffffffffffff' WHERE id > 10")
        assert db.execute("PRAGMA quick_check").fetchall() == [("ok",)]


def test_a_store_that_fails_later_is_one_line_on_the_command_line(
    server: ChatServer, chatrepl_home: Path
) -> None:
    path, cid = saved_store(chatrepl_home, server.url, "about otters")
    fail_later(path, cid)
    for args in (["--show", cid], ["--search", "otters"]):
        done = run_chatrepl(chatrepl_home, *args, url=server.url)
        assert done.returncode == 1, (args, done.stderr)
        (line,) = lines(done.stderr)
        assert "Traceback" not in done.stderr
        assert line.startswith("chatrepl: ") and str(path) in line, line


def test_a_store_that_fails_later_is_one_line_in_the_repl(
    server: ChatServer, chatrepl_home: Path, pipe: PipeInput
) -> None:
    path, cid = saved_store(chatrepl_home, server.url, "about otters")
    fail_later(path, cid)
    r, out = repl_for(Settings(endpoint=Endpoint(url=server.url)), chatrepl_home, pipe)
    err = io.StringIO()
    r.renderer.err_console = make_console(err, width=300)
    pipe.send_text(f"/resume {cid}\r/search otters\rstill here\r\x04")
    r.run()
    resumed, searched = (ln for ln in lines(err.getvalue()) if str(path) in ln)
    assert resumed.startswith(f"Could not read the conversation database {path}: ")
    assert searched.startswith(f"The conversation database {path} is damaged")
    assert "Answer" in out.getvalue()  # the session went on


# ------------------------------------------------------------------ row 6: locked

HOLD = """\
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("PRAGMA locking_mode = EXCLUSIVE")
db.execute("BEGIN EXCLUSIVE")
db.execute("UPDATE conversations SET title = title")
print("held", flush=True)
sys.stdin.read()  # until the test closes stdin
db.execute("ROLLBACK")
"""


@contextlib.contextmanager
def holding(path: Path, script: str, ready: str) -> Iterator[None]:
    """A second process that runs `script` on the store at `path` (a lock it holds
    until the block ends), once it has said `ready`."""
    holder = subprocess.Popen(
        [sys.executable, "-c", script, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == ready + "\n"
        yield
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        assert holder.wait(timeout=10) == 0


@pytest.fixture
def locked(server: ChatServer, chatrepl_home: Path) -> Iterator[Path]:
    """A saved store that a second process holds under an exclusive lock."""
    path, _ = saved_store(chatrepl_home, server.url, "before the lock")
    with holding(path, HOLD, "held"):
        yield path


def test_a_locked_database_is_one_line_at_once_for_list_and_search(
    server: ChatServer, chatrepl_home: Path, locked: Path
) -> None:
    for args in (["--list"], ["--search", "lock"]):
        done = run_chatrepl(chatrepl_home, *args, url=server.url)
        assert done.returncode == 1
        (line,) = lines(done.stderr)
        assert f"{locked} is locked by another program (waited 0.1 s)" in line


def test_a_locked_database_waits_two_seconds_then_goes_on_unsaved(
    server: ChatServer, chatrepl_home: Path, locked: Path
) -> None:
    done = run_chatrepl(chatrepl_home, "while locked", url=server.url)
    assert done.returncode == 0 and "Answer" in done.stdout
    (line,) = lines(done.stderr)
    assert f"{locked} is locked by another program (waited 2 s)" in line
    assert "This session is not saved for now." in line


WRITING = """\
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN IMMEDIATE")
print("writing", flush=True)
sys.stdin.read()  # until the test closes stdin
db.execute("ROLLBACK")
"""


def test_continuing_under_a_lock_says_how_long_it_waited_in_its_first_line(
    server: ChatServer, chatrepl_home: Path
) -> None:
    """With -c the conversation's claim is the first save: it waits for the lock and
    fails unsaid, so the question's save, which fails at once, is the first line seen
    (found by a tester: it said "waited 0 s" after a run of 2.25 s)."""
    path, _ = saved_store(chatrepl_home, server.url, "before")
    with holding(path, WRITING, "writing"):
        done = run_chatrepl(chatrepl_home, "-c", "more", url=server.url)
    assert answered_with_one_line(done) == (
        f"Could not save the conversation: {path} is still locked by another program "
        "(waited 2 s before). The conversation goes on unsaved for now."
    )


def test_a_lock_met_while_saving_is_waited_for_once_then_not_until_saving_works(
    tmp_path: Path,
) -> None:
    store = Store(tmp_path / "chatrepl.db", wait=0.5)
    conversation = Conversation()
    store.add_message(conversation, conversation.add("user", "before"))

    def attempt() -> str:
        message = conversation.add("user", "during")
        try:
            store.add_message(conversation, message)
        except StoreError as exc:
            return str(exc)
        return ""

    for _ in range(2):  # the second lock, after saving worked again, is waited for again
        holder = subprocess.Popen(
            [sys.executable, "-c", WRITING, str(store.path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert holder.stdout is not None and holder.stdout.readline() == "writing\n"
        said = [attempt() for _ in range(3)]
        assert said[0].endswith("is locked by another program (waited 0.5 s).")
        still = "is still locked by another program (waited 0.5 s before)."
        assert all(s.endswith(still) for s in said[1:])
        assert holder.stdin is not None
        holder.stdin.close()
        assert holder.wait(timeout=10) == 0
        assert attempt() == ""  # saved again


# ------------------------------------------------------------------ row 7: read-only


def test_a_read_only_store_reads_and_refuses_to_save_in_words_that_say_so(
    tmp_path: Path,
) -> None:
    path = tmp_path / "chatrepl.db"
    store = Store(path)
    conversation = Conversation()
    store.add_message(conversation, conversation.add("user", "a question about otters"))
    store.close()
    before = digest(path)
    # As root every file can be written, so the file system cannot say no here: the
    # store is told what a non-root user's check would find.
    ro = Store(path, writable=False)
    assert ro.read_only
    assert [s.id for s in ro.list_conversations()] == [conversation.id]
    assert ro.search("otters")[0][0] == conversation.id
    assert ro.load(conversation.id).messages[0].content == "a question about otters"
    again = Conversation()
    with pytest.raises(StoreError, match=f"^Could not save the conversation: {path} is read-"):
        ro.add_message(again, again.add("user", "more"))
    ro.close()
    assert digest(path) == before


def chattr(flag: str, path: Path) -> None:
    done = subprocess.run(["chattr", flag, str(path)], capture_output=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"chattr {flag} is not allowed here: {done.stderr.decode().strip()}")


@pytest.mark.parametrize("what", ["folder", "file"])
def test_a_read_only_folder_or_file_lists_searches_shows_and_chats_in_memory(
    server: ChatServer, chatrepl_home: Path, what: str
) -> None:
    """The immutable attribute stops root too: the folder (or the database file) really
    cannot be written."""
    path, cid = saved_store(chatrepl_home, server.url, "about otters")
    before = digest(path)
    target = chatrepl_home if what == "folder" else path
    chattr("+i", target)
    try:
        assert not os.access(target, os.W_OK)
        listed = run_chatrepl(chatrepl_home, "--list", url=server.url)
        assert listed.returncode == 0 and cid in listed.stdout and listed.stderr == ""
        found = run_chatrepl(chatrepl_home, "--search", "otters", url=server.url)
        assert found.returncode == 0 and cid in found.stdout and found.stderr == ""
        shown = run_chatrepl(chatrepl_home, "--show", cid, url=server.url)
        assert shown.returncode == 0 and "about otters" in shown.stdout
        done = run_chatrepl(chatrepl_home, "a new question", url=server.url)
        assert done.returncode == 0 and "Answer" in done.stdout
        (line,) = lines(done.stderr)
        assert line.startswith(f"Could not save the conversation: {target} is read-only")
    finally:
        chattr("-i", target)
    assert digest(path) == before


def as_user_without_override(home: Path, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`chatrepl ARGS` in a process of its own that the folder's modes bind: root's
    power to write anything (CAP_DAC_OVERRIDE) dropped with setpriv when run as root."""
    from tests.helpers import clean_env

    command = [sys.executable, "-m", "chatrepl", *args]
    if os.geteuid() == 0:
        caps = "-dac_override,-dac_read_search"
        command = ["setpriv", f"--bounding-set={caps}", f"--inh-caps={caps}", *command]
    env = clean_env(home, CHATREPL_URL=url)
    try:
        return subprocess.run(command, env=env, capture_output=True, text=True, timeout=30)
    except FileNotFoundError:
        pytest.skip("setpriv is not installed: root would write the folder anyway")


def reads_and_chats_unsaved(home: Path, url: str, cid: str, target: Path) -> None:
    """As a user the modes bind: `--list` and `--search` find `cid`, `--show` shows it,
    and a new question is answered with one line saying `target` is read-only."""
    probe = as_user_without_override(home, url, "--version")
    if probe.returncode != 0:
        pytest.skip(f"cannot drop root's override here: {probe.stderr.strip()}")
    listed = as_user_without_override(home, url, "--list")
    assert (listed.returncode, listed.stderr) == (0, "") and cid in listed.stdout
    found = as_user_without_override(home, url, "--search", "otters")
    assert (found.returncode, found.stderr) == (0, "") and cid in found.stdout
    shown = as_user_without_override(home, url, "--show", cid)
    assert shown.returncode == 0 and "about otters" in shown.stdout
    done = as_user_without_override(home, url, "a new question")
    assert answered_with_one_line(done) == (
        f"Could not save the conversation: {target} is read-only. The conversation goes on unsaved."
    )


def test_a_folder_whose_modes_forbid_writing_lists_searches_shows_and_chats(
    server: ChatServer, chatrepl_home: Path
) -> None:
    """Found by a tester, as the user `nobody`: with a folder of mode 0500 SQLite says
    SQLITE_READONLY_DIRECTORY (not CANTOPEN, as for an immutable folder), and `--list`
    said it could not save."""
    path, cid = saved_store(chatrepl_home, server.url, "about otters")
    before = digest(path)
    chatrepl_home.chmod(0o500)
    try:
        reads_and_chats_unsaved(chatrepl_home, server.url, cid, chatrepl_home)
    finally:
        chatrepl_home.chmod(0o700)
    assert digest(path) == before
    assert sorted(p.name for p in chatrepl_home.iterdir()) == ["chatrepl.db"]


def test_a_database_whose_mode_forbids_writing_gets_no_files_beside_it(
    server: ChatServer, chatrepl_home: Path
) -> None:
    """Found by a tester: with the database at mode 0400 in a folder that can be
    written, SQLite made read-only `-shm` and `-wal` files beside it and left them; once
    the database was writable again, every save failed ("attempt to write a readonly
    database")."""
    path, cid = saved_store(chatrepl_home, server.url, "about otters")
    before = digest(path)
    path.chmod(0o400)
    try:
        reads_and_chats_unsaved(chatrepl_home, server.url, cid, path)
        assert sorted(p.name for p in chatrepl_home.iterdir()) == ["chatrepl.db"]
        assert digest(path) == before
    finally:
        path.chmod(0o600)
    saved = as_user_without_override(chatrepl_home, server.url, "-c", "saved again")
    assert (saved.returncode, saved.stderr) == (0, "")
    assert "saved again" in run_chatrepl(chatrepl_home, "--show", cid).stdout


# ------------------------------------------------------------------ row 11: private


def test_an_open_data_folder_is_made_private_once_with_one_dim_line(
    server: ChatServer, chatrepl_home: Path
) -> None:
    path, _ = saved_store(chatrepl_home, server.url, "hello")
    chatrepl_home.chmod(0o755)
    path.chmod(0o644)
    first = run_chatrepl(chatrepl_home, "--list", url=server.url)
    assert first.returncode == 0
    (line,) = lines(first.stderr)
    assert line == (
        f"Made {chatrepl_home} private (mode 0700, its database files readable by you only): "
        "others could read the conversations in it."
    )
    assert stat.S_IMODE(chatrepl_home.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = run_chatrepl(chatrepl_home, "--list", url=server.url)
    assert again.returncode == 0 and again.stderr == ""


def test_a_read_only_folder_others_could_read_is_not_made_writable(
    server: ChatServer, chatrepl_home: Path
) -> None:
    _path, _ = saved_store(chatrepl_home, server.url, "hello")
    chatrepl_home.chmod(0o555)
    try:
        run_chatrepl(chatrepl_home, "--list", url=server.url, check=True)
        assert stat.S_IMODE(chatrepl_home.stat().st_mode) == 0o500  # others' bits only
    finally:
        chatrepl_home.chmod(0o700)


def test_a_new_store_in_an_open_folder_is_made_private_without_a_word(
    chatrepl_home: Path,
) -> None:
    chatrepl_home.mkdir(mode=0o755)  # as the cache, which shares CHATREPL_HOME, makes it
    chatrepl_home.chmod(0o755)
    done = run_chatrepl(chatrepl_home, "--list")
    assert done.returncode == 0 and done.stderr == ""
    assert stat.S_IMODE(chatrepl_home.stat().st_mode) == 0o700
