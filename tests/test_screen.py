"""What a person sees: the real program in a pseudo-terminal, read through pyte.

A streamed answer must leave the screen and scrollback exactly as the same answer
delivered in one piece does: no duplicated, missing or stale lines, whether the answer
is shorter or taller than the window, and across a resize.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pexpect
import pyte
import pytest

from tests.conftest import clean_env
from tests.server import ChatServer, Script

TIMEOUT = 30


def answer(sections: int) -> str:
    parts = []
    for n in range(sections):
        parts.append(
            f"## Part m{n:03d}a\n\nSome words of part m{n:03d}b with `code` and "
            f"**bold** text that is long enough to wrap at least once in the "
            f"window, ending here m{n:03d}c.\n\n- item m{n:03d}d\n- item m{n:03d}e\n\n"
            f"```python\nprint('m{n:03d}f')\n```\n\n"
        )
    return "".join(parts) + "The end mZZZ."


def tokens(text: str) -> list[str]:
    return re.findall(r"\s*\S+|\s+", text)


def streamed(text: str, pause: float = 0.003) -> Script:
    pieces: list[bytes | float] = []
    for tok in tokens(text):
        pieces += [f"data: {json.dumps({'response': tok})}\n\n".encode(), pause]
    pieces.append(b"data: [DONE]\n\n")
    return Script(pieces=pieces)  # type: ignore[arg-type]


def whole(text: str) -> Script:
    return Script(pieces=[f"data: {json.dumps({'response': text})}\n\ndata: [DONE]\n\n".encode()])


def line_text(line: dict[int, pyte.screens.Char], columns: int) -> str:
    return "".join(line[x].data for x in range(columns)).rstrip()


def run_screen(
    server: ChatServer,
    home: Path,
    rows: int,
    cols: int,
    resize: tuple[int, int] | None = None,
    again: tuple[int, int] | None = None,
) -> list[str]:
    env = clean_env(home, CHATREPL_URL=server.url)
    child = pexpect.spawn(
        sys.executable,
        ["-m", "chatrepl", "question"],
        env=env,
        dimensions=(rows, cols),
        timeout=TIMEOUT,
    )
    screen = pyte.HistoryScreen(cols, rows, history=100_000)
    stream = pyte.ByteStream(screen)
    seen = b""
    resized = False
    while True:
        try:
            data = child.read_nonblocking(65536, timeout=TIMEOUT)
        except pexpect.EOF:
            break
        stream.feed(data)
        seen += data
        if resize and not resized and b"m002" in seen:
            child.setwinsize(*resize)
            screen.resize(*resize)
            resized = True
        if again and resized and b"m005" in seen:  # a second resize, later in the answer
            child.setwinsize(*again)
            screen.resize(*again)
            again = None
    child.close()
    assert child.exitstatus == 0
    lines = [line_text(line, screen.columns) for line in screen.history.top]
    lines += [line_text(screen.buffer[y], screen.columns) for y in range(screen.lines)]
    while lines and not lines[-1]:
        lines.pop()
    return lines


@pytest.mark.parametrize(("sections", "rows"), [(2, 60), (12, 20)], ids=["short", "tall"])
def test_streamed_equals_rendered_once(
    server: ChatServer, chatrepl_home: Path, sections: int, rows: int
) -> None:
    text = answer(sections)
    server.add(streamed(text), whole(text))
    live = run_screen(server, chatrepl_home, rows, 80)
    once = run_screen(server, chatrepl_home, rows, 80)
    assert live == once
    assert sum("m000b" in line for line in live) == 1
    assert live[-1].strip() == "The end mZZZ."


@pytest.mark.parametrize("again", [None, (24, 50)], ids=["100-70", "100-70-50"])
def test_resize_mid_answer_leaves_each_line_once(
    server: ChatServer, chatrepl_home: Path, again: tuple[int, int] | None
) -> None:
    text = answer(8)
    server.add(streamed(text, pause=0.01))
    lines = run_screen(server, chatrepl_home, 24, 100, resize=(24, 70), again=again)
    joined = "\n".join(lines)
    markers = re.findall(r"m\d{3}[a-f]|mZZZ", text)
    found = re.findall(r"m\d{3}[a-f]|mZZZ", joined)
    if again is None:
        assert found == markers  # every marker once, in order: nothing lost, nothing repeated
        return
    # Narrowed twice, a terminal cuts what it already scrolled at the new width (it does
    # not reflow): words past column 50 of lines drawn at 70 are gone. Nothing is shown
    # twice, nothing out of order, and all that was drawn after the last resize is whole.
    assert len(found) == len(set(found)) and found == sorted(found, key=markers.index)
    later = markers[markers.index("m006a") :]
    assert found[-len(later) :] == later


def waited_for(server: ChatServer, home: Path, columns: int) -> list[str]:
    """The rows a terminal `columns` wide shows once an answer that comes after 1.2 s
    of silence (the waiting line updated meanwhile) has ended."""
    host = server.url.split("//")[1].split("/")[0]
    server.add(Script(before=1.2, pieces=whole("The answer, at last.").pieces))
    child = pexpect.spawn(
        sys.executable,
        ["-m", "chatrepl", "question"],
        env=clean_env(home, CHATREPL_URL=server.url),
        dimensions=(24, columns),
        timeout=TIMEOUT,
    )
    screen = pyte.Screen(columns, 24)
    stream = pyte.ByteStream(screen)
    said = f"waiting for {host}…" if columns > 60 else "waiting…"  # (narrow: no host)
    child.expect(re.escape(said).encode())  # while the server is silent
    stream.feed(child.before + child.after)
    child.expect(b"The answer")  # several updates of the line came before it
    stream.feed(child.before + child.after)
    child.expect(pexpect.EOF)
    stream.feed(child.before)
    child.close()
    assert child.exitstatus == 0
    return [line.rstrip() for line in screen.display if line.strip()]


def test_a_slow_server_is_waited_for_in_a_line_that_leaves_no_trace(
    server: ChatServer, chatrepl_home: Path
) -> None:
    assert waited_for(server, chatrepl_home, 80) == ["The answer, at last."]


def test_the_waiting_line_fits_a_window_narrower_than_it(
    server: ChatServer, chatrepl_home: Path
) -> None:
    """At 30 columns the line (some 50 cells) is cut to the window: wrapped, each update
    would leave a row behind (found by a tester: 37 rows for a 4 s wait)."""
    assert waited_for(server, chatrepl_home, 30) == ["The answer, at last."]


def test_a_pipe_never_gets_the_waiting_line(server: ChatServer, chatrepl_home: Path) -> None:
    from tests.helpers import run_chatrepl

    server.add(Script(before=0.8, pieces=whole("Piped.").pieces))
    done = run_chatrepl(chatrepl_home, "question", url=server.url)
    assert (done.stdout, done.stderr) == ("Piped.\n", "")
