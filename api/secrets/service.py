"""Creating, listing and deleting secrets, and opening them for the containers that declare them."""

from __future__ import annotations

from collections.abc import Sequence

import msgspec
from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from api.deployments.errors import FieldIssue, InvalidFields
from api.deployments.manifest import env_name_problem
from api.errors import NotFound, PayloadTooLarge, Unavailable
from api.ids import new_id
from api.pagination import page_query, split_page
from api.secrets.crypto import Keyring, Sealed, Undecryptable
from api.secrets.models import Secret
from api.secrets.schemas import SecretCreate, SecretOut

ID_PREFIX = "sec"
MAX_KEYS = 100
MAX_KEY_CHARS = 128
MAX_VALUE_BYTES = 64 * 1024  # all values of one secret together, as UTF-8
NO_KEYS = (
    "secrets are disabled: the server has no encryption key; set SKIFF_SECRET_KEYS to `id:base64key` "
    "(e.g. k1: and 32 random bytes in base64; `skiff up` makes one in its state directory)"
)


class InvalidSecret(InvalidFields):
    summary = "secret is invalid"


class SecretTooLarge(PayloadTooLarge):
    def __init__(self, detail: str, *, limit: str) -> None:
        super().__init__(f"{detail} (limit: {limit})")
        self.limit = limit


def secret_out(secret: Secret) -> SecretOut:
    return SecretOut(
        id=secret.id,
        name=secret.name,
        keys=list(secret.keys),
        created_at=secret.created_at,
        updated_at=secret.updated_at,
    )


def check_values(values: dict[str, str]) -> None:
    """Every key a variable name the sandbox lets a function set; count and size within the limits."""
    if not values:
        raise InvalidSecret([FieldIssue("values", 'at least one variable is required, e.g. {"API_KEY": "…"}')])
    if len(values) > MAX_KEYS:
        raise SecretTooLarge(f"values has {len(values)} variables; at most {MAX_KEYS}", limit="MAX_KEYS")
    issues = []
    for key, value in values.items():
        if len(key) > MAX_KEY_CHARS:
            issues.append(
                FieldIssue(f"values.{key[:64]}…", f"is {len(key)} characters; MAX_KEY_CHARS is {MAX_KEY_CHARS}")
            )
        elif problem := env_name_problem(key):
            issues.append(FieldIssue(f"values.{key}", problem))
        elif "\x00" in value:
            issues.append(FieldIssue(f"values.{key}", "a value cannot contain NUL: environment variables end at it"))
    if issues:
        raise InvalidSecret(issues)
    size = sum(len(value.encode()) for value in values.values())
    if size > MAX_VALUE_BYTES:
        raise SecretTooLarge(
            f"the values are {size} bytes together; at most {MAX_VALUE_BYTES}", limit="MAX_VALUE_BYTES"
        )


class SecretService:
    def __init__(self, session: AsyncSession, keyring: Keyring) -> None:
        self.session = session
        self.keyring = keyring

    async def put(self, workspace_id: str, spec: SecretCreate) -> Secret:
        """Create the secret, or replace its values (sealed with the current key) if it exists."""
        check_values(spec.values)
        if not self.keyring.enabled:
            raise Unavailable(NO_KEYS, retry_after=60)
        sealed = self.keyring.seal(workspace_id, spec.name, msgspec.json.encode(spec.values))
        fields = dict(keys=sorted(spec.values), key_id=sealed.key_id, nonce=sealed.nonce, ciphertext=sealed.ciphertext)
        upsert = (
            insert(Secret)
            .values(id=new_id(ID_PREFIX), workspace_id=workspace_id, name=spec.name, **fields)
            .on_conflict_do_update(
                index_elements=[Secret.workspace_id, Secret.name], set_={**fields, "updated_at": func.now()}
            )
            .returning(Secret)
        )
        secret: Secret = (await self.session.scalars(upsert, execution_options={"populate_existing": True})).one()
        return secret

    async def list(self, workspace_id: str, cursor: str | None, limit: int) -> tuple[list[Secret], str | None]:
        stmt = page_query(select(Secret).where(Secret.workspace_id == workspace_id), Secret.id, cursor, limit)
        rows = (await self.session.scalars(stmt)).all()
        return split_page(rows, limit, lambda s: s.id)

    async def delete(self, workspace_id: str, name: str) -> Secret:
        deleted: Secret | None = await self.session.scalar(
            delete(Secret).where(Secret.workspace_id == workspace_id, Secret.name == name).returning(Secret)
        )
        if deleted is None:
            raise NotFound(f"secret {name[:64]!r} not found")
        return deleted


async def open_secrets(
    session: AsyncSession, keyring: Keyring, workspace_id: str, names: Sequence[str]
) -> tuple[dict[str, str], str | None]:
    """The variables of the named secrets, later names winning on a shared key, or why they cannot
    be given: a secret that does not exist or does not decrypt makes the container's start fail."""
    if not names:
        return {}, None
    rows = (
        await session.scalars(select(Secret).where(Secret.workspace_id == workspace_id, Secret.name.in_(names)))
    ).all()
    by_name = {row.name: row for row in rows}
    values: dict[str, str] = {}
    for name in names:
        row = by_name.get(name)
        if row is None:
            return (
                {},
                f"secret {name!r} not found in this workspace; create it with `skiff secret create {name} KEY=VALUE`",
            )
        try:
            plaintext = keyring.open(workspace_id, name, Sealed(row.key_id, row.nonce, row.ciphertext))
        except Undecryptable as exc:
            return {}, f"secret {name!r} cannot be decrypted: {exc}"
        values.update(msgspec.json.decode(plaintext, type=dict[str, str]))
    return values, None
