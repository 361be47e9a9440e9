from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.call_input_kwargs import CallInputKwargs


T = TypeVar("T", bound="CallInput")


@_attrs_define
class CallInput:
    """
    Attributes:
        args (list[Any] | Unset):
        kwargs (CallInputKwargs | Unset):
    """

    args: list[Any] | Unset = UNSET
    kwargs: CallInputKwargs | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        args: list[Any] | Unset = UNSET
        if not isinstance(self.args, Unset):
            args = self.args

        kwargs: dict[str, Any] | Unset = UNSET
        if not isinstance(self.kwargs, Unset):
            kwargs = self.kwargs.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if args is not UNSET:
            field_dict["args"] = args
        if kwargs is not UNSET:
            field_dict["kwargs"] = kwargs

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.call_input_kwargs import CallInputKwargs  # noqa: PLC0415

        d = dict(src_dict)
        args = cast(list[Any], d.pop("args", UNSET))

        _kwargs = d.pop("kwargs", UNSET)
        kwargs: CallInputKwargs | Unset
        if isinstance(_kwargs, Unset):
            kwargs = UNSET
        else:
            kwargs = CallInputKwargs.from_dict(_kwargs)

        call_input = cls(
            args=args,
            kwargs=kwargs,
        )

        call_input.additional_properties = d
        return call_input

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
