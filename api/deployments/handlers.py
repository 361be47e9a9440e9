"""Checks that the code a manifest names is in the bundle and parses, without running any of it.

For each function's `handler` (and `setup`) `module:function`, the module must be a file of the
bundle, must compile under the function's Python version, and must bind `function` at top level.
"""

from __future__ import annotations

import ast
import platform
import sys
from collections.abc import Iterable, Mapping

from api.deployments.errors import FieldIssue
from api.deployments.manifest import FunctionSpec, Manifest

MAX_COMPILED_SOURCE_BYTES = 4 << 20  # compiling is CPU and memory; bigger modules are not checked
MAX_LISTED_MODULES = 20


def module_candidates(module: str) -> tuple[str, str]:
    """The two files that can hold `module`: `a/b.py` or `a/b/__init__.py`."""
    base = module.replace(".", "/")
    return f"{base}.py", f"{base}/__init__.py"


def entrypoints(function: FunctionSpec) -> list[tuple[str, str]]:
    """(manifest key, `module:function`) pairs of a function's code."""
    pairs = [("handler", function.handler)]
    if function.setup:
        pairs.append(("setup", function.setup))
    return pairs


def needed_sources(manifest: Manifest, files: Iterable[str]) -> set[str]:
    """The bundle paths whose source the handler checks read."""
    present = set(files)
    needed: set[str] = set()
    for function in manifest.functions.values():
        for _, entry in entrypoints(function):
            found = _locate(entry.partition(":")[0], present)
            if found:
                needed.add(found)
    return needed


def check_handlers(
    manifest: Manifest, files: Iterable[str], sources: Mapping[str, bytes]
) -> tuple[list[FieldIssue], list[str]]:
    """(problems, warnings): problems refuse the deploy, warnings say what could not be checked."""
    checker = _HandlerChecker(set(files), sources)
    problems = [
        issue
        for name, function in manifest.functions.items()
        for key, entry in entrypoints(function)
        if (issue := checker.check(name, key, entry, function.image.python))
    ]
    return problems, checker.warnings


class _HandlerChecker:
    """Checks entrypoints against the bundle's files, parsing each module once per Python version."""

    def __init__(self, present: set[str], sources: Mapping[str, bytes]) -> None:
        self.present = present
        self.sources = sources
        self.warnings: list[str] = []
        self._verdicts: dict[tuple[str, str | None], str | ast.Module | None] = {}

    def check(self, name: str, key: str, entry: str, python: str | None) -> FieldIssue | None:
        module, _, attribute = entry.partition(":")
        field = f"functions.{name}.{key}"
        path = _locate(module, self.present)
        if path is None:
            found = ", ".join(_listed_modules(self.present)) or "none at the bundle root"
            return FieldIssue(
                field, f"function {name!r}: {key} module {module!r} not found in bundle; modules found: {found}"
            )
        if (path, python) not in self._verdicts:
            self._verdicts[path, python] = _parse(path, self.sources.get(path, b""), python, self.warnings)
        verdict = self._verdicts[path, python]
        if isinstance(verdict, str):
            return FieldIssue(field, verdict)
        if verdict is not None and not _binds(verdict, attribute):
            defined = ", ".join(_top_level_names(verdict)[:MAX_LISTED_MODULES])
            return FieldIssue(
                field, f"function {name!r}: {path} defines no top-level {attribute!r}; names defined: {defined}"
            )
        return None


def _locate(module: str, present: set[str]) -> str | None:
    return next((path for path in module_candidates(module) if path in present), None)


def _listed_modules(present: set[str]) -> list[str]:
    modules = {path[:-3] for path in present if path.endswith(".py") and "/" not in path}
    modules |= {path.split("/")[0] for path in present if path.count("/") == 1 and path.endswith("/__init__.py")}
    listed = sorted(modules)
    return listed if len(listed) <= MAX_LISTED_MODULES else [*listed[:MAX_LISTED_MODULES], "..."]


def _parse(path: str, source: bytes, python: str | None, warnings: list[str]) -> str | ast.Module | None:
    """The module's tree, a SyntaxError message, or None when it cannot be judged here."""
    running = sys.version_info[:2]
    if python is None:
        warnings.append(f"{path}: syntax not checked: a base environment's Python version is not known here")
        return None
    target = (3, int(python.split(".")[1]))
    if target > running:
        warnings.append(f"{path}: syntax not checked: Python {python} is newer than {platform.python_version()} here")
        return None
    if len(source) > MAX_COMPILED_SOURCE_BYTES:
        warnings.append(f"{path}: syntax not checked: larger than {MAX_COMPILED_SOURCE_BYTES} bytes")
        return None
    try:
        tree = ast.parse(source, filename=path, feature_version=target)
        compile(tree, path, "exec", dont_inherit=True)  # symbol-table errors: 'return' outside function, ...
    except SyntaxError as exc:
        line = f": {exc.text.strip()[:80]}" if exc.text and exc.text.strip() else ""
        return f"{path}:{exc.lineno or 0}: SyntaxError: {exc.msg}{line}"
    except (ValueError, RecursionError, MemoryError) as exc:
        return f"{path}: cannot be compiled: {type(exc).__name__}: {exc}"
    return tree


def _top_level_names(tree: ast.Module) -> list[str]:
    names: list[str] = []
    pending: list[ast.AST] = list(tree.body)
    while pending:
        node = pending.pop(0)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.append(node.name)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names.extend((alias.asname or alias.name).split(".")[0] for alias in node.names)
        elif isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.extend(n.id for target in targets for n in ast.walk(target) if isinstance(n, ast.Name))
        elif isinstance(node, ast.If | ast.Try | ast.TryStar | ast.ExceptHandler | ast.With | ast.For | ast.While):
            pending.extend(c for c in ast.iter_child_nodes(node) if isinstance(c, ast.stmt | ast.ExceptHandler))
    return names


def _binds(tree: ast.Module, attribute: str) -> bool:
    """Whether the module surely or possibly defines `attribute` at import time."""
    names = _top_level_names(tree)
    if attribute in names or "*" in names or "__getattr__" in names:
        return True
    # `globals()[...] = ...` and `exec` define names we cannot see; give them the benefit of the doubt.
    return any(isinstance(node, ast.Name) and node.id in ("globals", "exec", "setattr") for node in ast.walk(tree))
