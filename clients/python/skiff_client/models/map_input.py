from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.call_input import CallInput


T = TypeVar("T", bound="MapInput")


@_attrs_define
class MapInput:
    """
    Attributes:
        inputs (list[CallInput] | Unset):
        inputs_b64 (list[str] | Unset): Each input as base64 of `application/vnd.skiff.pickle` bytes:
            cloudpickle.dumps((args, kwargs)). Decoded only inside the function's sandbox.
    """

    inputs: list[CallInput] | Unset = UNSET
    inputs_b64: list[str] | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        inputs: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.inputs, Unset):
            inputs = []
            for inputs_item_data in self.inputs:
                inputs_item = inputs_item_data.to_dict()
                inputs.append(inputs_item)

        inputs_b64: list[str] | Unset = UNSET
        if not isinstance(self.inputs_b64, Unset):
            inputs_b64 = self.inputs_b64

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if inputs is not UNSET:
            field_dict["inputs"] = inputs
        if inputs_b64 is not UNSET:
            field_dict["inputs_b64"] = inputs_b64

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.call_input import CallInput  # noqa: PLC0415

        d = dict(src_dict)
        _inputs = d.pop("inputs", UNSET)
        inputs: list[CallInput] | Unset = UNSET
        if _inputs is not UNSET:
            inputs = []
            for inputs_item_data in _inputs:
                inputs_item = CallInput.from_dict(inputs_item_data)

                inputs.append(inputs_item)

        inputs_b64 = cast(list[str], d.pop("inputs_b64", UNSET))

        map_input = cls(
            inputs=inputs,
            inputs_b64=inputs_b64,
        )

        map_input.additional_properties = d
        return map_input

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
