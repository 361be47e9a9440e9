"""The agent daemon: register the node, then run the node loop; register again when the API says
this agent's epoch is over (the node re-registered elsewhere, or the API lost track of it)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from agent import __version__, runtime_files
from agent.api import AgentApi, Refused, Unreachable
from agent.bundles import BundleCache
from agent.container import default_python, precompile_runtime, python_sources
from agent.environments import EnvironmentCache
from agent.gpu_driver import LIBCUDA, DriverLibraries, driver_libraries
from agent.gpus import GpuPool, ensure_uvm
from agent.inventory import GpuDevice, Inventory, read_inventory
from agent.leftovers import ContainerMarks, owner_of, remove_leftovers, zygote_prefix
from agent.node import NodeLoop
from agent.sandbox import users
from agent.supervisor import NodeKit
from agent.zygote_pool import ZygotePool
from skiff_client import AuthenticatedClient
from skiff_client.api.agent import register_node
from skiff_client.models import AgentConfig, Gpu, NodeRegistration, NodeRegistrationLabels

log = logging.getLogger("skiff.agent")
RETRY_SECONDS = 2.0
# Long polls outlast the API's wait by this much before the client gives up on them.
HTTP_TIMEOUT_SECONDS = 60.0


class AgentError(RuntimeError):
    """The API refused the agent in a way retrying will not fix (bad token, wrong kind)."""


@dataclass
class AgentOptions:
    api_url: str
    token: str
    name: str
    state_dir: Path
    labels: dict[str, str] = field(default_factory=dict)
    bases: dict[str, Path] = field(default_factory=dict)
    zygote_idle_seconds: float = 300.0
    sandbox_uids: str = users.AUTO  # "auto", "agent" or START:COUNT (agent.sandbox.users)
    stand_in_gpus: list[GpuDevice] | None = None  # instead of NVML's, on a machine without a GPU
    gpu_libraries: Path | None = None  # the driver's libcuda.so.1 is here (else: where the agent's loader finds it)


class Agent:
    def __init__(self, options: AgentOptions, inventory: Inventory | None = None) -> None:
        self.options = options
        self.inventory = inventory or read_inventory(options.stand_in_gpus)
        self.client = AuthenticatedClient(
            base_url=options.api_url, token=options.token, timeout=httpx.Timeout(HTTP_TIMEOUT_SECONDS)
        )
        self.api = AgentApi(self.client)
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
            gpus=[Gpu(index=g.index, uuid=g.uuid, model=g.model, memory_mib=g.memory_mib) for g in self.inventory.gpus],
            labels=labels,
        )

    async def register(self) -> AgentConfig:
        try:
            response = await register_node.asyncio_detailed(client=self.client, body=self.registration())
        except httpx.TransportError as exc:
            raise Unreachable(repr(exc)) from exc
        if isinstance(response.parsed, AgentConfig):
            self.config = response.parsed
            log.info("registered", extra={"node": self.config.node.id, "epoch": self.config.node.epoch})
            return self.config
        if response.status_code in (401, 403, 422):
            raise AgentError(f"the API refused this agent ({response.status_code}): {response.content.decode()}")
        raise Unreachable(f"registration answered {response.status_code}")

    async def run(self, stop: asyncio.Event) -> None:
        state = self.options.state_dir
        async with self.api:
            bundles = BundleCache(state / "bundles", self.client.get_async_httpx_client())
            environments = EnvironmentCache(state / "environments", self.options.bases)
            staged = runtime_files.stage(state / "runtime")
            await precompile_runtime(default_python(), staged)  # not in the first cold start
            libraries = self._driver_libraries()
            driver_sources = [bind.source for bind in libraries.binds()] if libraries is not None else []
            sandbox_users = self._sandbox_users(bundles, environments, staged, int(owner_of(state), 16), driver_sources)
            zygotes = ZygotePool(idle_s=self.options.zygote_idle_seconds, cgroup_prefix=zygote_prefix(state))
            if left := remove_leftovers(state):  # an earlier agent's, if it was killed
                log.info("removed what an earlier agent's zygotes and containers left", extra={"ids": left})
            marks = ContainerMarks(state / "containers")
            gpus = GpuPool(self.inventory.gpus, libraries)
            if self.inventory.gpus and self.options.stand_in_gpus is None and (missing := ensure_uvm()):
                log.warning(missing)
            try:
                while not stop.is_set():
                    await self._serve(stop, bundles, environments, zygotes, gpus, sandbox_users, staged, marks)
            finally:
                await zygotes.close()

    def _driver_libraries(self) -> DriverLibraries | None:
        """Where GPU containers load the NVIDIA driver from; only a node with GPUs looks."""
        if not self.inventory.gpus:
            return None
        libraries = driver_libraries(self.options.gpu_libraries)
        if libraries is None:
            if self.options.stand_in_gpus is None:
                log.warning(
                    "%s not found by the agent's loader: CUDA will fail in sandboxes (--gpu-libraries)", LIBCUDA
                )
        else:
            log.info(
                "GPU driver libraries", extra={"directory": str(libraries.directory), "searched": libraries.searched}
            )
        return libraries

    def _sandbox_users(
        self,
        bundles: BundleCache,
        environments: EnvironmentCache,
        staged: runtime_files.RuntimeFiles,
        offset: int,
        more: list[Path],
    ) -> users.SandboxUsers:
        sources = [bundles.root, environments.root, staged.runtime.parent, *python_sources(), *more]
        sources += self.options.bases.values()
        try:
            chosen, fallback = users.choose(self.options.sandbox_uids, sources, offset)
        except users.SandboxUsersError as exc:
            raise AgentError(str(exc)) from None
        if fallback:
            log.warning("sandboxes run as the agent's own user (root, without capabilities): %s", fallback)
        elif chosen.uids:
            log.info("sandboxes run as unprivileged host users", extra={"first_uid": chosen.uids.first})
        return chosen

    async def _serve(
        self,
        stop: asyncio.Event,
        bundles: BundleCache,
        environments: EnvironmentCache,
        zygotes: ZygotePool,
        gpus: GpuPool,
        sandbox_users: users.SandboxUsers,
        staged: runtime_files.RuntimeFiles,
        marks: ContainerMarks,
    ) -> None:
        """One registration's life: run the node loop until it ends, then wait a little."""
        try:
            config = await self.register()
            kit = NodeKit(
                config.node.id, self.api, bundles, environments, zygotes, gpus, sandbox_users, staged, marks=marks
            )
            loop = NodeLoop(
                kit,
                config.node.epoch,
                poll_wait_seconds=min(config.heartbeat_interval_seconds, 10.0),
                has_gpus=bool(self.inventory.gpus),
            )
            await loop.run(stop)
        except Unreachable as exc:
            log.warning("API unreachable; retrying", extra={"error": str(exc)})
        except Refused as exc:
            if exc.status in (401, 403):
                raise AgentError(str(exc)) from exc
            log.warning("the API ended this agent's epoch; registering again", extra={"error": str(exc)})
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), RETRY_SECONDS)
