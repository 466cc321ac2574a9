"""Settings and where things live.

Precedence is flags > environment > config file > defaults. `CHATREPL_HOME`, when set,
is the one folder for everything (config, database, history, cache); otherwise
platformdirs decides, imported lazily so `--help` and `--version` stay free of
third-party imports.
The token is read from the environment at the last moment and never written anywhere.
"""

from __future__ import annotations

import os
import re
import sys
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from chatrepl.errors import ConfigError

APP = "chatrepl"
DEFAULT_URL = "https://ai.callaback.workers.dev/api/chat"
APIS = ("auto", "workers", "openai", "ollama")
DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_IDLE_TIMEOUT = 60.0

TOP_KEYS = {
    "endpoint",
    "system",
    "markdown",
    "code_theme",
    "show_reasoning",
    "max_file_kb",
    "timeouts",
    "endpoints",
}
ENDPOINT_KEYS = {
    "url",
    "api",
    "model",
    "token_env",
    "token_command",
    "token",
    "headers",
    "context_tokens",
    "answer_tokens",
}
TOKEN_COMMAND_TIMEOUT = 10.0
TIMEOUT_KEYS = {"connect", "idle"}


@dataclass(frozen=True)
class Paths:
    """The folders chatrepl reads and writes."""

    config_dir: Path
    data_dir: Path
    cache_dir: Path  # what can be made again: compiled regexes (see render.regex_cache)

    @property
    def config_file(self) -> Path:
        return self.config_dir / "config.toml"

    @property
    def database(self) -> Path:
        return self.data_dir / "chatrepl.db"

    @property
    def regex_cache(self) -> Path:
        """Compiled regexes, for this Python only (see render.regex_cache)."""
        return self.cache_dir / f"regexes-{sys.implementation.cache_tag}.bin"


def find_paths(env: Mapping[str, str] | None = None) -> Paths:
    env = os.environ if env is None else env
    home = env.get("CHATREPL_HOME")
    if home:
        root = Path(home).expanduser()
        return Paths(root, root, root)
    import platformdirs

    return Paths(
        Path(platformdirs.user_config_dir(APP)),
        Path(platformdirs.user_data_dir(APP)),
        Path(platformdirs.user_cache_dir(APP)),
    )


@dataclass(frozen=True)
class Endpoint:
    """Where requests go and how they are shaped."""

    name: str = "default"
    url: str = DEFAULT_URL
    api: str = "auto"
    model: str = ""
    token_env: str = "CHATREPL_TOKEN"
    headers: Mapping[str, str] = field(default_factory=dict)
    token_command: str = ""  # a command that prints the token
    token: str = field(default="", repr=False)  # literal, only from a private (0600) file
    context_tokens: int | None = None  # the model's window; None: the default (8,192)
    answer_tokens: int | None = None  # kept free for the answer; None: 1,024


@dataclass(frozen=True)
class Settings:
    """Everything the program was told, merged by precedence."""

    endpoint: Endpoint = field(default_factory=Endpoint)
    endpoints: Mapping[str, Endpoint] = field(default_factory=dict)
    system: str = ""
    markdown: bool = True
    code_theme: str = "monokai"
    show_reasoning: bool = False
    max_file_kb: int = 256  # the largest file (or command output) to attach
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    idle_timeout: float = DEFAULT_IDLE_TIMEOUT
    save: bool = True
    plain: bool = False
    debug: bool = False
    warnings: tuple[str, ...] = ()

    def token(self, env: Mapping[str, str] | None = None) -> str:
        return token_for(self.endpoint, env)


