"""docker-compose.yml and the Dockerfile, checked without a Docker engine.

The compose file is validated against the Compose Specification's JSON schema (tests/data/compose-spec.json,
see tests/data/README.md for its source), and each Skiff service must run a command that exists.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
SKIFF_SERVICES = {"migrate": "api", "api": "api", "scheduler": "scheduler", "agent": "agent"}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return document


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = compose["services"]
    return found


def test_compose_file_follows_the_compose_specification(compose: dict[str, Any]) -> None:
    schema = json.loads((ROOT / "tests" / "data" / "compose-spec.json").read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(compose), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{'/'.join(map(str, e.path))}: {e.message}" for e in errors)


def test_the_production_shape_is_all_there(services: dict[str, dict[str, Any]]) -> None:
    assert {"postgres", "redis", "minio", "migrate", "api", "scheduler", "agent"} <= set(services)
    for name in ("postgres", "redis", "minio", "api"):
        assert services[name]["healthcheck"]["test"], name
    assert any("/readyz" in part for part in services["api"]["healthcheck"]["test"])
    assert services["api"]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
    for name in ("scheduler", "agent"):
        assert services[name]["depends_on"]["api"] == {"condition": "service_healthy"}


def test_the_agent_reserves_gpus_and_gets_only_what_bubblewrap_needs(services: dict[str, dict[str, Any]]) -> None:
    agent = services["agent"]
    assert agent["deploy"]["resources"]["reservations"]["devices"] == [
        {"driver": "nvidia", "count": "all", "capabilities": ["gpu"]}
    ]
    assert not agent.get("privileged")
    assert not agent.get("cap_add")
    assert {"seccomp=unconfined", "apparmor=unconfined"} <= set(agent["security_opt"])
    leaked = {"SKIFF_DATABASE_URL", "SKIFF_REDIS_URL", "SKIFF_BLOB_URL", "AWS_SECRET_ACCESS_KEY"} & set(
        agent["environment"]
    )
    assert not leaked, "an agent talks to the API only"


def test_api_and_scheduler_run_unprivileged(services: dict[str, dict[str, Any]]) -> None:
    users = re.findall(r"^USER\s+(\S+)", DOCKERFILE.read_text(), re.MULTILINE)
    assert users and users[-1] not in ("root", "0")
    for name in ("migrate", "api", "scheduler"):
        assert services[name].get("user") in (None, users[-1]), name


@pytest.mark.parametrize("service", sorted(SKIFF_SERVICES))
def test_each_skiff_service_runs_a_real_entrypoint(services: dict[str, dict[str, Any]], service: str) -> None:
    command = services[service]["command"]
    module = SKIFF_SERVICES[service]
    assert command[:3] == ["python", "-m", module]
    assert (ROOT / module / "__main__.py").is_file()
    args = command[3:]
    if module == "scheduler":
        assert args == []  # it takes its settings from SKIFF_* variables and would start on any other input
        return
    # argparse accepts the arguments as given and then answers --help: the flags exist as spelled.
    checked = subprocess.run(
        [sys.executable, "-m", module, *args, "--help"], capture_output=True, text=True, timeout=60, check=False
    )
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.startswith("usage:")


def test_images_are_pinned(services: dict[str, dict[str, Any]]) -> None:
    bases = re.findall(r"^FROM\s+(\S+)", DOCKERFILE.read_text(), re.MULTILINE)
    assert bases == ["python:3.11-slim-bookworm"]
    for name, service in services.items():
        image = service.get("image", "")
        assert ":" in image and not image.endswith(":latest"), f"{name}: pin {image!r} to a version"
    assert ":latest" not in DOCKERFILE.read_text()
