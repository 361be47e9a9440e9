from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="GpuUsage")


@_attrs_define
class GpuUsage:
    """
    Attributes:
        index (int):
        memory_used_mib (int):
        utilization_percent (int):
    """

    index: int
    memory_used_mib: int
    utilization_percent: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        index = self.index

        memory_used_mib = self.memory_used_mib

        utilization_percent = self.utilization_percent

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "index": index,
                "memory_used_mib": memory_used_mib,
                "utilization_percent": utilization_percent,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        index = d.pop("index")

        memory_used_mib = d.pop("memory_used_mib")

        utilization_percent = d.pop("utilization_percent")

        gpu_usage = cls(
            index=index,
            memory_used_mib=memory_used_mib,
            utilization_percent=utilization_percent,
        )

        gpu_usage.additional_properties = d
        return gpu_usage

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
