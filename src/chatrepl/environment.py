"""The world a run of chatrepl sees, in one object: its standard streams (and whether
each is a terminal), the process environment, the folders it uses and the clock.

The real ones are the defaults; tests give their own (`Environment(stdin=io.StringIO(),
...)`) and run the command line in process. Nothing below `cli` reaches for
`sys.stdout` or `os.environ` by itself: it is handed this object, or what it needs of it.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from chatrepl.config import Paths


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # no such method, or a closed stream
        return False


@dataclass
class Environment:
    """See the module's docstring. `*_isatty` default to asking the streams."""

    stdin: TextIO = field(default_factory=lambda: sys.stdin)
    stdout: TextIO = field(default_factory=lambda: sys.stdout)
    stderr: TextIO = field(default_factory=lambda: sys.stderr)
    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)
    clock: Callable[[], float] = time.monotonic
    stdin_isatty: bool | None = None
    stdout_isatty: bool | None = None
    stderr_isatty: bool | None = None

    def __post_init__(self) -> None:
        if self.stdin_isatty is None:
            self.stdin_isatty = _isatty(self.stdin)
        if self.stdout_isatty is None:
            self.stdout_isatty = _isatty(self.stdout)
        if self.stderr_isatty is None:
            self.stderr_isatty = _isatty(self.stderr)

    @property
    def paths(self) -> Paths:
        """Where config, conversations and history live (`CHATREPL_HOME`, else the
        platform's folders)."""
        from chatrepl.config import find_paths  # not before it is needed: --version is quick

        return find_paths(self.environ)

    @property
    def interactive(self) -> bool:
        """Both ends are a terminal: the REPL can run."""
        return bool(self.stdin_isatty and self.stdout_isatty)
