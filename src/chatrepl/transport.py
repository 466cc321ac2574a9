"""HTTP transport: the one place that imports requests.

It turns a conversation into a request for the endpoint's API, reads the response body
as raw bytes the moment they arrive (`read1`, so a close-delimited or chunked stream is
never held back to fill a buffer), hands them to `wire` for decoding, and turns every
failure into one of the exceptions in `errors`, with the server's own message.
"""

from __future__ import annotations

import email.utils
import json
import random
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
import urllib3.exceptions

from chatrepl import __version__, wire
from chatrepl.config import Endpoint
from chatrepl.errors import HTTPStatusError, NetworkError, StreamError
from chatrepl.sse import WireError

READ_SIZE = 65536
MAX_ERROR_BODY = 64 * 1024
MAX_ANSWER = 64 * 1024 * 1024
MAX_TRIES = 3
MAX_RETRY_AFTER = 30.0
RETRY_STATUSES = (429, 502, 503, 504)
NO_RETRY_WORDS = ("daily", "quota", "billing", "neurons")


def api_for(endpoint: Endpoint) -> str:
    """The request shape: as configured, or guessed from the URL for `auto`."""
    if endpoint.api != "auto":
        return endpoint.api
    parts = urlsplit(endpoint.url)
    if parts.path.rstrip("/").endswith("/chat/completions"):
        return "openai"
    if parts.port == 11434:
        return "ollama"
    return "workers"


@dataclass(frozen=True)
class Request:
    url: str
    headers: Mapping[str, str]
    body: bytes


def build_request(endpoint: Endpoint, messages: list[dict[str, str]]) -> Request:
    """The request for `messages`; the token is added later, by the auth hook."""
    api = api_for(endpoint)
    payload: dict[str, Any] = {"messages": messages}
    if api in ("openai", "ollama"):
        payload = {"model": endpoint.model, "messages": messages, "stream": True}
    headers = {
        "Content-Type": "application/json",
        "Accept": "text/event-stream, application/x-ndjson, application/json",
        "Accept-Encoding": "identity",  # compression would hold tokens back
        "User-Agent": f"chatrepl/{__version__}",
        **endpoint.headers,
    }
    return Request(endpoint.url, headers, json.dumps(payload).encode())


class _Bearer(requests.auth.AuthBase):
    """Sets the bearer token; as an explicit auth it also keeps .netrc from replacing it."""

    def __init__(self, token: str) -> None:
        self._token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers.pop("Authorization", None)
        if self._token:
            request.headers["Authorization"] = f"Bearer {self._token}"
        return request


def _sentence(text: str) -> str:
    text = " ".join(text.split())
    if len(text) > 300:
        text = text[:299] + "…"
    return text if text.endswith((".", "!", "?", "…")) else text + "."


def _host(url: str) -> str:
    parts = urlsplit(url)
    return parts.netloc or url


def _retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (seconds or an HTTP date), or None."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = when.timestamp() - time.time()
    return max(0.0, seconds)


def status_error(
    status: int,
    reason: str,
    body: bytes,
    content_type: str,
    headers: Mapping[str, str],
    token_env: str = "CHATREPL_TOKEN",
) -> HTTPStatusError:
    """One clear error for a non-2xx answer: status, reason, the server's own message."""
    message = wire.error_message(body, content_type)
    label = f"{status} {reason}".strip()
    text = (
        f"The server answered {label}: {_sentence(message)}"
        if message
        else f"The server answered {label}."
    )
    lowered = (message or "").lower() + body[:2000].decode("utf-8", "replace").lower()
    quota = any(word in lowered for word in NO_RETRY_WORDS)
    hint = ""
    if status in (401, 403):
        hint = f"Check the token in {token_env}."
    elif status == 404:
        hint = "Check the URL and the model name."
    elif status == 429 and quota:
        hint = "This is a quota limit; retrying now will not help."
    retryable = status in RETRY_STATUSES and not quota
    wait = _retry_after(headers.get("Retry-After"))
    if retryable and wait is not None and wait > MAX_RETRY_AFTER:
        retryable = False  # no point waiting here that long: say so instead
        hint = f"The server asks to wait {wait:.0f} s before trying again."
    return HTTPStatusError(status, text, hint, retryable, wait)


def _network_error(
    exc: Exception, url: str, connect_timeout: float, idle_timeout: float
) -> NetworkError:
    host = _host(url)
    detail = str(exc)
    if isinstance(exc, requests.exceptions.SSLError):
        return NetworkError(
            f"TLS verification failed for {host}.",
            "Check the URL, or the certificate of the server.",
        )
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return NetworkError(
            f"Timed out connecting to {host} after {connect_timeout:g} s.",
            "Check your network.",
            retryable=False,
        )
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return NetworkError(
            f"No answer from {host} within {idle_timeout:g} s.",
            "The server may be overloaded; try again.",
        )
    if (
        "Name or service not known" in detail
        or "NameResolution" in detail
        or "nodename nor servname" in detail
        or "Failed to resolve" in detail
    ):
        return NetworkError(
            f"Could not resolve the host {host}.", "Check the URL and your network."
        )
    if "Connection refused" in detail or "ConnectionRefused" in detail:
        return NetworkError(
            f"Connection refused by {host}.", "Is the server running? Check the URL."
        )
    if "reset" in detail.lower() or "RemoteDisconnected" in detail or "aborted" in detail:
        return NetworkError(
            f"The connection to {host} was closed before an answer.", "Try again.", retryable=True
        )
    return NetworkError(f"Could not reach {host}: {type(exc).__name__}.", "Check the URL.")


