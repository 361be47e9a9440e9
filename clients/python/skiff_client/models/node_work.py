from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
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
    """

    abandon: list[str]
    lease_seconds: float
    start: list[ContainerSpec]
    stop: list[str]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        abandon = self.abandon

        lease_seconds = self.lease_seconds

        start = []
        for start_item_data in self.start:
            start_item = start_item_data.to_dict()
            start.append(start_item)

        stop = self.stop

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

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
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

        node_work = cls(
            abandon=abandon,
            lease_seconds=lease_seconds,
            start=start,
            stop=stop,
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
