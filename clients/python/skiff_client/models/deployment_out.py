from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.function_out import FunctionOut


T = TypeVar("T", bound="DeploymentOut")


@_attrs_define
class DeploymentOut:
    """
    Attributes:
        app (str):
        bundle_digest (str):
        bundle_size (int):
        created_at (datetime.datetime):
        current (bool):
        functions (list[FunctionOut]):
        id (str):
        version (int):
        warnings (list[str] | Unset):
    """

    app: str
    bundle_digest: str
    bundle_size: int
    created_at: datetime.datetime
    current: bool
    functions: list[FunctionOut]
    id: str
    version: int
    warnings: list[str] | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        app = self.app

        bundle_digest = self.bundle_digest

        bundle_size = self.bundle_size

        created_at = self.created_at.isoformat()

        current = self.current

        functions = []
        for functions_item_data in self.functions:
            functions_item = functions_item_data.to_dict()
            functions.append(functions_item)

        id = self.id

        version = self.version

        warnings: list[str] | Unset = UNSET
        if not isinstance(self.warnings, Unset):
            warnings = self.warnings

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "app": app,
                "bundle_digest": bundle_digest,
                "bundle_size": bundle_size,
                "created_at": created_at,
                "current": current,
                "functions": functions,
                "id": id,
                "version": version,
            }
        )
        if warnings is not UNSET:
            field_dict["warnings"] = warnings

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.function_out import FunctionOut  # noqa: PLC0415

        d = dict(src_dict)
        app = d.pop("app")

        bundle_digest = d.pop("bundle_digest")

        bundle_size = d.pop("bundle_size")

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        current = d.pop("current")

        functions = []
        _functions = d.pop("functions")
        for functions_item_data in _functions:
            functions_item = FunctionOut.from_dict(functions_item_data)

            functions.append(functions_item)

        id = d.pop("id")

        version = d.pop("version")

        warnings = cast(list[str], d.pop("warnings", UNSET))

        deployment_out = cls(
            app=app,
            bundle_digest=bundle_digest,
            bundle_size=bundle_size,
            created_at=created_at,
            current=current,
            functions=functions,
            id=id,
            version=version,
            warnings=warnings,
        )

        deployment_out.additional_properties = d
        return deployment_out

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
