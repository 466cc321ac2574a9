"""Running a shell command for `!COMMAND` and `/run`: its output shown as it comes and
kept, the tail of it within the size cap, as an attachment for the next question.

The command runs in a session of its own with no stdin, so Ctrl-C reaches chatrepl
alone, which then stops the command's whole process group and keeps the REPL running.
"""

from __future__ import annotations

import codecs
import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Callable

from chatrepl.attach import Attachment, AttachmentError

READ_BYTES = 65536
STOP_SECONDS = 2.0


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
        raise AttachmentError(f"Could not run {command}: {exc.strerror or exc}.") from None
    assert process.stdout is not None
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    kept: list[str] = []
    size = dropped = 0
    status: int | None = None
    try:
        while chunk := os.read(process.stdout.fileno(), READ_BYTES):
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
