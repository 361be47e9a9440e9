"""`schedule=skiff.Cron(...)` and `skiff.Period(...)` without a server: checked at decoration time, left
out of `skiff.toml`, and applied after a deploy by keeping, creating and deleting schedules."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import skiff
from api.schedules import cron as server_cron
from skiff import schedules as sdk_schedules
from skiff.deployments import manifest


def report() -> None:
    pass


def resize(url: str) -> None:
    pass


def register(schedule: Any) -> skiff.Function[[], None]:
    return skiff.App("scheduled").function(timeout=30, schedule=schedule)(report)


@pytest.mark.parametrize(
    ("schedule", "message"),
    [
        (skiff.Period(seconds=30), r"schedule\.period: a period of 30 seconds is out of range; allowed 60\.\.31622400"),
        (skiff.Period(days=367), r"out of range; allowed 60\.\.31622400 seconds"),
        (skiff.Period(seconds=90.5), "not a whole number of seconds"),
        (skiff.Period(minutes="5"), r"schedule\.minutes: expected a number"),  # type: ignore[arg-type]
        (skiff.Cron("0 6 * *"), r"schedule\.cron: '0 6 \* \*' is not a cron expression; expected 5 fields"),
        (skiff.Cron(""), r"schedule\.cron: expected a cron expression of 1\.\.128 characters"),
        (skiff.Cron("@often"), r"unknown alias '@often'; allowed @yearly"),
        (skiff.Cron("0 6 * * *", timezone="Mars/Olympus"), r"schedule\.timezone: unknown time zone 'Mars/Olympus'"),
        ("0 6 * * *", r"schedule: expected skiff\.Cron\("),
    ],
)
def test_a_bad_schedule_fails_at_decoration_with_what_is_allowed(schedule: Any, message: str) -> None:
    with pytest.raises(skiff.InvalidRequest, match=message):
        register(schedule)


def test_good_schedules_are_accepted() -> None:
    for schedule in [
        skiff.Cron("0 6 * * *", timezone="Europe/Berlin"),
        skiff.Cron("*/15 9-17 * * mon-fri"),
        skiff.Cron("@daily"),
        skiff.Period(minutes=1),
        skiff.Period(days=366),
        skiff.Period(hours=1.5),
    ]:
        assert register(schedule).options.schedule == schedule


def test_a_scheduled_function_must_take_no_required_arguments() -> None:
    with pytest.raises(skiff.InvalidRequest, match="calls it without arguments; give url a default"):
        skiff.App("scheduled").function(schedule=skiff.Period(hours=1))(resize)


def test_the_sdk_copies_the_servers_limits_and_accepts_what_the_server_parses() -> None:
    assert sdk_schedules.MIN_PERIOD_SECONDS == server_cron.MIN_PERIOD_SECONDS
    assert sdk_schedules.MAX_PERIOD_SECONDS == server_cron.MAX_PERIOD_SECONDS
    assert sdk_schedules.MAX_EXPRESSION_LENGTH == server_cron.MAX_EXPRESSION_LENGTH
    assert set(sdk_schedules.CRON_ALIASES) == set(server_cron.ALIASES)
    for expression in ["0 6 * * *", "*/15 9-17 * * mon-fri", "5/10 0 1,15 jan-jun 0-7", " @Hourly "]:
        server_cron.parse_cron(expression)
        assert skiff.Cron(expression).problems("s") == []


def test_the_schedule_is_not_in_the_manifest(tmp_path: Path) -> None:
    source = (
        "import skiff\n\napp = skiff.App('scheduled')\n\n\n"
        "@app.function(timeout=30, schedule=skiff.Cron('0 6 * * *', timezone='Europe/Berlin'))\n"
        "def report():\n    pass\n"
    )
    (tmp_path / "sched_app.py").write_text(source)
    from skiff.loader import load_app

    app = load_app(tmp_path / "sched_app.py")
    assert manifest(app.registered_functions, tmp_path) == {
        "functions": {"report": {"handler": "sched_app:report", "timeout": 30}}
    }