class Transport:
    """Sends a conversation and yields the events of the answer as they arrive."""

    def __init__(
        self,
        session: requests.Session | None = None,
        connect_timeout: float = 10.0,
        idle_timeout: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        on_retry: Callable[[str], None] | None = None,
    ) -> None:
        self.session = session or requests.Session()
        self.connect_timeout = connect_timeout
        self.idle_timeout = idle_timeout
        self.clock = clock
        self.sleep = sleep
        self.on_retry = on_retry
        self.max_answer = MAX_ANSWER

    def stream(
        self, endpoint: Endpoint, messages: list[dict[str, str]], token: str = ""
    ) -> Iterator[wire.Event]:
        """Yield the answer's events; retry what failed before any text arrived."""
        request = build_request(endpoint, messages)
        tries = 0
        while True:
            tries += 1
            content_seen = False
            try:
                response = self._open(request, token, endpoint.token_env)
                try:
                    for event in self._events(response, request.url, endpoint.model):
                        if isinstance(event, wire.Text | wire.Reasoning):
                            content_seen = True
                        yield event
                    return
                finally:
                    response.close()
            except (HTTPStatusError, NetworkError, StreamError) as exc:
                if content_seen or not exc.retryable or tries >= MAX_TRIES:
                    raise
                delay = exc.retry_after if isinstance(exc, HTTPStatusError) else None
                if delay is None:
                    delay = min(MAX_RETRY_AFTER, 2.0 ** (tries - 1)) * (0.5 + random.random())
                if self.on_retry:
                    self.on_retry(
                        f"{exc.message} Retrying in {delay:.0f}s ({tries + 1}/{MAX_TRIES})."
                    )
                self.sleep(delay)

    def _open(self, request: Request, token: str, token_env: str) -> requests.Response:
        try:
            response = self.session.post(
                request.url,
                data=request.body,
                headers=dict(request.headers),
                auth=_Bearer(token),
                stream=True,
                timeout=(self.connect_timeout, self.idle_timeout),
                allow_redirects=True,
            )
        except requests.exceptions.RequestException as exc:
            raise _network_error(
                exc, request.url, self.connect_timeout, self.idle_timeout
            ) from None
        if response.status_code >= 400:
            try:
                body = response.raw.read(MAX_ERROR_BODY, decode_content=True) or b""
            except Exception:
                body = b""
            finally:
                response.close()
            raise status_error(
                response.status_code,
                response.reason or "",
                body,
                response.headers.get("Content-Type", ""),
                response.headers,
                token_env,
            )
        return response

    def _events(
        self, response: requests.Response, url: str, model: str = ""
    ) -> Iterator[wire.Event]:
        """Read the body as it arrives, decode it, and watch for stalls and caps.

        Raises StreamError when the connection breaks, when no text arrives for the idle
        timeout (keep-alive comments do not count), when the answer outgrows its cap, and
        when the body ends with no answer at all.
        """
        host = _host(url)
        raw = response.raw
        decoder: wire.Decoder | None = None
        last_content = self.clock()
        received = 0
        content_seen = False
        answered = False  # any event at all
        while True:
            try:
                chunk = raw.read1(READ_SIZE)
            except (urllib3.exceptions.ReadTimeoutError, TimeoutError):
                raise StreamError(
                    f"The answer stalled: nothing arrived from {host} for {self.idle_timeout:g} s."
                ) from None
            except (urllib3.exceptions.HTTPError, OSError) as exc:
                raise StreamError(
                    f"The connection to {host} broke mid-answer ({type(exc).__name__}).",
                    retryable=not content_seen,
                ) from None
            if not chunk:
                break
            received += len(chunk)
            if received > self.max_answer:
                raise StreamError(
                    f"The answer is larger than {self.max_answer // 2**20} MiB; "
                    "the rest was not read."
                )
            if decoder is None:
                decoder = wire.decoder_for(response.headers.get("Content-Type", ""), chunk, model)
            try:
                events = decoder.feed(chunk)
            except WireError as exc:
                raise StreamError(f"{exc} The rest of the answer was not read.") from None
            now = self.clock()
            if any(isinstance(e, wire.Text | wire.Reasoning) for e in events):
                last_content = now
                content_seen = True
            elif now - last_content > self.idle_timeout:
                raise StreamError(f"The answer stalled: no new text for {self.idle_timeout:g} s.")
            for event in events:
                answered = True
                yield event
                if isinstance(event, wire.Done | wire.Failure):
                    return
        for event in decoder.close() if decoder is not None else []:
            answered = True
            yield event
        if not answered:
            raise StreamError(f"{host} closed the connection without an answer.", retryable=True)
