"""A bundle: the app's directory as a tar.gz with a generated `skiff.toml` at its root.

What goes in: every `*.py` file next to the app's file, and every package directory (one with an
`__init__.py`) beside it, whole. What stays out: virtual environments, `__pycache__`, tests,
hidden files and directories, and any `skiff.toml` already there (the generated one replaces it).
Unless the app brings its own, `skiff/__init__.py` is the stub of `sandbox_stub.py`, so that the
app module's `import skiff` works in a sandbox without the SDK. Modules the SDK generates (the
entry points of `@app.cls` methods) go in beside the app's code.
The archive is deterministic (sorted names, zero times and owners), so unchanged code has the
same digest.
"""

from __future__ import annotations

import gzip
import io
import tarfile
from collections.abc import Iterator, Mapping
from pathlib import Path

from skiff.exceptions import PayloadTooLarge

MANIFEST_NAME = "skiff.toml"
STUB_NAME = "skiff/__init__.py"
STUB_SOURCE = Path(__file__).with_name("sandbox_stub.py")  # the `skiff` the app imports in its sandbox
MAX_BUNDLE_BYTES = 100 * 1024 * 1024  # of files before compression; the server has its own limit
SKIPPED_DIRS = frozenset(
    {"__pycache__", "tests", "test", "venv", "env", "node_modules", "site-packages", "build", "dist"}
)
SKIPPED_SUFFIXES = (".pyc", ".pyo")


def bundle_files(root: Path) -> list[Path]:
    """The files that go into the bundle, relative to `root`, sorted."""
    found: list[Path] = []
    for entry in sorted(root.iterdir()):
        if _skipped(entry):
            continue
        if entry.is_file() and entry.suffix == ".py":
            found.append(entry.relative_to(root))
        elif entry.is_dir() and (entry / "__init__.py").is_file():
            found += (path.relative_to(root) for path in _walk_package(entry))
    return found


def _walk_package(directory: Path) -> Iterator[Path]:
    for entry in sorted(directory.iterdir()):
        if _skipped(entry):
            continue
        if entry.is_dir():
            yield from _walk_package(entry)
        elif entry.is_file() and not entry.name.endswith(SKIPPED_SUFFIXES):
            yield entry


def _skipped(entry: Path) -> bool:
    if entry.name.startswith(".") or entry.is_symlink():
        return True
    is_venv = entry.is_dir() and (entry / "pyvenv.cfg").exists()
    return is_venv or (entry.is_dir() and entry.name in SKIPPED_DIRS)


def build_bundle(
    root: Path, manifest: str, *, generated: Mapping[str, str] | None = None, limit: int = MAX_BUNDLE_BYTES
) -> bytes:
    """The tar.gz of `root`'s code with `manifest` as `skiff.toml`, plus the `generated` sources by path;
    PayloadTooLarge over `limit`."""
    files = [path for path in bundle_files(root) if path.as_posix() != MANIFEST_NAME]
    total = sum((root / path).stat().st_size for path in files)
    if total > limit:
        biggest = sorted(files, key=lambda p: (root / p).stat().st_size, reverse=True)[:3]
        names = ", ".join(f"{p} ({(root / p).stat().st_size // 1024} KiB)" for p in biggest)
        raise PayloadTooLarge(
            f"the bundle of {root} would be {total // (1024 * 1024)} MiB; the limit is {limit // (1024 * 1024)} MiB. "
            f"Largest files: {names}. Move data out of the app's directory (download it in a setup function)"
        )
    raw = io.BytesIO()
    with gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as zipped, tarfile.open(fileobj=zipped, mode="w") as tar:
        _add(tar, MANIFEST_NAME, manifest.encode())
        if not any(path.parts[0] in ("skiff", "skiff.py") for path in files):
            _add(tar, STUB_NAME, STUB_SOURCE.read_bytes())
        for path in files:
            _add(tar, path.as_posix(), (root / path).read_bytes())
        for name, source in sorted((generated or {}).items()):
            _add(tar, name, source.encode())
    return raw.getvalue()


def _add(tar: tarfile.TarFile, name: str, content: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(content), 0o644, 0
    tar.addfile(info, io.BytesIO(content))
