"""Settings and where things live.

Precedence is flags > environment > config file > defaults. `CHATREPL_HOME`, when set,
is the one folder for everything (config, database, history, cache); otherwise
platformdirs decides, imported lazily so `--help` and `--version` stay free of
third-party imports.
The token is read from the environment at the last moment and never written anywhere.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any, NamedTuple

from chatrepl.addresses import url_problem
from chatrepl.configfile import expect, number, positive, read_file, where
from chatrepl.errors import ConfigError, UsageError
from chatrepl.redaction import hide_password, last_said
from chatrepl.roles import Role, read_prices, read_roles

APP = "chatrepl"
DEFAULT_URL = "https://ai.callaback.workers.dev/api/chat"
APIS = ("auto", "workers", "openai", "ollama")
DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_IDLE_TIMEOUT = 60.0
MAX_TIMEOUT = 86_400  # a day: longer is no timeout at all
DEFAULT_MAX_INPUT_KB = 1024  # the largest question on stdin
URL_HINT = "Give the chat API's address, e.g. http://127.0.0.1:11434/api/chat."

TOP_KEYS = {
    "endpoint",
    "system",
    "markdown",
    "code_theme",
    "show_reasoning",
    "max_file_kb",
    "max_input_kb",
    "timeouts",
    "endpoints",
    "roles",
    "models",
    "auto_title",
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
    "price_in",
    "price_out",
    "temperature",
}
TOKEN_COMMAND_TIMEOUT = 10.0
TIMEOUT_KEYS = {"connect", "idle"}


NOTHING: Mapping[str, Any] = MappingProxyType({})  # (an empty table, never changed)


# The settings are NamedTuples: records that cannot change, made before the first
# prompt at a tenth of what as many frozen dataclasses cost to define (about 3 ms).


class Paths(NamedTuple):
    """The folders chatrepl reads and writes."""

    config_dir: Path
    data_dir: Path
    cache_dir: Path  # what can be made again: the lists of models (see models)

    @property
    def config_file(self) -> Path:
        return self.config_dir / "config.toml"

    @property
    def database(self) -> Path:
        return self.data_dir / "chatrepl.db"


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


class Endpoint(NamedTuple):
    """Where requests go and how they are shaped."""

    name: str = "default"
    url: str = DEFAULT_URL
    api: str = "auto"
    model: str = ""
    token_env: str = "CHATREPL_TOKEN"
    headers: Mapping[str, str] = NOTHING
    token_command: str = ""  # a command that prints the token
    token: str = ""  # literal, only from a private (0600) file; never in repr
    context_tokens: int | None = None  # the model's window; None: the default (8,192)
    answer_tokens: int | None = None  # kept free for the answer; None: 1,024
    price_in: float | None = None  # per million tokens sent (see writer.price)
    price_out: float | None = None  # per million tokens of answer
    temperature: float | None = None  # sent when set (a role may set it)

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={v!r}" for k, v in self._asdict().items() if k != "token")
        return f"Endpoint({shown})"


class Settings(NamedTuple):
    """Everything the program was told, merged by precedence."""

    endpoint: Endpoint = Endpoint()
    endpoints: Mapping[str, Endpoint] = NOTHING
    system: str = ""
    markdown: bool = True
    code_theme: str = "monokai"
    show_reasoning: bool = False
    max_file_kb: int = 256  # the largest file (or command output) to attach
    max_input_kb: int = DEFAULT_MAX_INPUT_KB  # the largest question read from stdin
    #: Prices per million tokens (in, out) by model name, from `[models.NAME]`.
    prices: Mapping[str, tuple[float, float]] = NOTHING
    roles: Mapping[str, Role] = NOTHING
    role: str = ""  # the role chosen by --role (applied by cli)
    #: Ask the model for a title after the first answer (on for what `load` reads, as
    #: the README says; off for settings made in code).
    auto_title: bool = False
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
        if done.returncode != 0:
            said = last_said(done.stderr, done.stdout.split())  # (what it printed: a token?)
            raise ConfigError(
                f"The token_command of endpoint {endpoint.name} failed "
                f"(exit {done.returncode}){f': {said}' if said else ''}."
            )
        if not done.stdout.strip():
            raise ConfigError(f"The token_command of endpoint {endpoint.name} printed nothing.")
        return done.stdout.strip().splitlines()[0]
    return endpoint.token


def token_hint(endpoint: Endpoint, env: Mapping[str, str] | None = None) -> str:
    """For a 401 or 403: where the token that was sent came from (as `token_for` chose
    it), or that none was sent. token_command is not run again."""
    env = os.environ if env is None else env
    named = endpoint.token_env != "CHATREPL_TOKEN"
    if env.get(endpoint.token_env):
        where = f" (token_env of endpoint {endpoint.name})" if named else ""
        return f"Check the token in {endpoint.token_env}{where}."
    if endpoint.token_command:
        return f"Check the token that token_command of endpoint {endpoint.name} prints."
    if endpoint.token:
        return f"Check the token written in the config file (endpoints.{endpoint.name}.token)."
    return f"No token was sent: set {endpoint.token_env}, or token_command in config.toml."


class Overrides(NamedTuple):
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
    role: str | None = None


def _endpoint(path: Path, name: str, raw: Any, warnings: list[str]) -> Endpoint:
    expect(path, f"endpoints.{name}", raw, dict, "a table")
    for key in raw:
        if key not in ENDPOINT_KEYS:
            warnings.append(f"{path}: unknown key endpoints.{name}.{key} is ignored.")
    url = expect(path, f"endpoints.{name}.url", raw.get("url", DEFAULT_URL), str, "a string")
    if problem := url_problem(url):
        place = where(path, f"endpoints.{name}.url")
        raise ConfigError(f"{place}: {hide_password(url)} is {problem}.", URL_HINT)
    api = expect(path, f"endpoints.{name}.api", raw.get("api", "auto"), str, "a string")
    if api not in APIS:
        raise ConfigError(f"{path}: endpoints.{name}.api must be one of {', '.join(APIS)}.")
    model = expect(path, f"endpoints.{name}.model", raw.get("model", ""), str, "a string")
    token_env = expect(
        path, f"endpoints.{name}.token_env", raw.get("token_env", "CHATREPL_TOKEN"), str, "a string"
    )
    headers = expect(path, f"endpoints.{name}.headers", raw.get("headers", {}), dict, "a table")
    for hname, hvalue in headers.items():
        expect(path, f"endpoints.{name}.headers.{hname}", hvalue, str, "a string")
    command = expect(
        path, f"endpoints.{name}.token_command", raw.get("token_command", ""), str, "a string"
    )
    token = expect(path, f"endpoints.{name}.token", raw.get("token", ""), str, "a string")
    if token and (path.stat().st_mode & 0o077):
        raise ConfigError(
            f"{path}: endpoints.{name}.token is a secret in a file others can read.",
            f"Run chmod 600 {path}, or use token_env or token_command instead.",
        )
    window = positive(path, f"endpoints.{name}.context_tokens", raw.get("context_tokens"))
    answer = positive(path, f"endpoints.{name}.answer_tokens", raw.get("answer_tokens"))
    price_in, price_out, temperature = (
        number(path, f"endpoints.{name}.{key}", raw.get(key))
        for key in ("price_in", "price_out", "temperature")
    )
    return Endpoint(
        name,
        url,
        api,
        model,
        token_env,
        dict(headers),
        command,
        token,
        window,
        answer,
        price_in,
        price_out,
        temperature,
    )


def _top_level(overrides: Overrides, paths: Paths) -> tuple[Path, dict[str, Any], list[str]]:
    """The config file's path, its contents, and warnings for its unknown keys."""
    path = overrides.config_file or paths.config_file
    if overrides.config_file is not None and not path.exists():
        raise ConfigError(f"{path}: no such config file.")
    raw = read_file(path)
    warnings = [f"{path}: unknown key {key} is ignored." for key in raw if key not in TOP_KEYS]
    return path, raw, warnings


