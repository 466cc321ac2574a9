"""The cost of building a request for a long conversation, under the context budget.

A conversation of 5,000 turns (10,000 messages of about 120 to 1,200 characters) is
resumed from a real store, then the request the next question would send is planned
(estimates, choice of the newest whole turns that fit an 8,192-token window, wire form):
the first time after the resume and again (estimates kept). Medians.

    python bench/context.py [--turns 5000] [--runs 21]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

from chatrepl.chat import Chat
from chatrepl.config import Endpoint, Settings
from chatrepl.conversation import Conversation
from chatrepl.render import Renderer
from chatrepl.render.drawing import make_console
from chatrepl.store import Store


def build(store: Store, turns: int) -> str:
    rng = random.Random(5)
    conversation = Conversation()
    for n in range(turns):
        for role in ("user", "assistant"):
            words = " ".join(rng.choice(["token", "window", "budget", "of", "a"]) for _ in
                             range(rng.randint(20, 200)))  # fmt: skip
            message = conversation.add(role, f"{n} {words}")  # type: ignore[arg-type]
            store.add_message(conversation, message)
    return conversation.id


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--turns", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        store = Store(Path(folder) / "chatrepl.db")
        cid = build(store, args.turns)
        settings = Settings(endpoint=Endpoint(url="http://127.0.0.1:9/api/chat"))
        renderer = Renderer(make_console(sys.stdout, plain=True), plain=True)
        first, again, loads = [], [], []
        for _ in range(args.runs):
            chat = Chat(settings, None, renderer, store)  # type: ignore[arg-type]
            started = time.perf_counter()
            chat.conversation = store.load(cid)
            loaded = time.perf_counter()
            chat.conversation.add("user", "the next question")
            plan = chat.plan()
            planned = time.perf_counter()
            chat.plan()
            loads.append(loaded - started)
            first.append(planned - loaded)
            again.append(time.perf_counter() - planned)
        tracemalloc.start()
        chat.conversation = store.load(cid)
        chat.plan()
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    print(
        f"{args.turns:,} turns, {2 * args.turns:,} messages; the request sends "
        f"{plan.sent} of {plan.total} messages, {plan.tokens:,} of {plan.window:,} tokens"
    )
    print("| step | median ms |")
    print("|---|---:|")
    print(
        f"| resume: load the conversation from the store | {statistics.median(loads) * 1e3:.1f} |"
    )
    print(f"| plan the first request after the resume | {statistics.median(first) * 1e3:.2f} |")
    print(f"| plan the next request (estimates kept) | {statistics.median(again) * 1e3:.2f} |")
    print(f"| peak memory of a load and a plan (tracemalloc) | {peak / 2**20:.1f} MB |")


if __name__ == "__main__":
    main()
