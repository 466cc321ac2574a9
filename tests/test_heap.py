"""The collector spared objects that live until exit (chatrepl.heap)."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator

import pytest

from chatrepl import heap


@pytest.fixture(autouse=True)
def collector_on() -> Iterator[None]:
    gc.enable()
    yield
    gc.enable()
    gc.unfreeze()


def test_loading_walks_nothing_then_freezes_what_was_made() -> None:
    collections = gc.get_stats()[0]["collections"]
    with heap.loading():
        assert not gc.isenabled()
        made = [[n] for n in range(20_000)]  # far past the collector's threshold
    assert gc.get_stats()[0]["collections"] == collections
    assert gc.isenabled()
    assert gc.get_freeze_count() >= len(made)
    assert not any(gc.is_tracked(item) and item in gc.get_objects(0) for item in made[:5])


def test_overlapping_loads_end_with_the_collector_on() -> None:
    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()
    seen: list[bool] = []

    def second() -> None:
        first_in.wait(5)
        with heap.loading():
            second_in.set()
            first_out.wait(5)
            seen.append(gc.isenabled())  # still loading: still off

    thread = threading.Thread(target=second)
    thread.start()
    with heap.loading():
        first_in.set()
        second_in.wait(5)
    first_out.set()
    thread.join(5)
    assert seen == [False]
    assert gc.isenabled()


def test_a_collector_turned_off_stays_off() -> None:
    gc.disable()
    with heap.loading():
        pass
    assert not gc.isenabled()


def test_an_error_while_loading_still_turns_it_back_on() -> None:
    with pytest.raises(ImportError), heap.loading():
        import chatrepl_no_such_module  # type: ignore[import-not-found]  # noqa: F401
    assert gc.isenabled()


def test_only_what_loads_once_is_frozen() -> None:
    """A long session freezes nothing after its first answer: later answers, and code
    in languages not seen before, leave the collector to do its work (a freeze would
    keep any garbage cycle of the moment for good)."""
    import subprocess
    import sys
    import textwrap

    script = textwrap.dedent(
        """
        import gc, io
        from chatrepl.render import Renderer, make_console
        renderer = Renderer(make_console(io.StringIO(), force_terminal=True, width=80))

        def answer(language):
            with renderer.answer() as view:
                view.waiting()
                view.text(f"Some text.\\n\\n```{language}\\nx = 1\\n```\\n\\nDone.\\n")

        answer("python")
        after_first = gc.get_freeze_count()
        for language in ("bash", "rust", "sql", "go", "ruby"):
            answer(language)
        print(after_first > 0, gc.get_freeze_count() <= after_first)
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=60, check=True)  # fmt: skip
    assert result.stdout.split() == ["True", "True"]
