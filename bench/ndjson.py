"""Decoding NDJSON and JSON bodies that span lines: linear in the body (issue 23, row 17).

Three bodies of 100,000 lines, fed to the decoder in 64 KiB reads as the transport does:
Ollama's NDJSON (one token a line), the same with every 1,000th line garbled (skipped
with one notice), and one JSON answer pretty-printed over 100,000 lines.

    python bench/ndjson.py [--lines 100000] [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

from chatrepl import wire

READ = 65536


def ollama(lines: int, garble: int = 0) -> bytes:
    out = []
    for i in range(lines - 1):
        if garble and i % garble == garble - 1:
            out.append(b'{"message":{"content":"cut sho\n')
            continue
        obj = {"model": "llama3.2", "message": {"role": "assistant", "content": "tok "}}
        out.append(json.dumps({**obj, "done": False}).encode() + b"\n")
    out.append(b'{"model":"llama3.2","message":{"content":""},"done":true}\n')
    return b"".join(out)


def pretty(lines: int) -> bytes:
    obj = {"message": {"role": "assistant", "content": "Hi."}, "n": list(range(lines))}
    return json.dumps(obj, indent=1).encode()


def seconds(data: bytes, content_type: str, runs: int) -> float:
    times = []
    for _ in range(runs):
        chunks = [data[i : i + READ] for i in range(0, len(data), READ)]
        start = time.perf_counter()
        reply = wire.collect(chunks, content_type)
        times.append(time.perf_counter() - start)
        assert reply.status == "complete", reply.status
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    bodies = [
        ("NDJSON, one token a line", ollama(args.lines), "application/x-ndjson"),
        ("NDJSON, every 1,000th line garbled", ollama(args.lines, 1000), "application/x-ndjson"),
        ("one JSON answer, pretty-printed", pretty(args.lines), "application/json"),
    ]
    print(f"| body ({args.lines:,} lines) | MB | seconds |")
    print("|---|---:|---:|")
    for name, data, kind in bodies:
        print(f"| {name} | {len(data) / 1e6:.1f} | {seconds(data, kind, args.runs):.3f} |")


if __name__ == "__main__":
    main()
