"""HTTP transport: the one place that imports requests.

It turns a conversation into a request for the endpoint's API, reads the response body
as raw bytes the moment they arrive (`read1`, so a close-delimited or chunked stream is
never held back to fill a buffer), hands them to `wire` for decoding, and turns every
failure into one of the exceptions in `errors`, with the server's own message.
"""

from __future__ import annotations

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
from chatrepl.addresses import api_for, post_url
from chatrepl.config import Endpoint, token_hint
from chatrepl.errors import HTTPStatusError, NetworkError, StreamError
from chatrepl.inflate import ACCEPT_ENCODING, Inflater
from chatrepl.redaction import hide_password, redact
from chatrepl.refusals import MAX_RETRY_AFTER, not_a_stream, redirect_error, status_error
from chatrepl.sse import WireError

READ_SIZE = 65536
MAX_ERROR_BODY = 64 * 1024
MAX_ANSWER = 64 * 1024 * 1024
MAX_TRIES = 3


@dataclass(frozen=True)
class Request:
    url: str
    headers: Mapping[str, str]
    body: bytes


def build_request(
    endpoint: Endpoint, messages: list[dict[str, str]], usage: bool = True
) -> Request:
    """The request for `messages`; the token is added later, by the auth hook. A model
    is named only when one is set (`"model": ""` is refused by real servers); the
    OpenAI shape asks for the usage of the answer (`usage`: unless the server refused
    that field)."""
    api = api_for(endpoint)
    payload: dict[str, Any] = {"messages": messages}
    if api in ("openai", "ollama"):
        payload = {"messages": messages, "stream": True}
        if endpoint.model:
            payload = {"model": endpoint.model, **payload}
        if api == "openai" and usage:
            payload["stream_options"] = {"include_usage": True}
        if endpoint.temperature is not None:  # the Workers shape takes none
            if api == "openai":
                payload["temperature"] = endpoint.temperature
            else:
                payload["options"] = {"temperature": endpoint.temperature}
    headers = {
        "Content-Type": "application/json",
        "Accept": "text/event-stream, application/x-ndjson, application/json",
        "Accept-Encoding": ACCEPT_ENCODING,
        "User-Agent": f"chatrepl/{__version__}",
        **endpoint.headers,
    }
    return Request(post_url(endpoint), headers, json.dumps(payload).encode())


class _Bearer(requests.auth.AuthBase):
    """Sets the bearer token; as an explicit auth it also keeps .netrc from replacing it."""

    def __init__(self, token: str) -> None:
        self._token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers.pop("Authorization", None)
        if self._token:
            request.headers["Authorization"] = f"Bearer {self._token}"
        return request


def refuses_usage(exc: HTTPStatusError, request: Request) -> bool:
    """A 400 that names the `stream_options` a request asked for (older OpenAI-style
    servers reject fields they do not know)."""
    said = f"{exc.message} {exc.detail}".lower()
    return (
        exc.status in (400, 422)
        and b'"stream_options"' in request.body
        and ("stream_options" in said or "include_usage" in said)
    )


