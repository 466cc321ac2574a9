"""The command line: wiring, and the one boundary from errors to exit codes (the
arguments themselves are `arguments`).

Only the standard library is imported at the top, so `--help` and `--version` answer
without loading rich, requests or prompt_toolkit. Everything else is imported once the
arguments say what to do.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from chatrepl import opening
from chatrepl.arguments import check, managing, parser
from chatrepl.environment import (
    Environment,
    Quiet,
    detach,
    note_terminal,
    terminal_reflows,
    to_devnull,
)
from chatrepl.errors import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    ChatreplError,
    OutputClosed,
    Terminated,
    UsageError,
    unexpected,
)

if TYPE_CHECKING:
    from chatrepl.attach import Attachment
    from chatrepl.chat import Chat
    from chatrepl.config import Endpoint, Settings
    from chatrepl.render import Renderer
    from chatrepl.store import Store


def _terminate(signum: int, frame: object) -> None:
    if signum == getattr(signal, "SIGHUP", None):
        detach()
    raise Terminated(signum)


def main(argv: Sequence[str] | None = None, env: Environment | None = None) -> int:
    """The one boundary: every error becomes one line on stderr and an exit status.

    Known errors say what went wrong and what to do; anything unexpected says its type
    and message in one line (the traceback with --debug). A stdout closed by its reader
    (`| head`) ends quietly.
    """
    if env is None:  # the real process: its streams, and its terminal if any
        env = Environment()
        note_terminal()
    env.guard()
    try:
        args = parser(env).parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a usage error (already said)
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    previous = {
        signum: signal.signal(signum, _terminate)
        for signum in (getattr(signal, n, None) for n in ("SIGTERM", "SIGHUP"))
        if signum is not None
    }
    if _interactive(args, env):  # keys typed ahead: see program
        _quiet.on()
    try:
        code = program(args, env)
        env.stdout.flush()  # what is still buffered fails here, not unseen at exit
        return code
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except Terminated as exc:
        return exc.exit_code
    except OutputClosed as exc:
        return exc.exit_code
    except ChatreplError as exc:
        _report(env, args.debug, str(exc))
        return exc.exit_code
    except Exception as exc:
        _report(env, False, unexpected(exc, args.debug, env.stderr))
        return EXIT_FAILED
    finally:
        _quiet.off()
        stopped = opening.close_all_noting_signals()
        if getattr(env.stdout, "failed", False):
            _silence(env)
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if stopped is not None:  # (a signal while the store closed: its status)
            return stopped  # noqa: B012 (the signal decides, as it would have a moment later)


def _silence(env: Environment) -> None:
    """stdout failed (a closed pipe, a full disk): point its descriptor at /dev/null, so
    that Python's last flush at exit does not fail again on what is still buffered."""
    with contextlib.suppress(OSError, ValueError, AttributeError):  # no descriptor
        to_devnull([env.stdout.fileno()])


def _report(env: Environment, debug: bool, message: str) -> None:
    if debug:
        import traceback

        traceback.print_exc(file=env.stderr)
    with contextlib.suppress(OSError, ValueError):  # stderr itself gone: nothing to say
        print(f"chatrepl: {message}", file=env.stderr, flush=True)


def _settings(args: argparse.Namespace, env: Environment) -> Settings:
    from chatrepl.config import Overrides, load

    return load(
        Overrides(
            url=args.url,
            api=args.api,
            model=args.model,
            endpoint=args.endpoint,
            system=args.system,
            save=False if args.no_save else None,
            plain=True if args.plain else None,
            debug=args.debug,
            config_file=args.config,
            show_reasoning=True if args.show_reasoning else None,
            context=args.context,
            role=args.role,
        ),
        env.environ,
    )


#: From the arguments of an interactive session until its first prompt is over, keys
#: typed ahead are not echoed and an Enter stays an Enter (not a newline, Ctrl-J), so
#: `chatrepl⏎question⏎` typed fast sends the question. Off while a token_command may
#: ask for a passphrase on the terminal.
_quiet = Quiet()


def _interactive(args: argparse.Namespace, env: Environment) -> bool:
    """The arguments ask for a REPL (what else they ask is checked by program)."""
    return bool(
        env.stdin_isatty
        and not args.question
        and not managing(args)
        and not (args.print_config or args.models)
    )


