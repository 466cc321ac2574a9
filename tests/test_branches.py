"""Alternatives and branches: the tree, the moves between branches, what is sent,
what is saved, migration from earlier databases."""

from __future__ import annotations

import io
import json
import re
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prompt_toolkit.input import PipeInput

from chatrepl import branches, tree, wire
from chatrepl.chat import Chat
from chatrepl.config import Endpoint, Settings
from chatrepl.conversation import Conversation, to_json, to_markdown
from chatrepl.errors import ChatreplError
from chatrepl.render import Renderer
from chatrepl.render.drawing import make_console
from chatrepl.schema import SCHEMA_VERSION
from chatrepl.store import Store
from tests.helpers import make_chat, run_chatrepl
from tests.server import ChatServer
from tests.test_repl_commands import last_sent, repl_for

FIXTURES = Path(__file__).parent / "fixtures"


def contents(messages: list[Any]) -> list[str]:
    return [m.content for m in messages]


# ---------------------------------------------------------------- the tree


def test_tree_lines_draw_where_the_conversation_forks() -> None:
    c = Conversation()
    c.add("user", "first question")
    c.add("assistant", "answer one")
    c.messages = c.messages[:1]  # a retry: a second answer to the first question
    c.add("assistant", "answer two")
    c.add("user", "second question")
    c.add("assistant", "answer three")
    assert [leaf.content for leaf in tree.leaves(c)] == ["answer one", "answer three"]
    assert tree.tree_lines(c) == [
        ("", "first question (1 message)", True),
        ("1", "├─ assistant: answer one (1 message)", False),
        ("2", "└─ assistant: answer two (3 messages)", True),
    ]
    c.nodes[1].content = "**Bold** and `code`, *no marks*"  # plain words beside the tree's
    assert tree.tree_lines(c)[1][1] == "├─ assistant: Bold and code, no marks (1 message)"
    alternatives = tree.alternatives(c)
    assert alternatives is None  # the last answer on screen is answer three: no siblings
    c.messages = tree.path_to(tree.leaves(c)[0])
    alternatives = tree.alternatives(c)
    assert alternatives is not None and alternatives.describe() == "answer 1 of 2"


def test_newest_leaf_follows_the_latest_branch() -> None:
    c = Conversation()
    q = c.add("user", "q")
    c.add("assistant", "a1")
    c.add("user", "q2")
    c.messages = [q]
    a2 = c.add("assistant", "a2")
    assert tree.newest_leaf(c, q) is a2
    assert tree.newest_leaf(c, c.nodes[1]).content == "q2"


# ---------------------------------------------------------------- over a real server


def test_retry_keeps_both_answers_and_prev_next_switch(
    server: ChatServer, tmp_path: Path, pipe: PipeInput
) -> None:
    r, out = repl_for(Settings(endpoint=Endpoint(url=server.url)), tmp_path, pipe)
    pipe.send_text("hello\r/retry\r/prev\rafter prev\r/history\r\x04")
    r.run()
    text = out.getvalue()
    assert "This is answer 2 of 2; /prev (Alt+Left) shows the earlier one." in text
    assert "Answer 1 of 2:" in text
    assert "answer 1 of 2" not in r.session.toolbar()  # a new question since: no alternatives
    # what is sent is the branch on screen: the first answer, not the second
    assert last_sent(server) == ["hello", "Answer 1: you said *hello*. ", "after prev"]
    assert r.chat.store is not None
    saved = r.chat.store.load(r.chat.conversation.id)
    assert len(saved.nodes) == 5
    assert contents(saved.messages) == contents(r.chat.conversation.messages)
    assert "Answer 2: you said *hello*. " in contents(saved.nodes)


def test_prev_and_next_stop_at_the_ends(
    server: ChatServer, tmp_path: Path, pipe: PipeInput
) -> None:
    r, out = repl_for(Settings(endpoint=Endpoint(url=server.url)), tmp_path, pipe)
    pipe.send_text("/prev\rhi\r/next\r/retry\r/next\r/branch 7\r/edit 9\r/edit x\r\x04")
    r.run()
    text = out.getvalue()
    assert text.count("The last answer has no alternatives.") == 2
    assert "This is the last answer (answer 2 of 2)." in text
    assert r.session.toolbar().endswith("answer 2 of 2")
    assert "There is no branch 7; this conversation has 2 branches." in text
    assert "There is no question 9; this branch has 1." in text
    assert "/edit takes a question's number, as /history shows it." in text


