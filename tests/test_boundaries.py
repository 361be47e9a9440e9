"""Import boundaries between the packages (DESIGN.md §1), checked on the syntax tree of every module.

A server package never reaches into another's internals, the agent talks to the API only over
HTTP, the code that runs inside a sandbox is standard library only, and the client package
never imports the server.
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Rule:
    package: str  # the dotted package the rule covers, subpackages included
    folder: str  # where it lives, relative to the repository root
    forbidden: tuple[str, ...] = ()  # top-level packages it must not import
    # Only the standard library and the package itself; an optional import (one whose absence is
    # handled, like the user's cloudpickle inside a sandbox) does not make it a dependency.
    stdlib_only: bool = False

    def violation(self, imported: Import) -> str | None:
        target = imported.target
        top = target.split(".")[0]
        if top in self.forbidden:
            return f"imports {target}, and {self.package} must not import {top}"
        own = target == self.package or target.startswith(self.package + ".")
        if self.stdlib_only and not imported.optional and not own and top not in sys.stdlib_module_names:
            return f"imports {target}, and {self.package} may import only the standard library and itself"
        return None


RULES = (
    Rule("api", "api", forbidden=("scheduler", "agent", "skiff", "skiff_client")),
    Rule("scheduler", "scheduler", forbidden=("agent", "skiff")),
    Rule("agent", "agent", forbidden=("api", "scheduler", "skiff")),
    Rule("agent.runtime", "agent/runtime", stdlib_only=True),
    Rule("skiff", "clients/skiff", forbidden=("api", "scheduler", "agent")),
)


def module_name(rule: Rule, root: Path, path: Path) -> str:
    relative = path.relative_to(root / rule.folder).with_suffix("")
    parts = [p for p in relative.parts if p != "__init__"]
    return ".".join([rule.package, *parts])


@dataclass(frozen=True)
class Import:
    line: int
    target: str  # the absolute module name
    optional: bool  # inside `try: ... except ImportError:`, so the module may be absent


class _ImportCollector(ast.NodeVisitor):
    def __init__(self, package: list[str]) -> None:
        self.package = package
        self.found: list[Import] = []
        self.guarded = 0

    def visit_Try(self, node: ast.Try) -> None:
        guarded = any(_catches_import_error(handler) for handler in node.handlers)
        self.guarded += guarded
        for statement in node.body:
            self.visit(statement)
        self.guarded -= guarded
        for statement in [*node.handlers, *node.orelse, *node.finalbody]:
            self.visit(statement)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._add(node, alias.name)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level == 0:
            self._add(node, node.module or "")
            return
        base = ".".join(self.package[: len(self.package) - node.level + 1])
        if node.module:
            self._add(node, f"{base}.{node.module}")
        else:  # `from . import a, b`: each name is a module of that package
            for alias in node.names:
                self._add(node, f"{base}.{alias.name}")

    def visit_Call(self, node: ast.Call) -> None:
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        if name in ("import_module", "__import__") and node.args:
            argument = node.args[0]
            if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
                self._add(node, argument.value)
        self.generic_visit(node)

    def _add(self, node: ast.stmt | ast.expr, target: str) -> None:
        self.found.append(Import(node.lineno, target, optional=self.guarded > 0))


def _catches_import_error(handler: ast.ExceptHandler) -> bool:
    caught = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return any(isinstance(c, ast.Name) and c.id in ("ImportError", "ModuleNotFoundError") for c in caught)


def imports(path: Path, module: str) -> list[Import]:
    """Every import of a module, relative ones resolved, `import_module("x")` included."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    collector = _ImportCollector(package)
    collector.visit(tree)
    return collector.found


def violations(rule: Rule, root: Path = ROOT) -> list[str]:
    found = []
    for path in sorted((root / rule.folder).rglob("*.py")):
        module = module_name(rule, root, path)
        for imported in imports(path, module):
            if (problem := rule.violation(imported)) is not None:
                found.append(f"{path.relative_to(root)}:{imported.line}: {problem}")
    return found


@pytest.mark.parametrize("rule", RULES, ids=[r.package for r in RULES])
def test_package_respects_its_import_boundary(rule: Rule) -> None:
    assert (ROOT / rule.folder).is_dir()
    problems = violations(rule)
    assert not problems, "import boundary crossed:\n" + "\n".join(problems)


def test_the_check_names_file_and_line_of_a_crossing(tmp_path: Path) -> None:
    runtime = tmp_path / "agent" / "runtime"
    runtime.mkdir(parents=True)
    (tmp_path / "agent" / "__init__.py").write_text("")
    (runtime / "__init__.py").write_text("from . import worker\n")
    (runtime / "worker.py").write_text(
        "import json\nfrom .. import channel\nimport httpx\nfrom agent.runtime import wire\n"
        "import importlib\nimportlib.import_module('api.app')\n"
        "try:\n    import cloudpickle\nexcept ImportError:\n    import pickle\n"
        "try:\n    import numpy\nexcept ValueError:\n    pass\n"
    )
    rules = {r.package: r for r in RULES}
    stdlib_only = "and agent.runtime may import only the standard library and itself"
    assert violations(rules["agent.runtime"], tmp_path) == [
        f"agent/runtime/worker.py:2: imports agent.channel, {stdlib_only}",
        f"agent/runtime/worker.py:3: imports httpx, {stdlib_only}",
        f"agent/runtime/worker.py:6: imports api.app, {stdlib_only}",
        f"agent/runtime/worker.py:12: imports numpy, {stdlib_only}",
    ]
    assert violations(rules["agent"], tmp_path) == [
        "agent/runtime/worker.py:6: imports api.app, and agent must not import api",
    ]


UNPICKLERS = frozenset({"pickle", "cloudpickle", "dill", "marshal", "shelve", "_pickle"})
# Nothing outside a sandbox unpickles (DESIGN.md §2): the runtime's payloads inside it, and the SDK's in
# the caller's own process, are the only modules that may import a pickle library.
MAY_UNPICKLE = frozenset({"agent/runtime/payloads.py", "clients/skiff/payloads.py"})


def test_only_the_sandbox_and_the_callers_process_import_a_pickle_library() -> None:
    found = []
    for rule in RULES:
        for path in sorted((ROOT / rule.folder).rglob("*.py")):
            relative = str(path.relative_to(ROOT))
            for imported in imports(path, module_name(rule, ROOT, path)):
                if imported.target.split(".")[0] in UNPICKLERS and relative not in MAY_UNPICKLE:
                    found.append(f"{relative}:{imported.line}: imports {imported.target}")
    assert not found, "a pickle library outside the sandbox and the caller:\n" + "\n".join(sorted(set(found)))
