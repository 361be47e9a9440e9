from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.call_status import CallStatus
from ..models.payload_type import PayloadType
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.call_error import CallError


T = TypeVar("T", bound="CallOut")


@_attrs_define
class CallOut:
    """
    Attributes:
        app (str):
        attempt (int):
        cold_start (bool | None):
        cold_start_ms (float | None):
        container_id (None | str):
        created_at (datetime.datetime):
        finished_at (datetime.datetime | None):
        function (str):
        id (str):
        max_attempts (int):
        node_id (None | str):
        started_at (datetime.datetime | None):
        status (CallStatus):
        version (int):
        error (CallError | None | Unset):
        result (Any | Unset): The result, when it is JSON.
        result_b64 (None | str | Unset): A result that is not JSON: its bytes (of `result_type`) in base64, for the
            calling Python process to decode. The API never does.
        result_type (None | PayloadType | Unset): How the result is written, once the call succeeded.
        waiting (None | str | Unset): For a queued call, why its function's calls wait (as the function's `waiting`
            says: no node can take a container for it, or it is at its max_containers); null otherwise, and in listings.
    """

    app: str
    attempt: int
    cold_start: bool | None
    cold_start_ms: float | None
    container_id: None | str
    created_at: datetime.datetime
    finished_at: datetime.datetime | None
    function: str
    id: str
    max_attempts: int
    node_id: None | str
    started_at: datetime.datetime | None
    status: CallStatus
    version: int
    error: CallError | None | Unset = UNSET
    result: Any | Unset = UNSET
    result_b64: None | str | Unset = UNSET
    result_type: None | PayloadType | Unset = UNSET
    waiting: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.call_error import CallError  # noqa: PLC0415

        app = self.app

        attempt = self.attempt

        cold_start: bool | None
        cold_start = self.cold_start

        cold_start_ms: float | None
        cold_start_ms = self.cold_start_ms

        container_id: None | str
        container_id = self.container_id

        created_at = self.created_at.isoformat()

        finished_at: None | str
        if isinstance(self.finished_at, datetime.datetime):
            finished_at = self.finished_at.isoformat()
        else:
            finished_at = self.finished_at

        function = self.function

        id = self.id

        max_attempts = self.max_attempts

        node_id: None | str
        node_id = self.node_id

        started_at: None | str
        if isinstance(self.started_at, datetime.datetime):
            started_at = self.started_at.isoformat()
        else:
            started_at = self.started_at

        status = self.status.value

        version = self.version

        error: dict[str, Any] | None | Unset
        if isinstance(self.error, Unset):
            error = UNSET
        elif isinstance(self.error, CallError):
            error = self.error.to_dict()
        else:
            error = self.error

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

        waiting: None | str | Unset
        if isinstance(self.waiting, Unset):
            waiting = UNSET
        else:
            waiting = self.waiting

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "app": app,
                "attempt": attempt,
                "cold_start": cold_start,
                "cold_start_ms": cold_start_ms,
                "container_id": container_id,
                "created_at": created_at,
                "finished_at": finished_at,
                "function": function,
                "id": id,
                "max_attempts": max_attempts,
                "node_id": node_id,
                "started_at": started_at,
                "status": status,
                "version": version,
            }
        )
        if error is not UNSET:
            field_dict["error"] = error
        if result is not UNSET:
            field_dict["result"] = result
        if result_b64 is not UNSET:
            field_dict["result_b64"] = result_b64
        if result_type is not UNSET:
            field_dict["result_type"] = result_type
        if waiting is not UNSET:
            field_dict["waiting"] = waiting

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.call_error import CallError  # noqa: PLC0415

        d = dict(src_dict)
        app = d.pop("app")

        attempt = d.pop("attempt")

        def _parse_cold_start(data: object) -> bool | None:
            if data is None:
                return data
            return cast(bool | None, data)

        cold_start = _parse_cold_start(d.pop("cold_start"))

        def _parse_cold_start_ms(data: object) -> float | None:
            if data is None:
                return data
            return cast(float | None, data)

        cold_start_ms = _parse_cold_start_ms(d.pop("cold_start_ms"))

        def _parse_container_id(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        container_id = _parse_container_id(d.pop("container_id"))

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        def _parse_finished_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                finished_at_type_0 = datetime.datetime.fromisoformat(data)

                return finished_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        finished_at = _parse_finished_at(d.pop("finished_at"))

        function = d.pop("function")

        id = d.pop("id")

        max_attempts = d.pop("max_attempts")

        def _parse_node_id(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        node_id = _parse_node_id(d.pop("node_id"))

        def _parse_started_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                started_at_type_0 = datetime.datetime.fromisoformat(data)

                return started_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        started_at = _parse_started_at(d.pop("started_at"))

        status = CallStatus(d.pop("status"))

        version = d.pop("version")

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

        result = d.pop("result", UNSET)

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

        def _parse_waiting(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        waiting = _parse_waiting(d.pop("waiting", UNSET))

        call_out = cls(
            app=app,
            attempt=attempt,
            cold_start=cold_start,
            cold_start_ms=cold_start_ms,
            container_id=container_id,
            created_at=created_at,
            finished_at=finished_at,
            function=function,
            id=id,
            max_attempts=max_attempts,
            node_id=node_id,
            started_at=started_at,
            status=status,
            version=version,
            error=error,
            result=result,
            result_b64=result_b64,
            result_type=result_type,
            waiting=waiting,
        )

        call_out.additional_properties = d
        return call_out

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