def test_edit_n_starts_a_branch_and_the_old_one_stays(
    server: ChatServer, tmp_path: Path, pipe: PipeInput
) -> None:
    r, out = repl_for(Settings(endpoint=Endpoint(url=server.url)), tmp_path, pipe)
    pipe.send_text("one\rtwo\rthree\r/edit 2\r")
    pipe.send_text("\x15second try\r/branches\r/branch 1\rfour\r\x04")
    r.run()
    sent = [[m["content"] for m in q.body["messages"]] for q in server.requests]
    assert sent[3] == ["one", "Answer 1: you said *one*. ", "second try"]
    assert sent[4][-3:] == ["three", "Answer 3: you said *three*. ", "four"]  # back on branch 1
    text = out.getvalue()
    assert "one (2 messages)" in text
    plain = re.sub(r"\x1b\[[0-9;]*m", "", text)
    assert re.search(r"\[1\] +├─ two \(4 messages\)", plain)
    assert re.search(r"\[2\] +▶ +└─ second try \(2 messages\)", plain)  # on screen then
    assert "Branch 1 is on screen (6 messages)." in text
    assert text.count("── edited: the turns above are kept as branch 1 ──") == 1


def test_edit_after_undo_marks_where_the_new_branch_starts(
    server: ChatServer, tmp_path: Path, pipe: PipeInput
) -> None:
    r, out = repl_for(Settings(endpoint=Endpoint(url=server.url)), tmp_path, pipe)
    pipe.send_text("one\rtwo\rthree\r/undo\r\x15/edit 1\r\x15again\r\x04")
    r.run()
    assert "── edited: the turns above are kept as branch 1 ──" in out.getvalue()


def test_undo_keeps_the_turn_as_a_branch(
    server: ChatServer, tmp_path: Path, pipe: PipeInput
) -> None:
    r, out = repl_for(Settings(endpoint=Endpoint(url=server.url)), tmp_path, pipe)
    pipe.send_text("one\rtwo\r/undo\r\x15other\r\x04")
    r.run()
    assert last_sent(server)[-1] == "other"
    nodes = contents(r.chat.conversation.nodes)
    assert "two" in nodes and "Answer 2: you said *two*. " in nodes
    said = " ".join(re.sub(r"\x1b\[[0-9;]*m", "", out.getvalue()).split())
    assert "(the exchange stays as branch 1: /branch 1 puts it back)." in said


def test_resume_continues_the_branch_last_on_screen(
    server: ChatServer, chatrepl_home: Path, tmp_path: Path, pipe: PipeInput
) -> None:
    r, _ = repl_for(Settings(endpoint=Endpoint(url=server.url)), chatrepl_home, pipe)
    pipe.send_text("penguins\r/retry\r/prev\r\x04")
    r.run()
    cid = r.chat.conversation.id
    done = run_chatrepl(chatrepl_home, "-c", "more", url=server.url)
    assert done.returncode == 0, done.stderr
    assert last_sent(server) == ["penguins", "Answer 1: you said *penguins*. ", "more"]
    shown = run_chatrepl(chatrepl_home, "--show", cid).stdout
    assert "Answer 1: you said" in shown and "Answer 2" not in shown
    markdown = run_chatrepl(chatrepl_home, "--export", cid).stdout
    assert "Answer 2" not in markdown
    data = json.loads(run_chatrepl(chatrepl_home, "--export", cid, "--format", "json").stdout)
    assert [m["content"] for m in data["other_branches"]] == ["Answer 2: you said *penguins*. "]
    assert data["other_branches"][0]["parent"] == data["messages"][0]["node"] == 1
    hits = run_chatrepl(chatrepl_home, "--search", "more", "--plain")
    assert cid in hits.stdout and "(on another branch)" not in hits.stdout, hits
    assert (
        Store(chatrepl_home / "chatrepl.db")
        .search("Answer 2")[0][2]
        .endswith("(on another branch)")
    )


def test_a_copy_keeps_every_branch(server: ChatServer, tmp_path: Path) -> None:
    import os

    chat, _ = make_chat(server.url, tmp_path)
    chat.ask("q")
    chat.retry()
    branches.step(chat, -1)
    chat.release()
    cid = chat.conversation.id
    with sqlite3.connect(tmp_path / "chatrepl.db") as db:  # open in a live process
        db.execute("UPDATE conversations SET owner_pid = ? WHERE id = ?", (os.getppid(), cid))
    other, _ = make_chat(server.url, tmp_path)
    copy = other.load(cid)
    assert copy.id != cid and len(copy.nodes) == 3
    assert contents(copy.messages) == ["q", "Answer 1: you said *q*. "]
    assert contents(Store(tmp_path / "chatrepl.db").load(copy.id).messages) == contents(
        copy.messages
    )


