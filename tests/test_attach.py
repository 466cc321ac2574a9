"""Attachments (files, command output) and code blocks out: the pure parts."""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chatrepl import attach, shell
from chatrepl.attach import Attachment, AttachmentError
from chatrepl.conversation import Conversation, to_json, to_markdown
from chatrepl.render.source import CodeBlock, Source, code_blocks

# ---------------------------------------------------------------- @path


def test_mentions_find_existing_files_and_plain_file_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "app.py").write_text("x = 1\n")
    monkeypatch.chdir(tmp_path)
    assert attach.mentions("explain @app.py please") == ["app.py"]
    assert attach.mentions("what is in @app.py?") == ["app.py"]  # trailing ? not part of it
    assert attach.mentions("(see @app.py)") == ["app.py"]
    assert attach.mentions("@app.py and again @app.py") == ["app.py"]
    # not there, but plainly a file: returned, for reading to report it missing
    assert attach.mentions("look at @src/missing.py") == ["src/missing.py"]
    assert attach.mentions("look at @notes.md") == ["notes.md"]


@pytest.mark.parametrize(
    "text",
    [
        "write to me@example.com or bob@app.py",  # e-mail addresses, even one like a file
        "what does @property do in Python?",  # a decorator, not a file
        "the @app.route decorator",  # no such file, and .route is no file type
        "inline `@app.py` is code",
        "```python\n@app.py\ndef f(): pass\n```",
        "~~~\nsee @app.py\n~~~",
        "an unterminated fence\n```\n@app.py",
        "a lone @ sign",
    ],
)
def test_mentions_leave_email_decorators_and_code_alone(
    tmp_path: Path, text: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "app.py").write_text("x = 1\n")
    monkeypatch.chdir(tmp_path)
    assert attach.mentions(text) == []


def test_mention_at_cursor_is_the_word_being_typed() -> None:
    assert attach.mention_at_cursor("explain @sr") == "sr"
    assert attach.mention_at_cursor("@") == ""
    assert attach.mention_at_cursor("mail me@ex") is None
    assert attach.mention_at_cursor("@a.py and more") is None


# ---------------------------------------------------------------- reading


def test_read_file_takes_text_and_refuses_the_rest(tmp_path: Path) -> None:
    (tmp_path / "ok.py").write_text("print('hi')\n")
    (tmp_path / "bin").write_bytes(b"\x7fELF\x00\x01")
    (tmp_path / "latin").write_bytes("caf\xe9".encode("latin-1"))
    (tmp_path / "big.txt").write_text("x" * 2048)
    (tmp_path / "dir").mkdir()
    ok = attach.read_file(str(tmp_path / "ok.py"))
    assert ok.text == "print('hi')\n" and ok.language == "python"
    assert ok.describe().endswith("ok.py, 1 line")
    cases = {
        "bin": "is a binary file",
        "latin": "is not UTF-8 text",
        "dir": "is a directory",
        "nothing-here": "No such file",
        "big.txt": "over the 1 KB limit",
    }
    for name, expected in cases.items():
        with pytest.raises(AttachmentError, match=expected):
            attach.read_file(str(tmp_path / name), max_bytes=1024)


