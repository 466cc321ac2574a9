"""`--print-config`: the effective settings as TOML, secrets masked."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

from chatrepl.addresses import post_url
from chatrepl.config import Paths, Settings
from chatrepl.redaction import hide_password

SECRET_HEADER = re.compile(r"auth|key|token|secret|cookie|session", re.IGNORECASE)


def describe(
    settings: Settings, paths: Paths, config_file: Path, env: Mapping[str, str] | None = None
) -> str:
    """The effective settings as TOML, secrets masked (for `--print-config`).

    The token itself is never shown, nor is token_command run: only where it comes from.
    """
    env = os.environ if env is None else env
    ep = settings.endpoint
    if env.get(ep.token_env):
        token = f"set, from ${ep.token_env}"
    elif ep.token_command:
        token = "from token_command"
    elif ep.token:
        token = "set, in the config file"
    else:
        token = "not set"

    def q(value: str) -> str:
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'

    lines = [
        f"# config file: {config_file}{'' if config_file.exists() else ' (not found)'}",
        f"# data folder: {paths.data_dir}",
        f"# cache folder: {paths.cache_dir}",
        f"endpoint = {q(ep.name)}",
        f"system = {q(settings.system)}",
        f"markdown = {str(settings.markdown).lower()}",
        f"code_theme = {q(settings.code_theme)}",
        f"show_reasoning = {str(settings.show_reasoning).lower()}",
        f"max_file_kb = {settings.max_file_kb}",
        f"max_input_kb = {settings.max_input_kb}",
        f"plain = {str(settings.plain).lower()}",
        f"save = {str(settings.save).lower()}",
        f"auto_title = {str(settings.auto_title).lower()}",
        "",
        "[timeouts]",
        f"connect = {settings.connect_timeout:g}",
        f"idle = {settings.idle_timeout:g}",
        "",
        f"[endpoints.{ep.name}]",
        f"url = {q(hide_password(ep.url))}"
        + (f"   # requests go to {hide_password(post_url(ep))}" if post_url(ep) != ep.url else ""),
        f"api = {q(ep.api)}",
        f"model = {q(ep.model)}",
        f"token_env = {q(ep.token_env)}",
        f"context_tokens = {ep.context_tokens or 8192}"
        + ("" if ep.context_tokens else "   # the default"),
        f"answer_tokens = {ep.answer_tokens or 1024}",
        f"# token: {token}",
    ]
    if ep.token_command:
        lines.append(f"token_command = {q(ep.token_command)}")
    if ep.token:
        lines.append('token = "********"')
    if ep.headers:
        shown = ", ".join(
            f"{q(k)} = {q('********' if SECRET_HEADER.search(k) else v)}"
            for k, v in ep.headers.items()
        )
        lines.append(f"headers = {{ {shown} }}")
    for key in ("temperature", "price_in", "price_out"):
        if getattr(ep, key) is not None:
            lines.append(f"{key} = {getattr(ep, key):g}")
    for name, (price_in, price_out) in sorted(settings.prices.items()):
        lines += [
            "",
            f"[models.{q(name)}]",
            f"price_in = {price_in:g}",
            f"price_out = {price_out:g}",
        ]
    if settings.role and settings.role in settings.roles:
        role = settings.roles[settings.role]
        lines += ["", f"# role {settings.role} (--role), over the above: {role.describe()}"]
    if settings.roles:
        lines.append(f"# roles: {', '.join(sorted(settings.roles))}")
    others = sorted(name for name in settings.endpoints if name != ep.name)
    if others:
        lines += ["", f"# other endpoints: {', '.join(others)}"]
    return "\n".join(lines)
