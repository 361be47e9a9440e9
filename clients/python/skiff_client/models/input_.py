from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.payload_type import PayloadType
from ..types import UNSET, Unset

T = TypeVar("T", bound="Input")


@_attrs_define
class Input:
    """
    Attributes:
        attempt (int):
        call_id (str):
        input_type (PayloadType): How arguments or a result are written: JSON, or pickled bytes that only a sandbox and
            the caller decode.
        lease_token (str):
        payload (str):
        timeout_seconds (int):
        payload_b64 (None | str | Unset):
    """

    attempt: int
    call_id: str
    input_type: PayloadType
    lease_token: str
    payload: str
    timeout_seconds: int
    payload_b64: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        attempt = self.attempt

        call_id = self.call_id

        input_type = self.input_type.value

        lease_token = self.lease_token

        payload = self.payload

        timeout_seconds = self.timeout_seconds

        payload_b64: None | str | Unset
        if isinstance(self.payload_b64, Unset):
            payload_b64 = UNSET
        else:
            payload_b64 = self.payload_b64

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "attempt": attempt,
                "call_id": call_id,
                "input_type": input_type,
                "lease_token": lease_token,
                "payload": payload,
                "timeout_seconds": timeout_seconds,
            }
        )
        if payload_b64 is not UNSET:
            field_dict["payload_b64"] = payload_b64

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        attempt = d.pop("attempt")

        call_id = d.pop("call_id")

        input_type = PayloadType(d.pop("input_type"))

        lease_token = d.pop("lease_token")

        payload = d.pop("payload")

        timeout_seconds = d.pop("timeout_seconds")

        def _parse_payload_b64(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        payload_b64 = _parse_payload_b64(d.pop("payload_b64", UNSET))

        input_ = cls(
            attempt=attempt,
            call_id=call_id,
            input_type=input_type,
            lease_token=lease_token,
            payload=payload,
            timeout_seconds=timeout_seconds,
            payload_b64=payload_b64,
        )

        input_.additional_properties = d
        return input_

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
