"""The SDK and CLI against real processes: deploy an app file with `skiff deploy` and with
`app.deploy()`, then call its functions with `.remote()`, `.spawn()`, `.map()` and the CLI."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import pytest

import skiff
from skiff import containers, nodes
from skiff.calls import list_recent_calls
from skiff.loader import load_app
from tests.e2e.conftest import Platform, wait_until

SKIFF = Path(sys.executable).parent / "skiff"

APP_SOURCE = """
import time

import skiff
from {helpers} import decorate

app = skiff.App("{name}")


@app.function(timeout=30, max_containers=4, max_inputs=4, retries=skiff.Retries(0))
def square(x: int) -> int:
    return x * x


@app.function(timeout=30)
def greet(name: str, punctuation: str = "!") -> dict[str, str]:
    print(f"greeting {{name}}")
    return {{"greeting": decorate(f"hello {{name}}", punctuation)}}


@app.function(timeout=30)
def fail(reason: str) -> None:
    raise ValueError(reason)


@app.function(timeout=60)
def slow(seconds: float) -> str:
    time.sleep(seconds)
    return "done"
"""


@dataclass
class Deployed:
    app: skiff.App
    name: str
    functions: dict[str, skiff.Function[..., Any]]


def write_app(directory: Path, name: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    suffix = uuid.uuid4().hex[:8]  # module names of their own: loading an app registers its modules
    (directory / f"helpers_{suffix}.py").write_text("def decorate(text, mark):\n    return text + mark\n")
    path = directory / f"app_{suffix}.py"
    path.write_text(textwrap.dedent(APP_SOURCE.format(name=name, helpers=f"helpers_{suffix}")))
    return path


def cli(platform: Platform, *argv: str, token: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SKIFF_URL": platform.url, "SKIFF_TOKEN": token or platform.tenant.token}
    return subprocess.run([SKIFF, *argv], capture_output=True, text=True, env=env, timeout=120, check=False)


@pytest.fixture(autouse=True)
def sdk_env(platform: Platform, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SKIFF_URL", platform.url)
    monkeypatch.setenv("SKIFF_TOKEN", platform.tenant.token)


@pytest.fixture(scope="module")
def deployed(platform: Platform, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployed]:
    """An app deployed with the SDK's `app.deploy()`."""
    name = f"sdk-{uuid.uuid4().hex[:6]}"
    with pytest.MonkeyPatch.context() as env:
        env.setenv("SKIFF_URL", platform.url)
        env.setenv("SKIFF_TOKEN", platform.tenant.token)
        app = load_app(write_app(tmp_path_factory.mktemp("sdk-app"), name))
        deployment = app.deploy()
        again = app.deploy()  # the same code: no new version (the API answers 200)
    assert (deployment.app, deployment.version, deployment.current) == (name, 1, True)
    assert (again.version, again.current) == (1, True)
    assert sorted(deployment.functions) == ["fail", "greet", "slow", "square"]
    assert deployment.functions["square"].endswith(f"/v1/apps/{name}/functions/square/calls")
    yield Deployed(app, name, app.registered_functions)


def test_skiff_deploy_packages_the_file_and_prints_what_was_created(platform: Platform, tmp_path: Path) -> None:
    name = f"cli-{uuid.uuid4().hex[:6]}"
    path = write_app(tmp_path, name)
    deployed = cli(platform, "deploy", str(path), "--json")
    assert deployed.returncode == 0, deployed.stderr
    answer = json.loads(deployed.stdout)
    assert (answer["app"], answer["version"]) == (name, 1)
    assert sorted(fn["name"] for fn in answer["functions"]) == ["fail", "greet", "slow", "square"]

    (tmp_path / f"helpers_{path.stem.removeprefix('app_')}.py").write_text(
        "def decorate(text, mark):\n    return text + mark + mark\n"
    )
    tree = cli(platform, "deploy", str(path), "--name", f"{name}-b")
    assert tree.returncode == 0, tree.stderr
    assert f"deployed app {name}-b version 1 (current)" in tree.stdout
    assert f"/v1/apps/{name}-b/functions/greet/calls" in tree.stdout

    called = cli(platform, "call", f"{name}-b", "greet", "--json", '{"args": ["ada"]}')
    assert called.returncode == 0, called.stderr
    assert json.loads(called.stdout) == {"greeting": "hello ada!!"}
    assert skiff.Function.lookup(name, "greet").remote("ada") == {"greeting": "hello ada!"}


