"""Encrypting secret values: AES-GCM under a keyring read from `SKIFF_SECRET_KEYS`.

The setting is `id:base64key[,id:base64key…]`: the first key encrypts, every key decrypts, so a
key is rotated by putting a new one first and keeping the old ones until every secret is rewritten.
The workspace id and the secret's name are the associated data: a ciphertext copied to another
workspace's row, or under another name, does not decrypt.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

NONCE_BYTES = 12
KEY_BYTES = (16, 24, 32)
_KEY_ID = re.compile(r"[A-Za-z0-9_-]{1,32}")


class KeyringError(ValueError):
    """`SKIFF_SECRET_KEYS` is malformed; the message says how to write it."""


class Undecryptable(Exception):
    """The ciphertext's key is not configured, or the ciphertext does not belong to this row."""


@dataclass(frozen=True)
class Sealed:
    key_id: str
    nonce: bytes
    ciphertext: bytes


def new_key_setting(key_id: str = "k1") -> str:
    """A fresh 256-bit key written as one `SKIFF_SECRET_KEYS` entry."""
    return f"{key_id}:{base64.b64encode(AESGCM.generate_key(bit_length=256)).decode()}"


def associated_data(workspace_id: str, name: str) -> bytes:
    return f"skiff-secret\x00{workspace_id}\x00{name}".encode()


class Keyring:
    def __init__(self, keys: list[tuple[str, bytes]]) -> None:
        self._order = [key_id for key_id, _ in keys]
        self._ciphers = {key_id: AESGCM(key) for key_id, key in keys}

    @classmethod
    def from_setting(cls, setting: str) -> Keyring:
        """Parse `id:base64key,…`; an empty setting gives an empty keyring (secrets disabled)."""
        keys: list[tuple[str, bytes]] = []
        for index, entry in enumerate(part.strip() for part in setting.split(",") if part.strip()):
            key_id, sep, encoded = entry.partition(":")
            if not sep or _KEY_ID.fullmatch(key_id) is None:
                raise KeyringError(
                    f"SKIFF_SECRET_KEYS entry {index + 1} is not `id:base64key` with an id of letters, digits, "
                    "'_' or '-' (at most 32); e.g. k1:<32 random bytes in base64>"
                )
            try:
                key = base64.b64decode(encoded, validate=True)
            except (binascii.Error, ValueError):
                raise KeyringError(f"SKIFF_SECRET_KEYS key {key_id!r} is not valid base64") from None
            if len(key) not in KEY_BYTES:
                raise KeyringError(f"SKIFF_SECRET_KEYS key {key_id!r} is {len(key)} bytes; AES keys are 16, 24 or 32")
            if any(key_id == known for known, _ in keys):
                raise KeyringError(f"SKIFF_SECRET_KEYS names key {key_id!r} twice")
            keys.append((key_id, key))
        return cls(keys)

    @property
    def enabled(self) -> bool:
        return bool(self._order)

    @property
    def current_key_id(self) -> str:
        return self._order[0]

    def seal(self, workspace_id: str, name: str, plaintext: bytes) -> Sealed:
        nonce = os.urandom(NONCE_BYTES)
        key_id = self.current_key_id
        ciphertext = self._ciphers[key_id].encrypt(nonce, plaintext, associated_data(workspace_id, name))
        return Sealed(key_id, nonce, ciphertext)

    def open(self, workspace_id: str, name: str, sealed: Sealed) -> bytes:
        cipher = self._ciphers.get(sealed.key_id)
        if cipher is None:
            raise Undecryptable(f"key {sealed.key_id!r} is not in SKIFF_SECRET_KEYS")
        try:
            return cipher.decrypt(sealed.nonce, sealed.ciphertext, associated_data(workspace_id, name))
        except InvalidTag:
            raise Undecryptable("the ciphertext does not belong to this workspace and name") from None
