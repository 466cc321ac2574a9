"""Deterministic mixed-Markdown answers of a given number of tokens, for benchmarks."""

from __future__ import annotations

import json
import random

WORDS = [
    "the",
    "model",
    "answers",
    "with",
    "words",
    "of",
    "varied",
    "length",
    "such",
    "as",
    "configuration",
    "terminal",
    "stream",
    "render",
    "block",
    "paragraph",
    "latency",
    "throughput",
    "sqlite",
    "python",
    "request",
]

CODE = {
    "python": [
        "def handler(event: dict) -> str:",
        "    value = event.get('value', 0) * 2",
        "    return f'result={value}'",
        "for i in range(10):",
        "    print(handler({'value': i}))",
    ],
    "bash": [
        'for f in "$HOME"/logs/*.txt; do',
        '  grep -c "error" "$f" | tee -a counts.txt',
        "done",
        "export PATH=/opt/tool/bin:$PATH && tool --verbose run",
    ],
    "json": [
        '{"name": "chatrepl", "version": 2,',
        ' "tags": ["terminal", "chat"], "enabled": true,',
        ' "limits": {"tokens": 8192, "ratio": 0.75}}',
    ],
}


def markdown_answer(tokens: int, seed: int = 7) -> list[str]:
    """About `tokens` pieces (a token is a word or a bit of syntax) of mixed Markdown."""
    rng = random.Random(seed)
    pieces: list[str] = []
    section = 0
    while len(pieces) < tokens:
        section += 1
        kind = section % 5
        if kind == 0:
            pieces += ["\n## ", f"Section {section}", "\n\n"]
        elif kind == 1:
            for _ in range(rng.randint(30, 60)):
                pieces.append(rng.choice(WORDS) + rng.choice([" ", " ", " ", ", ", ". "]))
            pieces.append("**bold** and `code` end.\n\n")
        elif kind == 2:
            for n in range(rng.randint(3, 6)):
                pieces += ["- item ", str(n), " "] + [rng.choice(WORDS) + " " for _ in range(6)]
                pieces.append("\n")
            pieces.append("\n")
        elif kind == 3:
            language = list(CODE)[section // 5 % len(CODE)]
            pieces.append(f"```{language}\n")
            for line in CODE[language] * rng.randint(1, 3):
                pieces += [part + " " for part in line.split(" ")[:-1]]
                pieces += [line.split(" ")[-1], "\n"]
            pieces.append("```\n\n")
        else:
            pieces += ["| name | value |\n", "|------|-------|\n"]
            for n in range(4):
                pieces += ["| ", rng.choice(WORDS), " | ", str(n * 7), " |\n"]
            pieces.append("\n")
    return pieces[:tokens]


def sse_events(tokens: int, usage: bool = False) -> list[bytes]:
    """`markdown_answer(tokens)` as Workers-style SSE events, one a token, then (with
    `usage`) a usage event, then `[DONE]`: what the benchmarks' servers stream."""
    events = [
        b"data: " + json.dumps({"response": piece}).encode() + b"\n\n"
        for piece in markdown_answer(tokens)
    ]
    if usage:
        counts = {"prompt_tokens": 1, "completion_tokens": tokens}
        events.append(b"data: " + json.dumps({"response": "", "usage": counts}).encode() + b"\n\n")
    return [*events, b"data: [DONE]\n\n"]


def as_chunk(event: bytes) -> bytes:
    """One event as a chunk of a chunked HTTP/1.1 body."""
    return b"%x\r\n%s\r\n" % (len(event), event)