def test_remote_returns_the_result(deployed: Deployed) -> None:
    assert deployed.functions["square"].remote(7) == 49
    assert deployed.functions["greet"].remote("grace", punctuation="?") == {"greeting": "hello grace?"}
    assert deployed.functions["square"].local(3) == 9


def test_a_raising_function_raises_remote_error_with_its_traceback(deployed: Deployed) -> None:
    with pytest.raises(skiff.RemoteError) as caught:
        deployed.functions["fail"].remote("no such user")
    assert (caught.value.type, caught.value.message) == ("ValueError", "no such user")
    assert caught.value.traceback and "raise ValueError(reason)" in caught.value.traceback
    assert caught.value.call_id.startswith("call_")


def test_spawn_then_get_and_from_id(deployed: Deployed) -> None:
    call = deployed.functions["square"].spawn(12)
    assert call.id.startswith("call_")
    assert call.get(timeout=60) == 144
    assert skiff.FunctionCall.from_id(call.id).get() == 144


def test_map_over_twenty_inputs_keeps_their_order(deployed: Deployed) -> None:
    square = deployed.functions["square"]
    assert list(square.map(range(20))) == [x * x for x in range(20)]
    assert sorted(square.map(range(5), order_outputs=False)) == [0, 1, 4, 9, 16]
    assert list(deployed.functions["greet"].starmap([("a", "."), ("b", "?")])) == [
        {"greeting": "hello a."},
        {"greeting": "hello b?"},
    ]
    results = list(deployed.functions["fail"].map(["x", "y"], return_exceptions=True))
    assert [(type(r), r.message) for r in results] == [(skiff.RemoteError, "x"), (skiff.RemoteError, "y")]


def test_get_with_a_timeout_and_cancel(deployed: Deployed) -> None:
    call = deployed.functions["slow"].spawn(30)
    with pytest.raises(skiff.CallTimeout):
        call.get(timeout=0.5)
    call.cancel()
    with pytest.raises(skiff.CallCancelled):
        call.get(timeout=30)


def test_a_call_no_node_can_take_says_why_it_waits(platform: Platform, tmp_path: Path) -> None:
    name = f"huge-{uuid.uuid4().hex[:6]}"
    path = tmp_path / f"huge_{uuid.uuid4().hex[:8]}.py"
    big = "@app.function(memory=262144)  # more than any node here has\ndef big():\n    return 1\n"
    path.write_text(f"import skiff\n\napp = skiff.App({name!r})\n\n\n{big}")
    app = load_app(path)
    app.deploy()
    why = r"no ready node has 262144 MiB of memory \(the most one has: \d+ MiB\): its calls wait until one joins"
    call = app.registered_functions["big"].spawn()
    env = {**os.environ, "SKIFF_URL": platform.url, "SKIFF_TOKEN": platform.tenant.token}
    waiting = subprocess.Popen([SKIFF, "call", name, "big"], stderr=subprocess.PIPE, text=True, env=env)
    try:
        with pytest.raises(skiff.CallTimeout) as timed_out:
            call.get(timeout=3)
        assert re.fullmatch(rf"call {call.id} did not end within 3 s; it is queued: {why}", str(timed_out.value))
        with platform.http() as http:
            waited = http.post(f"/v1/apps/{name}/functions/big/calls", json={}, headers={"Prefer": "wait=1"})
        assert waited.status_code == 202 and re.fullmatch(why, waited.json()["waiting"]), waited.text
        printed: queue.Queue[str] = queue.Queue()
        threading.Thread(target=read_into, args=(waiting.stderr, printed), daemon=True).start()
        said = printed.get(timeout=60)  # once the CLI's call has waited 10 s, as it waits on
        assert re.fullmatch(rf"call call_\w+ did not end within 10 s; it is queued: {why}; still waiting\n", said)
        assert waiting.poll() is None
    finally:
        waiting.kill()
        waiting.wait()
        for queued in list_recent_calls(app=name, limit=10):
            skiff.FunctionCall(queued.id).cancel()


