"""Managing saved conversations from the command line and from the REPL."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from prompt_toolkit.input import PipeInput
from prompt_toolkit.output import DummyOutput

from chatrepl.conversation import Conversation
from chatrepl.repl import Repl
from chatrepl.store import Store
from tests.helpers import make_chat, run_chatrepl
from tests.server import ChatServer

TIMEOUT = 20


cli = run_chatrepl


def ids(home: Path) -> list[str]:
    return [line.split("\t")[0] for line in cli(home, "--list").stdout.splitlines()]


def test_list_limit_all_newest_first(server: ChatServer, chatrepl_home: Path) -> None:
    for n in range(4):
        cli(chatrepl_home, f"question {n}", url=server.url)
    listed = cli(chatrepl_home, "--list", "--limit", "2").stdout.splitlines()
    assert [line.split("\t")[3] for line in listed] == ["question 3", "question 2"]
    assert len(cli(chatrepl_home, "--list", "--all").stdout.splitlines()) == 4


def test_rename_and_export_to_a_file(
    server: ChatServer, chatrepl_home: Path, tmp_path: Path
) -> None:
    cli(chatrepl_home, "original", url=server.url)
    cid = ids(chatrepl_home)[0]
    assert cli(chatrepl_home, "--rename", cid[:5], "Better\x1b[31m title").returncode == 0
    assert cli(chatrepl_home, "--list").stdout.split("\t")[3].strip() == "Better title"
    out = tmp_path / "conv.json"
    assert cli(chatrepl_home, "--export", cid, "--format", "json", "-o", str(out)).returncode == 0
    data = json.loads(out.read_text())
    assert data["id"] == cid and data["messages"][0]["content"] == "original"
    assert {"role", "content", "status", "created"} <= set(data["messages"][0])
    assert data["messages"][1]["meta"]["first_token"] >= 0  # timing kept with the answer


def test_an_export_takes_its_format_from_the_extension_and_asks_before_overwriting(
    server: ChatServer, chatrepl_home: Path, tmp_path: Path
) -> None:
    cli(chatrepl_home, "original", url=server.url)
    cid = ids(chatrepl_home)[0]
    as_json, as_md = tmp_path / "x.json", tmp_path / "x.md"
    assert cli(chatrepl_home, "--export", cid, "-o", str(as_json)).returncode == 0
    assert json.loads(as_json.read_text())["id"] == cid  # .json: JSON, no --format needed
    assert cli(chatrepl_home, "--export", cid, "-o", str(as_md)).stdout.endswith("(md).\n")
    assert as_md.read_text().startswith("# original")
    assert as_json.stat().st_mode & 0o777 == as_md.stat().st_mode & 0o777 == 0o600
    forced = cli(chatrepl_home, "--export", cid, "--format", "json", "-o", str(as_md), "--yes")
    assert forced.returncode == 0 and json.loads(as_md.read_text())["id"] == cid
    as_md.write_text("mine")
    as_md.chmod(0o644)
    refused = cli(chatrepl_home, "--export", cid, "-o", str(as_md))  # stdin is no terminal
    assert refused.returncode == 2 and "exists. Add --yes to write it." in refused.stderr
    assert as_md.read_text() == "mine"
    assert cli(chatrepl_home, "--export", cid, "-o", str(as_md), "--yes").returncode == 0
    assert as_md.read_text().startswith("# original") and as_md.stat().st_mode & 0o777 == 0o600


def test_search_shows_snippets_and_ids(server: ChatServer, chatrepl_home: Path) -> None:
    cli(chatrepl_home, "tell me about otters and their habits", url=server.url)
    cli(chatrepl_home, "nothing related", url=server.url)
    found = cli(chatrepl_home, "--search", "otter")
    lines = found.stdout.splitlines()
    assert len(lines) == 1 and lines[0].startswith(ids(chatrepl_home)[1])
    assert "[otters]" in lines[0]
    assert cli(chatrepl_home, "--search", "zebra").returncode == 1
    assert cli(chatrepl_home, "--search", 'AND OR "NEAR(').returncode == 1  # no syntax error


def test_ambiguous_and_unknown_ids_are_clear(chatrepl_home: Path) -> None:
    chatrepl_home.mkdir()
    store = Store(chatrepl_home / "chatrepl.db")
    for cid in ("abc1", "abc2"):
        conversation = Conversation(id=cid)
        store.add_message(conversation, conversation.add("user", f"question {cid}"))
    store.close()
    done = cli(chatrepl_home, "--show", "zzzz")
    assert done.returncode == 1 and "No conversation matches zzzz." in done.stderr
    done = cli(chatrepl_home, "--show", "abc")
    assert done.returncode == 1
    assert done.stderr == (
        "chatrepl: The id abc matches more than one conversation. Type more of it.\n"
    )
    assert "question abc2" in cli(chatrepl_home, "--show", "abc2").stdout
    done = cli(chatrepl_home, "--show", "")
    assert done.returncode == 1 and "No conversation id was given." in done.stderr


def test_repl_rename_export_search_delete(
    server: ChatServer, tmp_path: Path, pipe: PipeInput, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    chat, out = make_chat(server.url, tmp_path)
    r = Repl(chat, input=pipe, output=DummyOutput())
    pipe.send_text(
        "penguins are birds\r/rename Bird facts\r/export\r/export notes.json\r"
        "/rename Other\r/export notes.json\rn\r"
        "/search penguin\r/delete\rn\r/delete\ry\r/exit\r"
    )
    r.run()
    text = out.getvalue()
    assert chat.store is not None
    hits = chat.store.search("penguin")
    assert "Renamed to Bird facts." in text
    md_files = list(tmp_path.glob("chatrepl-*.md"))
    assert len(md_files) == 1 and md_files[0].read_text().startswith("# Bird facts")
    notes = tmp_path / "notes.json"
    assert json.loads(notes.read_text())["title"] == "Bird facts"  # asked, and kept
    assert "notes.json exists. Overwrite it?" not in text  # the question is the prompt's
    assert "Nothing was written." in text and notes.stat().st_mode & 0o777 == 0o600
    assert "[penguins]" in text
    assert "Nothing was deleted." in text and "Deleted" in text
    assert hits == []  # deleted: nothing left to find
    assert chat.store.list_conversations() == []


def test_repl_delete_another_by_prefix(server: ChatServer, tmp_path: Path, pipe: PipeInput) -> None:
    chat, _ = make_chat(server.url, tmp_path)
    r = Repl(chat, input=pipe, output=DummyOutput())
    pipe.send_text("keep me\r/new\rdrop me\r/new\r\x04")
    r.run()
    assert chat.store is not None
    drop = chat.store.list_conversations()[0].id
    r.session.exiting = False
    pipe.send_text(f"/delete {drop[:6]}\ry\r\x04")
    r.run()
    assert [s.title for s in chat.store.list_conversations()] == ["keep me"]


def test_an_export_over_a_symbolic_link_says_it_is_one(
    server: ChatServer, chatrepl_home: Path, tmp_path: Path
) -> None:
    cli(chatrepl_home, "original", url=server.url)
    cid = ids(chatrepl_home)[0]
    target, link = tmp_path / "target.md", tmp_path / "link.md"
    target.write_text("mine")
    link.symlink_to(target)
    refused = cli(chatrepl_home, "--export", cid, "-o", str(link))
    assert refused.returncode == 2 and target.read_text() == "mine"
    assert f"{link} is a symbolic link to {target} (an existing file)." in refused.stderr


def test_an_export_through_a_symbolic_link_leaves_the_target_s_mode_alone(
    server: ChatServer, chatrepl_home: Path, tmp_path: Path
) -> None:
    cli(chatrepl_home, "original", url=server.url)
    cid = ids(chatrepl_home)[0]
    target, link = tmp_path / "shared.md", tmp_path / "link.md"
    target.write_text("mine")
    target.chmod(0o644)
    link.symlink_to(target)
    done = cli(chatrepl_home, "--export", cid, "-o", str(link), "--yes")
    assert done.returncode == 0, done.stderr
    assert "original" in target.read_text() and link.is_symlink()
    assert stat.S_IMODE(target.stat().st_mode) == 0o644  # was chmodded to 0600
    plain = tmp_path / "plain.md"  # a file that is not a link still becomes 0600
    plain.write_text("old")
    plain.chmod(0o644)
    assert cli(chatrepl_home, "--export", cid, "-o", str(plain), "--yes").returncode == 0
    assert stat.S_IMODE(plain.stat().st_mode) == 0o600
    dangling = tmp_path / "dangling.md"  # a link to nothing yet: the new file is 0600
    dangling.symlink_to(tmp_path / "new.md")
    assert cli(chatrepl_home, "--export", cid, "-o", str(dangling), "--yes").returncode == 0
    assert stat.S_IMODE((tmp_path / "new.md").stat().st_mode) == 0o600