def test_a_crash_mid_answer_on_a_branch_keeps_its_partial_answer(
    server: ChatServer, chatrepl_home: Path
) -> None:
    import os
    import signal
    import sys

    import pexpect

    from tests.server import Script, sse
    from tests.test_pty import prompt, spawn

    server.add(Script(pieces=sse("the first answer")))
    server.add(Script(pieces=[*sse("a partial second", done=False), 30.0]))
    child = spawn(server, chatrepl_home)
    prompt(child)
    child.send("question\r")
    child.expect_exact("the first answer")
    prompt(child)
    child.send("/retry\r")
    child.expect_exact("a partial second")
    os.kill(child.pid, signal.SIGKILL)
    child.expect(pexpect.EOF)
    child.close()
    store = Store(chatrepl_home / "chatrepl.db")
    saved = store.load(store.latest() or "")
    assert [(m.content, m.status) for m in saved.messages] == [
        ("question", "complete"),
        ("a partial second", "interrupted"),
    ]
    assert "the first answer" in contents(saved.nodes)
    assert sys.platform != "win32"


# ---------------------------------------------------------------- migration


@pytest.mark.parametrize("name", ["v2.db", "v3.db"])
def test_an_earlier_database_becomes_straight_branches(tmp_path: Path, name: str) -> None:
    """Databases written by the releases before branches (tests/fixtures, made by
    make_old_databases.sh with those releases' own CLI) open without loss."""
    path = tmp_path / "chatrepl.db"
    shutil.copy(FIXTURES / name, path)
    with sqlite3.connect(path) as db:
        before = db.execute(
            "SELECT conversation_id, role, content, status FROM messages ORDER BY id"
        ).fetchall()
    store = Store(path)
    assert store._db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    after = []
    for summary in reversed(store.list_conversations()):
        conversation = store.load(summary.id)
        assert conversation.messages == conversation.nodes  # one straight branch
        assert all(
            m.parent is (conversation.messages[i - 1] if i else None)
            for i, m in enumerate(conversation.messages)
        )
        after += [(summary.id, m.role, m.content, m.status) for m in conversation.messages]
    assert sorted(after) == sorted(before) and len(before) == 12
    assert "[penguins]" in store.search("penguins")[0][2]
    # and they go on: a retry on a migrated conversation keeps both answers
    chat = Chat(Settings(), _Answers(), Renderer(make_console(io.StringIO())), store)
    chat.load(store.latest() or "")
    chat.retry()
    assert len(store.load(chat.conversation.id).nodes) == len(chat.conversation.nodes)


# ---------------------------------------------------------------- the property


class _Answers:
    """An in-process stand-in for the transport: answers `answer N`, records what was
    sent. The property is about the tree, not the wire; the wire is tested above."""

    def __init__(self) -> None:
        self.sent: list[list[dict[str, str]]] = []

    def stream(
        self, endpoint: Endpoint, messages: list[dict[str, str]], token: str = ""
    ) -> Iterator[wire.Event]:
        self.sent.append(list(messages))
        yield wire.Text(f"answer {len(self.sent)}")
        yield wire.Done()


OPS = st.lists(
    st.one_of(
        st.just(("ask", 0)),
        st.just(("retry", 0)),
        st.just(("undo", 0)),
        st.just(("prev", 0)),
        st.just(("next", 0)),
        st.tuples(st.just("edit"), st.integers(1, 4)),
        st.tuples(st.just("branch"), st.integers(1, 6)),
    ),
    max_size=25,
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops=OPS)
def test_any_moves_keep_every_message_and_send_the_branch_on_screen(
    tmp_path: Path, ops: list[tuple[str, int]]
) -> None:
    answers = _Answers()
    db = tmp_path / f"{len(list(tmp_path.iterdir()))}.db"
    store = Store(db)
    chat = Chat(Settings(), answers, Renderer(make_console(io.StringIO())), store)
    shown: set[int] = set()
    asked = 0
    saved_path: list[int | None] = []  # /edit is saved only once its question is sent
    for op, n in ops:
        requests = len(answers.sent)
        refused = False
        try:
            if op == "ask":
                asked += 1
                chat.ask(f"question {asked}")
            elif op == "retry":
                chat.retry()
            elif op == "undo":
                chat.drop_last()
            elif op in ("prev", "next"):
                branches.step(chat, -1 if op == "prev" else 1)
            elif op == "edit":
                branches.edit(chat, n)
            else:
                branches.switch(chat, n)
        except ChatreplError:
            refused = True  # nothing moved, nothing was saved
        path = chat.conversation.messages
        shown |= {id(m) for m in path}
        if len(answers.sent) > requests:
            # the request held exactly the branch on screen before the answer
            assert answers.sent[-1] == [m.wire() for m in path[:-1]]
        assert path == tree.path_to(path[-1] if path else None)
        if not refused and (op != "edit" or len(answers.sent) > requests):
            saved_path = [m.id for m in path]
    nodes = chat.conversation.nodes
    assert shown <= {id(m) for m in nodes}  # nothing shown was ever lost
    if nodes:
        saved = store.load(chat.conversation.id)
        assert [(m.role, m.content) for m in saved.nodes] == [(m.role, m.content) for m in nodes]
        assert [m.id for m in saved.messages] == saved_path
    store.close()
    assert to_markdown(chat.conversation) and to_json(chat.conversation)


