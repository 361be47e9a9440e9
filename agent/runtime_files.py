"""The agent's files that every sandbox binds: the runtime, and the platform's packages.

An agent copies them from its installation into its state directory once at start, so that a
sandbox's unprivileged host user (agent.sandbox.users) can read them wherever the agent is
installed, e.g. under a home directory others cannot enter. Copies are named by the content of
their sources.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import shutil
from dataclasses import dataclass
from pathlib import Path

import agent.runtime

RUNTIME_DIR = Path(agent.runtime.__file__).parent
PLATFORM_PACKAGES = ("cloudpickle",)  # decodes the pickled arguments of callers that send Python values


@dataclass(frozen=True, slots=True)
class RuntimeFiles:
    runtime: Path  # the runtime package (agent/runtime: stdlib only)
    packages: tuple[Path, ...] = ()  # the platform's packages, searched after the function's own


@functools.cache
def platform_packages() -> tuple[Path, ...]:
    """The agent's own copies of PLATFORM_PACKAGES (found, not imported)."""
    found = []
    for name in PLATFORM_PACKAGES:
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.submodule_search_locations:
            found.append(Path(next(iter(spec.submodule_search_locations))).resolve())
    return tuple(found)


def installed() -> RuntimeFiles:
    """The files where the agent's installation keeps them."""
    return RuntimeFiles(RUNTIME_DIR, platform_packages())


def stage(root: Path, source: RuntimeFiles | None = None) -> RuntimeFiles:
    """Copies of `source` (the installation's) under `root`, readable by every user; earlier copies go."""
    source = source or installed()
    root.mkdir(parents=True, exist_ok=True)
    root.chmod(0o755)
    trees = [source.runtime, *source.packages]
    digest = hashlib.sha256()
    for tree in trees:
        for path in sorted(_files(tree)):
            digest.update(f"{tree.name}/{path.relative_to(tree)}\0".encode())
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    target = root / digest.hexdigest()[:16]
    staged = RuntimeFiles(target / "runtime", tuple(target / "packages" / tree.name for tree in source.packages))
    if not target.is_dir():
        partial = root / f".{target.name}.partial"
        shutil.rmtree(partial, ignore_errors=True)
        for tree, copy in zip(trees, [staged.runtime, *staged.packages], strict=True):
            # Compiled files come along: copies keep their sources' times, which is what Python checks them against.
            shutil.copytree(tree, partial / copy.relative_to(target))
        for path in [partial, *partial.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
        partial.rename(target)
    for other in root.iterdir():
        if other != target:
            shutil.rmtree(other, ignore_errors=True)
    return staged


def _files(tree: Path) -> list[Path]:
    return [
        path for path in tree.rglob("*") if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    ]
