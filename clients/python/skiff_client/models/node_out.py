from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.node_state import NodeState
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.gpu import Gpu
    from ..models.gpu_usage import GpuUsage
    from ..models.node_out_labels import NodeOutLabels


T = TypeVar("T", bound="NodeOut")


@_attrs_define
class NodeOut:
    """
    Attributes:
        agent_version (str):
        cached_images (list[str]):
        cpus (float):
        epoch (int):
        gpu_usage (list[GpuUsage]):
        gpus (list[Gpu]):
        hostname (str):
        id (str):
        labels (NodeOutLabels):
        last_heartbeat_at (datetime.datetime):
        memory_mib (int):
        name (str):
        registered_at (datetime.datetime):
        state (NodeState):
        warm_functions (list[str]):
        containers (int | None | Unset): Its containers not exited; null in an agent's own answers.
        gpus_held (list[int] | None | Unset): Which of its GPUs (their indices) its containers hold; null as
            `containers`.
    """

    agent_version: str
    cached_images: list[str]
    cpus: float
    epoch: int
    gpu_usage: list[GpuUsage]
    gpus: list[Gpu]
    hostname: str
    id: str
    labels: NodeOutLabels
    last_heartbeat_at: datetime.datetime
    memory_mib: int
    name: str
    registered_at: datetime.datetime
    state: NodeState
    warm_functions: list[str]
    containers: int | None | Unset = UNSET
    gpus_held: list[int] | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        agent_version = self.agent_version

        cached_images = self.cached_images

        cpus = self.cpus

        epoch = self.epoch

        gpu_usage = []
        for gpu_usage_item_data in self.gpu_usage:
            gpu_usage_item = gpu_usage_item_data.to_dict()
            gpu_usage.append(gpu_usage_item)

        gpus = []
        for gpus_item_data in self.gpus:
            gpus_item = gpus_item_data.to_dict()
            gpus.append(gpus_item)

        hostname = self.hostname

        id = self.id

        labels = self.labels.to_dict()

        last_heartbeat_at = self.last_heartbeat_at.isoformat()

        memory_mib = self.memory_mib

        name = self.name

        registered_at = self.registered_at.isoformat()

        state = self.state.value

        warm_functions = self.warm_functions

        containers: int | None | Unset
        if isinstance(self.containers, Unset):
            containers = UNSET
        else:
            containers = self.containers

        gpus_held: list[int] | None | Unset
        if isinstance(self.gpus_held, Unset):
            gpus_held = UNSET
        elif isinstance(self.gpus_held, list):
            gpus_held = self.gpus_held

        else:
            gpus_held = self.gpus_held

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "agent_version": agent_version,
                "cached_images": cached_images,
                "cpus": cpus,
                "epoch": epoch,
                "gpu_usage": gpu_usage,
                "gpus": gpus,
                "hostname": hostname,
                "id": id,
                "labels": labels,
                "last_heartbeat_at": last_heartbeat_at,
                "memory_mib": memory_mib,
                "name": name,
                "registered_at": registered_at,
                "state": state,
                "warm_functions": warm_functions,
            }
        )
        if containers is not UNSET:
            field_dict["containers"] = containers
        if gpus_held is not UNSET:
            field_dict["gpus_held"] = gpus_held

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.gpu import Gpu  # noqa: PLC0415
        from ..models.gpu_usage import GpuUsage  # noqa: PLC0415
        from ..models.node_out_labels import NodeOutLabels  # noqa: PLC0415

        d = dict(src_dict)
        agent_version = d.pop("agent_version")

        cached_images = cast(list[str], d.pop("cached_images"))

        cpus = d.pop("cpus")

        epoch = d.pop("epoch")

        gpu_usage = []
        _gpu_usage = d.pop("gpu_usage")
        for gpu_usage_item_data in _gpu_usage:
            gpu_usage_item = GpuUsage.from_dict(gpu_usage_item_data)

            gpu_usage.append(gpu_usage_item)

        gpus = []
        _gpus = d.pop("gpus")
        for gpus_item_data in _gpus:
            gpus_item = Gpu.from_dict(gpus_item_data)

            gpus.append(gpus_item)

        hostname = d.pop("hostname")

        id = d.pop("id")

        labels = NodeOutLabels.from_dict(d.pop("labels"))

        last_heartbeat_at = datetime.datetime.fromisoformat(d.pop("last_heartbeat_at"))

        memory_mib = d.pop("memory_mib")

        name = d.pop("name")

        registered_at = datetime.datetime.fromisoformat(d.pop("registered_at"))

        state = NodeState(d.pop("state"))

        warm_functions = cast(list[str], d.pop("warm_functions"))

        def _parse_containers(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        containers = _parse_containers(d.pop("containers", UNSET))

        def _parse_gpus_held(data: object) -> list[int] | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                gpus_held_type_0 = cast(list[int], data)

                return gpus_held_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[int] | None | Unset, data)

        gpus_held = _parse_gpus_held(d.pop("gpus_held", UNSET))

        node_out = cls(
            agent_version=agent_version,
            cached_images=cached_images,
            cpus=cpus,
            epoch=epoch,
            gpu_usage=gpu_usage,
            gpus=gpus,
            hostname=hostname,
            id=id,
            labels=labels,
            last_heartbeat_at=last_heartbeat_at,
            memory_mib=memory_mib,
            name=name,
            registered_at=registered_at,
            state=state,
            warm_functions=warm_functions,
            containers=containers,
            gpus_held=gpus_held,
        )

        node_out.additional_properties = d
        return node_out

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
