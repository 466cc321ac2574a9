"""Start-up: from launch to a prompt that takes keys, in a pseudo-terminal.

Measured in one run beside `python -c pass` (the interpreter alone), importing the four
libraries chatrepl is built on (what any client built on them pays), a bare
`PromptSession().prompt("> ")` (prompt_toolkit alone, to its prompt: issue 24's target
for chatrepl is at most 1.1 times that), and `chatrepl --version` (which imports none of
them; target at most 50 ms). Medians of --runs. `--against SRC` adds, interleaved in
the same run, the chatrepl of another checkout's `src` folder (an earlier commit, say)
to its prompt, for a before and after measured alike. `--floor` adds what no chatrepl
can skip before its prompt (its arguments parsed, its settings loaded, `render`
imported) followed by a bare prompt: chatrepl builds its conversation, store and
commands once its prompt is drawn, so this is how close it can come.

    python bench/startup.py [--runs 15] [--against ../other/src] [--floor]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable

import pexpect

LIBRARIES = "import prompt_toolkit, rich.console, requests, platformdirs"
# What the installed `chatrepl` command runs (pip's script, less its argv[0] tidying);
# `python -m chatrepl` would add runpy's imports, which neither the command nor the bare
# prompt pays.
CHATREPL = "import sys; from chatrepl.cli import main; sys.exit(main())"
BARE_PROMPT = "from prompt_toolkit import PromptSession; PromptSession().prompt('> ')"
FLOOR = (
    "import chatrepl.render; from chatrepl.environment import Environment; "
    "from chatrepl.arguments import parser; from chatrepl.config import Overrides, load; "
    "e = Environment(); parser(e).parse_args([]); load(Overrides(), e.environ); " + BARE_PROMPT
)


def process_ms(args: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(args, env=env, stdout=subprocess.DEVNULL, check=True)
    return (time.perf_counter() - start) * 1000


def prompt_ms(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Milliseconds to the prompt drawn, and to a key typed at once drawn in it."""
    start = time.perf_counter()
    child = pexpect.spawn(args[0], args[1:], env=env, dimensions=(40, 120), timeout=30)
    child.delaybeforesend = None  # (pexpect waits 50 ms before each send by default)
    # (the prompt's space may be drawn as a cursor move)
    child.expect(rb">(?: |\x08\x1b\[2C)")
    drawn = (time.perf_counter() - start) * 1000
    child.send(b"Q")
    child.expect(b"Q")
    typed = (time.perf_counter() - start) * 1000
    child.send(b"\x7f/exit\r")
    child.expect(pexpect.EOF)
    child.close()
    return drawn, typed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--against", metavar="SRC", help="another checkout's src folder")
    parser.add_argument("--floor", action="store_true", help="time chatrepl's floor too")
    args = parser.parse_args()
    home = tempfile.mkdtemp()
    env = {
        **os.environ,
        "CHATREPL_HOME": home,
        "TERM": "xterm-256color",
        # pexpect does not answer cursor-position requests; a real terminal does at once
        "PROMPT_TOOLKIT_NO_CPR": "1",
    }
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # (timed as installed: with its bytecode)
    py = sys.executable
    cases: dict[str, Callable[[], float | tuple[float, float]]] = {
        "python -c pass": lambda: process_ms([py, "-c", "pass"], env),
        "import the four libraries": lambda: process_ms([py, "-c", LIBRARIES], env),
        "chatrepl --version": lambda: process_ms([py, "-m", "chatrepl", "--version"], env),
        "bare PromptSession().prompt()": lambda: prompt_ms([py, "-c", BARE_PROMPT], env),
        "chatrepl to its prompt": lambda: prompt_ms([py, "-c", CHATREPL], env),
    }
    if args.floor:
        cases["floor: arguments, settings"] = lambda: prompt_ms([py, "-c", FLOOR], env)
    if args.against:
        other = {**env, "PYTHONPATH": os.path.abspath(args.against)}
        cases["chatrepl of --against"] = lambda: prompt_ms([py, "-c", CHATREPL], other)
    results: dict[str, list[float]] = {}
    for _ in range(args.runs):  # interleaved, so noise hits every case alike
        for name, measure in cases.items():
            got = measure()
            if isinstance(got, tuple):  # a prompt: drawn, and a key typed at once shown
                results.setdefault(name, []).append(got[0])
                results.setdefault(f"  {name}, a key shown", []).append(got[1])
            else:
                results.setdefault(name, []).append(got)
    base = statistics.median(results["python -c pass"])
    print(f"{'':<48} {'median ms':>10} {'over python':>12}")
    for name, values in results.items():
        med = statistics.median(values)
        print(f"{name:<48} {med:>10.1f} {med - base:>12.1f}")

    def ratio(name: str, key: bool = False) -> float:
        def median(case: str) -> float:
            return statistics.median(results[f"  {case}, a key shown" if key else case])

        return median(name) / median("bare PromptSession().prompt()")

    for key in (False, True):
        what = "a key typed at once shown" if key else "the prompt drawn"
        print(f"to {what}, over the bare prompt's:")
        print(f"  chatrepl {ratio('chatrepl to its prompt', key):.2f} (target ≤ 1.10)")
        if args.floor:
            print(f"  floor {ratio('floor: arguments, settings', key):.2f}")
        if args.against:
            print(f"  chatrepl of --against {ratio('chatrepl of --against', key):.2f}")


if __name__ == "__main__":
    main()
