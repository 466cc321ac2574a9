"""Material brought into a question: text files and the output of commands.

An `Attachment` is kept in its user message's meta and joined to the question only on
the wire (`compose`), each in a fence longer than any run of backticks it holds, under
a line naming it. Reading a file is strict: a path that is missing, unreadable, a
directory, binary or over the size cap raises one `AttachmentError` and nothing is
attached. `mentions` finds `@path` in a question; `complete_path` feeds Tab completion.
Standard library only.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from chatrepl.errors import UsageError
from chatrepl.sanitize import shown
from chatrepl.wording import lines

DEFAULT_MAX_KB = 256
SNIFF_BYTES = 8192
COMPLETIONS = 200

LANGUAGES = {
    ".py": "python", ".pyi": "python", ".js": "javascript", ".mjs": "javascript",
    ".ts": "typescript", ".tsx": "tsx", ".jsx": "jsx", ".rs": "rust", ".go": "go",
    ".c": "c", ".h": "c", ".cc": "cpp", ".cpp": "cpp", ".hpp": "cpp", ".java": "java",
    ".kt": "kotlin", ".rb": "ruby", ".php": "php", ".swift": "swift", ".cs": "csharp",
    ".sh": "bash", ".bash": "bash", ".zsh": "zsh", ".fish": "fish", ".ps1": "powershell",
    ".sql": "sql", ".html": "html", ".css": "css", ".scss": "scss", ".json": "json",
    ".toml": "toml", ".yaml": "yaml", ".yml": "yaml", ".xml": "xml", ".md": "markdown",
    ".rst": "rst", ".txt": "text", ".ini": "ini", ".cfg": "ini", ".lua": "lua",
    ".r": "r", ".scala": "scala", ".hs": "haskell", ".ex": "elixir", ".exs": "elixir",
    ".erl": "erlang", ".clj": "clojure", ".dart": "dart", ".vue": "vue", ".tf": "hcl",
    ".diff": "diff", ".patch": "diff", ".csv": "csv", ".log": "text", ".mk": "make",
    ".dockerfile": "dockerfile", ".nix": "nix", ".zig": "zig", ".ml": "ocaml",
}  # fmt: skip
NAMED = {"Makefile": "make", "Dockerfile": "dockerfile", "CMakeLists.txt": "cmake"}
# An `@word` that is not a file is left as text, unless it plainly names one.
_MENTION = re.compile(r"(?<![^\s(\[{\"'])@(\S+)")
_TRAILING = ".,;:!?)]}\"'"


class AttachmentError(UsageError):
    """A path or command output that cannot be attached; nothing was attached."""


@dataclass(frozen=True)
class Attachment:
    """A file's text, or a command's output, to send with the next question."""

    name: str  # the path as the user wrote it, or the command
    text: str
    kind: str = "file"  # "file" or "output"
    status: int | None = None  # a command's exit status (None: stopped)

    @property
    def language(self) -> str:
        if self.kind != "file":
            return ""
        path = Path(self.name)
        return NAMED.get(path.name) or LANGUAGES.get(path.suffix.lower(), "")

    def describe(self) -> str:
        """One line for the screen: `src/app.py, 212 lines` (sanitize before showing)."""
        count = lines(self.text)
        if self.kind == "file":
            return f"{self.name}, {count}"
        how = "stopped" if self.status is None else f"exit status {self.status}"
        return f"output of `{self.name}`, {count}, {how}"

    def header(self) -> str:
        if self.kind == "file":
            return f"File {self.name}:"
        how = "it was stopped" if self.status is None else f"exit status {self.status}"
        return f"Output of the command `{self.name}` ({how}):"

    def block(self) -> str:
        """The delimited form sent to the model: a header line, then a fence."""
        fence = fence_for(self.text)
        body = self.text if self.text.endswith("\n") or not self.text else self.text + "\n"
        return f"{self.header()}\n{fence}{self.language}\n{body}{fence}"

    def to_meta(self) -> dict[str, object]:
        out: dict[str, object] = {"kind": self.kind, "name": self.name, "text": self.text}
        if self.kind == "output":
            out["status"] = self.status
        return out

    @classmethod
    def from_meta(cls, value: object) -> Attachment | None:
        if not isinstance(value, Mapping):
            return None
        name, text, kind = value.get("name"), value.get("text"), value.get("kind", "file")
        status = value.get("status")
        if not isinstance(name, str) or not isinstance(text, str) or not isinstance(kind, str):
            return None
        return cls(name, text, kind, status if isinstance(status, int) else None)


def fence_for(text: str) -> str:
    """A backtick fence longer than any run of backticks in `text`."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


def compose(question: str, attachments: Iterable[Attachment]) -> str:
    """The user message as sent: each attachment's block, in order, then the question."""
    blocks = [a.block() for a in attachments]
    return "\n\n".join([*blocks, question]) if blocks else question


def of_meta(meta: Mapping[str, object]) -> list[Attachment]:
    """The attachments saved in a message's meta."""
    raw = meta.get("attachments")
    if not isinstance(raw, list):
        return []
    return [a for a in (Attachment.from_meta(v) for v in raw) if a is not None]