def program(args: argparse.Namespace, env: Environment) -> int:
    """What the arguments ask for; errors are raised, for `main` to report."""
    check(args)
    settings = _settings(args, env)
    paths = env.paths
    renderer = _renderer(settings, args, env)
    for warning in settings.warnings:  # unknown keys, and the like: --print-config too
        renderer.warn(warning)
    if args.print_config:
        from chatrepl.printconfig import describe

        env.stdout.write(describe(settings, paths, args.config or paths.config_file, env.environ))
        env.stdout.write("\n")
        return EXIT_OK
    from chatrepl.writer import unsent_model

    if unsent := unsent_model(settings.endpoint):
        renderer.warn(unsent)

    if args.models:
        from chatrepl.models import available

        found = available(settings.endpoint, env.environ, env.paths.cache_dir, refresh=True)
        for name in found:
            env.stdout.write(name + "\n")
        return EXIT_OK
    actions = managing(args)
    if actions:
        from chatrepl import manage

        writes = args.delete is not None or args.rename is not None
        # (what only reads does not wait, and skips the page check)
        wait = opening.SESSION_WAIT if writes else opening.AT_ONCE
        store = opening.open_store(renderer, env, wait, writes)
        return manage.run(actions[0], args, store, renderer, env)

    question = " ".join(args.question).strip()
    _check_role(args, settings)
    if not env.stdin_isatty:
        from chatrepl import attach

        piped = attach.read_stdin(env.stdin, settings.max_input_kb * 1024).strip()
        if piped:
            question = f"{question}\n\n{piped}" if question else piped
        if not question and not args.context_reset:
            raise UsageError(
                "No question was given on stdin or as arguments.", 'Try: chatrepl "your question".'
            )

    if args.compare is not None and not question:
        raise UsageError(
            "--compare needs a question, as arguments or on stdin.",
            'Try: chatrepl --compare a,b "question".',
        )
    attached = _attachments(args.files, settings.max_file_kb * 1024, question)
    if question or not env.stdin_isatty:
        chat = _chat(settings, renderer, args, env, eager=bool(question))
        if not question:
            return EXIT_OK  # --context-reset on its own, in a script: done
        if args.compare is not None:
            return _compare(chat, args.compare, question, attached)
        renderer.console_reasoning = False
        return _one_shot(chat, question, attached, env)
    if args.raw:
        raise UsageError("--raw goes with a question.", 'Try: chatrepl --raw "question".')
    from chatrepl.repl import Repl

    # The token first of all. A token_command may ask for a passphrase on the terminal,
    # as the user has it; so may that of a role's endpoint, named or resumed (all is
    # built before the prompt then).
    if args.cont or args.resume or args.context_reset or settings.role:
        if any(e.token_command for e in (settings.endpoint, *settings.endpoints.values())):
            _quiet.off()
        repl = Repl(_chat(settings, renderer, args, env), attached=attached, env=env)
        if args.cont or args.resume:
            repl.parts.conversations.show_resumed()
    else:  # a new session: the prompt first, then the store, then the chat
        if settings.endpoint.token_command:
            _quiet.off()
        token = settings.token(env.environ)
        repl = Repl.starting(
            lambda held: opening.session(settings, args, env, held),
            lambda store: _chat(settings, renderer, args, env, (store,), token),
            renderer,
            attached,
            env,
        )
    _quiet.on()
    repl.after_first = _quiet.off
    return repl.run()


def _renderer(settings: Settings, args: argparse.Namespace, env: Environment) -> Renderer:
    from chatrepl.render import Renderer

    return Renderer(
        out=env.stdout,
        err=env.stderr,
        markdown=settings.markdown,
        plain=settings.plain or args.raw or not env.stdout_isatty,
        raw=args.raw,
        code_theme=settings.code_theme,
        show_reasoning=settings.show_reasoning,
        reasoning_file=env.stderr if args.show_reasoning else None,
        clock=env.clock,
        reflows=terminal_reflows(env.environ),
    )


def _attachments(files: list[str], max_bytes: int, question: str) -> list[Attachment]:
    """The files of -f and of `@path` in the question; one line for the first that fails."""
    if not files and "@" not in question:
        return []
    from chatrepl import attach

    return attach.gather([*files, *attach.mentions(question)], max_bytes, "Nothing was sent.")


