"""Reading config.toml: parsing it, and naming where a key is (`FILE:LINE:COL`) when its
value is wrong, with typed reads of values. What the values mean is `config`'s."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chatrepl.errors import ConfigError

if TYPE_CHECKING:
    import tomllib


def _location(err: tomllib.TOMLDecodeError, text: str) -> tuple[int, int, str]:
    line = getattr(err, "lineno", None)
    col = getattr(err, "colno", None)
    msg = getattr(err, "msg", str(err))
    if line is None:
        found = re.search(r"\(at line (\d+), column (\d+)\)", str(err))
        if found:
            line, col = int(found.group(1)), int(found.group(2))
            msg = str(err)[: found.start()].strip()
        elif "end of document" in str(err):
            line, col = text.count("\n") + 1, 1
    return int(line or 1), int(col or 1), msg


def read_file(path: Path) -> dict[str, Any]:
    """Parse a config file; errors name FILE:LINE:COL."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the config file: {exc}.") from None
    import tomllib  # only when there is a file to read: start-up without one is quicker

    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line, col, msg = _location(exc, text)
        raise ConfigError(f"{path}:{line}:{col}: {msg}.") from None


def where(path: Path, dotted: str) -> str:
    """`FILE:LINE:COL` of a key's assignment (found by reading the file again), or FILE."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return str(path)
    table, _, leaf = dotted.rpartition(".")
    assign = re.compile(rf"^(\s*)(\"?{re.escape(leaf)}\"?)\s*=")
    header = re.compile(r"^\s*\[\s*([^\]]+?)\s*\]")
    current = ""
    fallback = ""
    for number, line in enumerate(lines, 1):
        found = header.match(line)
        if found:
            current = found.group(1).replace('"', "")
            continue
        match = assign.match(line)
        if match:
            place = f"{path}:{number}:{len(match.group(1)) + 1}"
            if current == table:
                return place
            fallback = fallback or place
        elif re.search(rf"\b{re.escape(leaf)}\s*=", line) and not fallback:
            fallback = f"{path}:{number}:{line.index(leaf) + 1}"  # in an inline table
    return fallback or str(path)


def expect(path: Path, key: str, value: Any, kind: type | tuple[type, ...], what: str) -> Any:
    wrong = not isinstance(value, kind) or (
        isinstance(value, bool) and kind in (int, float, (int, float))
    )
    if wrong:
        raise ConfigError(f"{where(path, key)}: {key} must be {what}, not {type(value).__name__}.")
    return value


def positive(path: Path, key: str, value: Any) -> int | None:
    if value is None:
        return None
    expect(path, key, value, int, "a positive integer")
    if value <= 0:
        raise ConfigError(f"{where(path, key)}: {key} must be a positive integer, not {value}.")
    return int(value)


def number(path: Path, key: str, value: Any) -> float | None:
    """A finite number of at least 0 (a price, a temperature), or None when not set."""
    if value is None:
        return None
    expect(path, key, value, (int, float), "a number")
    if not math.isfinite(value) or value < 0:
        raise ConfigError(f"{where(path, key)}: {key} must be a number of at least 0, not {value}.")
    return float(value)
