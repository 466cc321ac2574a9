"""Resuming a conversation whose messages form a tree, against a straight one.

Two conversations of the same number of messages (2,000 by default) and the same texts
are saved in one real store: one straight, one in 50 branches (a trunk whose questions
were retried or edited, each fork a branch of its own). Resuming is what `-c` does
before the prompt: `Chat.load` (read every message, link the tree, take the branch last
on screen, claim it), then the transcript of its last turns, rendered as Markdown into
a buffer. Interleaved runs, medians; the ratio is branched / straight.

    python bench/branches.py [--messages 2000] [--branches 50] [--runs 21]
"""

from __future__ import annotations

import argparse
import io
import random
import statistics
import tempfile
import time
from pathlib import Path

from chatrepl import tree
from chatrepl.chat import Chat
from chatrepl.config import Endpoint, Settings
from chatrepl.conversation import Conversation, Role
from chatrepl.render import Renderer
from chatrepl.render.drawing import make_console
from chatrepl.session.state import RESUME_SHOWN
from chatrepl.store import Store


def _text(rng: random.Random, n: int) -> str:
    words = ["branch", "answer", "tree", "of", "a", "**bold**", "`code`", "retry"]
    return f"{n} " + " ".join(rng.choice(words) for _ in range(rng.randint(20, 120)))


def build(store: Store, messages: int, branches: int) -> str:
    """A conversation of `messages` messages with `branches` leaves (1: straight)."""
    rng = random.Random(7)
    conversation = Conversation()
    per_fork = messages // branches  # messages between forks
    forks: list[int] = []
    for n in range(messages):
        role: Role = "user" if n % 2 == 0 else "assistant"
        if branches > 1 and n and n % per_fork == 0 and len(forks) < branches - 1:
            # leave the branch: go back a few messages and start another from there
            keep = max(0, len(conversation.messages) - rng.randint(1, 6))
            keep -= keep % 2  # to just before a question
            conversation.messages = conversation.messages[:keep]
            forks.append(n)
            role = "user"
        message = conversation.add(role, _text(rng, n))
        store.add_message(conversation, message)
    assert len(tree.leaves(conversation)) == branches, len(tree.leaves(conversation))
    return conversation.id


def resume(store: Store, cid: str, settings: Settings) -> float:
    renderer = Renderer(make_console(io.StringIO(), force_terminal=True, width=100))
    chat = Chat(settings, None, renderer, store)  # type: ignore[arg-type]
    started = time.perf_counter()
    chat.load(cid)
    renderer.transcript(chat.conversation, last=RESUME_SHOWN)
    took = time.perf_counter() - started
    chat.release()
    return took


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--branches", type=int, default=50)
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args()
    settings = Settings(endpoint=Endpoint(url="http://127.0.0.1:9/api/chat"))
    with tempfile.TemporaryDirectory() as folder:
        store = Store(Path(folder) / "chatrepl.db")
        straight = build(store, args.messages, 1)
        branched = build(store, args.messages, args.branches)
        on_screen = len(store.load(branched).messages)
        times: dict[str, list[float]] = {"straight": [], "branched": []}
        load_only: dict[str, list[float]] = {"straight": [], "branched": []}
        for _ in range(2):  # warm up: imports, caches
            resume(store, straight, settings)
            resume(store, branched, settings)
        for _ in range(args.runs):
            for name, cid in (("straight", straight), ("branched", branched)):
                times[name].append(resume(store, cid, settings))
                started = time.perf_counter()
                store.load(cid)
                load_only[name].append(time.perf_counter() - started)
        ms = {k: statistics.median(v) * 1000 for k, v in times.items()}
        loads = {k: statistics.median(v) * 1000 for k, v in load_only.items()}
        print(
            f"{args.messages} messages; branched: {args.branches} branches, "
            f"{on_screen} messages on screen"
        )
        for label, figures in (("store.load", loads), ("resume (-c)", ms)):
            ratio = figures["branched"] / figures["straight"]
            print(
                f"  {label:<13}  straight {figures['straight']:.2f} ms   "
                f"branched {figures['branched']:.2f} ms   ratio {ratio:.3f}"
            )
        print("  target: resume ratio at most 1.20")


if __name__ == "__main__":
    main()
