from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="BuildOut")


@_attrs_define
class BuildOut:
    """
    Attributes:
        created_at (datetime.datetime):
        function (str):
        id (str):
        image_key (str):
        log (str):
        node_id (str):
        seconds (float):
        succeeded (bool):
    """

    created_at: datetime.datetime
    function: str
    id: str
    image_key: str
    log: str
    node_id: str
    seconds: float
    succeeded: bool
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        created_at = self.created_at.isoformat()

        function = self.function

        id = self.id

        image_key = self.image_key

        log = self.log

        node_id = self.node_id

        seconds = self.seconds

        succeeded = self.succeeded

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "created_at": created_at,
                "function": function,
                "id": id,
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
        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        function = d.pop("function")

        id = d.pop("id")

        image_key = d.pop("image_key")

        log = d.pop("log")

        node_id = d.pop("node_id")

        seconds = d.pop("seconds")

        succeeded = d.pop("succeeded")

        build_out = cls(
            created_at=created_at,
            function=function,
            id=id,
            image_key=image_key,
            log=log,
            node_id=node_id,
            seconds=seconds,
            succeeded=succeeded,
        )

        build_out.additional_properties = d
        return build_out

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
