"""Regexes compiled once per machine, not once per run, as Python keeps bytecode.

A lexer's joined states (see `render.matching`) are long regexes: Python's are some 8 KB,
and `re` spends about 15 ms turning them into the engine's code, in every process that
highlights a Python block. Here that code is kept in a file (`use` says where) and
handed back to the engine directly the next time, which takes microseconds.

The file holds, for each pattern and flags, what `re` passes to the engine
(`_sre.compile`): the flags, the code, the groups; and values that take long to make
(`kept`), such as the regexes Pygments builds from keyword lists (`text`) and the
characters each rule of a lexer can start with (`render.starts`). It is read only by the
Python that wrote it (its header names the version and the engine's magic number), and
the engine checks the code it is given. Whatever goes wrong (no file, another Python's
file, a damaged one, a folder that cannot be written) only means making them again.

What one lexer needs is kept in a file of its own beside it (`group`: the lexer's name,
`regexes-cpython-311.PythonLexer.bin`), read when that lexer is first used, so a run
reads only the languages its answer holds, not every language ever highlighted; the
file `use` names holds the rest (what the drawing stack compiles as it loads).
"""

from __future__ import annotations

import atexit
import contextlib
import marshal
import os
import re
import sys
import threading
from array import array
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

try:
    import _sre  # type: ignore[import-not-found]
    from re import _compiler, _parser  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - not CPython
    _sre = None

#: The array type whose items are the engine's code units ("" if none is).
_UNIT = next((t for t in "ILQ" if array(t).itemsize == getattr(_sre, "CODESIZE", 0)), "")

#: The most entries kept in a file (a language's lexer needs some dozens); past it, the
#: file starts again with what the process that went over made.
MAX_ENTRIES = 2000

#: flags, the engine's code (as the bytes of an array of its code units: read back
#: without making an int object per unit), groups, group index, index group.
Entry = tuple[int, bytes, int, dict[str, int], tuple[str | None, ...]]

_lock = threading.Lock()
_path: Path | None = None
Key = tuple[Any, ...]  # (pattern, flags) for a compiled regex; ("words", ...) for a text
_entries: dict[str, dict[Key, Any]] = {}  # by group, once read
_added: dict[str, dict[Key, Any]] = {}  # by group: made in this process, not yet written
_later: list[Callable[[], None]] = []  # run at exit, before writing (`later`)
_save_at_exit = False  # `save` is registered to run at exit


def _header() -> tuple[Any, ...]:
    magic = getattr(_sre, "MAGIC", None)
    return ("chatrepl regexes", 4, sys.version, magic, getattr(_sre, "CODESIZE", None))


def use(path: Path | None) -> None:
    """Keep compiled regexes in `path` and beside it (None: compile every time, keep
    nothing)."""
    global _path
    with _lock:
        _path = path
        _entries.clear()
        _added.clear()
        _later.clear()


def _file(group: str) -> Path | None:
    """Where `group` is kept: `path`, or beside it for a named group."""
    if _path is None or not group:
        return _path
    name = "".join(c if c.isalnum() or c == "_" else "-" for c in group)
    return _path.with_name(f"{_path.stem}.{name}{_path.suffix}")


def load() -> None:
    """Read the main file now, if not yet (done while the request is on its way)."""
    with _lock:
        _loaded("")


def _loaded(group: str = "") -> dict[Key, Any]:
    found = _entries.get(group)
    if found is None:
        path = _file(group)
        found = _entries[group] = _read(path) if path is not None and _sre is not None else {}
    return found


def _read(path: Path) -> dict[Key, Any]:
    try:  # (`marshal.load` on a file reads each object by a call of its own: slower)
        with open(path, "rb") as file:
            header, entries = marshal.loads(file.read())
    except (OSError, EOFError, ValueError, TypeError):
        return {}
    if header != _header() or not isinstance(entries, dict):
        return {}
    return entries


def _entry(pattern: str, flags: int) -> Entry:
    """What `re` hands the engine for `pattern` (as `re._compiler.compile` makes it)."""
    parsed = _parser.parse(pattern, flags)
    code = _compiler._code(parsed, flags)
    state = parsed.state
    groupindex = dict(state.groupdict)
    indexgroup: list[str | None] = [None] * state.groups
    for name, index in groupindex.items():
        indexgroup[index] = name
    codes = array(_UNIT, code).tobytes()
    return int(flags | state.flags), codes, state.groups - 1, groupindex, tuple(indexgroup)


def _made(pattern: str, entry: Entry) -> re.Pattern[str]:
    """The compiled regex of an entry (the engine checks its code)."""
    flags, codes, groups, groupindex, indexgroup = entry
    code = array(_UNIT)
    code.frombytes(codes)
    made: re.Pattern[str] = _sre.compile(pattern, flags, code.tolist(), groups, groupindex,
                                         indexgroup)  # fmt: skip
    return made


