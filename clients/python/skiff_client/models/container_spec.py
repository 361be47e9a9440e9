from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.container_spec_spec import ContainerSpecSpec


T = TypeVar("T", bound="ContainerSpec")


@_attrs_define
class ContainerSpec:
    """
    Attributes:
        app (str):
        bundle_digest (str):
        container_id (str):
        function (str):
        function_id (str):
        image_key (str):
        spec (ContainerSpecSpec):
        version (int):
    """

    app: str
    bundle_digest: str
    container_id: str
    function: str
    function_id: str
    image_key: str
    spec: ContainerSpecSpec
    version: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        app = self.app

        bundle_digest = self.bundle_digest

        container_id = self.container_id

        function = self.function

        function_id = self.function_id

        image_key = self.image_key

        spec = self.spec.to_dict()

        version = self.version

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "app": app,
                "bundle_digest": bundle_digest,
                "container_id": container_id,
                "function": function,
                "function_id": function_id,
                "image_key": image_key,
                "spec": spec,
                "version": version,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.container_spec_spec import ContainerSpecSpec  # noqa: PLC0415

        d = dict(src_dict)
        app = d.pop("app")

        bundle_digest = d.pop("bundle_digest")

        container_id = d.pop("container_id")

        function = d.pop("function")

        function_id = d.pop("function_id")

        image_key = d.pop("image_key")

        spec = ContainerSpecSpec.from_dict(d.pop("spec"))

        version = d.pop("version")

        container_spec = cls(
            app=app,
            bundle_digest=bundle_digest,
            container_id=container_id,
            function=function,
            function_id=function_id,
            image_key=image_key,
            spec=spec,
            version=version,
        )

        container_spec.additional_properties = d
        return container_spec

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
