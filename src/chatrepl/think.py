"""Inline reasoning: `<think>…</think>` split from the answer text as it streams.

Reasoning models that have no field of their own for it write their thinking into the
answer text. Three shapes are seen: `<think>…</think>` (or `<thinking>…</thinking>`) at
the start of the answer; and, from DeepSeek-R1 distills and QwQ whose chat template
opens the tag itself, thinking text that only *ends* with `</think>`.

`ThinkSplitter` turns the answer's `Text` events into `Reasoning` and `Text` as they
arrive, in any split of the text. It holds back at most a tag's length of text, except
leading white space before the first word. An opening tag counts only at the start of
the answer (so a `<think>` inside a code block is answer text). A closing tag without an
opening one can only be judged once it arrives: the splitter then emits `Recast`, saying
that the text given as answer so far was reasoning. When the model is known to think
(its name says so, see `thinks`), that text is given as reasoning from the start, and a
stream that ends without the closing tag is recast into the answer instead.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

NO_ANSWER = "The model sent its reasoning and no answer; the reasoning is saved."
NO_ANSWER_HINT = "Ask again, or read it with /think (--show ID outside the REPL)."
OPEN_TAGS = ("<think>", "<thinking>")
CLOSE_TAGS = ("</think>", "</thinking>")
_LONGEST = max(len(t) for t in OPEN_TAGS + CLOSE_TAGS)
_CLOSE = re.compile(r"</think(?:ing)?>")
_FENCES = ("```", "~~~")

# Model names of the families that open their thinking in the chat template.
_THINKERS = re.compile(r"(?i)(?:^|[^a-z0-9])(?:deepseek-r1|r1-distill|qwq)|think|reason")


def thinks(model: str) -> bool:
    """Whether a model of this name starts its answer inside reasoning."""
    return bool(model) and _THINKERS.search(model) is not None


@dataclass(frozen=True)
class Recast:
    """`text`, given so far as the other kind, is in fact `into` ("reasoning"|"answer")."""

    text: str
    into: str


# Kinds of output: (kind, text) with kind "text", "reasoning", or a Recast.
Piece = tuple[str, str] | Recast

_START, _THINKING, _AFTER, _ANSWER, _PASS = range(5)


def _tag_prefix_at_end(text: str, tags: tuple[str, ...]) -> int:
    """Length of the longest end of `text` that could begin one of `tags`."""
    start = max(0, len(text) - _LONGEST + 1)
    for i in range(start, len(text)):
        if text[i] == "<":
            tail = text[i:]
            if any(tag.startswith(tail) for tag in tags):
                return len(text) - i
    return 0


class ThinkSplitter:
    """Streamed answer text in, reasoning and answer pieces out. See the module."""

    def __init__(self, expect: bool = False) -> None:
        self.expect = expect
        self._state = _START
        self._held = ""
        self._tagged = False  # reasoning opened with a tag
        self._answer_so_far: list[str] = []
        self._reasoning_so_far: list[str] = []
        self._recent = ""  # the last characters of answer text, to see a fence split in two

    def hint(self, model: str) -> None:
        """The stream named its model: it may say the answer starts inside reasoning."""
        if self._state == _START and thinks(model):
            self.expect = True

    @property
    def passthrough(self) -> bool:
        """True once no tag can matter any more: text goes through untouched."""
        return self._state == _PASS

    def feed(self, text: str) -> list[Piece]:
        out: list[Piece] = []
        self._run(self._held + text, out)
        return out

    def passes(self, text: str) -> bool:
        """True when `text`, all of it answer text, goes through unchanged; it is then
        taken as fed. The common case, made cheap: no tag or fence character in it."""
        if (
            self._state == _ANSWER
            and not self._held
            and "<" not in text
            and "`" not in text
            and "~" not in text
        ):
            self._answer_so_far.append(text)
            self._recent = ""  # a fence needs three in a row: this text broke any run
            return True
        return False

    def close(self) -> list[Piece]:
        """The stream ended: give back what was held, and settle an open question."""
        out: list[Piece] = []
        held, self._held = self._held, ""
        if self._state == _START:
            if held.strip() and self.expect:
                self._state = _THINKING
                self._reason(held, out)
            else:
                self._answer(held, out)
        elif self._state == _THINKING:
            self._reason(held, out)
            if not self._tagged:
                # The model was thought to open with reasoning, but never closed it.
                thought = "".join(self._reasoning_so_far)
                if thought:
                    out.append(Recast(thought, "answer"))
        elif self._state == _ANSWER:
            self._answer(held, out)
        # _AFTER: white space after the closing tag, not part of the answer
        self._state = _PASS
        return out

    # ---------------------------------------------------------- the states

    def _run(self, text: str, out: list[Piece]) -> None:
        self._held = ""
        while text:
            if self._state == _PASS:
                out.append(("text", text))
                return
            if self._state == _START:
                text = self._start(text, out)
            elif self._state == _THINKING:
                text = self._thinking(text, out)
            elif self._state == _AFTER:
                stripped = text.lstrip()
                if not stripped:
                    return  # still the white space after the closing tag
                self._state = _PASS
                text = stripped
            else:
                text = self._answer_state(text, out)

    def _start(self, text: str, out: list[Piece]) -> str:
        body = text.lstrip()
        if not body:
            self._held = text
            return ""
        for tag in OPEN_TAGS:
            if body.startswith(tag):
                self._state, self._tagged = _THINKING, True
                return body[len(tag) :]
        if any(tag.startswith(body) for tag in OPEN_TAGS):
            self._held = text  # maybe the first characters of a tag
            return ""
        self._state = _THINKING if self.expect else _ANSWER
        return text

    def _thinking(self, text: str, out: list[Piece]) -> str:
        match = _CLOSE.search(text)
        if match is not None:
            self._reason(text[: match.start()], out)
            self._state = _AFTER
            return text[match.end() :]
        keep = _tag_prefix_at_end(text, CLOSE_TAGS)
        self._reason(text[: len(text) - keep], out)
        self._held = text[len(text) - keep :]
        return ""

    def _answer_state(self, text: str, out: list[Piece]) -> str:
        """Answer text from the start, watched for a closing tag until a fence shows."""
        recent = self._recent + text
        offset = len(self._recent)
        fence = min((i for f in _FENCES if (i := recent.find(f)) >= 0), default=-1)
        match = _CLOSE.search(text)
        if match is not None and (fence < 0 or match.start() + offset < fence):
            if recent[match.start() + offset - 1 : match.start() + offset] == "`":
                self._answer(text, out)  # `</think>` quoted in inline code: an answer
                self._state = _PASS
                return ""
            self._answer(text[: match.start()], out)
            out.append(Recast("".join(self._answer_so_far), "reasoning"))
            self._answer_so_far.clear()
            self._state = _AFTER
            return text[match.end() :]
        if fence >= 0:
            self._answer(text, out)  # code: a closing tag from here on is answer text
            self._state = _PASS
            return ""
        keep = _tag_prefix_at_end(text, CLOSE_TAGS)
        self._answer(text[: len(text) - keep], out)
        self._held = text[len(text) - keep :]
        return ""

    # ---------------------------------------------------------- output

    def _answer(self, text: str, out: list[Piece]) -> None:
        if text:
            out.append(("text", text))
            if self._state == _ANSWER:
                self._answer_so_far.append(text)
                self._recent = (self._recent + text)[-2:]

    def _reason(self, text: str, out: list[Piece]) -> None:
        if text:
            out.append(("reasoning", text))
            if not self._tagged:
                self._reasoning_so_far.append(text)


def split_whole(text: str, expect: bool = False) -> tuple[str, str]:
    """(reasoning, answer) of a whole answer text."""
    splitter = ThinkSplitter(expect)
    reasoning: list[str] = []
    answer: list[str] = []
    for piece in [*splitter.feed(text), *splitter.close()]:
        if isinstance(piece, Recast):
            if piece.into == "reasoning":
                reasoning.append("".join(answer))
                answer.clear()
            else:
                answer.insert(0, "".join(reasoning))
                reasoning.clear()
        elif piece[0] == "text":
            answer.append(piece[1])
        else:
            reasoning.append(piece[1])
    return "".join(reasoning), "".join(answer)


# A screenful of reasoning is all the live region shows; this much is kept at hand for it.
TAIL_CHARS = 16384


class Thought:
    """The reasoning of one answer as it is shown: its text, and how long it took."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.opened = clock()  # when the answer's view opened
        self.clear()

    def clear(self) -> None:
        """Forget the reasoning (not when the view opened)."""
        self.started: float | None = None
        self.pending = False  # shown, and not yet collapsed
        self._parts: list[str] = []
        self._recent: list[str] = []
        self._recent_len = 0
        self.size = 0

    def add(self, text: str) -> None:
        if self.started is None:
            self.started = self.clock()
        self.pending = True
        self._parts.append(text)
        self._recent.append(text)
        self._recent_len += len(text)
        self.size += len(text)
        if self._recent_len > 2 * TAIL_CHARS:
            kept = "".join(self._recent)[-TAIL_CHARS:]
            self._recent, self._recent_len = [kept], len(kept)

    @property
    def text(self) -> str:
        return "".join(self._parts)

    def tail(self, chars: int) -> str:
        """About the last `chars` characters, from the start of a line when it can."""
        text = "".join(self._recent)[-min(chars, TAIL_CHARS) :]
        return text.lstrip("\n")

    def recast(self, text: str) -> None:
        """The text shown as the answer so far was this reasoning."""
        self.clear()
        self.add(text)
        self.started = self.opened

    def end(self) -> str:
        """Collapse: 'Thought for 6.2 s, 412 words', or '' when there was none."""
        if not self.pending:
            return ""
        self.pending = False
        seconds = self.clock() - (self.started if self.started is not None else self.opened)
        return f"Thought for {seconds:.1f} s, {describe_words(self.text)}"


def describe_words(text: str) -> str:
    words = len(text.split())
    return f"{words:,} word" + ("" if words == 1 else "s")
