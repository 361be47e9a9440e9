from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.input_ import Input


T = TypeVar("T", bound="NextInputAnswer")


@_attrs_define
class NextInputAnswer:
    """
    Attributes:
        input_ (Input | None):
        stop (bool):
        more (list[Input] | Unset):
        outcome_accepted (bool | None | Unset):
        sleep (bool | Unset):  Default: False.
    """

    input_: Input | None
    stop: bool
    more: list[Input] | Unset = UNSET
    outcome_accepted: bool | None | Unset = UNSET
    sleep: bool | Unset = False
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.input_ import Input  # noqa: PLC0415

        input_: dict[str, Any] | None
        if isinstance(self.input_, Input):
            input_ = self.input_.to_dict()
        else:
            input_ = self.input_

        stop = self.stop

        more: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.more, Unset):
            more = []
            for more_item_data in self.more:
                more_item = more_item_data.to_dict()
                more.append(more_item)

        outcome_accepted: bool | None | Unset
        if isinstance(self.outcome_accepted, Unset):
            outcome_accepted = UNSET
        else:
            outcome_accepted = self.outcome_accepted

        sleep = self.sleep

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "input": input_,
                "stop": stop,
            }
        )
        if more is not UNSET:
            field_dict["more"] = more
        if outcome_accepted is not UNSET:
            field_dict["outcome_accepted"] = outcome_accepted
        if sleep is not UNSET:
            field_dict["sleep"] = sleep

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.input_ import Input  # noqa: PLC0415

        d = dict(src_dict)

        def _parse_input_(data: object) -> Input | None:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                input_type_0 = Input.from_dict(data)

                return input_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(Input | None, data)

        input_ = _parse_input_(d.pop("input"))

        stop = d.pop("stop")

        _more = d.pop("more", UNSET)
        more: list[Input] | Unset = UNSET
        if _more is not UNSET:
            more = []
            for more_item_data in _more:
                more_item = Input.from_dict(more_item_data)

                more.append(more_item)

        def _parse_outcome_accepted(data: object) -> bool | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(bool | None | Unset, data)

        outcome_accepted = _parse_outcome_accepted(d.pop("outcome_accepted", UNSET))

        sleep = d.pop("sleep", UNSET)

        next_input_answer = cls(
            input_=input_,
            stop=stop,
            more=more,
            outcome_accepted=outcome_accepted,
            sleep=sleep,
        )

        next_input_answer.additional_properties = d
        return next_input_answer

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
