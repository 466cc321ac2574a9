"""How counts are written in what chatrepl says: `1 line`, `3 lines`, `2 branches`."""

from __future__ import annotations


def plural(count: int, word: str, many: str = "") -> str:
    """`count` and `word`, or its plural (`many`, else `word` + "s") when not 1."""
    return f"{count} {word if count == 1 else many or word + 's'}"
