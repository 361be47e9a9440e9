from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.autoscaling import Autoscaling
    from ..models.function_out_overrides import FunctionOutOverrides
    from ..models.function_out_spec import FunctionOutSpec


T = TypeVar("T", bound="FunctionOut")


@_attrs_define
class FunctionOut:
    """
    Attributes:
        app (str):
        autoscaling (Autoscaling):
        calls_url (str):
        id (str):
        image_key (str):
        name (str):
        spec (FunctionOutSpec):
        version (int):
        overrides (FunctionOutOverrides | Unset):
        waiting (None | str | Unset): Why the function's calls wait: no node can take the container they need now (no
            ready node has the GPUs, memory or CPUs it asks for, or those that have are full), or the function has all the
            containers its max_containers allows and its calls need more; null when none waits so.
    """

    app: str
    autoscaling: Autoscaling
    calls_url: str
    id: str
    image_key: str
    name: str
    spec: FunctionOutSpec
    version: int
    overrides: FunctionOutOverrides | Unset = UNSET
    waiting: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        app = self.app

        autoscaling = self.autoscaling.to_dict()

        calls_url = self.calls_url

        id = self.id

        image_key = self.image_key

        name = self.name

        spec = self.spec.to_dict()

        version = self.version

        overrides: dict[str, Any] | Unset = UNSET
        if not isinstance(self.overrides, Unset):
            overrides = self.overrides.to_dict()

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
                "autoscaling": autoscaling,
                "calls_url": calls_url,
                "id": id,
                "image_key": image_key,
                "name": name,
                "spec": spec,
                "version": version,
            }
        )
        if overrides is not UNSET:
            field_dict["overrides"] = overrides
        if waiting is not UNSET:
            field_dict["waiting"] = waiting

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.autoscaling import Autoscaling  # noqa: PLC0415
        from ..models.function_out_overrides import FunctionOutOverrides  # noqa: PLC0415
        from ..models.function_out_spec import FunctionOutSpec  # noqa: PLC0415

        d = dict(src_dict)
        app = d.pop("app")

        autoscaling = Autoscaling.from_dict(d.pop("autoscaling"))

        calls_url = d.pop("calls_url")

        id = d.pop("id")

        image_key = d.pop("image_key")

        name = d.pop("name")

        spec = FunctionOutSpec.from_dict(d.pop("spec"))

        version = d.pop("version")

        _overrides = d.pop("overrides", UNSET)
        overrides: FunctionOutOverrides | Unset
        if isinstance(_overrides, Unset):
            overrides = UNSET
        else:
            overrides = FunctionOutOverrides.from_dict(_overrides)

        def _parse_waiting(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        waiting = _parse_waiting(d.pop("waiting", UNSET))

        function_out = cls(
            app=app,
            autoscaling=autoscaling,
            calls_url=calls_url,
            id=id,
            image_key=image_key,
            name=name,
            spec=spec,
            version=version,
            overrides=overrides,
            waiting=waiting,
        )

        function_out.additional_properties = d
        return function_out

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
