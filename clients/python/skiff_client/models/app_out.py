from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="AppOut")


@_attrs_define
class AppOut:
    """
    Attributes:
        created_at (datetime.datetime):
        current_version (int | None):
        id (str):
        latest_version (int):
        name (str):
    """

    created_at: datetime.datetime
    current_version: int | None
    id: str
    latest_version: int
    name: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        created_at = self.created_at.isoformat()

        current_version: int | None
        current_version = self.current_version

        id = self.id

        latest_version = self.latest_version

        name = self.name

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "created_at": created_at,
                "current_version": current_version,
                "id": id,
                "latest_version": latest_version,
                "name": name,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        def _parse_current_version(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        current_version = _parse_current_version(d.pop("current_version"))

        id = d.pop("id")

        latest_version = d.pop("latest_version")

        name = d.pop("name")

        app_out = cls(
            created_at=created_at,
            current_version=current_version,
            id=id,
            latest_version=latest_version,
            name=name,
        )

        app_out.additional_properties = d
        return app_out

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
