"""Request and response bodies of the secrets API. Values go in, never out."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

from api.apps.schemas import APP_NAME_PATTERN

SecretName = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=64,
        pattern=APP_NAME_PATTERN,
        description="Lowercase letters, digits and '-', like app names.",
    ),
]


class SecretCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Create the secret `name`, or replace all its values. `values` become environment variables of
    the containers of functions that declare the secret."""

    name: SecretName
    values: dict[str, str]


class SecretOut(msgspec.Struct, kw_only=True):
    """A secret's name and variable names; its values are never returned."""

    id: str
    name: str
    keys: list[str]
    created_at: datetime
    updated_at: datetime


class SecretPage(msgspec.Struct, kw_only=True):
    items: list[SecretOut]
    next_cursor: str | None
