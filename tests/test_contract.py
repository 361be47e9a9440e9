"""The spec is the product: `openapi.yaml` and the generated client must match the code."""

from __future__ import annotations

import filecmp
import subprocess
from pathlib import Path

import yaml

from api.spec import render_spec

ROOT = Path(__file__).resolve().parent.parent


def test_openapi_yaml_is_current() -> None:
    committed = (ROOT / "openapi.yaml").read_text()
    assert render_spec() == committed, "openapi.yaml is stale: run `make openapi clients`"


def test_every_operation_is_tagged_named_and_declares_its_problems() -> None:
    spec = yaml.safe_load((ROOT / "openapi.yaml").read_text())
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            where = f"{method.upper()} {path}"
            assert operation.get("tags") and operation.get("operationId"), where
            for status, response in operation["responses"].items():
                if int(status) >= 400:
                    assert list(response["content"]) == ["application/problem+json"], where
            if path.startswith("/v1/"):
                assert "401" in operation["responses"], where


def _differences(left: Path, right: Path) -> list[str]:
    comparison = filecmp.dircmp(left, right, ignore=["__pycache__"])
    found = [f"{left.name}/{n}" for n in comparison.left_only + comparison.right_only + comparison.diff_files]
    for sub in comparison.common_dirs:
        found += _differences(left / sub, right / sub)
    return found


def test_generated_python_client_is_current(tmp_path: Path) -> None:
    out = tmp_path / "skiff_client"
    subprocess.run([str(ROOT / "scripts" / "gen-clients.sh"), str(out)], check=True, capture_output=True)
    differences = _differences(ROOT / "clients" / "python" / "skiff_client", out)
    assert differences == [], f"clients/python is stale: run `make clients` ({differences[:5]})"
