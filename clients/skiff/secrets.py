"""Secrets of the workspace: named sets of environment variables, encrypted by the server.

`skiff.Secret.from_name("db")` in `@app.function(secrets=[...])` gives the function's containers the
secret's variables; `create`, `list_all` and `delete` manage them (values go in, never come back).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from skiff.connection import Connection, default_connection, every_item
from skiff.exceptions import InvalidRequest
from skiff_client.api.secrets import create_secret, delete_secret, list_secrets
from skiff_client.models.secret_create import SecretCreate
from skiff_client.models.secret_create_values import SecretCreateValues
from skiff_client.models.secret_out import SecretOut
from skiff_client.models.secret_page import SecretPage
from skiff_client.types import Unset

SECRET_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")


@dataclass(frozen=True)
class Secret:
    """A reference to a workspace secret by name; the values stay on the server until a container starts."""

    name: str

    @classmethod
    def from_name(cls, name: str) -> Secret:
        if not isinstance(name, str) or SECRET_NAME.fullmatch(name) is None:
            raise InvalidRequest(
                f"{name!r} is not a secret name: lowercase letters, digits and '-', starting with a letter or digit"
            )
        return cls(name)


def create(name: str, values: Mapping[str, str], *, connection: Connection | None = None) -> SecretOut:
    """Create the secret, or replace all its values; the answer names the variables, not their values."""
    body = SecretCreate(name=name, values=SecretCreateValues.from_dict(dict(values)))
    conn = connection or default_connection()
    # Replacing with the same values is harmless, so a retry is safe.
    return conn.send(lambda c: create_secret.sync_detailed(client=c, body=body), idempotent=True)


def list_all(*, connection: Connection | None = None) -> list[SecretOut]:
    """Every secret of the workspace: names and variable names."""
    conn = connection or default_connection()

    def fetch(cursor: str | Unset) -> SecretPage:
        return conn.send(lambda c: list_secrets.sync_detailed(client=c, cursor=cursor, limit=100), idempotent=True)

    return every_item(fetch)


def delete(name: str, *, connection: Connection | None = None) -> SecretOut:
    """Delete a secret; new containers of functions that declare it fail to start."""
    conn = connection or default_connection()
    return conn.send(lambda c: delete_secret.sync_detailed(name, client=c), idempotent=False)
