"""Copying text to the clipboard: OSC 52 where the terminal takes it, else a command.

OSC 52 asks the terminal itself to set the clipboard, which also works over SSH and in
tmux; it cannot be detected, so it is used where the terminal is known to support it
(or `CHATREPL_OSC52=1`). Otherwise the platform's clipboard command is used.
"""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping

from chatrepl.errors import ChatreplError

OSC52_TERMINALS = ("kitty", "alacritty", "foot", "wezterm", "ghostty", "contour")
OSC52_PROGRAMS = ("iTerm.app", "WezTerm", "vscode", "ghostty")
COMMANDS = (
    ("wl-copy",),
    ("xclip", "-selection", "clipboard"),
    ("xsel", "--clipboard", "--input"),
    ("pbcopy",),
    ("clip.exe",),
)


def osc52_sequence(text: str) -> str:
    data = base64.b64encode(text.encode("utf-8")).decode("ascii")
    return f"\x1b]52;c;{data}\x07"


def terminal_takes_osc52(env: Mapping[str, str]) -> bool:
    if env.get("CHATREPL_OSC52") in ("1", "yes", "true"):
        return True
    term = env.get("TERM", "")
    return bool(
        any(name in term for name in OSC52_TERMINALS) or env.get("TERM_PROGRAM") in OSC52_PROGRAMS
    )


def copy(
    text: str,
    write: Callable[[str], None],
    env: Mapping[str, str] | None = None,
    interactive: bool | None = None,
) -> str:
    """Copy `text`; return where it went, in words that claim no more than is known,
    or raise one clear ChatreplError.

    Under tmux the text goes into tmux's own buffer (`tmux load-buffer -w -`, which tmux
    confirms, and passes on to the outer terminal when its `set-clipboard` allows), and
    the OSC 52 sequence too. Elsewhere OSC 52 cannot be confirmed: the words say so.
    """
    env = os.environ if env is None else env
    interactive = sys.stdout.isatty() if interactive is None else interactive
    if interactive and env.get("TMUX"):
        sequence = osc52_sequence(text)  # passed through tmux to the outer terminal
        write("\x1bPtmux;" + sequence.replace("\x1b", "\x1b\x1b") + "\x1b\\")
        if _run(("tmux", "load-buffer", "-w", "-"), text, env):
            return "tmux's paste buffer (and the terminal's clipboard, if tmux passes it on)"
        return "the terminal through tmux (OSC 52), which tmux may not pass on: try a paste"
    if interactive and terminal_takes_osc52(env):
        write(osc52_sequence(text))
        return "the terminal (OSC 52)"
    for command in COMMANDS:
        if _run(command, text, env):
            return command[0]
    raise ChatreplError(
        "Could not copy: this terminal is not known to take OSC 52 and no clipboard "
        "command (wl-copy, xclip, xsel, pbcopy) is installed.",
        "Set CHATREPL_OSC52=1 if your terminal supports OSC 52.",
    )


def _run(command: tuple[str, ...], text: str, env: Mapping[str, str]) -> bool:
    """Give `text` to a clipboard command; whether it took it."""
    if not shutil.which(command[0], path=env.get("PATH")):
        return False
    try:
        subprocess.run(
            command,
            input=text.encode("utf-8"),
            check=True,
            timeout=5,
            capture_output=True,
            env=dict(env),
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return True
