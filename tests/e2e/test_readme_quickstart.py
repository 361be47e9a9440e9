"""The README's Quickstart, run as written, and the examples it points to, against real processes.

The Quickstart's shell blocks marked ```sh quickstart NAME (between `<!-- quickstart:start` and
`<!-- quickstart:end`) run in order, in one bash session, from a directory whose `examples` is
the repository's; each block's output is checked below under its NAME. The unmarked block with
`make run` / `make test` is the setup the live stack stands in for, and does not run.

The Python SDK's blocks marked ```python sdk NAME (between `<!-- sdk:start` and `<!-- sdk:end`) are written
into one app file, in order, deployed with the SDK, and called as the text around them says.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import tarfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

import skiff
from skiff.config import Profile, save_profile
from skiff.loader import load_app
from tests.e2e.conftest import ROOT, Platform

README = ROOT / "README.md"
START, END = "<!-- quickstart:start", "<!-- quickstart:end"
BLOCK = re.compile(r"^```sh quickstart (?P<name>[\w-]+)\n(?P<body>.*?)^```$", re.MULTILINE | re.DOTALL)
MARK = "@@quickstart-block "
SCRIPT_TIMEOUT_SECONDS = 150


def quickstart_section() -> str:
    text = README.read_text(encoding="utf-8")
    start, end = text.index(START), text.index(END)
    assert start < end, "the quickstart's start marker must come before its end marker"
    return text[start:end]


def quickstart_blocks() -> list[tuple[str, str]]:
    return [(m["name"], m["body"]) for m in BLOCK.finditer(quickstart_section())]


def json_documents(output: str) -> list[Any]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


def only(documents: list[Any], count: int) -> list[Any]:
    assert len(documents) == count, documents
    return documents


def check_config(output: str, platform: Platform) -> None:
    (workspace,) = only(json_documents(output), 1)
    assert workspace["name"] == platform.tenant.name, workspace  # the URL and token read from config.toml work


def check_deploy(output: str, _: Platform) -> None:
    (deployment,) = only(json_documents(output), 1)
    assert (deployment["app"], deployment["version"], deployment["current"]) == ("hello", 1, True), deployment
    assert {f["name"] for f in deployment["functions"]} == {"hello", "fail"}


def check_call(output: str, _: Platform) -> None:
    (call,) = only(json_documents(output), 1)
    assert call["status"] == "succeeded" and call["result"] == {"greeting": "hello ada"}, call


def check_async(output: str, _: Platform) -> None:
    location = output.splitlines()[0]
    assert re.fullmatch(r"/v1/calls/call_\w+", location), output
    state, result = only(json_documents(output), 2)
    assert state["id"] == result["id"] == location.rsplit("/", 1)[1]
    assert state["status"] in ("queued", "running", "succeeded"), state
    assert result["status"] == "succeeded" and result["result"] == {"greeting": "hello grace"}, result


def check_logs(output: str, _: Platform) -> None:
    text, _, stream = output.partition("id: ")  # the plain text, then the event stream
    assert text.strip() == "saying hello to grace", output
    assert '"line": "saying hello to grace"' in stream and "event: end" in stream, output


def check_error(output: str, _: Platform) -> None:
    (call,) = only(json_documents(output), 1)
    assert call["status"] == "failed" and call["result"] is None, call
    assert call["error"]["type"] == "ValueError" and call["error"]["message"] == "no such user", call
    assert "app.py" in call["error"]["traceback"], call


def check_v2(output: str, _: Platform) -> None:
    deployment, call = only(json_documents(output), 2)
    assert (deployment["version"], deployment["current"]) == (2, True), deployment
    assert call["version"] == 2 and call["result"] == {"greeting": "hi ada"}, call


def check_list(output: str, _: Platform) -> None:
    apps, deployments = only(json_documents(output), 2)
    (hello,) = [app for app in apps["items"] if app["name"] == "hello"]
    assert (hello["current_version"], hello["latest_version"]) == (2, 2), hello
    assert [(d["version"], d["current"]) for d in deployments["items"]] == [(2, True), (1, False)], deployments


def check_rollback(output: str, _: Platform) -> None:
    deployment, call = only(json_documents(output), 2)
    assert (deployment["version"], deployment["current"]) == (1, True), deployment
    assert call["version"] == 1 and call["result"] == {"greeting": "hello ada"}, call


def check_map(output: str, _: Platform) -> None:
    (ended,) = only(json_documents(output), 1)
    greetings = {call["result"]["greeting"] for call in ended["items"]}
    assert ended["items"] and greetings <= {"hello ada", "hello grace", "hello alan"}, ended


CHECKS: dict[str, Callable[[str, Platform], None]] = {
    "config": check_config,
    "deploy": check_deploy,
    "call": check_call,
    "async": check_async,
    "logs": check_logs,
    "error": check_error,
    "v2": check_v2,
    "list": check_list,
    "rollback": check_rollback,
    "map": check_map,
}


def test_the_quickstart_has_the_blocks_this_test_checks() -> None:
    assert [name for name, _ in quickstart_blocks()] == list(CHECKS)
    setup = re.search(r"^```sh\n(.*?)^```$", quickstart_section(), re.MULTILINE | re.DOTALL)
    assert setup is not None and "make run" in setup[1] and "make test" in setup[1]


def quickstart_env(home: Path) -> dict[str, str]:
    """The user's shell: no Skiff settings of the test run's, and HOME holding only the client config."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SKIFF_") and k != "XDG_CONFIG_HOME"}
    return {**env, "HOME": str(home), "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}


@pytest.mark.e2e
@pytest.mark.timeout(SCRIPT_TIMEOUT_SECONDS + 30)
def test_the_readme_quickstart_works_as_written(platform: Platform, tmp_path: Path) -> None:
    with platform.http() as http:
        assert http.get("/v1/apps/hello").status_code == 404, "the quickstart expects a workspace without `hello`"
    home = tmp_path / "home"
    # what `skiff up` writes for the platform's workspace, in the client's own format
    save_profile(
        "default",
        Profile(platform.url, platform.tenant.token, platform.tenant.name),
        home / ".config/skiff/config.toml",
    )
    workdir = tmp_path / "work"
    workdir.mkdir()
    (workdir / "examples").symlink_to(ROOT / "examples")  # the paths are the repository root's, the litter is not
    script = ["set -euo pipefail"]
    for name, body in quickstart_blocks():
        script += [f"echo '{MARK}{name}'", body]
    (tmp_path / "quickstart.sh").write_text("\n".join(script))

    started = time.monotonic()
    result = subprocess.run(
        ["bash", str(tmp_path / "quickstart.sh")],
        cwd=workdir,
        env=quickstart_env(home),
        capture_output=True,
        text=True,
        timeout=SCRIPT_TIMEOUT_SECONDS,
        check=False,
    )
    outputs = {name: output for name, _, output in (c.partition("\n") for c in result.stdout.split(MARK)[1:])}
    ran = list(outputs)
    context = f"blocks run: {ran}\nstdout:\n{result.stdout[-4000:]}\nstderr:\n{result.stderr[-2000:]}"
    assert result.returncode == 0, f"the quickstart failed in block {ran[-1] if ran else None!r}\n{context}"
    assert ran == list(CHECKS), context
    for name, check in CHECKS.items():
        try:
            check(outputs[name], platform)
        except AssertionError as exc:
            raise AssertionError(f"block {name!r}: {exc}\noutput:\n{outputs[name]}") from None
    assert time.monotonic() - started < 60, "the quickstart should take seconds"


SDK_START, SDK_END = "<!-- sdk:start", "<!-- sdk:end"
SDK_BLOCK = re.compile(r"^```python sdk (?P<name>[\w-]+)\n(?P<body>.*?)^```$", re.MULTILINE | re.DOTALL)
SDK_APP = 'skiff.App("hello")'


def sdk_blocks() -> dict[str, str]:
    text = README.read_text(encoding="utf-8")
    start, end = text.index(SDK_START), text.index(SDK_END)
    assert start < end, "the SDK section's start marker must come before its end marker"
    return {m["name"]: m["body"] for m in SDK_BLOCK.finditer(text[start:end])}


def test_the_sdk_section_has_the_blocks_this_test_runs() -> None:
    blocks = sdk_blocks()
    assert list(blocks) == ["function", "class"]
    assert SDK_APP in blocks["function"] and 'pip=["pillow>=10"]' in blocks["function"]


@pytest.mark.e2e
@pytest.mark.timeout(150)
def test_the_readmes_python_sdk_examples_work_as_written(
    platform: Platform, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = f"readme-sdk-{uuid.uuid4().hex[:6]}"  # not `hello`: the quickstart expects a workspace without it
    source = "\n\n".join(sdk_blocks().values()).replace(SDK_APP, f'skiff.App("{name}")')
    path = tmp_path / f"readme_app_{uuid.uuid4().hex[:8]}.py"  # a module name of its own: the loader registers it
    path.write_text(source)
    monkeypatch.setenv("SKIFF_URL", platform.url)
    monkeypatch.setenv("SKIFF_TOKEN", platform.tenant.token)

    started = time.monotonic()
    deployment = load_app(path).deploy()
    assert (deployment.app, deployment.version, sorted(deployment.functions)) == (name, 1, ["Model-predict", "hello"])
    module = sys.modules[path.stem]
    hello = module.hello
    assert hello.remote("ada") == {"greeting": "hello ada"}  # it may wait for the pillow environment's build
    assert hello.spawn("ada").get(timeout=10) == {"greeting": "hello ada"}
    assert list(hello.map(["ada", "grace", "alan"])) == [{"greeting": f"hello {n}"} for n in ("ada", "grace", "alan")]
    assert skiff.Function.lookup(name, "hello").remote("linus") == {"greeting": "hello linus"}
    assert hello.update_autoscaler(min_containers=1)["min_containers"] == 1
    assert hello.update_autoscaler(min_containers=None)["min_containers"] == 0  # back to the manifest's
    assert module.Model().predict.remote(2.0) == 20.0
    assert skiff.Cls.from_name(name, "Model")().predict.remote(3.0) == 30.0
    seconds = time.monotonic() - started
    assert seconds < 60, f"the README's SDK examples took {seconds:.0f} s; pick a lighter requirement"


def bundle_of(directory: Path) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for path in sorted(directory.iterdir()):
            if path.is_file():
                archive.add(path, arcname=path.name)
    return buffer.getvalue()


def finished_call(http: httpx.Client, app: str, values: list[float], deadline: float) -> tuple[dict[str, Any], float]:
    """Call `stats` and wait for the end (the first call may wait for the environment's build); the call and
    its seconds."""
    started = time.monotonic()
    response = http.post(
        f"/v1/apps/{app}/functions/stats/calls", json={"args": [values]}, headers={"Prefer": "wait=60"}
    )
    assert response.status_code in (200, 202), response.text
    call: dict[str, Any] = response.json()
    while call["status"] in ("queued", "running") and time.monotonic() < deadline:
        call = http.get(f"/v1/calls/{call['id']}/result", params={"wait": 30}).json()
    return call, time.monotonic() - started


def numpy_environments(platform: Platform) -> list[Path]:
    """The node's built environments that hold numpy (other tests build environments of their own)."""
    root = platform.state_dir / "agent-1" / "environments"
    built = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    return [p for p in built if list(p.glob("lib/python*/site-packages/numpy"))]


@pytest.mark.e2e
@pytest.mark.slow
@pytest.mark.timeout(300)
def test_numpy_stats_builds_its_environment_once_per_node(platform: Platform) -> None:
    bundle = bundle_of(ROOT / "examples" / "numpy-stats")
    deadline = time.monotonic() + 240
    with platform.http() as http:
        deployed = http.post("/v1/apps/numpy-stats/deployments", content=bundle)
        assert deployed.status_code in (200, 201), deployed.text
        first, _ = finished_call(http, "numpy-stats", [1, 2, 3, 4], deadline)  # pip installs numpy (~15 MB)
        assert first["status"] == "succeeded", first
        stats = first["result"]
        assert (stats["count"], stats["mean"], stats["min"], stats["max"]) == (4, 2.5, 1.0, 4.0), stats
        assert stats["std"] == pytest.approx(1.118033988749895) and stats["container_calls"] == 1, stats
        assert tuple(int(part) for part in stats["numpy"].split(".")[:2]) >= (1, 26), stats
        (environment,) = numpy_environments(platform)
        built = (environment / ".skiff-ready").stat().st_mtime_ns

        second, seconds = finished_call(http, "numpy-stats", [2, 4], deadline)  # the warm container
        assert second["status"] == "succeeded" and second["result"]["mean"] == 3.0, second
        assert second["result"]["container_calls"] == 2 and second["cold_start"] is False, second
        assert seconds < 10, f"a warm call took {seconds:.1f}s"

        # Another app with the same requirements: a new container, on the environment already built.
        deployed = http.post("/v1/apps/numpy-stats-again/deployments", content=bundle)
        assert deployed.status_code in (200, 201), deployed.text
        again, seconds = finished_call(http, "numpy-stats-again", [5], deadline)
        assert again["status"] == "succeeded" and again["result"]["container_calls"] == 1, again
        assert again["cold_start"] is True and again["container_id"] != first["container_id"], again
        assert seconds < 30, f"a cold start on a built environment took {seconds:.1f}s"
    assert numpy_environments(platform) == [environment]
    assert (environment / ".skiff-ready").stat().st_mtime_ns == built, "the environment was rebuilt"
