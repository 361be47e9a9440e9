from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.build_progress_state import BuildProgressState
from ..types import UNSET, Unset

T = TypeVar("T", bound="BuildProgress")


@_attrs_define
class BuildProgress:
    """
    Attributes:
        node_id (str):
        state (BuildProgressState):
        log (str | Unset):  Default: ''.
        seconds (float | Unset):  Default: 0.0.
    """

    node_id: str
    state: BuildProgressState
    log: str | Unset = ""
    seconds: float | Unset = 0.0
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        node_id = self.node_id

        state = self.state.value

        log = self.log

        seconds = self.seconds

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "node_id": node_id,
                "state": state,
            }
        )
        if log is not UNSET:
            field_dict["log"] = log
        if seconds is not UNSET:
            field_dict["seconds"] = seconds

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        node_id = d.pop("node_id")

        state = BuildProgressState(d.pop("state"))

        log = d.pop("log", UNSET)

        seconds = d.pop("seconds", UNSET)

        build_progress = cls(
            node_id=node_id,
            state=state,
            log=log,
            seconds=seconds,
        )

        build_progress.additional_properties = d
        return build_progress

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