def _chosen(
    path: Path, raw: dict[str, Any], overrides: Overrides, endpoints: Mapping[str, Endpoint]
) -> Endpoint:
    """The endpoint named by --endpoint or the file's `endpoint`, else the default."""
    chosen_name = overrides.endpoint or expect(
        path, "endpoint", raw.get("endpoint", ""), str, "a string"
    )
    if not chosen_name:
        return Endpoint()
    if chosen_name not in endpoints:
        known = ", ".join(sorted(endpoints)) or "none are configured"
        raise ConfigError(
            f"Unknown endpoint {chosen_name} ({known}).",
            f"Add [endpoints.{chosen_name}] to {path}.",
        )
    return endpoints[chosen_name]


def _context_from_env(env: Mapping[str, str]) -> int | None:
    text = env.get("CHATREPL_CONTEXT", "").strip()
    if not text:
        return None
    if not text.isdigit() or int(text) <= 0:
        raise ConfigError(f"CHATREPL_CONTEXT must be a positive integer, not {text!r}.")
    return int(text)


def _resolved(endpoint: Endpoint, overrides: Overrides, env: Mapping[str, str]) -> Endpoint:
    """The endpoint with the environment, then the flags, over its configured values."""
    # A named endpoint chosen by flag is taken as configured, the environment aside.
    from_env = {} if overrides.endpoint else env
    url = endpoint.url
    if overrides.url is not None and not overrides.url.strip():  # --url "$UNSET": not
        raise UsageError("--url is empty.", URL_HINT)  # the default, which is not local
    if overrides.url:
        url = overrides.url
        if problem := url_problem(url):
            raise UsageError(f"--url: {hide_password(url)} is {problem}.", URL_HINT)
    elif from_env.get("CHATREPL_URL"):
        url = from_env["CHATREPL_URL"]
        if problem := url_problem(url):
            raise ConfigError(f"CHATREPL_URL: {hide_password(url)} is {problem}.", URL_HINT)
    api = overrides.api or from_env.get("CHATREPL_API") or endpoint.api
    if api not in APIS:
        raise ConfigError(f"Unknown api {api}.", f"Use one of {', '.join(APIS)}.")
    model = overrides.model or from_env.get("CHATREPL_MODEL") or endpoint.model
    window = endpoint.context_tokens
    if overrides.context is not None:
        window = overrides.context
    else:
        window = _context_from_env(from_env) or window
    return endpoint._replace(url=url, api=api, model=model, context_tokens=window)


