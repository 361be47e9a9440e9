"""Function environments on this node: one per image key, built once, reused by every container.

An image is a Python version or a node-provided base environment, plus pip requirements. With no
requirements a container runs on the interpreter (or base) itself; otherwise a venv is built next
to the others, with the base's packages visible when there is one. Builds run with an empty
environment, so a package's build step cannot read the agent's token or configuration from it.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

READY_MARKER = ".skiff-ready"
# How a node reaches its package index passes through to pip; nothing else of the agent's environment does.
PIP_PASSTHROUGH = (
    "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy",
    "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_TRUSTED_HOST", "PIP_CERT", "PIP_CONFIG_FILE",
    "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE",
)  # fmt: skip
BUILD_TIMEOUT_SECONDS = 900
# A failed build is not tried again for this long: the containers (and calls) that need it meanwhile
# fail at once with its error, instead of each paying for pip to fail the same way.
FAILED_BUILD_MEMORY_SECONDS = 300.0


class EnvironmentUnavailable(Exception):
    """An environment cannot be provided on this node; the message says why."""

    def __init__(self, message: str, *, build_log: str = "", seconds: float = 0.0) -> None:
        super().__init__(message)
        self.build_log = build_log  # set when a build was tried and failed
        self.seconds = seconds


@dataclass(frozen=True)
class Environment:
    """What a container runs on: an interpreter, and the venv holding its packages (if any)."""

    python: Path
    venv: Path | None
    built_in_seconds: float = 0.0
    log: str = ""


def _version_of(python: Path) -> str:
    out = subprocess.run(
        [str(python), "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    return out.stdout.strip()


class EnvironmentCache:
    def __init__(
        self,
        root: Path,
        bases: Mapping[str, Path],
        python: Path | None = None,
        remember_failures_seconds: float = FAILED_BUILD_MEMORY_SECONDS,
    ) -> None:
        self.root = root
        self.remember_failures_seconds = remember_failures_seconds
        self._failed: dict[str, tuple[float, EnvironmentUnavailable]] = {}  # image key → (when, why)
        self.bases = dict(bases)
        self.python = python or Path(sys.executable).resolve()
        self._python_version = _version_of(self.python)
        self._locks: dict[str, asyncio.Lock] = {}
        root.mkdir(parents=True, exist_ok=True)

    def built_keys(self) -> set[str]:
        """Image keys whose environment is built here (placement prefers this node for them)."""
        return {marker.parent.name for marker in self.root.glob(f"*/{READY_MARKER}")}

    def build_log(self, key: str) -> str | None:
        """The log of the build that made this key's environment here; None while it is not built."""
        marker = self.root / key / READY_MARKER
        try:
            return marker.read_text(errors="replace")
        except FileNotFoundError:
            return None

    def interpreter(self, image: Mapping[str, Any]) -> Path:
        base = image.get("base")
        if base:
            if base not in self.bases:
                known = ", ".join(sorted(self.bases)) or "none"
                raise EnvironmentUnavailable(f"base environment {base!r} is not on this node; bases here: {known}")
            return self.bases[base] / "bin" / "python"
        wanted = str(image.get("python") or self._python_version)
        if wanted == self._python_version:
            return self.python
        found = shutil.which(f"python{wanted}")
        if found is None:
            raise EnvironmentUnavailable(
                f"Python {wanted} is not installed on this node (it has {self._python_version})"
            )
        return Path(found).resolve()

    async def get(self, key: str, image: Mapping[str, Any]) -> Environment:
        """The environment for `image`; concurrent requests for one key build it once."""
        python = self.interpreter(image)
        requirements = list(image.get("requirements") or ())
        if not requirements:
            base = image.get("base")
            return Environment(python=python, venv=self.bases[base] if base else None)
        venv = self.root / key
        if (venv / READY_MARKER).exists():
            return Environment(python=venv / "bin" / "python", venv=venv)
        async with self._locks.setdefault(key, asyncio.Lock()):
            self._raise_if_failed_lately(key)
            try:
                return await asyncio.to_thread(self._build_locked, venv, python, requirements, bool(image.get("base")))
            except EnvironmentUnavailable as exc:
                self._failed[key] = (time.monotonic(), exc)
                raise

    def _raise_if_failed_lately(self, key: str) -> None:
        """The last build of `key` failed within the memory: the same error, with no log (no new build ran)."""
        failed = self._failed.get(key)
        if failed is None:
            return
        when, exc = failed
        age = time.monotonic() - when
        if age >= self.remember_failures_seconds:
            del self._failed[key]
            return
        raise EnvironmentUnavailable(
            f"{exc}\n(the build failed on this node {age:.0f} s ago; it is tried again "
            f"{self.remember_failures_seconds:.0f} s after that)"
        )

    def _build_locked(self, venv: Path, python: Path, requirements: list[str], over_base: bool) -> Environment:
        with _file_lock(self.root / f".{venv.name}.lock"):  # other agents on this node share the cache
            if (venv / READY_MARKER).exists():
                return Environment(python=venv / "bin" / "python", venv=venv)
            return _build(venv, python, requirements, over_base)


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _build(venv: Path, python: Path, requirements: list[str], over_base: bool) -> Environment:
    started = time.monotonic()
    shutil.rmtree(venv, ignore_errors=True)  # a half-built one from an interrupted build
    home = venv.parent / f".{venv.name}.home"
    home.mkdir(exist_ok=True)
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": str(home),
        "PIP_NO_INPUT": "1",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "LANG": "C.UTF-8",
        **{name: os.environ[name] for name in PIP_PASSTHROUGH if name in os.environ},
    }
    log: list[str] = []

    def run(argv: list[str]) -> None:
        result = subprocess.run(
            argv,
            env=env,
            capture_output=True,
            text=True,
            timeout=BUILD_TIMEOUT_SECONDS,
            check=False,
            umask=0o022,  # sandboxes run as other users: they must read what is built (sandbox/users.py)
        )
        log.append(f"$ {' '.join(argv)}\n{result.stdout}{result.stderr}")
        if result.returncode != 0:
            raise EnvironmentUnavailable(
                f"building the environment failed:\n{''.join(log)[-4000:]}",
                build_log="".join(log),
                seconds=time.monotonic() - started,
            )

    try:
        run([str(python), "-m", "venv", *(["--system-site-packages"] if over_base else []), str(venv)])
        run([str(venv / "bin" / "python"), "-m", "pip", "install", "--no-input", "--only-binary=:all:", *requirements])
    except BaseException:
        shutil.rmtree(venv, ignore_errors=True)
        raise
    finally:
        shutil.rmtree(home, ignore_errors=True)
    (venv / READY_MARKER).write_text("".join(log))
    return Environment(
        python=venv / "bin" / "python", venv=venv, built_in_seconds=time.monotonic() - started, log="".join(log)
    )
