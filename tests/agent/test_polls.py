"""How long the node loop waits in a poll, and when it may send a short one (commands only)."""

from __future__ import annotations

import pytest

from agent.node import SHORT_POLL_SECONDS, WARMING_POLL_SECONDS, may_poll_short, poll_wait
from skiff_client.models import ContainerReport, ContainerState

STARTING = ContainerReport(container_id="ctr_a", state=ContainerState.STARTING)
EXITED = ContainerReport(container_id="ctr_b", state=ContainerState.EXITED, exit_reason="exited with status 0")


@pytest.mark.parametrize(
    ("commands_came", "since_full", "reports", "short"),
    [
        (True, 0.2, [STARTING], True),  # right after a start: only commands are wanted
        (False, 0.2, [STARTING], False),  # the last poll waited out: heartbeat time
        (True, SHORT_POLL_SECONDS, [STARTING], False),  # the last full poll is not recent
        (True, 0.2, [STARTING, EXITED], False),  # an exit to report
    ],
)
def test_a_poll_is_short_only_right_after_commands_with_no_exit_to_report(
    commands_came: bool, since_full: float, reports: list[ContainerReport], short: bool
) -> None:
    assert may_poll_short(commands_came, since_full, reports) is short


@pytest.mark.parametrize(
    ("configured", "warmth_changing", "wait"),
    [
        (5.0, False, 5.0),  # nothing changing: the whole wait
        (5.0, True, WARMING_POLL_SECONDS),  # a start or a zygote warming: the API hears of it within this
        (0.1, True, 0.1),  # never longer than configured
    ],
)
def test_a_poll_waits_briefly_while_what_is_warm_here_is_about_to_change(
    configured: float, warmth_changing: bool, wait: float
) -> None:
    assert poll_wait(configured, warmth_changing) == wait
