"""The TypeScript client against real processes: its node tests, and the README's TypeScript
example as written, call an app deployed from examples/hello on the live platform."""

from __future__ import annotations

import os
import re
import subprocess
import uuid
from pathlib import Path

import pytest

from tests.bundles import make_bundle
from tests.e2e.conftest import ROOT, Platform

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]

PACKAGE = ROOT / "clients" / "typescript"
EXAMPLE = ROOT / "examples" / "hello"
START, END = "<!-- typescript:start", "<!-- typescript:end -->"
README_BLOCK = re.compile(rf"{START}.*?-->\n```ts\n(?P<body>.*?)^```\n{END}", re.M | re.S)
EXPECTED_OUTPUT = re.compile(r"^\s*console\.log\(.*\); // (?P<line>.+)$", re.M)


def run(argv: list[str], cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=150, check=False)


def node_tool(name: str) -> str:
    tool = PACKAGE / "node_modules" / ".bin" / name
    if not tool.exists():
        pytest.fail(f"{tool} is missing: run scripts/install.sh (or npm ci --prefix clients/typescript)", pytrace=False)
    return str(tool)


@pytest.fixture(scope="module")
def built_client() -> Path:
    """The package as `npm run build` leaves it: dist/src (the client) and dist/test (its tests)."""
    node_tool("tsc")
    built = run(["npm", "run", "build"], PACKAGE)
    assert built.returncode == 0, built.stdout + built.stderr
    return PACKAGE / "dist"


@pytest.fixture(scope="module")
def hello_app(platform: Platform) -> str:
    name = f"ts-{uuid.uuid4().hex[:6]}"
    bundle = make_bundle({"app.py": (EXAMPLE / "app.py").read_text()}, (EXAMPLE / "skiff.toml").read_text())
    with platform.http() as http:
        deployed = http.post(f"/v1/apps/{name}/deployments", content=bundle)
    assert deployed.status_code == 201, deployed.text
    return name


def client_env(platform: Platform, app: str) -> dict[str, str]:
    return {
        **os.environ,
        "SKIFF_URL": platform.url,
        "SKIFF_TOKEN": platform.tenant.token,
        "SKIFF_APP": app,
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
    }


def tap_counts(output: str) -> dict[str, int]:
    return {m[1]: int(m[2]) for m in re.finditer(r"^# (tests|pass|fail|cancelled|skipped|todo) (\d+)$", output, re.M)}


def test_the_clients_node_tests_pass_against_the_platform(
    platform: Platform, hello_app: str, built_client: Path
) -> None:
    tests = sorted(str(p.relative_to(PACKAGE)) for p in (built_client / "test").glob("*.test.js"))
    assert tests, "npm run build compiled no tests"
    result = run(["node", "--test", "--test-reporter=tap", *tests], PACKAGE, client_env(platform, hello_app))
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    counts = tap_counts(result.stdout)
    assert counts["tests"] >= 5 and counts["pass"] == counts["tests"], output
    assert counts["fail"] == counts["cancelled"] == counts["skipped"] == counts["todo"] == 0, output
    assert re.search(r"^ok \d+ - errors are SkiffErrors", result.stdout, re.M), output


def test_the_readme_typescript_example_works_as_written(
    platform: Platform, hello_app: str, built_client: Path, tmp_path: Path
) -> None:
    match = README_BLOCK.search((ROOT / "README.md").read_text(encoding="utf-8"))
    assert match, f"README.md has no ```ts block between {START} and {END}"
    expected = [m["line"] for m in EXPECTED_OUTPUT.finditer(match["body"])]
    assert expected, "each console.log line of the README's example says what it prints in a `// ` comment"
    # a project of the user's, with the package installed from the repository (as `npm install <path>` links it)
    (tmp_path / "node_modules" / "@skiff").mkdir(parents=True)
    (tmp_path / "node_modules" / "@skiff" / "client").symlink_to(PACKAGE, target_is_directory=True)
    (tmp_path / "example.mts").write_text(match["body"])
    types = ["--types", "node", "--typeRoots", str(PACKAGE / "node_modules" / "@types")]
    options = ["--strict", "--target", "es2022", "--module", "nodenext", "--outDir", "out", *types]
    compiled = run([node_tool("tsc"), *options, "example.mts"], tmp_path)
    assert compiled.returncode == 0, compiled.stdout + compiled.stderr
    ran = run(["node", "out/example.mjs"], tmp_path, client_env(platform, hello_app))
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert ran.stdout.splitlines() == expected, ran.stdout + ran.stderr
