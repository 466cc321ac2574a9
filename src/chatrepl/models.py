"""The models an endpoint serves: where to ask (`GET …/v1/models` for the OpenAI shape,
`GET /api/tags` for Ollama; the Workers shape cannot list them), how to read the answer,
and a list kept per endpoint for a day in the cache folder (`models.json`), so Tab in
`/model` and `chatrepl --models` do not ask the server every time.

Pure apart from the cache file; the request itself is the transport's.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from chatrepl.addresses import api_for, post_url
from chatrepl.config import Endpoint, token_for
from chatrepl.errors import ChatreplError

KEPT_SECONDS = 24 * 3600


def listing_url(endpoint: Endpoint) -> str:
    """Where the endpoint lists its models; ChatreplError where its API cannot."""
    api = api_for(endpoint)
    if api == "openai":
        base = post_url(endpoint).rstrip("/").removesuffix("/chat/completions")
        return base + "/models"
    if api == "ollama":
        parts = urlsplit(endpoint.url)
        return f"{parts.scheme}://{parts.netloc}/api/tags"
    raise ChatreplError(
        "This endpoint's API (workers) cannot list its models.",
        'An endpoint with api = "openai" or "ollama" can.',
    )


def names(body: bytes) -> list[str]:
    """The model names in a listing: OpenAI's `data[].id` or Ollama's `models[].name`."""
    try:
        data: Any = json.loads(body)
    except ValueError:
        raise ChatreplError("The endpoint's list of models is not JSON.") from None
    items = (data.get("data") or data.get("models") or []) if isinstance(data, dict) else []
    found = [
        str(item.get("id") or item.get("name"))
        for item in items
        if isinstance(item, dict) and (item.get("id") or item.get("name"))
    ]
    return sorted(set(found))


class Cache:
    """Lists of models by listing URL, each kept for KEPT_SECONDS."""

    def __init__(self, path: Path, clock: Any = time.time) -> None:
        self.path = path
        self.clock = clock

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def get(self, url: str) -> list[str] | None:
        entry = self._read().get(url)
        if not isinstance(entry, dict) or not isinstance(entry.get("models"), list):
            return None
        if self.clock() - float(entry.get("at", 0)) > KEPT_SECONDS:
            return None
        return [str(name) for name in entry["models"]]

    def keep(self, url: str, models: list[str]) -> None:
        data = self._read()
        data[url] = {"at": self.clock(), "models": models}
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            temporary = self.path.with_suffix(".tmp")
            temporary.write_text(json.dumps(data), encoding="utf-8")
            os.replace(temporary, self.path)
        except OSError:
            pass  # a list not kept is asked for again next time


def available(
    endpoint: Endpoint, environ: Mapping[str, str], cache_dir: Path, refresh: bool = False
) -> list[str]:
    """The endpoint's models: the list kept from the last day unless `refresh`, else
    asked of the endpoint (a short wait at most) and kept. ChatreplError if it cannot."""
    url = listing_url(endpoint)
    cache = Cache(cache_dir / "models.json")
    kept = None if refresh else cache.get(url)
    if kept is not None:
        return kept
    from chatrepl.transport import Transport  # requests: only when the list is asked for

    via = Transport(connect_timeout=5, idle_timeout=10)
    found = names(via.get(url, token_for(endpoint, environ), endpoint))
    cache.keep(url, found)
    return found