# ---------------------------------------------------------------- reading files


def _size(max_bytes: int) -> str:
    return f"{max_bytes // 1024} KB" if max_bytes >= 1024 else f"{max_bytes} bytes"


def _kind(mode: int) -> str:
    """What a file that is not a regular file is, in words."""
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def _regular(mode: int, name: str) -> None:
    if stat.S_ISDIR(mode):
        raise AttachmentError(
            f"{name} is a directory.", f"Attach the files in it ({name.rstrip('/')}/*)."
        )
    if not stat.S_ISREG(mode):
        raise AttachmentError(
            f"{name} is {_kind(mode)}; only regular files can be attached.",
            "Attach a file, or run a command with !COMMAND to attach its output.",
        )


def _read_regular(path: Path, name: str, max_bytes: int) -> bytes:
    """The bytes of a regular file, at most `max_bytes` + 1. A FIFO, socket or device is
    refused before it is opened (a FIFO with no writer would block for ever), and the
    file opened is checked again."""
    _regular(path.stat().st_mode, name)  # before opening: a FIFO would block the open
    with path.open("rb") as f:
        info = os.fstat(f.fileno())
        _regular(info.st_mode, name)  # the file opened, not one put in its place
        if info.st_size > max_bytes:
            raise AttachmentError(
                f"{name} is {_size(info.st_size)}, over the {_size(max_bytes)} limit for a file.",
                "Attach a part of it (head -n 200 FILE > part.txt), or raise max_file_kb in "
                "config.toml.",
            )
        return f.read(max_bytes + 1)


def read_file(name: str, max_bytes: int = DEFAULT_MAX_KB * 1024) -> Attachment:
    """A text file as an attachment, named as the user wrote it; or AttachmentError,
    whose message shows the name with its control characters escaped."""
    path = Path(name).expanduser()
    label = shown(name)
    try:
        data = _read_regular(path, label, max_bytes)
    except FileNotFoundError:
        raise AttachmentError(f"No such file: {label}.") from None
    except IsADirectoryError:
        raise AttachmentError(
            f"{label} is a directory.", f"Attach the files in it ({label.rstrip('/')}/*)."
        ) from None
    except PermissionError:
        raise AttachmentError(f"{label} cannot be read: permission denied.") from None
    except OSError as exc:
        raise AttachmentError(f"{label} cannot be read: {exc.strerror or exc}.") from None
    if len(data) > max_bytes:  # it grew while being read
        raise AttachmentError(f"{label} is over the {_size(max_bytes)} limit for a file.")
    if b"\0" in data[:SNIFF_BYTES]:
        raise AttachmentError(f"{label} is a binary file; only text files can be attached.")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise AttachmentError(
            f"{label} is not UTF-8 text; only text files can be attached."
        ) from None
    return Attachment(name, text.removeprefix("\ufeff"))


