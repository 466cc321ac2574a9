"""Shared test fixtures: the data folder is always redirected, servers are local."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.server import ChatServer

#: Byte-exact server responses and what each must yield (see its README.md).
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "wire"


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
