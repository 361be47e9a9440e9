"""The runtime's boundaries: standard library only, and the only code that unpickles."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

AGENT = Path(__file__).resolve().parents[3] / "agent"


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_the_runtime_imports_only_the_standard_library() -> None:
    files = list((AGENT / "runtime").glob("*.py"))
    assert files
    for path in files:
        outside = imported_modules(path) - set(sys.stdlib_module_names) - {"cloudpickle"}
        assert outside == set(), f"{path.name} imports {outside}"


def test_nothing_in_the_agent_outside_the_runtime_unpickles() -> None:
    for path in AGENT.rglob("*.py"):
        if "runtime" not in path.relative_to(AGENT).parts:
            assert not imported_modules(path) & {"pickle", "cloudpickle", "dill", "marshal"}, path
