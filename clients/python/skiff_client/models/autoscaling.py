from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="Autoscaling")


@_attrs_define
class Autoscaling:
    """
    Attributes:
        buffer_containers (int):
        max_containers (int):
        min_containers (int):
        scaledown_window (int):
    """

    buffer_containers: int
    max_containers: int
    min_containers: int
    scaledown_window: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        buffer_containers = self.buffer_containers

        max_containers = self.max_containers

        min_containers = self.min_containers

        scaledown_window = self.scaledown_window

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "buffer_containers": buffer_containers,
                "max_containers": max_containers,
                "min_containers": min_containers,
                "scaledown_window": scaledown_window,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        buffer_containers = d.pop("buffer_containers")

        max_containers = d.pop("max_containers")

        min_containers = d.pop("min_containers")

        scaledown_window = d.pop("scaledown_window")

        autoscaling = cls(
            buffer_containers=buffer_containers,
            max_containers=max_containers,
            min_containers=min_containers,
            scaledown_window=scaledown_window,
        )

        autoscaling.additional_properties = d
        return autoscaling

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
