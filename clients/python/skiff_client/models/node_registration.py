from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.gpu import Gpu
    from ..models.node_registration_labels import NodeRegistrationLabels


T = TypeVar("T", bound="NodeRegistration")


@_attrs_define
class NodeRegistration:
    """
    Attributes:
        agent_version (str):
        cpus (float):
        hostname (str):
        memory_mib (int):
        name (str):
        gpus (list[Gpu] | Unset):
        labels (NodeRegistrationLabels | Unset):
    """

    agent_version: str
    cpus: float
    hostname: str
    memory_mib: int
    name: str
    gpus: list[Gpu] | Unset = UNSET
    labels: NodeRegistrationLabels | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        agent_version = self.agent_version

        cpus = self.cpus

        hostname = self.hostname

        memory_mib = self.memory_mib

        name = self.name

        gpus: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.gpus, Unset):
            gpus = []
            for gpus_item_data in self.gpus:
                gpus_item = gpus_item_data.to_dict()
                gpus.append(gpus_item)

        labels: dict[str, Any] | Unset = UNSET
        if not isinstance(self.labels, Unset):
            labels = self.labels.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "agent_version": agent_version,
                "cpus": cpus,
                "hostname": hostname,
                "memory_mib": memory_mib,
                "name": name,
            }
        )
        if gpus is not UNSET:
            field_dict["gpus"] = gpus
        if labels is not UNSET:
            field_dict["labels"] = labels

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.gpu import Gpu  # noqa: PLC0415
        from ..models.node_registration_labels import NodeRegistrationLabels  # noqa: PLC0415

        d = dict(src_dict)
        agent_version = d.pop("agent_version")

        cpus = d.pop("cpus")

        hostname = d.pop("hostname")

        memory_mib = d.pop("memory_mib")

        name = d.pop("name")

        _gpus = d.pop("gpus", UNSET)
        gpus: list[Gpu] | Unset = UNSET
        if _gpus is not UNSET:
            gpus = []
            for gpus_item_data in _gpus:
                gpus_item = Gpu.from_dict(gpus_item_data)

                gpus.append(gpus_item)

        _labels = d.pop("labels", UNSET)
        labels: NodeRegistrationLabels | Unset
        if isinstance(_labels, Unset):
            labels = UNSET
        else:
            labels = NodeRegistrationLabels.from_dict(_labels)

        node_registration = cls(
            agent_version=agent_version,
            cpus=cpus,
            hostname=hostname,
            memory_mib=memory_mib,
            name=name,
            gpus=gpus,
            labels=labels,
        )

        node_registration.additional_properties = d
        return node_registration

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
