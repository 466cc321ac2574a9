"""Where an endpoint's requests go: the request shape its URL implies, the URL a chat
request is posted to, and what makes a URL unusable."""

from __future__ import annotations

from typing import Protocol
from urllib.parse import urlsplit


class Endpoint(Protocol):
    """What is read here of `config.Endpoint` (which imports this module)."""

    @property
    def api(self) -> str: ...

    @property
    def url(self) -> str: ...


def api_for(endpoint: Endpoint) -> str:
    """The request shape: as configured, or guessed from the URL for `auto` (an OpenAI
    base URL ending in `/v1`, or a `/chat/completions` path: openai; port 11434:
    ollama; else the Workers shape)."""
    if endpoint.api != "auto":
        return endpoint.api
    parts = urlsplit(endpoint.url)
    path = parts.path.rstrip("/")
    if path.endswith("/chat/completions") or path.endswith("/v1"):
        return "openai"
    if parts.port == 11434:
        return "ollama"
    return "workers"


def post_url(endpoint: Endpoint) -> str:
    """Where a chat request goes: the URL, with `/chat/completions` after an OpenAI base
    URL that ends in `/v1` (as every provider documents its base URL)."""
    parts = urlsplit(endpoint.url)
    if api_for(endpoint) == "openai" and parts.path.rstrip("/").endswith("/v1"):
        return parts._replace(path=parts.path.rstrip("/") + "/chat/completions").geturl()
    return endpoint.url


def url_problem(url: str) -> str:
    """Why `url` cannot be an endpoint's address ("" when it can); the URL itself is not
    repeated, as it may hold a password."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        return f"not a valid URL ({str(exc).rstrip('.')})"
    if parts.scheme not in ("http", "https"):
        return "not an http:// or https:// address"
    if not parts.hostname:
        return "an address with no host"
    if port == 0:
        return "an address with port 0"
    return ""
