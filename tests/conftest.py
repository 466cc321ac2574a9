"""Shared test fixtures: the data folder is always redirected, servers are local."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.server import ChatServer

FIXTURES = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures"
if not FIXTURES.is_dir():  # a checkout with ../shared elsewhere
    FIXTURES = Path(os.environ.get("CHATREPL_FIXTURES", "../shared/fixtures")).resolve()


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


@pytest.fixture(autouse=True)
def chatrepl_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Every test gets its own CHATREPL_HOME and no token or endpoint from outside."""
    home = tmp_path / "home"
    monkeypatch.setenv("CHATREPL_HOME", str(home))
    for name in ("CHATREPL_URL", "CHATREPL_API", "CHATREPL_MODEL", "CHATREPL_TOKEN", "NO_COLOR"):
        monkeypatch.delenv(name, raising=False)
    yield home


@pytest.fixture
def server() -> Iterator[ChatServer]:
    srv = ChatServer().start()
    yield srv
    srv.stop()
