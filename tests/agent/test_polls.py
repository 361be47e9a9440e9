"""When the node loop may send a short poll (commands only) instead of a full one."""

from __future__ import annotations

import pytest

from agent.node import SHORT_POLL_SECONDS, may_poll_short
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
