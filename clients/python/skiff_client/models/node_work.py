from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.build_command import BuildCommand
    from ..models.container_spec import ContainerSpec


T = TypeVar("T", bound="NodeWork")


@_attrs_define
class NodeWork:
    """
    Attributes:
        abandon (list[str]):
        lease_seconds (float):
        start (list[ContainerSpec]):
        stop (list[str]):
        builds (list[BuildCommand] | Unset):
    """

    abandon: list[str]
    lease_seconds: float
    start: list[ContainerSpec]
    stop: list[str]
    builds: list[BuildCommand] | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        abandon = self.abandon

        lease_seconds = self.lease_seconds

        start = []
        for start_item_data in self.start:
            start_item = start_item_data.to_dict()
            start.append(start_item)

        stop = self.stop

        builds: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.builds, Unset):
            builds = []
            for builds_item_data in self.builds:
                builds_item = builds_item_data.to_dict()
                builds.append(builds_item)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "abandon": abandon,
                "lease_seconds": lease_seconds,
                "start": start,
                "stop": stop,
            }
        )
        if builds is not UNSET:
            field_dict["builds"] = builds

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.build_command import BuildCommand  # noqa: PLC0415
        from ..models.container_spec import ContainerSpec  # noqa: PLC0415

        d = dict(src_dict)
        abandon = cast(list[str], d.pop("abandon"))

        lease_seconds = d.pop("lease_seconds")

        start = []
        _start = d.pop("start")
        for start_item_data in _start:
            start_item = ContainerSpec.from_dict(start_item_data)

            start.append(start_item)

        stop = cast(list[str], d.pop("stop"))

        _builds = d.pop("builds", UNSET)
        builds: list[BuildCommand] | Unset = UNSET
        if _builds is not UNSET:
            builds = []
            for builds_item_data in _builds:
                builds_item = BuildCommand.from_dict(builds_item_data)

                builds.append(builds_item)

        node_work = cls(
            abandon=abandon,
            lease_seconds=lease_seconds,
            start=start,
            stop=stop,
            builds=builds,
        )

        node_work.additional_properties = d
        return node_work

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
