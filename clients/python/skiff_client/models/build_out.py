from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.build_state import BuildState

T = TypeVar("T", bound="BuildOut")


@_attrs_define
class BuildOut:
    """
    Attributes:
        created_at (datetime.datetime):
        finished_at (datetime.datetime | None):
        function (str):
        id (str):
        image_key (str):
        log (str):
        node (None | str):
        node_id (None | str):
        requested (bool):
        seconds (float):
        started_at (datetime.datetime | None):
        state (BuildState):
        succeeded (bool):
    """

    created_at: datetime.datetime
    finished_at: datetime.datetime | None
    function: str
    id: str
    image_key: str
    log: str
    node: None | str
    node_id: None | str
    requested: bool
    seconds: float
    started_at: datetime.datetime | None
    state: BuildState
    succeeded: bool
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        created_at = self.created_at.isoformat()

        finished_at: None | str
        if isinstance(self.finished_at, datetime.datetime):
            finished_at = self.finished_at.isoformat()
        else:
            finished_at = self.finished_at

        function = self.function

        id = self.id

        image_key = self.image_key

        log = self.log

        node: None | str
        node = self.node

        node_id: None | str
        node_id = self.node_id

        requested = self.requested

        seconds = self.seconds

        started_at: None | str
        if isinstance(self.started_at, datetime.datetime):
            started_at = self.started_at.isoformat()
        else:
            started_at = self.started_at

        state = self.state.value

        succeeded = self.succeeded

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "created_at": created_at,
                "finished_at": finished_at,
                "function": function,
                "id": id,
                "image_key": image_key,
                "log": log,
                "node": node,
                "node_id": node_id,
                "requested": requested,
                "seconds": seconds,
                "started_at": started_at,
                "state": state,
                "succeeded": succeeded,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
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

        image_key = d.pop("image_key")

        log = d.pop("log")

        def _parse_node(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        node = _parse_node(d.pop("node"))

        def _parse_node_id(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        node_id = _parse_node_id(d.pop("node_id"))

        requested = d.pop("requested")

        seconds = d.pop("seconds")

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

        state = BuildState(d.pop("state"))

        succeeded = d.pop("succeeded")

        build_out = cls(
            created_at=created_at,
            finished_at=finished_at,
            function=function,
            id=id,
            image_key=image_key,
            log=log,
            node=node,
            node_id=node_id,
            requested=requested,
            seconds=seconds,
            started_at=started_at,
            state=state,
            succeeded=succeeded,
        )

        build_out.additional_properties = d
        return build_out

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
