from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.schedule_out_kwargs import ScheduleOutKwargs


T = TypeVar("T", bound="ScheduleOut")


@_attrs_define
class ScheduleOut:
    """
    Attributes:
        app (str):
        args (list[Any]):
        created_at (datetime.datetime):
        cron (None | str):
        function (str):
        id (str):
        kwargs (ScheduleOutKwargs):
        last_call_id (None | str):
        last_fired_at (datetime.datetime | None):
        next_fire_at (datetime.datetime | None):
        paused (bool):
        period_seconds (int | None):
        timezone (str):
    """

    app: str
    args: list[Any]
    created_at: datetime.datetime
    cron: None | str
    function: str
    id: str
    kwargs: ScheduleOutKwargs
    last_call_id: None | str
    last_fired_at: datetime.datetime | None
    next_fire_at: datetime.datetime | None
    paused: bool
    period_seconds: int | None
    timezone: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        app = self.app

        args = self.args

        created_at = self.created_at.isoformat()

        cron: None | str
        cron = self.cron

        function = self.function

        id = self.id

        kwargs = self.kwargs.to_dict()

        last_call_id: None | str
        last_call_id = self.last_call_id

        last_fired_at: None | str
        if isinstance(self.last_fired_at, datetime.datetime):
            last_fired_at = self.last_fired_at.isoformat()
        else:
            last_fired_at = self.last_fired_at

        next_fire_at: None | str
        if isinstance(self.next_fire_at, datetime.datetime):
            next_fire_at = self.next_fire_at.isoformat()
        else:
            next_fire_at = self.next_fire_at

        paused = self.paused

        period_seconds: int | None
        period_seconds = self.period_seconds

        timezone = self.timezone

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "app": app,
                "args": args,
                "created_at": created_at,
                "cron": cron,
                "function": function,
                "id": id,
                "kwargs": kwargs,
                "last_call_id": last_call_id,
                "last_fired_at": last_fired_at,
                "next_fire_at": next_fire_at,
                "paused": paused,
                "period_seconds": period_seconds,
                "timezone": timezone,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.schedule_out_kwargs import ScheduleOutKwargs  # noqa: PLC0415

        d = dict(src_dict)
        app = d.pop("app")

        args = cast(list[Any], d.pop("args"))

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        def _parse_cron(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        cron = _parse_cron(d.pop("cron"))

        function = d.pop("function")

        id = d.pop("id")

        kwargs = ScheduleOutKwargs.from_dict(d.pop("kwargs"))

        def _parse_last_call_id(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        last_call_id = _parse_last_call_id(d.pop("last_call_id"))

        def _parse_last_fired_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                last_fired_at_type_0 = datetime.datetime.fromisoformat(data)

                return last_fired_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        last_fired_at = _parse_last_fired_at(d.pop("last_fired_at"))

        def _parse_next_fire_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                next_fire_at_type_0 = datetime.datetime.fromisoformat(data)

                return next_fire_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        next_fire_at = _parse_next_fire_at(d.pop("next_fire_at"))

        paused = d.pop("paused")

        def _parse_period_seconds(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        period_seconds = _parse_period_seconds(d.pop("period_seconds"))

        timezone = d.pop("timezone")

        schedule_out = cls(
            app=app,
            args=args,
            created_at=created_at,
            cron=cron,
            function=function,
            id=id,
            kwargs=kwargs,
            last_call_id=last_call_id,
            last_fired_at=last_fired_at,
            next_fire_at=next_fire_at,
            paused=paused,
            period_seconds=period_seconds,
            timezone=timezone,
        )

        schedule_out.additional_properties = d
        return schedule_out

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
