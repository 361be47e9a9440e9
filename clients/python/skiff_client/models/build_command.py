from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.image_spec import ImageSpec


T = TypeVar("T", bound="BuildCommand")


@_attrs_define
class BuildCommand:
    """
    Attributes:
        build_id (str):
        bundle_digest (str):
        function_id (str):
        image (ImageSpec):
        image_key (str):
    """

    build_id: str
    bundle_digest: str
    function_id: str
    image: ImageSpec
    image_key: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        build_id = self.build_id

        bundle_digest = self.bundle_digest

        function_id = self.function_id

        image = self.image.to_dict()

        image_key = self.image_key

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "build_id": build_id,
                "bundle_digest": bundle_digest,
                "function_id": function_id,
                "image": image,
                "image_key": image_key,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.image_spec import ImageSpec  # noqa: PLC0415

        d = dict(src_dict)
        build_id = d.pop("build_id")

        bundle_digest = d.pop("bundle_digest")

        function_id = d.pop("function_id")

        image = ImageSpec.from_dict(d.pop("image"))

        image_key = d.pop("image_key")

        build_command = cls(
            build_id=build_id,
            bundle_digest=bundle_digest,
            function_id=function_id,
            image=image,
            image_key=image_key,
        )

        build_command.additional_properties = d
        return build_command

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
