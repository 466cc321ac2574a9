"""What a server's refusal means, in one clear line with a hint: an HTTP error status
with the server's own message, or a 2xx body that is no chat stream (a web page, an
image). Whether trying again can help, and how long the server asks to wait.
"""

from __future__ import annotations

import email.utils
import re
import time
from collections.abc import Mapping, Sequence

from chatrepl import wire
from chatrepl.errors import HTTPStatusError, StreamError
from chatrepl.redaction import hide_password, redact

MAX_RETRY_AFTER = 30.0
RETRY_STATUSES = (429, 502, 503, 504)
NO_RETRY_WORDS = ("daily", "quota", "billing", "neurons")

_TAGS = re.compile(r"<[^>]*>")
_TITLE = re.compile(r"(?is)<title[^>]*>(.*?)</title>")


def not_a_stream(status: int, reason: str, content_type: str, first: bytes) -> StreamError:
    """One line for a 2xx body that cannot hold a chat answer: a web page, an image."""
    kind = content_type.split(";", 1)[0].strip().lower() or "no content type"
    label = f"{status} {reason}".strip()
    words = ""
    if kind.startswith("text/") or kind in ("application/xhtml+xml", "no content type"):
        text = first[:4096].decode("utf-8", "replace")
        if "html" in kind or text.lstrip().startswith("<"):
            title = _TITLE.search(text)
            text = title.group(1) if title else _TAGS.sub(" ", text)
        shown = redact(" ".join(text.split()[:12]))
        if shown:
            words = f": “{shown[:120]}”"
    what = "a web page" if "html" in kind else ("text" if kind.startswith("text/") else kind)
    if kind == "no content type":
        what = "something"
    return StreamError(
        f"The server sent {what}, not a chat stream ({label}, {kind}){words}.",
        "Check the URL: it should be the chat API's address.",
    )


def redirect_error(status: int, reason: str, location: str) -> HTTPStatusError:
    """One line for a redirect of the chat request, which is never followed: a POST
    re-sent elsewhere would carry the conversation (and the token) to another host."""
    label = f"{status} {reason}".strip()
    target = hide_password(location) if location else "nowhere (no Location header)"
    return HTTPStatusError(
        status,
        f"The server answered {label}, a redirect to {target}; it was not followed.",
        "If that address is right, use it as the URL (--url, or url in config.toml).",
    )


def _sentence(text: str) -> str:
    text = " ".join(text.split())
    if len(text) > 300:
        text = text[:299] + "…"
    return text if text.endswith((".", "!", "?", "…")) else text + "."


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


#: The hint when a server's refusal speaks of the model.
MODEL_HINT = (
    "Name the model with --model NAME (in the REPL: /model NAME), or as `model` of the "
    "endpoint in config.toml; the server's documentation lists its models."
)


def status_error(
    status: int,
    reason: str,
    body: bytes,
    content_type: str,
    headers: Mapping[str, str],
    token_hint: str = "Check the token in CHATREPL_TOKEN.",
    secrets: Sequence[str] = (),
) -> HTTPStatusError:
    """One clear error for a non-2xx answer: status, reason, the server's own message
    (credentials it echoes masked). `token_hint` says where the token came from."""
    message = redact(wire.error_message(body, content_type), secrets)
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
        hint = token_hint
    elif status in (400, 404, 422) and "model" in lowered:
        hint = MODEL_HINT
    elif status == 404:
        hint = "Check the URL and the model name."
    elif status == 429 and quota:
        hint = "This is a quota limit; retrying now will not help."
    retryable = status in RETRY_STATUSES and not quota
    wait = _retry_after(headers.get("Retry-After"))
    if retryable and wait is not None and wait > MAX_RETRY_AFTER:
        retryable = False  # no point waiting here that long: say so instead
        hint = f"The server asks to wait {wait:.0f} s before trying again."
    detail = redact(body[:4000].decode("utf-8", "replace"), secrets)
    return HTTPStatusError(status, text, hint, retryable, wait, detail)
