"""The workspace's nodes: the machines whose agents run its containers."""

from __future__ import annotations

from skiff.connection import Connection, default_connection, every_item
from skiff_client.api.nodes import list_nodes
from skiff_client.models.node_out import NodeOut
from skiff_client.models.node_page import NodePage
from skiff_client.types import Unset


def list_all(*, connection: Connection | None = None) -> list[NodeOut]:
    """Every node of the workspace, with its state, capacity and last heartbeat."""
    conn = connection or default_connection()

    def fetch(cursor: str | Unset) -> NodePage:
        return conn.send(lambda c: list_nodes.sync_detailed(client=c, cursor=cursor, limit=200), idempotent=True)

    return every_item(fetch)
