"""The runtime's files as sandboxes bind them: staged into the agent's state, readable by every
user, named by content; a sandbox running as another user works from the copy even when the
installation it came from is private."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest

from agent import runtime_files
from agent.container import Container, ContainerSpec, ContainerStartError
from agent.runtime_files import RuntimeFiles
from tests.agent.sandbox.conftest import SYSTEM_PYTHON, call, result_of


def private_installation(root: Path) -> RuntimeFiles:
    """A copy of the agent's installation behind a directory only root may enter, with compiled files."""
    home = root / "home"
    installed = runtime_files.installed()
    copy = RuntimeFiles(home / "runtime", tuple(home / "site" / p.name for p in installed.packages))
    for source, target in zip([installed.runtime, *installed.packages], [copy.runtime, *copy.packages], strict=True):
        shutil.copytree(source, target)
    (copy.runtime / "__pycache__").mkdir(exist_ok=True)
    (copy.runtime / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"stale")
    for path in home.rglob("*"):
        path.chmod(0o700 if path.is_dir() else 0o600)
    home.chmod(0o700)
    return copy


def test_staging_copies_the_files_for_everyone_and_names_them_by_content(open_tmp: Path) -> None:
    source = private_installation(open_tmp)
    staged = runtime_files.stage(open_tmp / "state" / "runtime", source)
    assert (staged.runtime / "__init__.py").read_bytes() == (source.runtime / "__init__.py").read_bytes()
    assert [p.name for p in staged.packages] == [p.name for p in source.packages] == ["cloudpickle"]
    assert (staged.runtime / "__pycache__" / "x.cpython-311.pyc").read_bytes() == b"stale"  # compiled files come too
    for path in [staged.runtime.parent, *staged.runtime.parent.rglob("*")]:
        assert stat.S_IMODE(path.stat().st_mode) == (0o755 if path.is_dir() else 0o644), path
    marker = staged.runtime / "__init__.py"
    before = marker.stat().st_mtime_ns
    assert runtime_files.stage(open_tmp / "state" / "runtime", source) == staged  # same content: kept
    assert marker.stat().st_mtime_ns == before

    (source.runtime / "__pycache__" / "y.cpython-311.pyc").write_bytes(b"new")
    assert runtime_files.stage(open_tmp / "state" / "runtime", source) == staged  # named by the sources alone

    (source.runtime / "extra.py").write_text("changed = True\n")
    changed = runtime_files.stage(open_tmp / "state" / "runtime", source)
    assert changed.runtime != staged.runtime and (changed.runtime / "extra.py").exists()
    assert [p.name for p in (open_tmp / "state" / "runtime").iterdir()] == [changed.runtime.parent.name]


async def test_a_sandbox_of_another_user_runs_from_the_staged_copy(open_tmp: Path) -> None:
    if os.geteuid() != 0 or shutil.which("/usr/bin/bwrap") is None:
        pytest.skip("needs bubblewrap and root")
    source = private_installation(open_tmp)
    bundle = open_tmp / "bundle"
    bundle.mkdir()
    (bundle / "fn.py").write_text(
        "import cloudpickle, os\ndef main():\n    return [os.getuid(), cloudpickle.__name__]\n"
    )
    bundle.chmod(0o755)
    (bundle / "fn.py").chmod(0o644)
    staged = runtime_files.stage(open_tmp / "runtime", source)
    spec = ContainerSpec("test-staged", bundle, "fn:main", python=SYSTEM_PYTHON, run_as_uid=65534, runtime_files=staged)
    container = Container(spec)
    try:
        await container.start(60.0)
        assert result_of(await container.run(call())) == [1000, "cloudpickle"]
    finally:
        await container.kill("the test is over")
    unstaged = Container(
        ContainerSpec("test-unstaged", bundle, "fn:main", python=SYSTEM_PYTHON, run_as_uid=65534, runtime_files=source)
    )
    with pytest.raises(ContainerStartError, match=r"cannot reach it: .* is mode 0700"):  # what staging is for
        await unstaged.start(60.0)
