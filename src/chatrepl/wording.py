"""How counts, moments and long texts are written in what chatrepl says: `1 line`,
`3 lines`, `2 branches`, `2025-01-31 14:05`, `a long tit…`."""

from __future__ import annotations

from datetime import datetime


def plural(count: int, word: str, many: str = "") -> str:
    """`count` and `word`, or its plural (`many`, else `word` + "s") when not 1."""
    return f"{count} {word if count == 1 else many or word + 's'}"


def lines(text: str) -> str:
    """How many lines `text` has (a last one without its newline counts): `3 lines`."""
    return plural(text.count("\n") + (0 if text.endswith("\n") or not text else 1), "line")


def when(timestamp: float) -> str:
    """A moment in local time, to the minute: `2025-01-31 14:05`."""
    return datetime.fromtimestamp(timestamp).strftime("%Y-%m-%d %H:%M")


def cut(text: str, length: int) -> str:
    """`text`, or its first characters and `…` in `length` characters when longer."""
    return text if len(text) <= length else text[: length - 1].rstrip() + "…"