def compile(pattern: str, flags: int = 0, group: str = "") -> re.Pattern[str]:
    """`re.compile(pattern, flags)`, from the file (of `group`) when it holds it."""
    made = _compiled(pattern, int(flags), group)
    return made if made is not None else re.compile(pattern, flags)


def _compiled(pattern: str, flags: int, group: str = "") -> re.Pattern[str] | None:
    """The compiled regex, from the file or made and added to it; None where `re`
    must make it itself (debug output, another Python's internals)."""
    if _sre is None or _UNIT == "" or flags & re.DEBUG:
        return None
    made = find(pattern, flags, group)  # (a damaged entry is made again below)
    if made is not None:
        return made
    try:
        entry = _entry(pattern, flags)
        made = _made(pattern, entry)
    except re.error:
        raise
    except Exception:  # another Python's internals: as `re` does it
        return None
    _add((pattern, flags), entry, group)
    return made


@contextlib.contextmanager
def compiling() -> Iterator[None]:
    """Regexes that modules compile meanwhile, as they are imported, come from the file
    too (`re` hands what its own cache misses to `_compiler.compile`, replaced here).
    For imports that happen once, early (see `render.view.warm_up`)."""
    if _sre is None or _UNIT == "":
        yield
        return
    original = _compiler.compile

    def cached(pattern: Any, flags: int = 0) -> Any:
        made = _compiled(pattern, int(flags)) if isinstance(pattern, str) else None
        return made if made is not None else original(pattern, flags)

    _compiler.compile = cached
    try:
        yield
    finally:
        _compiler.compile = original


def text(key: Key, make: Callable[[], str], group: str = "") -> str:
    """The text `make()` returns, kept under `key` (a tuple of plain values that
    decides it): Pygments' keyword regexes (`words`), say, which take milliseconds of
    pure Python to build."""
    return str(kept(key, make, str, group))


def kept(
    key: Key,
    make: Callable[[], Any],
    kind: type = object,
    group: str = "",
    valid: Callable[[Any], bool] | None = None,
) -> Any:
    """What `make()` returns, kept under `key` (in the file of `group`): a value marshal
    can write (a text, a tuple of ints...); what the file holds under `key` is used if
    it is a `kind` (and `valid`, if given), else made again and kept in its place."""
    value = found(key, kind, group)
    if value is not None and (valid is None or valid(value)):
        return value
    made = make()
    keep(key, made, group)
    return made


def keep(key: Key, value: Any, group: str = "") -> None:
    """Keep `value` under `key` (in the file of `group`), in place of what is there."""
    if _sre is not None:
        _add(key, value, group)


def keeps() -> bool:
    """Whether regexes are kept in a file (else `find` finds nothing)."""
    return _path is not None and _sre is not None and _UNIT != ""


def find(pattern: str, flags: int = 0, group: str = "") -> re.Pattern[str] | None:
    """The compiled regex if the file (of `group`) holds it; None, compiling nothing,
    if not."""
    if not keeps():
        return None
    with _lock:
        entry = _loaded(group).get((pattern, int(flags)))
    if entry is None:
        return None
    try:
        return _made(pattern, entry)
    except (RuntimeError, TypeError, ValueError, OverflowError):
        return None


def found(key: Key, kind: type = object, group: str = "") -> Any:
    """What the file (of `group`) keeps under `key`, if it is a `kind`; else None."""
    if _path is None:
        return None
    with _lock:
        value = _loaded(group).get(key)
    return value if isinstance(value, kind) else None


def later(job: Callable[[], None]) -> None:
    """Run `job` as this process ends, before the files are written: what can be made
    for the next run rather than now (see `render.matching._State`)."""
    with _lock:
        if _path is not None:
            _later.append(job)
            _register()


def _register() -> None:
    global _save_at_exit
    if not _save_at_exit:
        _save_at_exit = True
        atexit.register(save)


def _add(key: Key, entry: Any, group: str = "") -> None:
    with _lock:
        if _path is None:
            return
        _loaded(group)[key] = entry
        _added.setdefault(group, {})[key] = entry
        _register()


def save() -> None:
    """Write what this process compiled (merged with what others wrote meanwhile), each
    group to its file; the jobs left for the end (`later`) first."""
    with _lock:
        jobs = _later[:]
        _later.clear()
    for job in jobs:
        with contextlib.suppress(Exception):  # (a regex `re` refuses: not kept, that is all)
            job()
    with _lock:
        for group, added in _added.items():
            path = _file(group)
            if path is not None and added:
                _write(path, added)
        _added.clear()


def _write(path: Path, added: dict[Key, Any]) -> None:
    entries = {**_read(path), **added}
    if len(entries) > MAX_ENTRIES:  # old versions: start again
        entries = dict(added)
    temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(temporary, "wb") as file:
            marshal.dump((_header(), entries), file)
        os.replace(temporary, path)
    except (OSError, ValueError):  # ValueError: something marshal cannot write
        with contextlib.suppress(OSError):
            temporary.unlink(missing_ok=True)
