"""The TypeScript client (clients/typescript): its generated types match `openapi.yaml`, and the
hand-written wrapper and its tests type-check against them. Its calls are tested in tests/e2e."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
PACKAGE = ROOT / "clients" / "typescript"


def node_tool(name: str) -> Path:
    tool = PACKAGE / "node_modules" / ".bin" / name
    if not tool.exists():
        pytest.fail(f"{tool} is missing: run scripts/install.sh (or npm ci --prefix clients/typescript)", pytrace=False)
    return tool


def test_generated_typescript_types_are_current(tmp_path: Path) -> None:
    node_tool("openapi-typescript")
    generated = subprocess.run(
        [str(ROOT / "scripts" / "gen-clients.sh"), "--typescript", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert generated.returncode == 0, generated.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["schema.d.ts"]
    committed = (PACKAGE / "src" / "schema.d.ts").read_bytes()
    assert (tmp_path / "schema.d.ts").read_bytes() == committed, "clients/typescript is stale: run `make clients`"


def test_typescript_client_and_its_tests_type_check() -> None:
    checked = subprocess.run(
        [str(node_tool("tsc")), "--noEmit", "--project", str(PACKAGE)],
        capture_output=True,
        text=True,
        timeout=100,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