def test_lookup_finds_deployed_functions_and_names_the_others(deployed: Deployed) -> None:
    assert skiff.Function.lookup(deployed.name, "square").remote(5) == 25
    with pytest.raises(skiff.NotFound, match="functions: fail, greet, slow, square"):
        skiff.Function.lookup(deployed.name, "cube")
    with pytest.raises(skiff.NotFound, match=r"HTTP 404"):
        skiff.Function.from_name(deployed.name, "cube").remote(2)


def test_update_autoscaler_changes_settings_without_a_deploy(deployed: Deployed) -> None:
    square = skiff.Function.from_name(deployed.name, "square")
    deployed_with = square.update_autoscaler()  # no change: the settings in effect
    settings = square.update_autoscaler(scaledown_window=120, max_containers=3)
    assert (settings["scaledown_window"], settings["max_containers"]) == (120, 3)
    assert square.update_autoscaler(scaledown_window=None)["scaledown_window"] == deployed_with["scaledown_window"]
    with pytest.raises(skiff.InvalidRequest, match="min_containers \\(4\\) would be more than max_containers"):
        square.update_autoscaler(min_containers=4)
    assert square.update_autoscaler(max_containers=None) == deployed_with
    assert square.remote(3) == 9


def test_a_bad_token_raises_auth_error(deployed: Deployed, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SKIFF_TOKEN", "sk_not_a_real_token")
    with pytest.raises(skiff.AuthError):
        deployed.functions["square"].remote(2)


def test_cli_logs_calls_apps_and_tokens(platform: Platform, deployed: Deployed) -> None:
    call = deployed.functions["greet"].spawn("linus")
    assert call.get(timeout=60) == {"greeting": "hello linus!"}
    logs = cli(platform, "logs", call.id)
    assert logs.returncode == 0, logs.stderr
    assert "greeting linus" in logs.stdout
    followed = cli(platform, "logs", call.id, "-f")
    assert "greeting linus" in followed.stdout
    assert "succeeded" in followed.stderr

    listed = cli(platform, "calls", "ls", "--app", deployed.name, "--json")
    assert listed.returncode == 0, listed.stderr
    assert call.id in {item["id"] for item in json.loads(listed.stdout)}

    apps = cli(platform, "app", "ls", "--json")
    assert deployed.name in {item["name"] for item in json.loads(apps.stdout)}
    rolled = cli(platform, "app", "rollback", deployed.name, "1")
    assert rolled.returncode == 0, rolled.stderr
    assert "version 1" in rolled.stdout
    missing = cli(platform, "app", "rollback", deployed.name, "99")
    assert missing.returncode == 1
    assert "error:" in missing.stderr

    scaled = cli(platform, "app", "scale", deployed.name, "greet", "--max", "5", "--scaledown-window", "90", "--json")
    assert scaled.returncode == 0, scaled.stderr
    assert (json.loads(scaled.stdout)["max_containers"], json.loads(scaled.stdout)["scaledown_window"]) == (5, 90)
    reset = cli(platform, "app", "scale", deployed.name, "greet", "--max", "-1", "--scaledown-window", "-1")
    assert reset.returncode == 0 and "max_containers" in reset.stdout, reset.stderr
    refused = cli(platform, "app", "scale", deployed.name, "greet", "--max", "0")
    assert refused.returncode == 1 and "allowed 1..1000" in refused.stderr

    failed = cli(platform, "call", deployed.name, "fail", "--json", '{"args": ["boom"]}')
    assert failed.returncode == 1
    assert "ValueError: boom" in failed.stderr

    created = cli(platform, "token", "create", "ci", "--scope", "read", "--json")
    assert created.returncode == 0, created.stderr
    token = json.loads(created.stdout)
    assert cli(platform, "calls", "ls", "--json", token=token["token"]).returncode == 0
    assert token["id"] in cli(platform, "token", "ls").stdout
    assert cli(platform, "token", "revoke", token["id"]).returncode == 0
    refused = cli(platform, "calls", "ls", token=token["token"])
    assert refused.returncode == 1
    assert "HTTP 401" in refused.stderr


def read_into(stream: IO[str], lines: queue.Queue[str]) -> None:
    for line in stream:
        lines.put(line)


def test_cli_nodes_ls_shows_the_platforms_node(platform: Platform) -> None:
    listed = cli(platform, "nodes", "ls", "--json")
    assert listed.returncode == 0, listed.stderr
    nodes = [node for node in json.loads(listed.stdout) if node["name"] == "node-1"]
    assert nodes and any(node["state"] == "ready" for node in nodes), nodes
    assert all(node["cpus"] > 0 and node["memory_mib"] > 0 and node["gpus"] == [] for node in nodes), nodes
    shown = cli(platform, "nodes", "ls")
    assert shown.returncode == 0, shown.stderr
    rows = [line.split() for line in shown.stdout.splitlines()]
    assert any(row[0] == "node-1" and "ready" in row and "ago" in row for row in rows if row), shown.stdout


def test_cli_containers_ls_shows_the_container_running_a_call_and_stop_lets_the_call_finish_first(
    platform: Platform, deployed: Deployed
) -> None:
    call = deployed.functions["slow"].spawn(8)
    deadline = time.monotonic() + 30
    while (status := str(call.info().status)) != "running":
        assert time.monotonic() < deadline, status
        time.sleep(0.1)
    ours = ("--app", deployed.name, "--function", "slow", "--node", "node-1")
    listed = cli(platform, "containers", "ls", *ours, "--json")
    assert listed.returncode == 0, listed.stderr
    [container] = [c for c in json.loads(listed.stdout) if c["running_calls"] == 1]
    assert (container["app"], container["function"], container["state"]) == (deployed.name, "slow", "ready")
    node = next(n for n in nodes.list_all() if n.name == "node-1")
    assert (container["node_id"], container["node"]) == (node.id, "node-1") and container["cold_start_ms"] > 0
    shown = cli(platform, "containers", "ls", "--app", deployed.name)
    assert shown.returncode == 0, shown.stderr
    row = next(line.split() for line in shown.stdout.splitlines() if container["id"] in line)
    assert f"{deployed.name}.slow" in row and "ready" in row and "node-1" in row, shown.stdout

    stopped = cli(platform, "containers", "stop", container["id"])
    assert stopped.returncode == 0, stopped.stderr
    assert f"container {container['id']} ({deployed.name}.slow): stopping" in stopped.stdout
    assert call.get(timeout=30) == "done"  # it ran to its end in the stopping container
    assert wait_until(lambda: container["id"] in {c.id for c in containers.list_all(state="exited")}, 30)
    refused = cli(platform, "containers", "ls", "--state", "sleeping")
    assert refused.returncode == 2 and "'sleeping' is not a state" in refused.stderr, refused.stderr


# Runs a command as a terminal's foreground job would, with SIGINT's default action: a shell's background
# job (a test run started with `&`) has it ignored, and that would pass on to the command.
WITH_CTRL_C = [
    sys.executable,
    "-c",
    "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.execv(sys.argv[1], sys.argv[1:])",
]


def test_cli_logs_of_an_app_prints_its_calls_lines_and_follows_new_calls(
    platform: Platform, deployed: Deployed
) -> None:
    greet = deployed.functions["greet"]
    earlier = greet.spawn("hopper")
    assert earlier.get(timeout=60) == {"greeting": "hello hopper!"}
    printed = cli(platform, "logs", deployed.name)
    assert printed.returncode == 0, printed.stderr
    assert f"[{earlier.id[-8:]}] greeting hopper" in printed.stdout.splitlines()
    as_json = cli(platform, "logs", deployed.name, "--json")
    lines = [json.loads(line) for line in as_json.stdout.splitlines()]
    assert {"call_id": earlier.id, "line": "greeting hopper"} in [{k: x[k] for k in ("call_id", "line")} for x in lines]

    env = {**os.environ, "SKIFF_URL": platform.url, "SKIFF_TOKEN": platform.tenant.token}
    following = subprocess.Popen(
        [*WITH_CTRL_C, SKIFF, "logs", deployed.name, "-f", "--json"], stdout=subprocess.PIPE, text=True, env=env
    )
    printed_lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=read_into, args=(following.stdout, printed_lines), daemon=True).start()
    try:
        later = greet.spawn("lovelace")
        deadline = time.monotonic() + 60
        seen: list[dict[str, object]] = []
        while not any(x["call_id"] == later.id and x["line"] == "greeting lovelace" for x in seen):
            seen.append(json.loads(printed_lines.get(timeout=max(deadline - time.monotonic(), 0.1))))
        assert any(x["call_id"] == earlier.id for x in seen)  # the recent calls' lines come first
        following.send_signal(signal.SIGINT)  # Ctrl-C: the way to stop following an app
        assert following.wait(10) == 130
    finally:
        following.kill()
        following.wait()
