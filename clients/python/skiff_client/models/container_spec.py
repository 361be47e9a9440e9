from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.container_spec_secrets import ContainerSpecSecrets
    from ..models.container_spec_spec import ContainerSpecSpec


T = TypeVar("T", bound="ContainerSpec")


@_attrs_define
class ContainerSpec:
    """
    Attributes:
        app (str):
        bundle_digest (str):
        container_id (str):
        function (str):
        function_id (str):
        image_key (str):
        spec (ContainerSpecSpec):
        version (int):
        gpu_count (int | Unset):  Default: 0.
        gpu_model (None | str | Unset):
        secret_error (None | str | Unset):
        secrets (ContainerSpecSecrets | Unset):
    """

    app: str
    bundle_digest: str
    container_id: str
    function: str
    function_id: str
    image_key: str
    spec: ContainerSpecSpec
    version: int
    gpu_count: int | Unset = 0
    gpu_model: None | str | Unset = UNSET
    secret_error: None | str | Unset = UNSET
    secrets: ContainerSpecSecrets | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        app = self.app

        bundle_digest = self.bundle_digest

        container_id = self.container_id

        function = self.function

        function_id = self.function_id

        image_key = self.image_key

        spec = self.spec.to_dict()

        version = self.version

        gpu_count = self.gpu_count

        gpu_model: None | str | Unset
        if isinstance(self.gpu_model, Unset):
            gpu_model = UNSET
        else:
            gpu_model = self.gpu_model

        secret_error: None | str | Unset
        if isinstance(self.secret_error, Unset):
            secret_error = UNSET
        else:
            secret_error = self.secret_error

        secrets: dict[str, Any] | Unset = UNSET
        if not isinstance(self.secrets, Unset):
            secrets = self.secrets.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "app": app,
                "bundle_digest": bundle_digest,
                "container_id": container_id,
                "function": function,
                "function_id": function_id,
                "image_key": image_key,
                "spec": spec,
                "version": version,
            }
        )
        if gpu_count is not UNSET:
            field_dict["gpu_count"] = gpu_count
        if gpu_model is not UNSET:
            field_dict["gpu_model"] = gpu_model
        if secret_error is not UNSET:
            field_dict["secret_error"] = secret_error
        if secrets is not UNSET:
            field_dict["secrets"] = secrets

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.container_spec_secrets import ContainerSpecSecrets  # noqa: PLC0415
        from ..models.container_spec_spec import ContainerSpecSpec  # noqa: PLC0415

        d = dict(src_dict)
        app = d.pop("app")

        bundle_digest = d.pop("bundle_digest")

        container_id = d.pop("container_id")

        function = d.pop("function")

        function_id = d.pop("function_id")

        image_key = d.pop("image_key")

        spec = ContainerSpecSpec.from_dict(d.pop("spec"))

        version = d.pop("version")

        gpu_count = d.pop("gpu_count", UNSET)

        def _parse_gpu_model(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        gpu_model = _parse_gpu_model(d.pop("gpu_model", UNSET))

        def _parse_secret_error(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        secret_error = _parse_secret_error(d.pop("secret_error", UNSET))

        _secrets = d.pop("secrets", UNSET)
        secrets: ContainerSpecSecrets | Unset
        if isinstance(_secrets, Unset):
            secrets = UNSET
        else:
            secrets = ContainerSpecSecrets.from_dict(_secrets)

        container_spec = cls(
            app=app,
            bundle_digest=bundle_digest,
            container_id=container_id,
            function=function,
            function_id=function_id,
            image_key=image_key,
            spec=spec,
            version=version,
            gpu_count=gpu_count,
            gpu_model=gpu_model,
            secret_error=secret_error,
            secrets=secrets,
        )

        container_spec.additional_properties = d
        return container_spec

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
