"""The exceptions chatrepl raises on purpose, each with a message written for the user.

Every module raises these; only `cli` turns them into exit codes and only the REPL
and `cli` print them. A message is one sentence; `hint` is the next step, if any.
"""

from __future__ import annotations

from typing import TextIO

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_CONFIG = 78
EXIT_HANGUP = 129
EXIT_INTERRUPTED = 130
EXIT_CLOSED = 141  # stdout closed by its reader (`| head`): 128 + SIGPIPE, as shells say


class ChatreplError(Exception):
    """Base class: a failure the user should read about in one line."""

    exit_code = EXIT_FAILED

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} {self.hint}".strip()


class UsageError(ChatreplError):
    """The command line was wrong."""

    exit_code = EXIT_USAGE


class ConfigError(ChatreplError):
    """The configuration (file, environment, flags) is invalid."""

    exit_code = EXIT_CONFIG


class RequestError(ChatreplError):
    """The request could not be made or the server refused it."""

    #: True when trying the same request again later may succeed.
    retryable = False


class NetworkError(RequestError):
    """No HTTP answer: refused, unresolvable, TLS failure, reset, timeout."""

    def __init__(self, message: str, hint: str = "", retryable: bool = False) -> None:
        super().__init__(message, hint)
        self.retryable = retryable


class HTTPStatusError(RequestError):
    """The server answered with a non-2xx status."""

    def __init__(
        self,
        status: int,
        message: str,
        hint: str = "",
        retryable: bool = False,
        retry_after: float | None = None,
        detail: str = "",
    ) -> None:
        super().__init__(message, hint)
        self.status = status
        self.retryable = retryable
        self.retry_after = retry_after
        #: The server's whole error body (credentials masked), for what the message
        #: leaves out: a window named in a field of its own (llama.cpp's `n_ctx`).
        self.detail = detail


class StreamError(RequestError):
    """The answer could not be read to its end (or never began)."""

    def __init__(self, message: str, hint: str = "", retryable: bool = False) -> None:
        super().__init__(message, hint)
        self.retryable = retryable


class OutputError(ChatreplError):
    """What chatrepl writes cannot be written (a full disk, a device error)."""


class OutputClosed(ChatreplError):
    """Its reader closed stdout (`| head`): not an error, the run ends quietly."""

    exit_code = EXIT_CLOSED


class StoreError(ChatreplError):
    """The conversation store cannot be read or written."""


class NotFoundError(ChatreplError):
    """No conversation matches the id (or the prefix is ambiguous)."""


def unexpected(exc: BaseException, debug: bool = False, stream: TextIO | None = None) -> str:
    """The one line for an exception nobody expected (a bug): its type and message, and
    how to see the traceback (which `debug` prints to `stream`, else stderr, first)."""
    if debug:
        import traceback

        traceback.print_exception(exc, file=stream)
    message = str(exc).strip().splitlines()
    said = f": {message[0]}" if message else ""
    return f"Unexpected error: {type(exc).__name__}{said}. Run with --debug for the traceback."


class Terminated(BaseException):
    """SIGTERM or SIGHUP arrived: save what there is and leave with 128 + the signal."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum
        self.exit_code = 128 + signum