def _host(url: str) -> str:
    """The host (and port) to name in a message: never the user information, which may
    hold a password."""
    netloc = urlsplit(url).netloc.rpartition("@")[2]
    return netloc or hide_password(url)


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
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.session = session or requests.Session()
        #: Where tokens were read from (the process environment by default), for the
        #: 401/403 hint that names where the token came from.
        self.environ = environ
        self.connect_timeout = connect_timeout
        self.idle_timeout = idle_timeout
        self.clock = clock
        self.sleep = sleep
        self.on_retry = on_retry
        self.max_answer = MAX_ANSWER
        #: Endpoints (by URL) that refused `stream_options`: not asked again.
        self.no_usage: set[str] = set()

    def stream(
        self, endpoint: Endpoint, messages: list[dict[str, str]], token: str = ""
    ) -> Iterator[wire.Event]:
        """Yield the answer's events; retry what failed before any text arrived."""
        key = post_url(endpoint)
        request = build_request(endpoint, messages, usage=key not in self.no_usage)
        tries = 0
        while True:
            tries += 1
            content_seen = False
            try:
                try:
                    response = self._open(request, token, endpoint)
                except HTTPStatusError as exc:
                    if not refuses_usage(exc, request) or key in self.no_usage:
                        raise
                    self.no_usage.add(key)  # asked once; this endpoint will not be asked
                    request = build_request(endpoint, messages, usage=False)
                    response = self._open(request, token, endpoint)
                try:
                    for event in self._events(response, request.url, endpoint.model):
                        if isinstance(event, wire.Text | wire.Reasoning):
                            content_seen = True
                        elif isinstance(event, wire.Failure):
                            event = wire.Failure(redact(event.message, (token,)))
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

    def get(self, url: str, token: str, endpoint: Endpoint) -> bytes:
        """A small GET (the list of models), with the endpoint's token and headers; its
        failures are the same one-line errors as a chat request's."""
        headers = {"User-Agent": f"chatrepl/{__version__}", **endpoint.headers}
        try:
            response = self.session.get(
                url,
                headers=headers,
                auth=_Bearer(token),
                timeout=(self.connect_timeout, self.idle_timeout),
                allow_redirects=False,
            )
        except (requests.exceptions.RequestException, ValueError, OverflowError) as exc:
            raise _network_error(exc, url, self.connect_timeout, self.idle_timeout) from None
        if response.status_code >= 300:
            raise status_error(
                response.status_code,
                response.reason or "",
                response.content[:MAX_ERROR_BODY],
                response.headers.get("Content-Type", ""),
                response.headers,
                token_hint(endpoint, self.environ),
                (token,),
            )
        return response.content

    def _open(self, request: Request, token: str, endpoint: Endpoint) -> requests.Response:
        """Send the request. No redirect is followed (see `redirect_error`), and the
        explicit bearer auth keeps requests from reading .netrc for it."""
        try:
            response = self.session.post(
                request.url,
                data=request.body,
                headers=dict(request.headers),
                auth=_Bearer(token),
                stream=True,
                timeout=(self.connect_timeout, self.idle_timeout),
                allow_redirects=False,
            )
        except (requests.exceptions.RequestException, ValueError, OverflowError) as exc:
            raise _network_error(
                exc, request.url, self.connect_timeout, self.idle_timeout
            ) from None
        if 300 <= response.status_code < 400:
            response.close()
            raise redirect_error(
                response.status_code, response.reason or "", response.headers.get("Location", "")
            )
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
                token_hint(endpoint, self.environ) if response.status_code in (401, 403) else "",
                (token,),
            )
        return response

    def _read(self, raw: Any, host: str, content_seen: bool) -> bytes:
        """The next bytes off the wire, as they came (b"" at the end)."""
        try:
            return bytes(raw.read1(READ_SIZE))
        except (urllib3.exceptions.ReadTimeoutError, TimeoutError):
            raise StreamError(
                f"The answer stalled: nothing arrived from {host} for {self.idle_timeout:g} s."
            ) from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise StreamError(
                f"The connection to {host} broke mid-answer ({type(exc).__name__}).",
                retryable=not content_seen,
            ) from None

    def _events(
        self, response: requests.Response, url: str, model: str = ""
    ) -> Iterator[wire.Event]:
        """Read the body as it arrives, decode it, and watch for stalls and caps.

        Raises StreamError when the connection breaks, when no text arrives for the idle
        timeout (keep-alive comments do not count), when the answer outgrows its cap, and
        when the body ends with no answer at all.
        """
        host = _host(url)
        decoder: wire.Decoder | None = None
        inflater = self._inflater(response, host)
        last_content = self.clock()
        received = 0
        content_seen = False
        answered = False  # any event at all
        ended = False
        while not ended:
            chunk = self._read(response.raw, host, content_seen)
            ended = not chunk
            if inflater is not None:
                chunk = _inflate(inflater, chunk, host)
            if not chunk:
                continue
            received += len(chunk)
            if received > self.max_answer:
                raise StreamError(
                    f"The answer is larger than {self.max_answer // 2**20} MiB; "
                    "the rest was not read."
                )
            if decoder is None:
                decoder = _decoder(response, chunk, model)
            try:
                events = wire.coalesce(decoder.feed(chunk))
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
        for event in wire.coalesce(decoder.close()) if decoder is not None else []:
            answered = True
            yield event
        if not answered:
            raise _no_answer(response, host, received)

    @staticmethod
    def _inflater(response: requests.Response, host: str) -> Inflater | None:
        encoding = response.headers.get("Content-Encoding", "").strip().lower()
        if encoding in ("", "identity"):
            return None
        try:
            return Inflater(encoding)
        except ValueError:
            raise StreamError(
                f"{host} compressed the answer as {encoding}, which chatrepl cannot decode.",
                "Turn compression off on the server or proxy.",
            ) from None


def _inflate(inflater: Inflater, chunk: bytes, host: str) -> bytes:
    """The decompressed bytes of `chunk` (b"": the end of the body)."""
    try:
        return inflater.feed(chunk) if chunk else inflater.close()
    except ValueError:
        raise StreamError(
            f"The compressed answer from {host} is corrupt ({inflater.encoding}); "
            "the rest was not read."
        ) from None


def _decoder(response: requests.Response, first: bytes, model: str) -> wire.Decoder:
    """The decoder for the body, chosen from its type and first bytes, or a StreamError
    for a body that cannot hold a chat answer."""
    content_type = response.headers.get("Content-Type", "")
    if not wire.stream_kind(content_type, first):
        raise not_a_stream(response.status_code, response.reason or "", content_type, first)
    return wire.decoder_for(content_type, first, model)


def _no_answer(response: requests.Response, host: str, received: int) -> StreamError:
    """The error for a body that ended without a single event."""
    label = f"{response.status_code} {response.reason or ''}".strip()
    if received == 0:
        # A body that said it was empty is not worth asking again; one that was cut off
        # right after the headers may be.
        declared = response.headers.get("Content-Length") == "0"
        return StreamError(
            f"The server answered {label} with an empty body.",
            "Check the URL and the model name.",
            retryable=not declared,
        )
    return StreamError(f"{host} closed the connection without an answer.", retryable=True)
