"""The command line contract: modes, exit codes, configuration, management."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from chatrepl import __version__
from tests.helpers import error_script, run_chatrepl, run_process
from tests.server import ChatServer, Script, sse

TIMEOUT = 20


run = run_chatrepl


def test_version_and_help_import_no_third_party_package() -> None:
    code = (
        "import sys; from chatrepl.cli import main\n"
        "for args in (['--version'], ['--help']):\n"
        "    try: main(args)\n"
        "    except SystemExit: pass\n"
        "bad = [m for m in ('rich', 'pygments', 'markdown_it', 'requests', 'prompt_toolkit', "
        "'platformdirs', 'urllib3') if m in sys.modules]\n"
        "print('LOADED', bad)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=TIMEOUT, check=True
    ).stdout
    assert f"chatrepl {__version__}" in out
    assert "LOADED []" in out


def test_usage_error_exits_2(chatrepl_home: Path) -> None:
    done = run(chatrepl_home, "--api", "nonsense")
    assert done.returncode == 2


def test_failed_request_exits_1_with_one_line(server: ChatServer, chatrepl_home: Path) -> None:
    """End to end, in a process of its own: the exit status is the process's."""
    server.add(error_script("http_worker_401.json", 401))
    done = run_process(chatrepl_home, "q", url=server.url, env={"CHATREPL_TOKEN": "sk-SENTINEL-42"})
    assert done.returncode == 1
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "401" in lines[0] and "Access denied" in lines[0]
    assert "Traceback" not in done.stderr and "sk-SENTINEL-42" not in done.stderr
    assert server.requests[0].headers["Authorization"] == "Bearer sk-SENTINEL-42"


def test_connection_refused_is_one_line(chatrepl_home: Path) -> None:
    done = run(chatrepl_home, "q", url="http://127.0.0.1:9/api/chat")
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "chatrepl: Connection refused by 127.0.0.1:9. Is the server running? Check the URL."
    ]


def test_truncated_answer_exits_1_keeps_the_text(server: ChatServer, chatrepl_home: Path) -> None:
    server.add(Script(pieces=sse("Hello", done=False), framing="close"))
    done = run(chatrepl_home, "q", url=server.url)
    assert done.returncode == 1
    assert done.stdout == "Hello\n"
    assert "ended early" in done.stderr


def test_stdin_is_attached_to_the_question(server: ChatServer, chatrepl_home: Path) -> None:
    run(chatrepl_home, "explain this", url=server.url, stdin="some file text\n")
    assert server.requests[0].body["messages"][0]["content"] == "explain this\n\nsome file text"


@pytest.mark.parametrize("data", [b"\xff\xfe\x00bin", b"valid utf-8 \x00\x01 but binary"])
def test_binary_stdin_is_refused(server: ChatServer, chatrepl_home: Path, data: bytes) -> None:
    done = run(chatrepl_home, url=server.url, stdin=data)
    assert done.returncode == 2 and "not UTF-8 text" in done.stderr
    assert "Traceback" not in done.stderr and server.requests == []


def test_continue_and_resume_in_one_shot(server: ChatServer, chatrepl_home: Path) -> None:
    run(chatrepl_home, "first", url=server.url)
    run(chatrepl_home, "-c", "second", url=server.url)
    assert len(server.requests[1].body["messages"]) == 3
    cid = run(chatrepl_home, "--list").stdout.split("\t")[0]
    run(chatrepl_home, "other", url=server.url)
    run(chatrepl_home, "-r", cid[:4], "third", url=server.url)
    assert [m["content"] for m in server.requests[3].body["messages"][::2]] == [
        "first",
        "second",
        "third",
    ]


def test_resume_unknown_id_is_a_clear_line(chatrepl_home: Path) -> None:
    done = run(chatrepl_home, "-r", "zzzz", "q")
    assert done.returncode == 1
    assert "No conversation matches zzzz." in done.stderr