def token_for(endpoint: Endpoint, env: Mapping[str, str] | None = None) -> str:
    """The endpoint's bearer token: its variable, else its command, else its literal."""
    env = os.environ if env is None else env
    if env.get(endpoint.token_env):
        return env[endpoint.token_env]
    if endpoint.token_command:
        import shlex
        import subprocess

        try:
            done = subprocess.run(
                shlex.split(endpoint.token_command),
                capture_output=True,
                text=True,
                timeout=TOKEN_COMMAND_TIMEOUT,
                check=False,
            )
        except (OSError, ValueError, subprocess.TimeoutExpired) as exc:
            raise ConfigError(
                f"The token_command of endpoint {endpoint.name} could not run: "
                f"{type(exc).__name__}."
            ) from None
        if done.returncode != 0 or not done.stdout.strip():
            raise ConfigError(
                f"The token_command of endpoint {endpoint.name} failed "
                f"(exit {done.returncode}) or printed nothing."
            )
        return done.stdout.strip().splitlines()[0]
    return endpoint.token


@dataclass(frozen=True)
class Overrides:
    """What the command line said; None means not given."""

    url: str | None = None
    api: str | None = None
    model: str | None = None
    endpoint: str | None = None
    system: str | None = None
    save: bool | None = None
    plain: bool | None = None
    debug: bool | None = None
    config_file: Path | None = None
    show_reasoning: bool | None = None
    context: int | None = None


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
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line, col, msg = _location(exc, text)
        raise ConfigError(f"{path}:{line}:{col}: {msg}.") from None


def _where(path: Path, dotted: str) -> str:
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


def _expect(path: Path, key: str, value: Any, kind: type | tuple[type, ...], what: str) -> Any:
    wrong = not isinstance(value, kind) or (
        isinstance(value, bool) and kind in (int, float, (int, float))
    )
    if wrong:
        raise ConfigError(f"{_where(path, key)}: {key} must be {what}, not {type(value).__name__}.")
    return value


def _positive(path: Path, key: str, value: Any) -> int | None:
    if value is None:
        return None
    _expect(path, key, value, int, "a positive integer")
    if value <= 0:
        raise ConfigError(f"{_where(path, key)}: {key} must be a positive integer, not {value}.")
    return int(value)


def _endpoint(path: Path, name: str, raw: Any, warnings: list[str]) -> Endpoint:
    _expect(path, f"endpoints.{name}", raw, dict, "a table")
    for key in raw:
        if key not in ENDPOINT_KEYS:
            warnings.append(f"{path}: unknown key endpoints.{name}.{key} is ignored.")
    url = _expect(path, f"endpoints.{name}.url", raw.get("url", DEFAULT_URL), str, "a string")
    api = _expect(path, f"endpoints.{name}.api", raw.get("api", "auto"), str, "a string")
    if api not in APIS:
        raise ConfigError(f"{path}: endpoints.{name}.api must be one of {', '.join(APIS)}.")
    model = _expect(path, f"endpoints.{name}.model", raw.get("model", ""), str, "a string")
    token_env = _expect(
        path, f"endpoints.{name}.token_env", raw.get("token_env", "CHATREPL_TOKEN"), str, "a string"
    )
    headers = _expect(path, f"endpoints.{name}.headers", raw.get("headers", {}), dict, "a table")
    for hname, hvalue in headers.items():
        _expect(path, f"endpoints.{name}.headers.{hname}", hvalue, str, "a string")
    command = _expect(
        path, f"endpoints.{name}.token_command", raw.get("token_command", ""), str, "a string"
    )
    token = _expect(path, f"endpoints.{name}.token", raw.get("token", ""), str, "a string")
    if token and (path.stat().st_mode & 0o077):
        raise ConfigError(
            f"{path}: endpoints.{name}.token is a secret in a file others can read.",
            f"Run chmod 600 {path}, or use token_env or token_command instead.",
        )
    window = _positive(path, f"endpoints.{name}.context_tokens", raw.get("context_tokens"))
    answer = _positive(path, f"endpoints.{name}.answer_tokens", raw.get("answer_tokens"))
    return Endpoint(name, url, api, model, token_env, dict(headers), command, token, window, answer)


