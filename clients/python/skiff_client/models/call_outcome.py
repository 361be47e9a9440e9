from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.outcome import Outcome
from ..models.payload_type import PayloadType
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.call_error import CallError
    from ..models.log_record import LogRecord


T = TypeVar("T", bound="CallOutcome")


@_attrs_define
class CallOutcome:
    """
    Attributes:
        call_id (str):
        lease_token (str):
        outcome (Outcome):
        error (CallError | None | Unset):
        logs (list[LogRecord] | Unset):
        result (None | str | Unset):
        result_b64 (None | str | Unset):
        result_type (None | PayloadType | Unset):
    """

    call_id: str
    lease_token: str
    outcome: Outcome
    error: CallError | None | Unset = UNSET
    logs: list[LogRecord] | Unset = UNSET
    result: None | str | Unset = UNSET
    result_b64: None | str | Unset = UNSET
    result_type: None | PayloadType | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.call_error import CallError  # noqa: PLC0415

        call_id = self.call_id

        lease_token = self.lease_token

        outcome = self.outcome.value

        error: dict[str, Any] | None | Unset
        if isinstance(self.error, Unset):
            error = UNSET
        elif isinstance(self.error, CallError):
            error = self.error.to_dict()
        else:
            error = self.error

        logs: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.logs, Unset):
            logs = []
            for logs_item_data in self.logs:
                logs_item = logs_item_data.to_dict()
                logs.append(logs_item)

        result: None | str | Unset
        if isinstance(self.result, Unset):
            result = UNSET
        else:
            result = self.result

        result_b64: None | str | Unset
        if isinstance(self.result_b64, Unset):
            result_b64 = UNSET
        else:
            result_b64 = self.result_b64

        result_type: None | str | Unset
        if isinstance(self.result_type, Unset):
            result_type = UNSET
        elif isinstance(self.result_type, PayloadType):
            result_type = self.result_type.value
        else:
            result_type = self.result_type

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "call_id": call_id,
                "lease_token": lease_token,
                "outcome": outcome,
            }
        )
        if error is not UNSET:
            field_dict["error"] = error
        if logs is not UNSET:
            field_dict["logs"] = logs
        if result is not UNSET:
            field_dict["result"] = result
        if result_b64 is not UNSET:
            field_dict["result_b64"] = result_b64
        if result_type is not UNSET:
            field_dict["result_type"] = result_type

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.call_error import CallError  # noqa: PLC0415
        from ..models.log_record import LogRecord  # noqa: PLC0415

        d = dict(src_dict)
        call_id = d.pop("call_id")

        lease_token = d.pop("lease_token")

        outcome = Outcome(d.pop("outcome"))

        def _parse_error(data: object) -> CallError | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                error_type_0 = CallError.from_dict(data)

                return error_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(CallError | None | Unset, data)

        error = _parse_error(d.pop("error", UNSET))

        _logs = d.pop("logs", UNSET)
        logs: list[LogRecord] | Unset = UNSET
        if _logs is not UNSET:
            logs = []
            for logs_item_data in _logs:
                logs_item = LogRecord.from_dict(logs_item_data)

                logs.append(logs_item)

        def _parse_result(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        result = _parse_result(d.pop("result", UNSET))

        def _parse_result_b64(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        result_b64 = _parse_result_b64(d.pop("result_b64", UNSET))

        def _parse_result_type(data: object) -> None | PayloadType | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                result_type_type_0 = PayloadType(data)

                return result_type_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | PayloadType | Unset, data)

        result_type = _parse_result_type(d.pop("result_type", UNSET))

        call_outcome = cls(
            call_id=call_id,
            lease_token=lease_token,
            outcome=outcome,
            error=error,
            logs=logs,
            result=result,
            result_b64=result_b64,
            result_type=result_type,
        )

        call_outcome.additional_properties = d
        return call_outcome

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
