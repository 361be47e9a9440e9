from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.log_record import LogRecord


T = TypeVar("T", bound="LogShipment")


@_attrs_define
class LogShipment:
    """
    Attributes:
        lease_token (str):
        lines (list[LogRecord]):
    """

    lease_token: str
    lines: list[LogRecord]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        lease_token = self.lease_token

        lines = []
        for lines_item_data in self.lines:
            lines_item = lines_item_data.to_dict()
            lines.append(lines_item)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "lease_token": lease_token,
                "lines": lines,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.log_record import LogRecord  # noqa: PLC0415

        d = dict(src_dict)
        lease_token = d.pop("lease_token")

        lines = []
        _lines = d.pop("lines")
        for lines_item_data in _lines:
            lines_item = LogRecord.from_dict(lines_item_data)

            lines.append(lines_item)

        log_shipment = cls(
            lease_token=lease_token,
            lines=lines,
        )

        log_shipment.additional_properties = d
        return log_shipment

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
