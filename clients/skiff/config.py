"""Client configuration: named profiles (URL, token, workspace) in `~/.config/skiff/config.toml`.

The file is private to its owner (mode 0600) because it holds tokens. Writing a profile keeps
every other profile and setting in the file.
"""

from __future__ import annotations

import os
import re
import tempfile
import tomllib
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

DEFAULT_PROFILE = "default"
_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


class ConfigError(RuntimeError):
    """The config file cannot be read or written; the message names the file."""


@dataclass(frozen=True)
class Profile:
    """Where a client connects and as whom."""

    url: str
    token: str
    workspace: str


def config_path() -> Path:
    """`$XDG_CONFIG_HOME/skiff/config.toml`, or `~/.config/skiff/config.toml`."""
    base = os.environ.get("XDG_CONFIG_HOME", "")
    root = Path(base) if base and Path(base).is_absolute() else Path.home() / ".config"
    return root / "skiff" / "config.toml"


def load_config(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}; fix or remove the file") from exc


def save_profile(name: str, profile: Profile, path: Path) -> str:
    """Write `profile` as `[profiles.<name>]`; returns the active profile's name.

    The profile becomes active unless another existing profile already is (that choice is the user's).
    """
    document = load_config(path)
    profiles = document.setdefault("profiles", {})
    if not isinstance(profiles, dict):
        raise ConfigError(f"{path}: `profiles` must be a table")
    profiles[name] = {"url": profile.url, "token": profile.token, "workspace": profile.workspace}
    active = document.get("active")
    if not isinstance(active, str) or active not in profiles:
        document["active"] = active = name
    write_private(path, dump_toml(document))
    return active


def write_private(path: Path, text: str) -> None:
    """Replace `path` atomically with `text`, readable by its owner only."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # created 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        Path(temporary).replace(path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def dump_toml(document: dict[str, Any]) -> str:
    """TOML for the values `tomllib` produces; plain values before tables, as TOML requires."""
    lines: list[str] = []
    _dump_table(document, [], lines)
    return "\n".join(lines).lstrip("\n") + "\n"


def _dump_table(table: dict[str, Any], prefix: list[str], lines: list[str]) -> None:
    tables = {k: v for k, v in table.items() if isinstance(v, dict)}
    plain = {k: v for k, v in table.items() if not isinstance(v, dict)}
    if prefix and (plain or not tables):
        lines += ["", "[" + ".".join(_key(p) for p in prefix) + "]"]
    lines += [f"{_key(k)} = {_value(v)}" for k, v in plain.items()]
    for key, sub in tables.items():
        _dump_table(sub, [*prefix, key], lines)


def _key(key: str) -> str:
    return key if _BARE_KEY.match(key) else _string(key)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + "}"
    raise ConfigError(f"cannot write a {type(value).__name__} to TOML")


def _string(text: str) -> str:
    escaped = []
    for char in text:
        if char in '"\\':
            escaped.append("\\" + char)
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            escaped.append(f"\\u{ord(char):04x}")  # TOML forbids raw control characters in strings
        else:
            escaped.append(char)
    return '"' + "".join(escaped) + '"'