def load(
    overrides: Overrides | None = None,
    env: Mapping[str, str] | None = None,
    paths: Paths | None = None,
) -> Settings:
    """Merge defaults, the config file, the environment and the flags."""
    overrides = overrides or Overrides()
    env = os.environ if env is None else env
    paths = paths or find_paths(env)
    path = overrides.config_file or paths.config_file
    if overrides.config_file is not None and not path.exists():
        raise ConfigError(f"{path}: no such config file.")
    raw = read_file(path)
    warnings: list[str] = []
    for key in raw:
        if key not in TOP_KEYS:
            warnings.append(f"{path}: unknown key {key} is ignored.")

    endpoints = {
        name: _endpoint(path, name, value, warnings)
        for name, value in _expect(
            path, "endpoints", raw.get("endpoints", {}), dict, "a table"
        ).items()
    }
    chosen_name = overrides.endpoint or _expect(
        path, "endpoint", raw.get("endpoint", ""), str, "a string"
    )
    if chosen_name:
        if chosen_name not in endpoints:
            known = ", ".join(sorted(endpoints)) or "none are configured"
            raise ConfigError(
                f"Unknown endpoint {chosen_name} ({known}).",
                f"Add [endpoints.{chosen_name}] to {path}.",
            )
        endpoint = endpoints[chosen_name]
    else:
        endpoint = Endpoint()

    # environment, then flags
    # A named endpoint chosen by flag is taken as configured, the environment aside.
    from_env = {} if overrides.endpoint else env
    url = overrides.url or from_env.get("CHATREPL_URL") or endpoint.url
    api = overrides.api or from_env.get("CHATREPL_API") or endpoint.api
    model = overrides.model or from_env.get("CHATREPL_MODEL") or endpoint.model
    window = endpoint.context_tokens
    if overrides.context is not None:
        window = overrides.context
    elif from_env.get("CHATREPL_CONTEXT"):
        text = from_env["CHATREPL_CONTEXT"].strip()
        if not text.isdigit() or int(text) <= 0:
            raise ConfigError(f"CHATREPL_CONTEXT must be a positive integer, not {text!r}.")
        window = int(text)
    endpoint = replace(endpoint, url=url, api=api, model=model, context_tokens=window)
    if endpoint.api not in APIS:
        raise ConfigError(f"Unknown api {endpoint.api}.", f"Use one of {', '.join(APIS)}.")
    if not endpoint.url.startswith(("http://", "https://")):
        raise ConfigError(f"The URL {endpoint.url} is not an http:// or https:// address.")

    timeouts = _expect(path, "timeouts", raw.get("timeouts", {}), dict, "a table")
    for key in timeouts:
        if key not in TIMEOUT_KEYS:
            warnings.append(f"{path}: unknown key timeouts.{key} is ignored.")
    connect = _expect(
        path,
        "timeouts.connect",
        timeouts.get("connect", DEFAULT_CONNECT_TIMEOUT),
        (int, float),
        "a number",
    )
    idle = _expect(
        path, "timeouts.idle", timeouts.get("idle", DEFAULT_IDLE_TIMEOUT), (int, float), "a number"
    )

    system = _expect(path, "system", raw.get("system", ""), str, "a string")
    markdown = _expect(path, "markdown", raw.get("markdown", True), bool, "true or false")
    theme = _expect(path, "code_theme", raw.get("code_theme", "monokai"), str, "a string")
    show_reasoning = _expect(
        path, "show_reasoning", raw.get("show_reasoning", False), bool, "true or false"
    )
    max_file_kb = _positive(path, "max_file_kb", raw.get("max_file_kb")) or 256
    plain = bool(overrides.plain) or bool(env.get("NO_COLOR")) or env.get("TERM") == "dumb"
    return Settings(
        endpoint=endpoint,
        endpoints=endpoints,
        system=overrides.system if overrides.system is not None else system,
        markdown=markdown,
        code_theme=theme,
        show_reasoning=bool(overrides.show_reasoning) or show_reasoning,
        max_file_kb=max_file_kb,
        connect_timeout=float(connect),
        idle_timeout=float(idle),
        save=overrides.save if overrides.save is not None else True,
        plain=plain,
        debug=bool(overrides.debug),
        warnings=tuple(warnings),
    )
