from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.call_outcome import CallOutcome


T = TypeVar("T", bound="NextInput")


@_attrs_define
class NextInput:
    """
    Attributes:
        cold_start_ms (float | None | Unset):
        outcome (CallOutcome | None | Unset):
        outcomes (list[CallOutcome] | Unset):
        take (int | Unset):  Default: 1.
        wait_seconds (float | Unset):  Default: 0.0.
    """

    cold_start_ms: float | None | Unset = UNSET
    outcome: CallOutcome | None | Unset = UNSET
    outcomes: list[CallOutcome] | Unset = UNSET
    take: int | Unset = 1
    wait_seconds: float | Unset = 0.0
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.call_outcome import CallOutcome  # noqa: PLC0415

        cold_start_ms: float | None | Unset
        if isinstance(self.cold_start_ms, Unset):
            cold_start_ms = UNSET
        else:
            cold_start_ms = self.cold_start_ms

        outcome: dict[str, Any] | None | Unset
        if isinstance(self.outcome, Unset):
            outcome = UNSET
        elif isinstance(self.outcome, CallOutcome):
            outcome = self.outcome.to_dict()
        else:
            outcome = self.outcome

        outcomes: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.outcomes, Unset):
            outcomes = []
            for outcomes_item_data in self.outcomes:
                outcomes_item = outcomes_item_data.to_dict()
                outcomes.append(outcomes_item)

        take = self.take

        wait_seconds = self.wait_seconds

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if cold_start_ms is not UNSET:
            field_dict["cold_start_ms"] = cold_start_ms
        if outcome is not UNSET:
            field_dict["outcome"] = outcome
        if outcomes is not UNSET:
            field_dict["outcomes"] = outcomes
        if take is not UNSET:
            field_dict["take"] = take
        if wait_seconds is not UNSET:
            field_dict["wait_seconds"] = wait_seconds

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.call_outcome import CallOutcome  # noqa: PLC0415

        d = dict(src_dict)

        def _parse_cold_start_ms(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        cold_start_ms = _parse_cold_start_ms(d.pop("cold_start_ms", UNSET))

        def _parse_outcome(data: object) -> CallOutcome | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                outcome_type_0 = CallOutcome.from_dict(data)

                return outcome_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(CallOutcome | None | Unset, data)

        outcome = _parse_outcome(d.pop("outcome", UNSET))

        _outcomes = d.pop("outcomes", UNSET)
        outcomes: list[CallOutcome] | Unset = UNSET
        if _outcomes is not UNSET:
            outcomes = []
            for outcomes_item_data in _outcomes:
                outcomes_item = CallOutcome.from_dict(outcomes_item_data)

                outcomes.append(outcomes_item)

        take = d.pop("take", UNSET)

        wait_seconds = d.pop("wait_seconds", UNSET)

        next_input = cls(
            cold_start_ms=cold_start_ms,
            outcome=outcome,
            outcomes=outcomes,
            take=take,
            wait_seconds=wait_seconds,
        )

        next_input.additional_properties = d
        return next_input

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