def read_stdin(stream: TextIO, max_bytes: int) -> str:
    """A question piped on stdin, refused in one line before it is kept anywhere when
    it is over `max_bytes` (only `max_bytes` + 1 bytes are read) or not UTF-8 text."""
    if hasattr(stream, "buffer"):
        data = stream.buffer.read(max_bytes + 1) or b""
    else:
        data = stream.read(max_bytes + 1).encode()
    if len(data) > max_bytes:
        raise UsageError(
            f"The input on stdin is over the {_size(max_bytes)} limit for a question; "
            "nothing was sent or saved.",
            "Send a part of it, or raise max_input_kb in config.toml.",
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = "\0"
    if "\0" in text:
        raise UsageError(
            "The input on stdin is binary data, not UTF-8 text.", "Pipe text, not binary data."
        )
    return text


def expand(spec: str) -> list[str]:
    """`~` and glob patterns expanded, as names to show; a plain path as it is."""
    import glob  # (not before the first prompt)

    if not glob.has_magic(spec):
        return [spec]
    found = sorted(glob.glob(os.path.expanduser(spec), recursive=True))
    files = [f for f in found if not os.path.isdir(f)]
    if not files:
        raise AttachmentError(f"No file matches {shown(spec)}.")
    return files


def read_all(specs: Iterable[str], max_bytes: int) -> tuple[list[Attachment], list[str]]:
    """Every file the specs name, and one line for each that cannot be attached."""
    found: list[Attachment] = []
    errors: list[str] = []
    for spec in specs:
        try:
            names = expand(spec)
        except AttachmentError as exc:
            errors.append(str(exc))
            continue
        for name in names:
            try:
                found.append(read_file(name, max_bytes))
            except AttachmentError as exc:
                errors.append(str(exc))
    return found, errors


def gather(specs: Iterable[str], max_bytes: int, hint: str) -> list[Attachment]:
    """Every file the specs name, each once; AttachmentError (the first failure, and how
    many more) if any cannot be attached, so that nothing is."""
    found, errors = read_all(specs, max_bytes)
    if errors:
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise AttachmentError(errors[0] + more, hint)
    return merge([], found)


def merge(first: Iterable[Attachment], more: Iterable[Attachment]) -> list[Attachment]:
    """Both lists in order, a file named twice kept once."""
    out: list[Attachment] = []
    seen: set[tuple[str, str]] = set()
    for a in (*first, *more):
        key = (a.kind, str(Path(a.name).expanduser().resolve()) if a.kind == "file" else a.name)
        if key not in seen:
            seen.add(key)
            out.append(a)
    return out


# ---------------------------------------------------------------- @path


def _code_spans(text: str) -> list[tuple[int, int]]:
    """Where fenced code blocks and inline code are: no `@` there is an attachment."""
    spans: list[tuple[int, int]] = []
    fence = ""
    start = pos = 0
    for line in text.splitlines(keepends=True):
        stripped = line.strip()
        if fence:
            if stripped.startswith(fence) and not stripped.strip(fence[0]):
                spans.append((start, pos + len(line)))
                fence = ""
        elif stripped.startswith(("```", "~~~")):
            char = stripped[0]
            fence = char * (len(stripped) - len(stripped.lstrip(char)))
            start = pos
        pos += len(line)
    if fence:
        spans.append((start, len(text)))
    for match in re.finditer(r"(`+)(?:(?!\1).)+?\1", text, re.DOTALL):
        spans.append(match.span())
    return spans


def _names_a_file(word: str) -> bool:
    """Whether an `@word` that does not exist was plainly meant as a file."""
    return "/" in word or word.startswith("~") or Path(word).suffix.lower() in LANGUAGES


def mentions(text: str, exists: Callable[[str], bool] = os.path.lexists) -> list[str]:
    """The `@path` words of a question that name files, in order, each once.

    `@` inside a word (an e-mail address) or in code is not one; trailing punctuation is
    not part of the path. An `@word` that is no file is left as text unless it plainly
    names one (a `/`, a leading `~`, or a known file extension): then it is returned,
    for reading to report it missing.
    """
    spans = _code_spans(text)
    out: list[str] = []
    for match in _MENTION.finditer(text):
        if any(a <= match.start() < b for a, b in spans):
            continue
        word = match.group(1)
        candidates = [word, word.rstrip(_TRAILING)]
        name = next((c for c in candidates if c and exists(os.path.expanduser(c))), "")
        if not name:
            stripped = candidates[1]
            if not stripped or not _names_a_file(stripped):
                continue
            name = stripped
        if name not in out:
            out.append(name)
    return out


def mention_at_cursor(before: str) -> str | None:
    """The partial path of an `@path` being typed at the end of `before`, if any."""
    match = re.search(r"(?:^|(?<=[\s(\[{\"']))@(\S*)$", before)
    return match.group(1) if match else None


# ---------------------------------------------------------------- completion


def looks_attachable(path: str) -> bool:
    """A regular file whose first bytes hold no NUL: what `read_file` would take as
    text (cheap: one small read), so a menu of files to attach offers no binaries."""
    try:
        with open(path, "rb") as f:
            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                return False
            return b"\0" not in f.read(1024)
    except OSError:
        return False


def complete_path(word: str, files: bool = True, attachable: bool = False) -> list[tuple[str, str]]:
    """Paths that complete `word`: (the whole completed word, what to display).

    Directories end with `/`; hidden entries appear only once a `.` is typed. With
    `attachable`, only files that can be attached (text, regular) are offered.
    """
    if word == "~":
        return [("~/", "~/")]
    cut = word.rfind("/") + 1
    folder, prefix = word[:cut], word[cut:]
    where = os.path.expanduser(folder) if folder else "."
    try:
        entries = sorted(os.scandir(where), key=lambda e: e.name)
    except OSError:
        return []
    out: list[tuple[str, str]] = []
    for entry in entries:
        if not entry.name.startswith(prefix):
            continue
        if entry.name.startswith(".") and not prefix.startswith("."):
            continue
        try:
            is_dir = entry.is_dir()
        except OSError:
            continue
        if not is_dir and not files:
            continue
        if not is_dir and attachable and not looks_attachable(entry.path):
            continue
        shown = entry.name + ("/" if is_dir else "")
        out.append((folder + shown, shown))
        if len(out) >= COMPLETIONS:
            break
    return out


def occupant(path: Path, label: str) -> str:
    """What is at `path` already, in words (`label` names it), or "" when nothing is. A
    symbolic link says so and where it points: writing goes through it."""
    if path.is_symlink():
        target = shown(os.readlink(path))
        what = "an existing file" if path.exists() else "a file that does not exist yet"
        return f"{label} is a symbolic link to {target} ({what})"
    return f"{label} exists" if path.exists() else ""


def overwrite_question(path: Path, label: str) -> str:
    """What to ask before writing `path`, or "" when nothing is there."""
    there = occupant(path, label)
    if not there:
        return ""
    return f"{there}. {'Write through it?' if path.is_symlink() else 'Overwrite it?'} [y/N] "
