"""Keeping secrets out of what chatrepl prints and saves.

A bearer token is never written anywhere by chatrepl, but servers echo it (an error body
that repeats the request's `Authorization` header) and users put passwords in URLs
(`http://user:PASS@host`). Every message built from a server's words or from a URL passes
through here: `hide_password` for a URL, `redact` for text. Standard library only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlsplit, urlunsplit

MASK = "****"
# (Patterns, compiled by `re` when first used and kept in its cache: not at start-up.)
# An authorization scheme and its credentials, as a header or a body echoes them.
# Credentials hold a digit or a symbol: "Bearer token required" is words, left alone.
_CREDENTIALS = r"(?i)\b(bearer|basic)(\s+)(?=[\w.~+/=-]*[\d~+/=_-])[\w.~+/=-]{6,}"
# `Authorization: value` (or `"authorization": "value"`) with no scheme word before it.
_HEADER = (
    r"(?i)(\b(?:proxy-)?authorization[\"']?\s*[:=]\s*[\"']?)"
    r"(?!(?:bearer|basic)\s)(?=[^\s\"',}]*[\d~+/=_-])([^\s\"',}]{6,})"
)
# The password of a URL's user information: `scheme://user:PASS@`.
_USERINFO = r"(?i)\b([a-z][a-z0-9+.-]*://[^/\s:@]*):[^@\s/]*@"


def hide_password(url: str) -> str:
    """`url` with the password of its user information masked, otherwise unchanged."""
    if "@" not in url:
        return url
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return re.sub(_USERINFO, rf"\1:{MASK}@", url)
    if not password:
        return url
    user = parts.username or ""
    host = parts.netloc.rpartition("@")[2]
    netloc = f"{user}:{MASK}@{host}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with credentials masked: known secrets wherever they appear, an echoed
    authorization header's value, and URL passwords."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, MASK)
    text = re.sub(_CREDENTIALS, rf"\1\2{MASK}", text)
    text = re.sub(_HEADER, rf"\1{MASK}", text)
    return re.sub(_USERINFO, rf"\1:{MASK}@", text)


def last_said(text: str, secrets: Iterable[str] = (), most: int = 160) -> str:
    """The last line a command wrote that is not blank, fit for one line of chatrepl's:
    controls removed, credentials (and `secrets`) masked, cut to `most` characters."""
    from chatrepl.sanitize import sanitize
    from chatrepl.wording import cut

    lines = [line for line in sanitize(text).splitlines() if line.strip()]
    return cut(redact(lines[-1].strip(), secrets), most) if lines else ""