def test_show_export_delete(server: ChatServer, chatrepl_home: Path) -> None:
    run(chatrepl_home, "keep this", url=server.url)
    cid = run(chatrepl_home, "--list").stdout.split("\t")[0]
    shown = run(chatrepl_home, "--show", cid[:6])
    assert "keep this" in shown.stdout and "Answer 1" in shown.stdout
    assert re.match(
        rf"# keep this · {cid} · \d{{4}}-\d\d-\d\d \d\d:\d\d · 2 messages · default\n", shown.stdout
    )
    exported = json.loads(run(chatrepl_home, "--export", cid, "--format", "json").stdout)
    assert [m["role"] for m in exported["messages"]] == ["user", "assistant"]
    md = run(chatrepl_home, "--export", cid).stdout
    assert md.startswith("# keep this") and "## Answer" in md
    assert run(chatrepl_home, "--delete", cid).returncode == 2  # asks; no terminal to ask
    assert run(chatrepl_home, "--delete", cid, "--yes").returncode == 0
    assert run(chatrepl_home, "--list").stdout.strip() == "No saved conversations yet."


def test_bad_config_file_exits_78_with_location(chatrepl_home: Path) -> None:
    chatrepl_home.mkdir(parents=True, exist_ok=True)
    config = chatrepl_home / "config.toml"
    config.write_text('system = "ok"\nmarkdown = maybe\n')
    before = config.read_text()
    done = run(chatrepl_home, "q")
    assert done.returncode == 78
    assert f"{config}:2:" in done.stderr
    assert config.read_text() == before


def test_config_precedence_flags_env_file(
    server: ChatServer, chatrepl_home: Path, tmp_path: Path
) -> None:
    config = tmp_path / "c.toml"
    config.write_text(
        f'endpoint = "local"\n[endpoints.local]\nurl = "{server.url}"\n'
        'api = "openai"\nmodel = "from-file"\n'
    )
    run(chatrepl_home, "--config", str(config), "q")
    assert server.requests[-1].body["model"] == "from-file"
    from_env = {"CHATREPL_MODEL": "from-env"}
    run(chatrepl_home, "--config", str(config), "q", env=from_env)
    assert server.requests[-1].body["model"] == "from-env"  # the environment beats the file
    run(chatrepl_home, "--config", str(config), "--model", "from-flag", "q", env=from_env)
    assert server.requests[-1].body["model"] == "from-flag"  # and a flag beats both
    assert len(server.requests) == 3


@pytest.mark.parametrize(
    ("args", "code", "said"),
    [
        (["--list"], 0, "No saved conversations yet.\n"),
        (["--search", "nothing"], 1, "No conversation mentions nothing.\n"),
    ],
)
def test_management_on_an_empty_store(
    chatrepl_home: Path, args: list[str], code: int, said: str
) -> None:
    done = run(chatrepl_home, *args)
    assert (done.returncode, done.stdout, done.stderr) == (code, said, "")


def test_the_database_is_closed_as_a_run_ends(server: ChatServer, chatrepl_home: Path) -> None:
    """Closed, not left to the collector: SQLite then folds its write-ahead log into the
    database and removes it."""
    server.add(Script(pieces=sse("an answer")))
    assert run(chatrepl_home, "q", url=server.url).returncode == 0
    assert run(chatrepl_home, "--list").returncode == 0
    assert sorted(p.name for p in chatrepl_home.iterdir()) == ["chatrepl.db"]


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--list", "--show", "abc"], "--list and --show cannot go together."),
        (["--list", "a question"], "--list takes no question."),
        (["--search", "x", "-c"], "--search takes no -c, -r or -f."),
        (["--all"], "--all, --limit and --cost go with --list."),
        (["--limit", "5"], "--all, --limit and --cost go with --list."),
        (["-r", ""], "-r needs a conversation id."),
        (["--code"], "--code goes with --show ID."),
    ],
)
def test_contradicting_flags_are_one_line_and_exit_2(
    chatrepl_home: Path, args: list[str], said: str
) -> None:
    done = run(chatrepl_home, *args)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith(f"chatrepl: {said}") and done.stderr.count("\n") == 1
    assert not chatrepl_home.exists()  # refused before anything was opened or saved


@pytest.mark.parametrize("limit", ["0", "-3", "x"])
def test_a_limit_that_is_no_positive_number_is_a_usage_error(
    chatrepl_home: Path, limit: str
) -> None:
    done = run(chatrepl_home, "--list", "--limit", limit)
    assert done.returncode == 2 and "must be a positive integer" in done.stderr
    assert "No saved conversations" not in done.stdout + done.stderr


