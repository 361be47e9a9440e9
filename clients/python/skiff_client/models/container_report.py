from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.container_state import ContainerState
from ..types import UNSET, Unset

T = TypeVar("T", bound="ContainerReport")


@_attrs_define
class ContainerReport:
    """
    Attributes:
        container_id (str):
        state (ContainerState):
        exit_reason (None | str | Unset):
        gpus (list[int] | None | Unset):
    """

    container_id: str
    state: ContainerState
    exit_reason: None | str | Unset = UNSET
    gpus: list[int] | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        container_id = self.container_id

        state = self.state.value

        exit_reason: None | str | Unset
        if isinstance(self.exit_reason, Unset):
            exit_reason = UNSET
        else:
            exit_reason = self.exit_reason

        gpus: list[int] | None | Unset
        if isinstance(self.gpus, Unset):
            gpus = UNSET
        elif isinstance(self.gpus, list):
            gpus = self.gpus

        else:
            gpus = self.gpus

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "container_id": container_id,
                "state": state,
            }
        )
        if exit_reason is not UNSET:
            field_dict["exit_reason"] = exit_reason
        if gpus is not UNSET:
            field_dict["gpus"] = gpus

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        container_id = d.pop("container_id")

        state = ContainerState(d.pop("state"))

        def _parse_exit_reason(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        exit_reason = _parse_exit_reason(d.pop("exit_reason", UNSET))

        def _parse_gpus(data: object) -> list[int] | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                gpus_type_0 = cast(list[int], data)

                return gpus_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[int] | None | Unset, data)

        gpus = _parse_gpus(d.pop("gpus", UNSET))

        container_report = cls(
            container_id=container_id,
            state=state,
            exit_reason=exit_reason,
            gpus=gpus,
        )

        container_report.additional_properties = d
        return container_report

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
