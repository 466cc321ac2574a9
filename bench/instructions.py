"""Instructions, not seconds: Markdown against `--plain` counted by valgrind, for a
comparison the machine's pace cannot move.

The machines here swing by a factor of 2 within a minute, so a change of a few per cent to one
run is lost in `bench/cost.py`'s wall times. valgrind's callgrind counts the
instructions a whole `chatrepl "q"` process executes in a pseudo-terminal (the same
run as cost.py's, against the same kind of instant local server), Markdown and
`--plain`; the same process gives the same count within about 0.1 %. It is a measure of
work, not of time (memory stalls and system calls are not in it); the targets stay
cost.py's. The main thread is counted apart from the others: Markdown's against
`--plain`'s, then Markdown's other threads together (the warm-up that imports the
drawing stack, the live region's refresher).

    python bench/instructions.py [--tokens 2000] [--reference SRC]

Needs `valgrind` on the PATH; each process takes some 10 s under it.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import cost


def instructions(command: list[str], env: dict[str, str], out: Path) -> list[int]:
    """What callgrind counts for `command` run in a pseudo-terminal, thread by thread
    (the main thread first, then the others in the order they started)."""
    cost.run_pty(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
                  "--separate-threads=yes", "--log-file=/dev/null", *command], env)  # fmt: skip
    counts = []
    for part in sorted(out.parent.glob(f"{out.name}-*")):
        for line in part.read_text().splitlines():
            if line.startswith(("summary:", "totals:")):
                counts.append(int(line.split()[1]))
                break
    if not counts:
        raise SystemExit(f"no count in {out}")
    return counts


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tokens", type=int, default=2000)
    parser.add_argument("--reference", default="", help="src folder of a version to compare")
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed")
    server = cost.Server()
    versions = {"this": False, "reference": True} if args.reference else {"this": False}
    cost.REFERENCE = args.reference
    command = [sys.executable, "-m", "chatrepl", "--no-save", "q"]
    print(f'instructions of one `chatrepl "q"` in a terminal, {args.tokens:,} tokens')
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        for name, reference in versions.items():
            folder = home / name  # each version reads only the cache files it wrote
            env = cost._env(folder, server.url(args.tokens), reference)
            cost.run_pty(command, env)  # bytecode and the regex file, as a user has them
            plain_threads = instructions([*command, "--plain"], env, home / f"{name}-plain.out")
            threads = instructions(command, env, home / f"{name}-markdown.out")
            plain, markdown = sum(plain_threads), sum(threads)
            print(f"  {name:<9} plain {plain / 1e6:7.1f} M  markdown {markdown / 1e6:7.1f} M"
                  f"  Markdown's own {(markdown - plain) / 1e6:6.1f} M"
                  f"  ratio {markdown / plain:.3f}")  # fmt: skip
            # The main thread's own, then the other threads together: the warm-up
            # (imports) and the live region's refresher (which draws the blocks that settle
            # meanwhile); valgrind gives a thread that starts after another ended its number.
            main = (threads[0] - plain_threads[0]) / 1e6
            print(f"  {'':<9} Markdown's main thread {main:+.1f} M over --plain's,"
                  f" its other threads {sum(threads[1:]) / 1e6:.1f} M")  # fmt: skip


if __name__ == "__main__":
    main()
