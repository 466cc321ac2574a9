"""Saved conversations from the command line: list, show, export, delete, search."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime

from chatrepl.conversation import Conversation
from chatrepl.errors import EXIT_FAILED, EXIT_OK, UsageError
from chatrepl.render import Renderer
from chatrepl.sanitize import sanitize
from chatrepl.store import Store

LIST_LIMIT = 50


def to_markdown(conversation: Conversation) -> str:
    lines = [f"# {conversation.title or conversation.id}", ""]
    lines.append(
        f"Conversation `{conversation.id}`, started "
        f"{datetime.fromtimestamp(conversation.created):%Y-%m-%d %H:%M}."
    )
    lines.append("")
    if conversation.system:
        lines += ["## System", "", conversation.system, ""]
    for message in conversation.messages:
        heading = {"user": "Question", "assistant": "Answer"}.get(message.role, message.role)
        status = "" if message.status == "complete" else f" ({message.status})"
        lines += [f"## {heading}{status}", "", message.content, ""]
    return "\n".join(lines)


def to_json(conversation: Conversation) -> str:
    return json.dumps(
        {
            "id": conversation.id,
            "title": conversation.title,
            "system": conversation.system,
            "created": conversation.created,
            "messages": [
                {"role": m.role, "content": m.content, "status": m.status, "created": m.created}
                for m in conversation.messages
            ],
        },
        ensure_ascii=False,
        indent=2,
    )


def run(args: argparse.Namespace, store: Store, renderer: Renderer) -> int:
    if args.list:
        renderer.conversations(store.list_conversations(None if args.all else LIST_LIMIT))
        return EXIT_OK
    if args.show:
        renderer.transcript(store.load(store.resolve(args.show)))
        return EXIT_OK
    if args.export:
        conversation = store.load(store.resolve(args.export))
        text = to_json(conversation) if args.format == "json" else to_markdown(conversation)
        sys.stdout.write(
            text if args.format == "json" or not sys.stdout.isatty() else sanitize(text)
        )
        sys.stdout.write("\n")
        return EXIT_OK
    if args.delete:
        cid = store.resolve(args.delete)
        conversation = store.load(cid)
        if not args.yes:
            if not sys.stdin.isatty():
                raise UsageError("Deleting needs a confirmation.", "Add --yes to skip asking.")
            answer = input(
                f"Delete {cid} ({sanitize(conversation.title)}, "
                f"{len(conversation)} messages)? [y/N] "
            )
            if answer.strip().lower() not in ("y", "yes"):
                renderer.note("Nothing was deleted.")
                return EXIT_FAILED
        store.delete_conversation(cid)
        renderer.note(f"Deleted {cid}.")
        return EXIT_OK
    if args.search:
        hits = store.search(args.search)
        if not hits:
            renderer.note(f"No conversation mentions {args.search}.")
            return EXIT_FAILED
        renderer.rows([(cid, f"{title} — {snippet}") for cid, title, snippet in hits])
        return EXIT_OK
    return EXIT_OK