def _chat(
    settings: Settings,
    renderer: Renderer,
    args: argparse.Namespace,
    env: Environment,
    opened: tuple[Store | None] | None = None,
    token: str | None = None,
    eager: bool = False,
) -> Chat:
    """The chat the arguments ask for, on the store `opened` holds (else opened here).
    `eager`: a question is to be sent at once, so the transport is loaded now, while
    the store opens (and checks its pages) beside it."""
    from chatrepl.chat import Chat

    resuming = bool(args.cont or args.resume)
    transport = LazyTransport(
        connect_timeout=settings.connect_timeout,
        idle_timeout=settings.idle_timeout,
        on_retry=renderer.aside,
        environ=env.environ,
    )
    meanwhile = transport.load if eager else None
    (store,) = opened or (opening.session(settings, args, env, renderer, meanwhile),)
    chat = Chat(
        settings,
        transport,
        renderer,
        store if settings.save else None,
        token="" if token is None else token,  # (None: once a role has moved it, below)
        clock=env.clock,
    )
    if settings.save and store is None:
        chat.open_store = lambda: opening.open_store(renderer, env, opening.AT_ONCE)
    if args.context_reset and chat.window.learned:
        renderer.aside(
            f"Forgot the window of {chat.window.learned:,} tokens learnt from the server."
        )
        chat.window.forget()
    if resuming:
        assert store is not None
        ref = args.resume or store.latest()
        if ref is None:
            raise UsageError(
                "There is no saved conversation to continue yet.", "Start one with chatrepl."
            )
        if settings.save:
            chat.load(ref)
        else:  # --no-save: continue in memory, claim nothing
            chat.conversation = store.load(store.resolve(ref))
        if settings.system:
            chat.conversation.system = settings.system
    from chatrepl import presets

    named = {"endpoint": args.endpoint is None and not args.url, "model": args.model is None}
    if resuming:
        presets.resume(chat, **named)
    if settings.role:  # the flag wins over what the conversation remembered
        system = not resuming and args.system is None
        presets.apply(chat, settings.role, system=system, **named)
    if chat.role is not None and args.model:  # on the role's endpoint, the flag's model
        chat.use_model(args.model)
    if token is None and chat.endpoint.name == settings.endpoint.name:
        # still on the endpoint the run started on: its token (a role that moved to
        # another has resolved that one's; this one's command does not run for nothing)
        chat.token = settings.token(env.environ)
    return chat


def _check_role(args: argparse.Namespace, settings: Settings) -> None:
    """--role names a role of the config file (said before anything is opened)."""
    from chatrepl.roles import unknown

    if args.role is not None and not settings.role.strip():
        raise UsageError("--role needs a role's name.", "Roles are [roles.NAME] in config.toml.")
    if settings.role and settings.role not in settings.roles:
        raise UsageError(
            unknown(settings.role, settings.roles),
            "Roles are the [roles.NAME] tables of config.toml.",
        )


class LazyTransport:
    """The transport, imported when the first question is sent, not before the prompt.

    requests and urllib3 are most of what a fresh start would import; the prompt does
    not need them.
    """

    def __init__(self, **options: Any) -> None:
        self.options = options
        self._transport: Any = None

    def load(self) -> Any:
        """The transport, imported now if it was not yet."""
        if self._transport is None:
            from chatrepl.transport import Transport

            self._transport = Transport(**self.options)
        return self._transport

    def stream(self, endpoint: Endpoint, messages: list[dict[str, str]], token: str = "") -> Any:
        return self.load().stream(endpoint, messages, token)


def _compare(chat: Chat, names: str, question: str, attached: list[Attachment]) -> int:
    """`--compare a,b QUESTION`: each answer under its header; 1 if any writer failed."""
    from chatrepl import compare, comparing
    from chatrepl.outcome import Status

    try:
        endpoints = compare.targets(names, chat)
    except ChatreplError as exc:  # a name that is not configured: a usage error
        raise UsageError(exc.message, exc.hint) from None
    try:
        lanes, _ = comparing.ask(
            chat, endpoints, question, comparing.Headers(chat.renderer), attached
        )
    finally:
        chat.release()
    if any(lane.status is Status.INTERRUPTED for lane in lanes):
        return EXIT_INTERRUPTED
    return EXIT_FAILED if compare.failed(lanes) else EXIT_OK


def _one_shot(chat: Chat, question: str, attached: list[Attachment], env: Environment) -> int:
    from chatrepl.outcome import exit_status, told

    renderer = chat.renderer
    if chat.copied_from:
        renderer.warn(f"chatrepl: {chat.copy_notice()}")
    try:
        outcome = chat.ask(question, attached)
    finally:
        chat.release()
    if outcome.error is not None and chat.settings.debug:
        import traceback  # what went wrong underneath, as --debug promises

        traceback.print_exception(outcome.error, file=env.stderr)
    for line in told(outcome, interactive=False):
        renderer.tell(line, prefix="chatrepl: ")
    return exit_status(outcome)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
