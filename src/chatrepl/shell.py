"""Running a shell command for `!COMMAND` and `/run`: its output shown as it comes and
kept, the tail of it within the size cap, as an attachment for the next question.

The command runs in a session of its own with no stdin, so Ctrl-C reaches chatrepl
alone, which then stops the command's whole process group and keeps the REPL running.
"""

from __future__ import annotations

import codecs
import contextlib
import os
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator

from chatrepl.attach import Attachment, AttachmentError
from chatrepl.sanitize import shown

READ_BYTES = 65536
STOP_SECONDS = 2.0
POLL_SECONDS = 0.05  # how often to look whether the command has exited
LINGER_SECONDS = 0.2  # output read after it exited, from a pipe a daemon may hold open


def _stop(process: subprocess.Popen[bytes]) -> None:
    """End the command and everything it started: TERM, then KILL if it lingers."""
    for sig in (signal.SIGTERM, getattr(signal, "SIGKILL", signal.SIGTERM)):
        with contextlib.suppress(OSError):
            if sys.platform != "win32":
                os.killpg(process.pid, sig)
            else:  # pragma: no cover
                process.kill()
        try:
            process.wait(STOP_SECONDS)
            return
        except subprocess.TimeoutExpired:
            continue


def _output(process: subprocess.Popen[bytes], fd: int) -> Iterator[bytes]:
    """The command's output until the command itself exits (and the pipe has had a
    moment more): a daemon it started that keeps the pipe open does not hold us."""
    selector = selectors.DefaultSelector()
    selector.register(fd, selectors.EVENT_READ)
    exited: float | None = None
    try:
        while exited is None or time.monotonic() - exited < LINGER_SECONDS:
            if exited is None and process.poll() is not None:
                exited = time.monotonic()
            if not selector.select(POLL_SECONDS):
                continue
            chunk = os.read(fd, READ_BYTES)
            if not chunk:
                return
            yield chunk
    finally:
        selector.close()


def run(command: str, show: Callable[[str], None], max_bytes: int) -> Attachment:
    """Run `command` in the shell; show its output as it comes; return it as an
    attachment (its last `max_bytes`, if longer), with its exit status, or None as the
    status if Ctrl-C stopped it."""
    try:
        process = subprocess.Popen(
            command,
            shell=True,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    except OSError as exc:
        raise AttachmentError(f"Could not run {shown(command)}: {exc.strerror or exc}.") from None
    assert process.stdout is not None
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    kept: list[str] = []
    size = dropped = 0
    status: int | None = None
    try:
        for chunk in _output(process, process.stdout.fileno()):
            text = decoder.decode(chunk)
            show(text)
            kept.append(text)
            size += len(text)
            while size > max_bytes and len(kept) > 1:
                size -= len(kept[0])
                dropped += len(kept.pop(0))
        status = process.wait()
    except KeyboardInterrupt:
        _stop(process)
    finally:
        process.stdout.close()
    text = "".join(kept)
    if size > max_bytes:
        dropped += size - max_bytes
        text = text[-max_bytes:]
    if dropped:
        text = f"[the first {dropped:,} characters are left out]\n" + text
    return Attachment(command, text, kind="output", status=status)
