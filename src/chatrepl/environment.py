"""The world a run of chatrepl sees, in one object: its standard streams (and whether
each is a terminal), the process environment, the folders it uses and the clock.

The real ones are the defaults; tests give their own (`Environment(stdin=io.StringIO(),
...)`) and run the command line in process. Nothing below `cli` reaches for
`sys.stdout` or `os.environ` by itself: it is handed this object, or what it needs of it.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import signal
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, TextIO, cast

from chatrepl.errors import OutputClosed, OutputError, Terminated

if TYPE_CHECKING:
    from chatrepl.config import Paths


def isatty(stream: Any) -> bool:
    """Whether a stream is a terminal (False for one that cannot say, or is closed)."""
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):  # no such method, or a closed stream
        return False


class Environment:
    """See the module's docstring. Each `*_isatty` defaults to asking its stream.

    (A plain class, not a dataclass: `--version` imports this module, and dataclasses
    with its `inspect` cost a quarter of that run.)"""

    def __init__(
        self,
        stdin: TextIO | None = None,
        stdout: TextIO | None = None,
        stderr: TextIO | None = None,
        environ: Mapping[str, str] | None = None,
        clock: Callable[[], float] = time.monotonic,
        stdin_isatty: bool | None = None,
        stdout_isatty: bool | None = None,
        stderr_isatty: bool | None = None,
    ) -> None:
        self.stdin: TextIO = stdin if stdin is not None else sys.stdin
        self.stdout: TextIO = stdout if stdout is not None else sys.stdout
        self.stderr: TextIO = stderr if stderr is not None else sys.stderr
        self.environ: Mapping[str, str] = environ if environ is not None else os.environ
        self.clock = clock
        self.stdin_isatty = isatty(self.stdin) if stdin_isatty is None else stdin_isatty
        self.stdout_isatty = isatty(self.stdout) if stdout_isatty is None else stdout_isatty
        self.stderr_isatty = isatty(self.stderr) if stderr_isatty is None else stderr_isatty

    @functools.cached_property
    def paths(self) -> Paths:
        """Where config, conversations and history live (`CHATREPL_HOME`, else the
        platform's folders)."""
        from chatrepl.config import find_paths  # not before it is needed: --version is quick

        return find_paths(self.environ)

    def guard(self) -> None:
        """Make stdout's failures chatrepl's errors (see `Guarded`), and let stdout and
        stderr replace what their encoding cannot hold (`PYTHONIOENCODING=ascii`, a C
        locale) rather than fail: the store keeps the exact text."""
        for stream in (self.stdout, self.stderr):
            reconfigure = getattr(stream, "reconfigure", None)
            if reconfigure is not None:
                with contextlib.suppress(ValueError, OSError):
                    reconfigure(errors="replace")
        if not isinstance(self.stdout, Guarded):
            self.stdout = cast(TextIO, Guarded(self.stdout, "stdout"))


#: The process's standard descriptors that were a terminal when it started (see `detach`).
_terminal_fds: list[int] = []


def note_terminal() -> None:
    """Remember which of fds 0, 1 and 2 are the terminal, for `detach` on a hang-up."""
    _terminal_fds[:] = [fd for fd in (0, 1, 2) if _fdisatty(fd)]


class Quiet:
    """The terminal on stdin made quiet between `on` and `off`, which may alternate.

    Quiet: keys typed are not echoed (they would shift what is being drawn, and leave
    stale lines), an Enter stays an Enter (not a newline, Ctrl-J) for the next prompt,
    and a Ctrl-C keeps the keys typed ahead (NOFLSH). Signals keep working. `off` puts
    the terminal back as `on` found it; neither does anything on what is no terminal.
    """

    def __init__(self) -> None:
        self._saved: list[Any] | None = None

    def on(self) -> None:
        if self._saved is not None:
            return
        try:
            import termios
        except ImportError:  # no terminal modes to set here
            return
        try:
            fd = sys.stdin.fileno()
            saved = termios.tcgetattr(fd)
            quiet = list(saved)
            quiet[3] = (quiet[3] & ~(termios.ECHO | termios.ECHONL)) | termios.NOFLSH
            quiet[0] = quiet[0] & ~termios.ICRNL
            termios.tcsetattr(fd, termios.TCSANOW, quiet)
        except (termios.error, OSError, ValueError, AttributeError):  # stdin: no terminal
            return
        self._saved = saved

    def off(self) -> None:
        saved, self._saved = self._saved, None
        if saved is not None:
            import termios

            with contextlib.suppress(termios.error, OSError, ValueError):  # a terminal gone
                termios.tcsetattr(sys.stdin.fileno(), termios.TCSANOW, saved)


@contextlib.contextmanager
def quiet_terminal() -> Iterator[None]:
    """The terminal quiet (see `Quiet`) for a block: while an answer streams."""
    quiet = Quiet()
    quiet.on()
    try:
        yield
    finally:
        quiet.off()


def _fdisatty(fd: int) -> bool:
    try:
        return os.isatty(fd)
    except OSError:
        return False


def hung_up() -> bool:
    """Whether a descriptor that was the terminal no longer is one: it was closed."""
    return any(not _fdisatty(fd) for fd in _terminal_fds)


def detach() -> None:
    """On SIGHUP: the descriptors that were the terminal and are no longer one (it hung
    up: the window was closed) are pointed at /dev/null, so that what is still written
    on the way out (the live region's last repaint, the terminal's modes restored) goes
    nowhere instead of failing, and the answer so far is saved as the run ends with 129.
    A SIGHUP sent while the terminal is still there (`kill -HUP`) leaves it alone, and
    the cursor and modes are restored as usual."""
    to_devnull([fd for fd in _terminal_fds if not _fdisatty(fd)])


def to_devnull(fds: list[int]) -> None:
    """Point these descriptors at /dev/null: what is still written to them goes nowhere
    (a terminal that hung up; a stdout that failed, before Python's last flush)."""
    if not fds:
        return
    with contextlib.suppress(OSError):
        null = os.open(os.devnull, os.O_RDWR)
        for fd in fds:
            os.dup2(null, fd)
        os.close(null)


def terminal_reflows(environ: Mapping[str, str]) -> bool:
    """Whether the terminal rewraps what it shows when it is made narrower, as far as
    chatrepl knows: tmux (from $TMUX), or any terminal CHATREPL_REFLOW=1 says does (0:
    none). Most rewrap, but from the environment chatrepl cannot tell which, and
    erasing rows as after a rewrap where none happened would erase lines above the
    answer."""
    said = environ.get("CHATREPL_REFLOW", "").strip().lower()
    if said in ("0", "1", "no", "yes", "false", "true"):
        return said in ("1", "yes", "true")
    return bool(environ.get("TMUX"))


#: Characters written at once to a guarded stream (see `Guarded.write`).
PIECE = 65536


class Guarded:
    """A text stream whose failures are chatrepl's errors: a closed pipe becomes
    `OutputClosed` (quiet, exit 141), any other failure to write `OutputError` (one
    line). After the first failure nothing more is written to it. Everything else is
    the stream's own."""

    def __init__(self, stream: TextIO, name: str) -> None:
        self.stream = stream
        self.name = name
        self.failed = False

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self.stream, attribute)

    def write(self, text: str) -> int:
        if self.failed:
            return len(text)
        # A large write that a closing pipe cuts short returns part of its length and
        # no error, which an unbuffered text stream (PYTHONUNBUFFERED) does not check:
        # written in pieces, the next piece meets the closed pipe and says so.
        if len(text) > PIECE:
            for start in range(0, len(text), PIECE):
                self.write(text[start : start + PIECE])
            return len(text)
        return self._do(lambda: self.stream.write(text)) or 0

    def flush(self) -> None:
        if not self.failed:
            self._do(self.stream.flush)

    def _do(self, action: Callable[[], Any]) -> Any:
        try:
            return action()
        except BrokenPipeError:
            self.failed = True
            raise OutputClosed(f"{self.name} was closed by its reader.") from None
        except OSError as exc:
            if exc.errno in (errno.EIO, errno.ENXIO) and hung_up():
                # the terminal was closed: a hang-up, whether or not SIGHUP came first
                self.failed = True
                detach()
                raise Terminated(signal.SIGHUP) from None
            self.failed = True
            raise OutputError(f"Could not write to {self.name}: {exc.strerror or exc}.") from None
        except ValueError as exc:  # a stream closed under us
            self.failed = True
            raise OutputError(f"Could not write to {self.name}: {exc}.") from None