@pytest.mark.skipif(sys.platform == "win32" or os.geteuid() == 0, reason="root reads any file")
def test_an_unreadable_file_is_one_line(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("no")
    secret.chmod(0)
    with pytest.raises(AttachmentError, match="permission denied"):
        attach.read_file(str(secret))


def test_globs_and_home_expand(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    for name in ("b.py", "a.py", "c.txt"):
        (tmp_path / name).write_text(name)
    found, errors = attach.read_all(["~/*.py", "~/c.txt"], 1024)
    assert errors == []
    assert [Path(a.name).name for a in found] == ["a.py", "b.py", "c.txt"]
    found, errors = attach.read_all(["~/*.rs"], 1024)
    assert found == [] and errors == ["No file matches ~/*.rs."]


def test_merge_keeps_a_file_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    a = Attachment("x.py", "1")
    assert attach.merge([a], [Attachment("./x.py", "1"), Attachment("y.py", "2")]) == [
        a,
        Attachment("y.py", "2"),
    ]


# ---------------------------------------------------------------- sending


def test_compose_delimits_each_attachment_in_order_then_the_question() -> None:
    files = [
        Attachment("src/app.py", "def f():\n    return 1\n"),
        Attachment("notes.md", "A ```fenced``` note and ````four````"),
        Attachment("ls -l", "total 0\n", kind="output", status=2),
    ]
    sent = attach.compose("What is wrong?", files)
    assert sent == (
        "File src/app.py:\n```python\ndef f():\n    return 1\n```\n\n"
        "File notes.md:\n`````markdown\nA ```fenced``` note and ````four````\n`````\n\n"
        "Output of the command `ls -l` (exit status 2):\n```\ntotal 0\n```\n\n"
        "What is wrong?"
    )
    # the fence chosen always holds the text: it reads back as one code block
    assert [b.text for b in code_blocks(sent)] == [
        "def f():\n    return 1",
        "A ```fenced``` note and ````four````",
        "total 0",
    ]


def test_a_question_keeps_its_attachments_apart_and_sends_them_joined() -> None:
    conversation = Conversation()
    files = [Attachment("a.txt", "alpha\n"), Attachment("b.txt", "beta\n")]
    question = conversation.add("user", "compare @a.txt", attachments=files)
    assert question.content == "compare @a.txt"
    assert question.attachments() == files
    sent = conversation.request_messages()[0]["content"]
    assert sent.count("alpha") == 1 and sent.index("alpha") < sent.index("beta")
    assert sent.endswith("compare @a.txt")
    assert "📎 File b.txt:\n\n```text\nbeta\n```" in to_markdown(conversation)
    assert '"text": "alpha\\n"' in to_json(conversation)


# ---------------------------------------------------------------- code out


def test_code_blocks_of_every_kind() -> None:
    source = "\n".join(
        [
            "Intro.",
            "```python",
            "x = 1",
            "```",
            "",
            "~~~~",  # four tildes hold a backtick fence inside
            "```js",
            "y()",
            "```",
            "~~~~",
            "",
            "````md",  # a longer backtick fence holds a shorter one
            "```",
            "inner",
            "```",
            "````",
            "",
            "Text then indented code:",
            "",
            "    indented()",
            "      deeper",
            "",
            "- a list item",
            "",
            "    continues the item, not code",
            "",
            "  ```sh",  # a fence indented up to three spaces
            "  ls",
            "  ```",
            "```",
            "unterminated",
        ]
    )
    assert code_blocks(source) == [
        CodeBlock("python", "x = 1"),
        CodeBlock("", "```js\ny()\n```"),
        CodeBlock("md", "```\ninner\n```"),
        CodeBlock("", "indented()\n  deeper"),
        CodeBlock("sh", "ls"),
        CodeBlock("", "unterminated"),
    ]


def test_a_closing_fence_must_match_its_opener() -> None:
    assert code_blocks("```\na\n~~~\nb\n``\n```") == [CodeBlock("", "a\n~~~\nb\n``")]
    assert code_blocks("~~~\nx\n~~~ not a close\n~~~~") == [CodeBlock("", "x\n~~~ not a close")]
    assert code_blocks("no code at all\n\njust text") == []


PIECES = st.sampled_from(
    ["text\n", "\n", "```py\n", "```\n", "~~~\n", "x = 1\n", "````\n", "para ", "- item\n"]
)


@given(st.lists(PIECES, max_size=30))
def test_settled_blocks_number_code_as_the_whole_answer_does(pieces: list[str]) -> None:
    """The REPL numbers code blocks block by block as they settle; /copy code N reads
    the whole answer. Both must find the same fenced blocks."""
    source = "".join(pieces)
    answer = Source()
    settled = []
    for piece in pieces:
        answer.feed(piece)
        batch = answer.settle()
        settled += [batch.source] if batch else []
    last = answer.settle(final=True)
    settled += [last.source] if last else []
    assert [c for block in settled for c in code_blocks(block)] == code_blocks(source)


# ---------------------------------------------------------------- completion


def test_complete_path_lists_files_and_folders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text("")
    (tmp_path / "setup.cfg").write_text("")
    (tmp_path / ".hidden").write_text("")
    monkeypatch.chdir(tmp_path)
    assert attach.complete_path("s") == [("setup.cfg", "setup.cfg"), ("src/", "src/")]
    assert attach.complete_path("src/") == [("src/app.py", "app.py")]
    assert attach.complete_path("") == [("setup.cfg", "setup.cfg"), ("src/", "src/")]
    assert attach.complete_path(".h") == [(".hidden", ".hidden")]
    assert attach.complete_path("nope/") == []


# ---------------------------------------------------------------- commands


def test_command_output_is_shown_and_kept_with_its_status() -> None:
    shown: list[str] = []
    out = shell.run("echo one; echo two >&2; exit 3", shown.append, 1024)
    assert "".join(shown) == out.text == "one\ntwo\n"
    assert out.status == 3 and out.kind == "output"
    assert out.describe() == "output of `echo one; echo two >&2; exit 3`, 2 lines, exit status 3"


def test_long_output_keeps_its_tail_within_the_cap() -> None:
    out = shell.run("seq 1 5000", lambda s: None, 1000)
    assert out.text.startswith("[the first ")
    assert out.text.endswith("4999\n5000\n")
    assert len(out.text) < 1100


def test_ctrl_c_stops_the_command_and_its_children() -> None:
    main = threading.main_thread()
    assert threading.current_thread() is main
    import signal

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    old = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, 0.5)
    try:
        out = shell.run("sleep 30 & echo $!; sleep 30 | cat", lambda s: None, 1024)
    finally:
        signal.signal(signal.SIGALRM, old)
    assert out.status is None and out.describe().endswith("stopped")
    child = int(out.text.split()[0])  # a process the command started in the background
    deadline = time.monotonic() + shell.STOP_SECONDS + 1
    while time.monotonic() < deadline:
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            break
        with contextlib.suppress(ChildProcessError):
            os.waitpid(child, os.WNOHANG)  # not ours to reap, but harmless if it were
        time.sleep(0.05)
    else:
        os.kill(child, signal.SIGKILL)
        raise AssertionError("the command's child outlived Ctrl-C")


def test_a_permission_error_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same as above where the tests run as root (which reads any file): the error
    reading raises is what the user sees, in one line."""
    secret = tmp_path / "secret.txt"
    secret.write_text("no")

    def refuse(self: Path, *args: object, **kwargs: object) -> object:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "open", refuse)
    with pytest.raises(
        AttachmentError, match=r"^.*secret.txt cannot be read: permission denied\.$"
    ):
        attach.read_file(str(secret))


def test_the_menu_of_files_to_attach_offers_no_binary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "notes.md").write_text("words\n")
    (tmp_path / "picture.png").write_bytes(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR")
    (tmp_path / "folder").mkdir()
    monkeypatch.chdir(tmp_path)
    assert [v for v, _ in attach.complete_path("")] == ["folder/", "notes.md", "picture.png"]
    offered = [v for v, _ in attach.complete_path("", attachable=True)]
    assert offered == ["folder/", "notes.md"]  # what /file and @path could attach
