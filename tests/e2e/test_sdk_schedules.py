"""`schedule=` end to end: each `app.deploy()` leaves exactly one schedule for a scheduled function,
the same one while the decorator is unchanged, and one with the new cron expression once it changes."""

from __future__ import annotations

import textwrap
import uuid
from pathlib import Path
from typing import Any

import pytest

from skiff.loader import load_app
from tests.e2e.conftest import Platform

SOURCE = """
import skiff

app = skiff.App("{name}")


@app.function(timeout=30, schedule=skiff.Cron("{cron}", timezone="Europe/Berlin"))
def report() -> str:
    return "done"


@app.function(timeout=30)
def unscheduled() -> str:
    return "done"
"""


def deploy(directory: Path, name: str, cron: str) -> list[str]:
    path = directory / f"sched_{uuid.uuid4().hex[:8]}.py"  # a module name of its own per load
    path.write_text(textwrap.dedent(SOURCE.format(name=name, cron=cron)))
    deployment = load_app(path).deploy()
    path.unlink()  # the next deploy packages only its own file
    return [f"{s.action} {s.cron}" for s in deployment.schedules]


def schedules_of(platform: Platform, name: str) -> list[dict[str, Any]]:
    with platform.http() as http:
        answer = http.get("/v1/schedules", params={"limit": 200})
        assert answer.status_code == 200, answer.text
        return [s for s in answer.json()["items"] if s["app"] == name]


def test_deploys_keep_exactly_one_schedule_per_scheduled_function(
    platform: Platform, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SKIFF_URL", platform.url)
    monkeypatch.setenv("SKIFF_TOKEN", platform.tenant.token)
    name = f"sched-{uuid.uuid4().hex[:6]}"

    assert deploy(tmp_path, name, "0 6 * * *") == ["created 0 6 * * *"]
    [first] = schedules_of(platform, name)
    assert (first["function"], first["cron"], first["timezone"]) == ("report", "0 6 * * *", "Europe/Berlin")

    assert deploy(tmp_path, name, "0 6 * * *") == ["kept 0 6 * * *"]
    assert [s["id"] for s in schedules_of(platform, name)] == [first["id"]]

    assert deploy(tmp_path, name, "30 7 * * mon-fri") == ["created 30 7 * * mon-fri", "deleted 0 6 * * *"]
    [changed] = schedules_of(platform, name)
    assert (changed["function"], changed["cron"]) == ("report", "30 7 * * mon-fri")
    assert changed["id"] != first["id"]

    # Schedules with arguments, made through the API, and those of unscheduled functions are not the SDK's.
    with platform.http() as http:
        for function, args in (("report", ["weekly"]), ("unscheduled", [])):
            body = {"app": name, "function": function, "cron": "0 9 * * *", "args": args}
            assert http.post("/v1/schedules", json=body).status_code == 201
    assert deploy(tmp_path, name, "30 7 * * mon-fri") == ["kept 30 7 * * mon-fri"]
    kept = sorted((s["function"], s["cron"], tuple(s["args"])) for s in schedules_of(platform, name))
    assert kept == [
        ("report", "0 9 * * *", ("weekly",)),
        ("report", "30 7 * * mon-fri", ()),
        ("unscheduled", "0 9 * * *", ()),
    ]