def test_a_model_the_workers_api_cannot_take_is_said_not_dropped(
    server: ChatServer, chatrepl_home: Path
) -> None:
    done = run(chatrepl_home, "--model", "llama3", "q", url=server.url)
    assert done.returncode == 0 and done.stdout.startswith("Answer 1")
    assert "takes no model: llama3 is not sent" in done.stderr
    assert server.requests[-1].body == {"messages": [{"role": "user", "content": "q"}]}


def test_print_config_says_where_an_openai_base_url_posts(chatrepl_home: Path) -> None:
    done = run(chatrepl_home, "--print-config", "--url", "http://127.0.0.1:9/v1")
    assert (
        'url = "http://127.0.0.1:9/v1"   # requests go to http://127.0.0.1:9/v1/chat/completions'
        in done.stdout
    )


def test_print_config_reports_unknown_keys_as_a_run_does(chatrepl_home: Path) -> None:
    chatrepl_home.mkdir()
    (chatrepl_home / "config.toml").write_text('colour = "blue"\n')
    done = run(chatrepl_home, "--print-config")
    assert done.returncode == 0 and "unknown key colour is ignored." in done.stderr
    assert "colour" not in done.stdout  # the settings in effect, on stdout


def test_nothing_written_to_a_pipe_is_wrapped(server: ChatServer, chatrepl_home: Path) -> None:
    thought = "I weigh every side of this question " * 8  # far past 80 columns
    asked = "a question that is long enough to pass the eighty columns of a pipe's width " * 2
    server.add(Script(pieces=sse(f"<think>{thought}</think>", "The answer.")))
    run(chatrepl_home, asked, url=server.url, check=True)
    cid = run(chatrepl_home, "--list").stdout.split("\t")[0]
    shown = run(chatrepl_home, "--show", cid).stdout
    assert thought.strip() in shown and asked.strip() in shown  # each on one line
    assert not [line for line in shown.splitlines() if line != line.rstrip()]  # no padding


def test_raw_writes_the_answer_as_the_server_sent_it(
    server: ChatServer, chatrepl_home: Path
) -> None:
    sent = "bell\x07 and \x1b[31mred\x1b[0m and \u202eback"
    server.add(Script(pieces=sse(sent)), Script(pieces=sse(sent)))
    assert run(chatrepl_home, "q", url=server.url).stdout == "bell and red and back\n"
    assert run(chatrepl_home, "--raw", "q", url=server.url).stdout == sent + "\n"
    refused = run(chatrepl_home, "--raw", url=server.url)  # no question: it would be the REPL
    assert refused.returncode == 2 and refused.stdout == ""


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--list", "--all", "--limit", "3"], "chatrepl: --all and --limit cannot go together."),
        (["--search", ""], "chatrepl: --search needs words to look for."),
        (["--limit", "0", "--list"], "chatrepl: Argument --limit: must be a positive integer"),
        (["--api", "nope"], "chatrepl: Argument --api: invalid choice: 'nope'"),
    ],
)
def test_every_usage_error_is_one_line(chatrepl_home: Path, args: list[str], said: str) -> None:
    done = run(chatrepl_home, *args)
    assert done.returncode == 2 and done.stderr.startswith(said)
    assert done.stderr.count("\n") == 1 and done.stdout == ""


def test_what_the_command_line_says_points_at_the_command_line(
    server: ChatServer, chatrepl_home: Path, tmp_path: Path
) -> None:
    shown = run(chatrepl_home, "--show", "")
    assert shown.stderr == "chatrepl: No conversation id was given. chatrepl --list shows them.\n"
    folder = run(chatrepl_home, "-f", str(tmp_path), "q", url=server.url)
    assert "/file" not in folder.stderr and f"({tmp_path}/*)." in folder.stderr
    run(chatrepl_home, "q", url=server.url, check=True)
    cid = run(chatrepl_home, "--list").stdout.split("\t")[0]
    nowhere = run(chatrepl_home, "--export", cid, "-o", str(tmp_path / "no" / "x.json"))
    assert nowhere.returncode == 1  # an I/O error, not a usage error
    assert "Could not write" in nowhere.stderr and "No such file or directory" in nowhere.stderr