def _seconds(path: Path, timeouts: dict[str, Any], key: str, default: float) -> float:
    dotted = f"timeouts.{key}"
    value = expect(path, dotted, timeouts.get(key, default), (int, float), "a number")
    if not math.isfinite(value) or not 0 < value <= MAX_TIMEOUT:
        raise ConfigError(
            f"{where(path, dotted)}: {dotted} must be a number of seconds above 0 and at "
            f"most {MAX_TIMEOUT:,}, not {value}.",
            f"Set it in {path}, e.g. {key} = {default:g}.",
        )
    return float(value)


def _timeouts(path: Path, raw: dict[str, Any], warnings: list[str]) -> tuple[float, float]:
    """(connect, idle) seconds, each finite and above 0."""
    timeouts = expect(path, "timeouts", raw.get("timeouts", {}), dict, "a table")
    for key in timeouts:
        if key not in TIMEOUT_KEYS:
            warnings.append(f"{path}: unknown key timeouts.{key} is ignored.")
    return (
        _seconds(path, timeouts, "connect", DEFAULT_CONNECT_TIMEOUT),
        _seconds(path, timeouts, "idle", DEFAULT_IDLE_TIMEOUT),
    )


def _auto_title(path: Path, raw: dict[str, Any], env: Mapping[str, str]) -> bool:
    """`CHATREPL_AUTO_TITLE` (0 or 1) over the file's `auto_title` (default on)."""
    said = env.get("CHATREPL_AUTO_TITLE", "").strip()
    if said:
        if said not in ("0", "1"):
            raise ConfigError(f"CHATREPL_AUTO_TITLE must be 0 or 1, not {said!r}.")
        return said == "1"
    return bool(expect(path, "auto_title", raw.get("auto_title", True), bool, "true or false"))


def load(
    overrides: Overrides | None = None,
    env: Mapping[str, str] | None = None,
    paths: Paths | None = None,
) -> Settings:
    """Merge defaults, the config file, the environment and the flags, step by step:
    the file, its endpoints, the one chosen, the environment and flags over it, the
    timeouts, then the rest."""
    overrides = overrides or Overrides()
    env = os.environ if env is None else env
    path, raw, warnings = _top_level(overrides, paths or find_paths(env))
    endpoints = {
        name: _endpoint(path, name, value, warnings)
        for name, value in expect(
            path, "endpoints", raw.get("endpoints", {}), dict, "a table"
        ).items()
    }
    endpoint = _resolved(_chosen(path, raw, overrides, endpoints), overrides, env)
    connect, idle = _timeouts(path, raw, warnings)
    system = expect(path, "system", raw.get("system", ""), str, "a string")
    show_reasoning = expect(
        path, "show_reasoning", raw.get("show_reasoning", False), bool, "true or false"
    )
    return Settings(
        endpoint=endpoint,
        endpoints=endpoints,
        system=overrides.system if overrides.system is not None else system,
        markdown=expect(path, "markdown", raw.get("markdown", True), bool, "true or false"),
        code_theme=expect(path, "code_theme", raw.get("code_theme", "monokai"), str, "a string"),
        show_reasoning=bool(overrides.show_reasoning) or show_reasoning,
        max_file_kb=positive(path, "max_file_kb", raw.get("max_file_kb")) or 256,
        max_input_kb=positive(path, "max_input_kb", raw.get("max_input_kb"))
        or DEFAULT_MAX_INPUT_KB,
        prices=read_prices(path, raw, warnings),
        roles=read_roles(path, raw, warnings, endpoints),
        role=overrides.role or "",
        auto_title=_auto_title(path, raw, env),
        connect_timeout=connect,
        idle_timeout=idle,
        save=overrides.save if overrides.save is not None else True,
        plain=bool(overrides.plain) or bool(env.get("NO_COLOR")) or env.get("TERM") == "dumb",
        debug=bool(overrides.debug),
        warnings=tuple(warnings),
    )
