from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="BuildReport")


@_attrs_define
class BuildReport:
    """
    Attributes:
        function_id (str):
        image_key (str):
        log (str):
        node_id (str):
        seconds (float):
        succeeded (bool):
    """

    function_id: str
    image_key: str
    log: str
    node_id: str
    seconds: float
    succeeded: bool
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        function_id = self.function_id

        image_key = self.image_key

        log = self.log

        node_id = self.node_id

        seconds = self.seconds

        succeeded = self.succeeded

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "function_id": function_id,
                "image_key": image_key,
                "log": log,
                "node_id": node_id,
                "seconds": seconds,
                "succeeded": succeeded,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        function_id = d.pop("function_id")

        image_key = d.pop("image_key")

        log = d.pop("log")

        node_id = d.pop("node_id")

        seconds = d.pop("seconds")

        succeeded = d.pop("succeeded")

        build_report = cls(
            function_id=function_id,
            image_key=image_key,
            log=log,
            node_id=node_id,
            seconds=seconds,
            succeeded=succeeded,
        )

        build_report.additional_properties = d
        return build_report

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
