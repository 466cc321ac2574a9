"""The libraries are used through their public names only: no module of src/ imports an
underscore module of rich, Pygments, markdown-it-py or `re` (nor an underscore name from
them), and no module that imports one of them reaches into `._name` of anything but its
own `self`, `cls` or `super()`. A library upgrade then cannot change what users see unnoticed."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src"
LIBRARIES = ("rich", "pygments", "markdown_it", "re", "sre_compile", "sre_parse", "_sre")


def _library(module: str) -> bool:
    return module.split(".")[0] in LIBRARIES


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def private_uses(source: str) -> list[str]:
    """Each use of a private name of the libraries in a module's source, with its line."""
    tree = ast.parse(source)
    found: list[str] = []
    uses_library = False
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if _library(alias.name):
                    uses_library = True
                    if any(_private(part) for part in alias.name.split(".")):
                        found.append(f"{node.lineno}: import {alias.name}")
        elif isinstance(node, ast.ImportFrom) and node.module and _library(node.module):
            uses_library = True
            parts = node.module.split(".")
            names = [alias.name for alias in node.names]
            if any(_private(part) for part in [*parts, *names]):
                found.append(f"{node.lineno}: from {node.module} import {', '.join(names)}")
    if uses_library:
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and _private(node.attr):
                owner = node.value
                own = isinstance(owner, ast.Name) and owner.id in ("self", "cls")
                inherited = isinstance(owner, ast.Call) and ast.unparse(owner) == "super()"
                if not (own or inherited):
                    found.append(f"{node.lineno}: {ast.unparse(node)}")
    return found


def test_the_check_finds_what_it_looks_for() -> None:
    assert private_uses("import re._parser") == ["1: import re._parser"]
    assert private_uses("from rich._loop import loop_last") == [
        "1: from rich._loop import loop_last"
    ]
    assert private_uses("import re\nre._compiler.compile = None") == ["2: re._compiler"]
    style = "from pygments.styles import get_style_by_name\nget_style_by_name('x')._styles"
    assert private_uses(style) == ["2: get_style_by_name('x')._styles"]
    assert private_uses("import rich\nclass A:\n    def f(self): return self._x") == []
    assert private_uses("x = y._z") == []  # no library imported: not its business


@pytest.mark.parametrize("path", sorted(SRC.rglob("*.py")), ids=lambda p: str(p.relative_to(SRC)))
def test_no_private_names_of_the_libraries(path: Path) -> None:
    assert private_uses(path.read_text(encoding="utf-8")) == []
