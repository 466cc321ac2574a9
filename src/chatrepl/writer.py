"""Who wrote an answer and what it cost.

Each answer's meta holds its writer (`endpoint`, and `model` when one was named) from
the moment it starts, and its `cost` (in the configured prices' currency, per million
tokens) once the server has counted its tokens. `label` and `line` say it in words;
`target` reads what `/retry`, `/compare` and `--compare` are told (`MODEL`, `@NAME`,
`@NAME:MODEL`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from chatrepl.addresses import api_for
from chatrepl.config import Endpoint
from chatrepl.errors import ChatreplError


def stamp(endpoint: Endpoint) -> dict[str, Any]:
    """The writer of an answer from `endpoint`, for its meta (its model only where the
    request names it: the Workers shape takes none)."""
    out: dict[str, Any] = {"endpoint": endpoint.name}
    if endpoint.model and api_for(endpoint) != "workers":
        out["model"] = endpoint.model
    return out


def unsent_model(endpoint: Endpoint) -> str:
    """The line that says `endpoint`'s model is not sent ("" when it is, or none is set):
    the Workers shape names no model."""
    if not endpoint.model or "model" in stamp(endpoint):
        return ""
    return (
        f"This endpoint's API (workers) takes no model: {endpoint.model} is not sent. "
        'Set api = "openai" or "ollama" for an endpoint that does.'
    )


def label(meta: Mapping[str, Any]) -> str:
    """The writer in one or two words: the model, else the endpoint ("" if unknown)."""
    model, endpoint = meta.get("model"), meta.get("endpoint")
    return str(model or endpoint or "")


def full_label(meta: Mapping[str, Any]) -> str:
    """`endpoint: model`, or whichever of them is known."""
    model, endpoint = meta.get("model"), meta.get("endpoint")
    if model and endpoint:
        return f"{endpoint}: {model}"
    return str(model or endpoint or "")


def among(answers: Sequence[Any], index: int, short: bool = False) -> str:
    """The writer of `answers[index]` when the answers to one question do not all have
    the same one ("" when they do: then naming it says nothing)."""
    writers = {(a.meta.get("endpoint"), a.meta.get("model")) for a in answers}
    if len(writers) < 2:
        return ""
    meta = answers[index].meta
    return label(meta) if short else full_label(meta)


def price(
    endpoint: Endpoint, prices: Mapping[str, tuple[float, float]]
) -> tuple[float, float] | None:
    """(in, out) per million tokens for what `endpoint` answers with: the model's price
    if one is set for it, else the endpoint's; None when neither is configured."""
    if endpoint.model and endpoint.model in prices:
        return prices[endpoint.model]
    if endpoint.price_in is None and endpoint.price_out is None:
        return None
    return (endpoint.price_in or 0.0, endpoint.price_out or 0.0)


def cost(rates: tuple[float, float] | None, meta: Mapping[str, Any]) -> float | None:
    """What an answer cost at `rates`, from the tokens the server counted (None when
    there is no price or no count)."""
    usage = meta.get("usage")
    if rates is None or not isinstance(usage, dict):
        return None
    prompt, completion = usage.get("prompt_tokens"), usage.get("completion_tokens")
    if not isinstance(prompt, int) and not isinstance(completion, int):
        return None
    spent = (prompt or 0) * rates[0] + (completion or 0) * rates[1]
    return round(spent / 1_000_000, 8)


def money(value: float) -> str:
    """A cost as people read one: `$1.27`, `$0.015`, `$0.0042`, `$0.000015` (two
    decimals at least; below a cent, up to six)."""
    if abs(value) >= 1:
        return f"${value:,.2f}"
    digits = f"{value:.6f}".rstrip("0") if abs(value) < 0.01 else f"{value:.4f}".rstrip("0")
    return "$" + digits + "0" * max(0, 2 - len(digits.partition(".")[2]))


def total(metas: Iterable[Mapping[str, Any]]) -> float | None:
    """The sum of the costs known among `metas` (None when none has one)."""
    costs = [m["cost"] for m in metas if isinstance(m.get("cost"), int | float)]
    return sum(costs) if costs else None


def line(meta: Mapping[str, Any], named: bool = True) -> str:
    """One line about an answer: writer (if `named`), tokens, speed and cost, whichever
    are known."""
    parts = [full_label(meta)] if named and full_label(meta) else []
    usage = meta.get("usage")
    if isinstance(usage, dict) and isinstance(usage.get("completion_tokens"), int):
        parts.append(f"{usage['completion_tokens']:,} tokens")
    speed = meta.get("tokens_per_second")
    if isinstance(speed, int | float) and speed:
        parts.append(f"{speed} tok/s")
    spent = meta.get("cost")
    if isinstance(spent, int | float):
        parts.append(money(spent))
    return " · ".join(parts)


def describer(messages: Iterable[Any], always: bool = False) -> Callable[[Any], str]:
    """`line` for the answers among `messages`, naming the writer when there are several
    or `always` (one writer is said once, in the header of `--show`)."""
    answers = [m for m in messages if m.role == "assistant"]
    many = always or len({full_label(m.meta) for m in answers}) > 1
    return lambda message: line(message.meta, named=many)


def target(spec: str, endpoints: Mapping[str, Endpoint], current: Endpoint) -> Endpoint:
    """The endpoint `spec` names: `MODEL` (the current endpoint with that model),
    `@NAME` (a configured endpoint), or `@NAME:MODEL` (with that model; a model's own
    colons, as in `llama3.2:1b`, stay in the model)."""
    spec = spec.strip()
    known = ", ".join(f"@{n}" for n in sorted(endpoints)) or "none are configured"
    if not spec or " " in spec:
        raise ChatreplError(
            f"Name one model, @ENDPOINT or @ENDPOINT:MODEL, not {spec!r}.", f"Endpoints: {known}."
        )
    if not spec.startswith("@"):
        return current._replace(model=spec)
    name, _, model = spec[1:].partition(":")
    if not name:
        raise ChatreplError(f"Name an endpoint after @ ({known}).")
    if name not in endpoints:
        raise ChatreplError(
            f"Unknown endpoint @{name} ({known}).", "Add [endpoints.NAME] to config.toml."
        )
    chosen = endpoints[name]
    return chosen._replace(model=model) if model else chosen
