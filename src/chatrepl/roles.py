"""Roles and prices from config.toml.

A role (`[roles.NAME]`) is a preset: any of a system prompt, an endpoint, a model, a
temperature and a template that wraps what the user types (`{input}` marks where).
`--role NAME`, `/role NAME` apply one; the conversation remembers it. Prices per
million tokens are set per model in `[models.NAME]` (`price_in`, `price_out`), or per
endpoint (see `writer.price`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, NamedTuple

from chatrepl.configfile import expect, number, where
from chatrepl.errors import ConfigError

ROLE_KEYS = {"system", "endpoint", "model", "temperature", "template"}
MODEL_KEYS = {"price_in", "price_out"}
INPUT = "{input}"


class Role(NamedTuple):
    name: str
    system: str | None = None
    endpoint: str = ""
    model: str = ""
    temperature: float | None = None
    template: str = ""

    def wrap(self, text: str) -> str:
        """What is sent for `text` typed under this role."""
        return self.template.replace(INPUT, text) if self.template else text

    def describe(self) -> str:
        """What the role sets, in a few words (for `/role`'s list)."""
        parts = []
        if self.endpoint or self.model:
            where_ = f"@{self.endpoint}" if self.endpoint else ""
            parts.append(f"{where_}{':' if where_ and self.model else ''}{self.model}")
        if self.temperature is not None:
            parts.append(f"temperature {self.temperature:g}")
        if self.template:
            parts.append("a template")
        if self.system:
            parts.append(f"system: {' '.join(self.system.split())[:40]}")
        return ", ".join(parts) or "nothing set"


def unknown(name: str, roles: Mapping[str, Role]) -> str:
    """The sentence for a role that does not exist, naming those that do."""
    known = ", ".join(sorted(roles)) or "none are configured: add [roles.NAME] to config.toml"
    return f"Unknown role {name} ({known})."


def read_roles(
    path: Path, raw: dict[str, Any], warnings: list[str], endpoints: Mapping[str, Any]
) -> dict[str, Role]:
    out: dict[str, Role] = {}
    for name, key, table in _tables(path, raw, "roles", ROLE_KEYS, warnings):

        def text(k: str, table: dict[str, Any] = table, key: str = key) -> str:
            return str(expect(path, f"{key}.{k}", table.get(k, ""), str, "a string"))

        endpoint, template = text("endpoint"), text("template")
        if endpoint and endpoint not in endpoints:
            known = ", ".join(sorted(endpoints)) or "none are configured"
            raise ConfigError(
                f"{where(path, key + '.endpoint')}: {key}.endpoint names an unknown endpoint "
                f"{endpoint} ({known})."
            )
        if template and INPUT not in template:
            raise ConfigError(
                f"{where(path, key + '.template')}: {key}.template must hold {INPUT}, where "
                "what you type goes."
            )
        system = text("system") if "system" in table else None
        temperature = number(path, f"{key}.temperature", table.get("temperature"))
        out[name] = Role(name, system, endpoint, text("model"), temperature, template)
    return out


def read_prices(
    path: Path, raw: dict[str, Any], warnings: list[str]
) -> dict[str, tuple[float, float]]:
    out: dict[str, tuple[float, float]] = {}
    for name, key, table in _tables(path, raw, "models", MODEL_KEYS, warnings):
        price_in = number(path, f"{key}.price_in", table.get("price_in"))
        price_out = number(path, f"{key}.price_out", table.get("price_out"))
        if price_in is not None or price_out is not None:
            out[name] = (price_in or 0.0, price_out or 0.0)
    return out


def _tables(
    path: Path, raw: dict[str, Any], top: str, keys: set[str], warnings: list[str]
) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """Each `[top.NAME]` table as (NAME, `top.NAME`, its table); unknown keys in it are
    warned of."""
    for name, table in expect(path, top, raw.get(top, {}), dict, "a table").items():
        key = f"{top}.{name}"
        expect(path, key, table, dict, "a table")
        for k in table:
            if k not in keys:
                warnings.append(f"{path}: unknown key {key}.{k} is ignored.")
        yield name, key, table
