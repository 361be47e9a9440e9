"""The agent daemon: register the node, keep it alive with heartbeats, re-register when told to."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from dataclasses import dataclass

import httpx
from skiff_client import AuthenticatedClient
from skiff_client.api.agent import node_heartbeat, register_node
from skiff_client.models import AgentConfig, Gpu, Heartbeat, NodeRegistration, NodeRegistrationLabels

from agent import __version__
from agent.inventory import Inventory, read_inventory

log = logging.getLogger("skiff.agent")
RETRY_SECONDS = 2.0


class AgentError(RuntimeError):
    """The API refused the agent in a way retrying will not fix (bad token, wrong kind)."""


@dataclass
class AgentOptions:
    api_url: str
    token: str
    name: str
    labels: dict[str, str]


class Agent:
    def __init__(self, options: AgentOptions, inventory: Inventory | None = None) -> None:
        self.options = options
        self.inventory = inventory or read_inventory()
        self.client = AuthenticatedClient(
            base_url=options.api_url, token=options.token, timeout=httpx.Timeout(30.0)
        )
        self.config: AgentConfig | None = None

    def registration(self) -> NodeRegistration:
        labels = NodeRegistrationLabels()
        labels.additional_properties = dict(self.options.labels)
        return NodeRegistration(
            name=self.options.name,
            hostname=socket.gethostname(),
            agent_version=__version__,
            cpus=self.inventory.cpus,
            memory_mib=self.inventory.memory_mib,
            gpus=[
                Gpu(index=g.index, uuid=g.uuid, model=g.model, memory_mib=g.memory_mib)
                for g in self.inventory.gpus
            ],
            labels=labels,
        )

    async def register(self) -> AgentConfig:
        response = await register_node.asyncio_detailed(client=self.client, body=self.registration())
        if isinstance(response.parsed, AgentConfig):
            self.config = response.parsed
            log.info("registered", extra={"node": self.config.node.id, "epoch": self.config.node.epoch})
            return self.config
        if response.status_code in (401, 403, 422):
            raise AgentError(
                f"the API refused this agent ({response.status_code}): {response.content.decode()}"
            )
        raise ConnectionError(f"registration answered {response.status_code}")

    async def heartbeat(self) -> None:
        assert self.config is not None
        node = self.config.node
        response = await node_heartbeat.asyncio_detailed(
            node.id, client=self.client, body=Heartbeat(epoch=node.epoch)
        )
        if response.status_code == 409:
            log.warning("epoch over; registering again", extra={"node": node.id})
            await self.register()
        elif response.status_code in (401, 403, 404):
            raise AgentError(f"heartbeat refused ({response.status_code}): {response.content.decode()}")
        elif response.status_code != 200:
            raise ConnectionError(f"heartbeat answered {response.status_code}")

    async def run(self, stop: asyncio.Event) -> None:
        async with self.client:
            while not stop.is_set():
                try:
                    if self.config is None:
                        await self.register()
                    else:
                        await self.heartbeat()
                    interval = self.config.heartbeat_interval_seconds if self.config else RETRY_SECONDS
                except (OSError, ConnectionError) as exc:
                    log.warning("API unreachable; retrying", extra={"error": repr(exc)})
                    interval = RETRY_SECONDS
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), interval)
