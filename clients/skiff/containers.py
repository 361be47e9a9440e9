"""The workspace's containers: which function each serves, on which node, and in what state."""

from __future__ import annotations

from skiff.connection import Connection, default_connection, every_item
from skiff_client.api.containers import list_containers, stop_container
from skiff_client.models.container_out import ContainerOut
from skiff_client.models.container_page import ContainerPage
from skiff_client.models.container_state import ContainerState
from skiff_client.types import UNSET, Unset


def list_all(
    *,
    app: str | None = None,
    function: str | None = None,
    node: str | None = None,
    state: str | None = None,
    connection: Connection | None = None,
) -> list[ContainerOut]:
    """The workspace's containers, newest first: those not exited, or those in `state` (pending,
    starting, ready, stopping or exited); of one app, function or node (its name or id) when given."""
    conn = connection or default_connection()
    in_state = ContainerState(state) if state is not None else UNSET

    def fetch(cursor: str | Unset) -> ContainerPage:
        return conn.send(
            lambda c: list_containers.sync_detailed(
                client=c, cursor=cursor, limit=200, state=in_state, app=app or UNSET, function=function or UNSET,
                node=node or UNSET,
            ),
            idempotent=True,
        )  # fmt: skip

    return every_item(fetch)


def stop(container_id: str, *, connection: Connection | None = None) -> ContainerOut:
    """Stop a container: it finishes the calls it is running, takes no more and exits (one no node has
    taken yet ends at once); its function's queued calls go to other containers. Safe to repeat."""
    conn = connection or default_connection()
    return conn.send(lambda c: stop_container.sync_detailed(container_id, client=c), idempotent=True)
