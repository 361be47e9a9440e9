from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.container_state import ContainerState

if TYPE_CHECKING:
    from ..models.gpu_usage import GpuUsage


T = TypeVar("T", bound="ContainerOut")


@_attrs_define
class ContainerOut:
    """
    Attributes:
        app (str):
        asleep (bool): Scaled down with its process gone, but still placed: its node keeps the function's zygote warm,
            and the next call forks a process there.
        cold_start_ms (float | None): From its start command to ready, as its agent measured it.
        created_at (datetime.datetime):
        exit_reason (None | str): Why it was told to stop (scaled down, stopped by request, …), if it was, then how it
            ended: `scaled down; exited cleanly`, `out of memory (limit 512 MiB)`; null while it runs.
        exited_at (datetime.datetime | None):
        function (str):
        function_id (str):
        gpu_count (int):
        gpu_model (None | str): The GPUs reserved for it on its node: model.
        gpu_usage (list[GpuUsage]): The load of those GPUs as its node last reported it; empty once it has exited.
        gpus (list[int]): Which of its node's GPUs (their indices) it holds, once its agent has said so.
        id (str):
        idle_since (datetime.datetime | None):
        node (str): Its node's name.
        node_id (str):
        ready_at (datetime.datetime | None):
        running_calls (int): How many of the workspace's calls it is running now.
        started_at (datetime.datetime | None):
        state (ContainerState):
        version (int):
    """

    app: str
    asleep: bool
    cold_start_ms: float | None
    created_at: datetime.datetime
    exit_reason: None | str
    exited_at: datetime.datetime | None
    function: str
    function_id: str
    gpu_count: int
    gpu_model: None | str
    gpu_usage: list[GpuUsage]
    gpus: list[int]
    id: str
    idle_since: datetime.datetime | None
    node: str
    node_id: str
    ready_at: datetime.datetime | None
    running_calls: int
    started_at: datetime.datetime | None
    state: ContainerState
    version: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        app = self.app

        asleep = self.asleep

        cold_start_ms: float | None
        cold_start_ms = self.cold_start_ms

        created_at = self.created_at.isoformat()

        exit_reason: None | str
        exit_reason = self.exit_reason

        exited_at: None | str
        if isinstance(self.exited_at, datetime.datetime):
            exited_at = self.exited_at.isoformat()
        else:
            exited_at = self.exited_at

        function = self.function

        function_id = self.function_id

        gpu_count = self.gpu_count

        gpu_model: None | str
        gpu_model = self.gpu_model

        gpu_usage = []
        for gpu_usage_item_data in self.gpu_usage:
            gpu_usage_item = gpu_usage_item_data.to_dict()
            gpu_usage.append(gpu_usage_item)

        gpus = self.gpus

        id = self.id

        idle_since: None | str
        if isinstance(self.idle_since, datetime.datetime):
            idle_since = self.idle_since.isoformat()
        else:
            idle_since = self.idle_since

        node = self.node

        node_id = self.node_id

        ready_at: None | str
        if isinstance(self.ready_at, datetime.datetime):
            ready_at = self.ready_at.isoformat()
        else:
            ready_at = self.ready_at

        running_calls = self.running_calls

        started_at: None | str
        if isinstance(self.started_at, datetime.datetime):
            started_at = self.started_at.isoformat()
        else:
            started_at = self.started_at

        state = self.state.value

        version = self.version

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "app": app,
                "asleep": asleep,
                "cold_start_ms": cold_start_ms,
                "created_at": created_at,
                "exit_reason": exit_reason,
                "exited_at": exited_at,
                "function": function,
                "function_id": function_id,
                "gpu_count": gpu_count,
                "gpu_model": gpu_model,
                "gpu_usage": gpu_usage,
                "gpus": gpus,
                "id": id,
                "idle_since": idle_since,
                "node": node,
                "node_id": node_id,
                "ready_at": ready_at,
                "running_calls": running_calls,
                "started_at": started_at,
                "state": state,
                "version": version,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.gpu_usage import GpuUsage  # noqa: PLC0415

        d = dict(src_dict)
        app = d.pop("app")

        asleep = d.pop("asleep")

        def _parse_cold_start_ms(data: object) -> float | None:
            if data is None:
                return data
            return cast(float | None, data)

        cold_start_ms = _parse_cold_start_ms(d.pop("cold_start_ms"))

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        def _parse_exit_reason(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        exit_reason = _parse_exit_reason(d.pop("exit_reason"))

        def _parse_exited_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                exited_at_type_0 = datetime.datetime.fromisoformat(data)

                return exited_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        exited_at = _parse_exited_at(d.pop("exited_at"))

        function = d.pop("function")

        function_id = d.pop("function_id")

        gpu_count = d.pop("gpu_count")

        def _parse_gpu_model(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        gpu_model = _parse_gpu_model(d.pop("gpu_model"))

        gpu_usage = []
        _gpu_usage = d.pop("gpu_usage")
        for gpu_usage_item_data in _gpu_usage:
            gpu_usage_item = GpuUsage.from_dict(gpu_usage_item_data)

            gpu_usage.append(gpu_usage_item)

        gpus = cast(list[int], d.pop("gpus"))

        id = d.pop("id")

        def _parse_idle_since(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                idle_since_type_0 = datetime.datetime.fromisoformat(data)

                return idle_since_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        idle_since = _parse_idle_since(d.pop("idle_since"))

        node = d.pop("node")

        node_id = d.pop("node_id")

        def _parse_ready_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                ready_at_type_0 = datetime.datetime.fromisoformat(data)

                return ready_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        ready_at = _parse_ready_at(d.pop("ready_at"))

        running_calls = d.pop("running_calls")

        def _parse_started_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                started_at_type_0 = datetime.datetime.fromisoformat(data)

                return started_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        started_at = _parse_started_at(d.pop("started_at"))

        state = ContainerState(d.pop("state"))

        version = d.pop("version")

        container_out = cls(
            app=app,
            asleep=asleep,
            cold_start_ms=cold_start_ms,
            created_at=created_at,
            exit_reason=exit_reason,
            exited_at=exited_at,
            function=function,
            function_id=function_id,
            gpu_count=gpu_count,
            gpu_model=gpu_model,
            gpu_usage=gpu_usage,
            gpus=gpus,
            id=id,
            idle_since=idle_since,
            node=node,
            node_id=node_id,
            ready_at=ready_at,
            running_calls=running_calls,
            started_at=started_at,
            state=state,
            version=version,
        )

        container_out.additional_properties = d
        return container_out

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
