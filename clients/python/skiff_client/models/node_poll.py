from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.container_report import ContainerReport
    from ..models.gpu_usage import GpuUsage


T = TypeVar("T", bound="NodePoll")


@_attrs_define
class NodePoll:
    """
    Attributes:
        epoch (int):
        cached_images (list[str] | None | Unset):
        containers (list[ContainerReport] | Unset):
        draining (bool | Unset):  Default: False.
        full (bool | Unset):  Default: True.
        gpu_usage (list[GpuUsage] | None | Unset):
        running_calls (list[str] | Unset):
        wait_seconds (float | Unset):  Default: 0.0.
        warm_functions (list[str] | None | Unset):
    """

    epoch: int
    cached_images: list[str] | None | Unset = UNSET
    containers: list[ContainerReport] | Unset = UNSET
    draining: bool | Unset = False
    full: bool | Unset = True
    gpu_usage: list[GpuUsage] | None | Unset = UNSET
    running_calls: list[str] | Unset = UNSET
    wait_seconds: float | Unset = 0.0
    warm_functions: list[str] | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        epoch = self.epoch

        cached_images: list[str] | None | Unset
        if isinstance(self.cached_images, Unset):
            cached_images = UNSET
        elif isinstance(self.cached_images, list):
            cached_images = self.cached_images

        else:
            cached_images = self.cached_images

        containers: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.containers, Unset):
            containers = []
            for containers_item_data in self.containers:
                containers_item = containers_item_data.to_dict()
                containers.append(containers_item)

        draining = self.draining

        full = self.full

        gpu_usage: list[dict[str, Any]] | None | Unset
        if isinstance(self.gpu_usage, Unset):
            gpu_usage = UNSET
        elif isinstance(self.gpu_usage, list):
            gpu_usage = []
            for gpu_usage_type_0_item_data in self.gpu_usage:
                gpu_usage_type_0_item = gpu_usage_type_0_item_data.to_dict()
                gpu_usage.append(gpu_usage_type_0_item)

        else:
            gpu_usage = self.gpu_usage

        running_calls: list[str] | Unset = UNSET
        if not isinstance(self.running_calls, Unset):
            running_calls = self.running_calls

        wait_seconds = self.wait_seconds

        warm_functions: list[str] | None | Unset
        if isinstance(self.warm_functions, Unset):
            warm_functions = UNSET
        elif isinstance(self.warm_functions, list):
            warm_functions = self.warm_functions

        else:
            warm_functions = self.warm_functions

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "epoch": epoch,
            }
        )
        if cached_images is not UNSET:
            field_dict["cached_images"] = cached_images
        if containers is not UNSET:
            field_dict["containers"] = containers
        if draining is not UNSET:
            field_dict["draining"] = draining
        if full is not UNSET:
            field_dict["full"] = full
        if gpu_usage is not UNSET:
            field_dict["gpu_usage"] = gpu_usage
        if running_calls is not UNSET:
            field_dict["running_calls"] = running_calls
        if wait_seconds is not UNSET:
            field_dict["wait_seconds"] = wait_seconds
        if warm_functions is not UNSET:
            field_dict["warm_functions"] = warm_functions

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.container_report import ContainerReport  # noqa: PLC0415
        from ..models.gpu_usage import GpuUsage  # noqa: PLC0415

        d = dict(src_dict)
        epoch = d.pop("epoch")

        def _parse_cached_images(data: object) -> list[str] | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                cached_images_type_0 = cast(list[str], data)

                return cached_images_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[str] | None | Unset, data)

        cached_images = _parse_cached_images(d.pop("cached_images", UNSET))

        _containers = d.pop("containers", UNSET)
        containers: list[ContainerReport] | Unset = UNSET
        if _containers is not UNSET:
            containers = []
            for containers_item_data in _containers:
                containers_item = ContainerReport.from_dict(containers_item_data)

                containers.append(containers_item)

        draining = d.pop("draining", UNSET)

        full = d.pop("full", UNSET)

        def _parse_gpu_usage(data: object) -> list[GpuUsage] | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                gpu_usage_type_0 = []
                _gpu_usage_type_0 = data
                for gpu_usage_type_0_item_data in _gpu_usage_type_0:
                    gpu_usage_type_0_item = GpuUsage.from_dict(gpu_usage_type_0_item_data)

                    gpu_usage_type_0.append(gpu_usage_type_0_item)

                return gpu_usage_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[GpuUsage] | None | Unset, data)

        gpu_usage = _parse_gpu_usage(d.pop("gpu_usage", UNSET))

        running_calls = cast(list[str], d.pop("running_calls", UNSET))

        wait_seconds = d.pop("wait_seconds", UNSET)

        def _parse_warm_functions(data: object) -> list[str] | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                warm_functions_type_0 = cast(list[str], data)

                return warm_functions_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[str] | None | Unset, data)

        warm_functions = _parse_warm_functions(d.pop("warm_functions", UNSET))

        node_poll = cls(
            epoch=epoch,
            cached_images=cached_images,
            containers=containers,
            draining=draining,
            full=full,
            gpu_usage=gpu_usage,
            running_calls=running_calls,
            wait_seconds=wait_seconds,
            warm_functions=warm_functions,
        )

        node_poll.additional_properties = d
        return node_poll

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
