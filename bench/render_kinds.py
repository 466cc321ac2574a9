"""Where the cost of drawing a Markdown answer goes, by kind of block.

The 20,000-token benchmark answer is cut into its settled blocks (as the REPL cuts it)
and each kind is printed into a buffer as the answer's view prints settled blocks
(`trimmed_lines`, then one `Lines` uncropped); CPU seconds per kind,
in a first pass (where the first code block pays for building the Python lexer and
compiling its regexes, as a run without the regex file does) and a second.

    python bench/render_kinds.py [--tokens 20000]
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from answers import markdown_answer
from chatrepl.blocks import Blocks
from chatrepl.render.layout import markdown

from chatrepl.render.drawing import Lines, make_console, trimmed_lines


def kind(block: str) -> str:
    if block.startswith(("```", "~~~")):
        return "code"
    if block.startswith("|"):
        return "table"
    if block.startswith(("-", "*")):
        return "list"
    return "heading" if block.startswith("#") else "paragraph"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tokens", type=int, default=20000)
    args = parser.parse_args()
    blocks = Blocks()
    settled = blocks.feed("".join(markdown_answer(args.tokens)))
    settled.append(blocks.tail())
    kinds: dict[str, list[str]] = {}
    for block in settled:
        kinds.setdefault(kind(block), []).append(block)
    console = make_console(io.StringIO(), force_terminal=True, width=100)
    console.print(markdown("warm **up**"))
    took: dict[str, list[float]] = {name: [] for name in kinds}
    for _ in range(2):
        for name, found in kinds.items():
            started = time.process_time()
            for block in found:
                lines = trimmed_lines(console, markdown(block), console.options)
                console.print(Lines(lines), crop=False)  # as the answer's view prints
            took[name].append(time.process_time() - started)
    print(f"  {'':<10} {'':11}  first    second pass")
    for name, found in kinds.items():
        first, second = took[name]
        print(f"  {name:<10} {len(found):4d} blocks  {first:.3f} s  {second:.3f} s")
    first, second = (sum(times[n] for times in took.values()) for n in (0, 1))
    print(f"  {'all':<10} {len(settled):4d} blocks  {first:.3f} s  {second:.3f} s")


if __name__ == "__main__":
    main()
