"""What one decoded JSON object of a chat answer means, read by server dialect:
Workers AI (`response`), OpenAI (`choices`), Ollama (`message`, `done`), and the shapes
of their error bodies. Pure: objects in, typed events out; `wire` does the framing.
"""

from __future__ import annotations

import json
from typing import Any

from chatrepl.events import Done, Event, Failure, Finish, Reasoning, Text, Usage


def _number_text(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return str(value)
    return None


def failure_message(value: Any) -> str:
    """The message an error value holds (a string, `{"message"}`, a list of them)."""
    if isinstance(value, dict):
        for key in ("message", "error", "detail"):
            if value.get(key):
                return failure_message(value[key])
        return json.dumps(value)[:500]
    if isinstance(value, list) and value:
        return failure_message(value[0])
    return str(value)


def _usage(obj: dict[str, Any]) -> Usage:
    def count(key: str) -> int | None:
        value = obj.get(key)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    return Usage(count("prompt_tokens"), count("completion_tokens"), count("total_tokens"))


_PLAIN_RESPONSE = frozenset({"response", "p"})  # a Workers AI event with text only


def _openai_choice(choice: dict[str, Any]) -> list[Event]:
    """An OpenAI-style choice: `delta` (streamed) or `message` (whole), `text` (legacy
    completions), and why it finished."""
    out: list[Event] = []
    for key in ("delta", "message"):
        part = choice.get(key)
        if isinstance(part, dict):
            for rkey in ("reasoning_content", "reasoning"):
                reasoning = part.get(rkey)
                if isinstance(reasoning, str) and reasoning:
                    out.append(Reasoning(reasoning))
            content = part.get("content")
            if isinstance(content, str) and content:
                out.append(Text(content))
    if isinstance(choice.get("text"), str) and choice["text"]:
        out.append(Text(choice["text"]))
    if isinstance(choice.get("finish_reason"), str):
        out.append(Finish(choice["finish_reason"]))
    return out


def _workers_response(value: Any) -> list[Event]:
    """Workers AI's `response` (a number when a model answers with one)."""
    text = _number_text(value)
    return [Text(text)] if text else []


def _ollama_message(message: Any) -> list[Event]:
    """Ollama's chat `message`: its `thinking`, then its `content`."""
    if not isinstance(message, dict):
        return []
    out: list[Event] = []
    thinking = message.get("thinking")
    if isinstance(thinking, str) and thinking:
        out.append(Reasoning(thinking))
    content = message.get("content")
    if isinstance(content, str) and content:
        out.append(Text(content))
    return out


def _ollama_done(obj: dict[str, Any]) -> list[Event]:
    """Ollama's last line, `done: true`, with its token counts and reason."""
    if obj.get("done") is not True:
        return []
    out: list[Event] = []
    if "eval_count" in obj or "prompt_eval_count" in obj:
        prompt = obj.get("prompt_eval_count")
        completion = obj.get("eval_count")
        total = (
            prompt + completion if isinstance(prompt, int) and isinstance(completion, int) else None
        )
        out.append(Usage(prompt, completion, total))
    out.append(Finish(str(obj.get("done_reason") or "stop")))
    out.append(Done())
    return out


def interpret(obj: Any) -> list[Event]:
    """The events one decoded JSON object stands for, whatever server sent it: read by
    dialect (Workers AI, OpenAI, Ollama), from the object's shape alone."""
    if not isinstance(obj, dict):
        return []
    if obj.keys() <= _PLAIN_RESPONSE and type(obj.get("response")) is str:
        return [Text(obj["response"])] if obj["response"] else []
    if obj.get("error"):
        return [Failure(failure_message(obj["error"]))]
    if isinstance(obj.get("result"), dict):  # Cloudflare's REST envelope
        return interpret(obj["result"])
    choices = obj.get("choices")
    out: list[Event] = []
    if isinstance(choices, list) and choices and isinstance(choices[0], dict):
        out = _openai_choice(choices[0])
    elif "response" in obj:
        out = _workers_response(obj["response"])
    if not isinstance(choices, list):
        out += _ollama_message(obj.get("message"))
    usage = obj.get("usage")
    if isinstance(usage, dict):
        out.append(_usage(usage))
    return out + _ollama_done(obj)


# ---------------------------------------------------------------- error bodies


def error_message(body: bytes, content_type: str = "") -> str:
    """The server's own message from an error body, or "" (HTML is never shown).

    Shapes seen: `{"code","message"}` (the default endpoint), `{"error":{"message"}}`
    (OpenAI), `{"error":"..."}` (Ollama), `{"errors":[{"message"}]}` (Cloudflare's API).
    """
    text = body.decode("utf-8", "replace").strip().lstrip("\ufeff")
    if not text or "html" in content_type.lower() or text.startswith("<"):
        return ""
    try:
        obj = json.loads(text)
    except ValueError:
        first = text.splitlines()[0]
        return first[:300] if len(text) <= 300 else ""
    message = ""
    if isinstance(obj, dict):
        for key in ("error", "errors", "message", "detail"):
            if obj.get(key):
                message = failure_message(obj[key])
                break
    elif isinstance(obj, str):
        message = obj
    while message.startswith("AiError: "):
        message = message[len("AiError: ") :]
    return message.strip()
