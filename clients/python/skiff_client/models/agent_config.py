from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.node_out import NodeOut


T = TypeVar("T", bound="AgentConfig")


@_attrs_define
class AgentConfig:
    """
    Attributes:
        heartbeat_interval_seconds (float):
        heartbeat_timeout_seconds (float):
        node (NodeOut):
    """

    heartbeat_interval_seconds: float
    heartbeat_timeout_seconds: float
    node: NodeOut
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        heartbeat_interval_seconds = self.heartbeat_interval_seconds

        heartbeat_timeout_seconds = self.heartbeat_timeout_seconds

        node = self.node.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "heartbeat_interval_seconds": heartbeat_interval_seconds,
                "heartbeat_timeout_seconds": heartbeat_timeout_seconds,
                "node": node,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.node_out import NodeOut  # noqa: PLC0415

        d = dict(src_dict)
        heartbeat_interval_seconds = d.pop("heartbeat_interval_seconds")

        heartbeat_timeout_seconds = d.pop("heartbeat_timeout_seconds")

        node = NodeOut.from_dict(d.pop("node"))

        agent_config = cls(
            heartbeat_interval_seconds=heartbeat_interval_seconds,
            heartbeat_timeout_seconds=heartbeat_timeout_seconds,
            node=node,
        )

        agent_config.additional_properties = d
        return agent_config

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