def test_branches_in_a_terminal(server: ChatServer, chatrepl_home: Path) -> None:
    from tests.test_pty import finish, prompt, spawn

    child = spawn(server, chatrepl_home)
    prompt(child)
    child.send("first\r")
    child.expect_exact("Answer 1")
    prompt(child)
    child.send("second\r")
    child.expect_exact("Answer 2")
    prompt(child)
    child.send("/retry\r")
    child.expect_exact("Answer 3")
    child.expect_exact("This is answer 2 of 2")
    prompt(child)
    child.send("\x1b[1;3D")  # Alt+Left at an empty prompt
    child.expect_exact("Answer 1 of 2:")
    child.expect_exact("Answer 2: you said")
    prompt(child)
    child.send("\x1b[1;3C")  # Alt+Right
    child.expect_exact("Answer 2 of 2:")
    child.expect_exact("Answer 3: you said")
    prompt(child)
    child.send("/edit 1\r")
    child.expect_exact("The question is back at the prompt")
    child.expect(r"> (\x1b\[0m)?first")  # the question is at the prompt
    child.send(" again\r")
    child.expect_exact("Answer 4: you said")
    prompt(child)
    child.send("/branches\r")
    child.expect_exact("├─ first (3 messages)")
    gap = r"(?:\x1b\[[0-9;]*m| )+"  # columns apart, and their styles
    child.expect(rf"\[1\]{gap}│  ├─ assistant: Answer 2: you said second\. \(1 message\)")
    child.expect(rf"\[2\]{gap}│  └─ assistant: Answer 3: you said second\. \(1 message\)")
    child.expect(rf"\[3\]{gap}▶{gap}└─ first again \(2 messages\)")
    prompt(child)
    child.send("/branch 2\r")
    child.expect_exact("Branch 2 is on screen (4 messages).")
    prompt(child)
    child.sendcontrol("d")
    assert finish(child) == 0
    assert [m["content"] for m in server.requests[-1].body["messages"]] == ["first again"]


def test_search_labels_only_hits_off_the_branch_on_screen(
    server: ChatServer, tmp_path: Path, pipe: PipeInput
) -> None:
    r, _ = repl_for(Settings(endpoint=Endpoint(url=server.url)), tmp_path, pipe)
    pipe.send_text("penguins first\rwalruses second\r/retry\r/prev\r\x04")
    r.run()
    store = r.chat.store
    assert store is not None
    # on screen now: the first answer to "walruses second" (after /prev)
    shown = [m.content for m in r.chat.conversation.messages]
    assert shown[-1].startswith("Answer 2")
    hits = {snippet for _, _, snippet in store.search("walruses")}
    [hit] = hits  # the newest matching message: the retried answer, not on screen
    assert "Answer 3" in hit and hit.endswith("(on another branch)")
    [first] = [s for _, _, s in store.search("penguins")]
    assert "(on another branch)" not in first  # on the branch on screen


def test_repl_search_marks_hits_by_the_branch_on_screen_now(
    server: ChatServer, tmp_path: Path, pipe: PipeInput
) -> None:
    """After /edit 2 (not sent yet) the screen shows only the first exchange, though the
    store still names the old branch: /search goes by the screen."""
    r, out = repl_for(Settings(endpoint=Endpoint(url=server.url)), tmp_path, pipe)
    pipe.send_text("penguins first\rwalruses second\r/edit 2\r\x15\x04")
    r.run()
    r.handle("/search walruses")
    r.handle("/search penguins")
    text = " ".join(re.sub(r"\x1b\[[0-9;]*m", "", out.getvalue()).split())
    assert "Answer 2: you said *[walruses] second*. (on another branch)" in text
    assert "Answer 1: you said *[penguins] first*." in text
    assert "[penguins] first*. (on another branch)" not in text
