from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.schedule_create_kwargs import ScheduleCreateKwargs


T = TypeVar("T", bound="ScheduleCreate")


@_attrs_define
class ScheduleCreate:
    """
    Attributes:
        app (str):
        function (str):
        args (list[Any] | Unset):
        cron (None | str | Unset): Five fields, `minute hour day-of-month month day-of-week` (e.g. `*/15 9-17 * * mon-
            fri`), or @hourly, @daily, @weekly, @monthly, @yearly.
        kwargs (ScheduleCreateKwargs | Unset):
        period_seconds (int | None | Unset): Fire every this many seconds, counted from the schedule's creation.
        timezone (str | Unset): IANA time zone the cron fields are read in. Default: 'UTC'.
    """

    app: str
    function: str
    args: list[Any] | Unset = UNSET
    cron: None | str | Unset = UNSET
    kwargs: ScheduleCreateKwargs | Unset = UNSET
    period_seconds: int | None | Unset = UNSET
    timezone: str | Unset = "UTC"
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        app = self.app

        function = self.function

        args: list[Any] | Unset = UNSET
        if not isinstance(self.args, Unset):
            args = self.args

        cron: None | str | Unset
        if isinstance(self.cron, Unset):
            cron = UNSET
        else:
            cron = self.cron

        kwargs: dict[str, Any] | Unset = UNSET
        if not isinstance(self.kwargs, Unset):
            kwargs = self.kwargs.to_dict()

        period_seconds: int | None | Unset
        if isinstance(self.period_seconds, Unset):
            period_seconds = UNSET
        else:
            period_seconds = self.period_seconds

        timezone = self.timezone

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "app": app,
                "function": function,
            }
        )
        if args is not UNSET:
            field_dict["args"] = args
        if cron is not UNSET:
            field_dict["cron"] = cron
        if kwargs is not UNSET:
            field_dict["kwargs"] = kwargs
        if period_seconds is not UNSET:
            field_dict["period_seconds"] = period_seconds
        if timezone is not UNSET:
            field_dict["timezone"] = timezone

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.schedule_create_kwargs import ScheduleCreateKwargs  # noqa: PLC0415

        d = dict(src_dict)
        app = d.pop("app")

        function = d.pop("function")

        args = cast(list[Any], d.pop("args", UNSET))

        def _parse_cron(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        cron = _parse_cron(d.pop("cron", UNSET))

        _kwargs = d.pop("kwargs", UNSET)
        kwargs: ScheduleCreateKwargs | Unset
        if isinstance(_kwargs, Unset):
            kwargs = UNSET
        else:
            kwargs = ScheduleCreateKwargs.from_dict(_kwargs)

        def _parse_period_seconds(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        period_seconds = _parse_period_seconds(d.pop("period_seconds", UNSET))

        timezone = d.pop("timezone", UNSET)

        schedule_create = cls(
            app=app,
            function=function,
            args=args,
            cron=cron,
            kwargs=kwargs,
            period_seconds=period_seconds,
            timezone=timezone,
        )

        schedule_create.additional_properties = d
        return schedule_create

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
