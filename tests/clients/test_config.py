"""Client config: profiles in a private TOML file, written without losing what else is in it."""

from __future__ import annotations

import stat
import tomllib
from pathlib import Path

import pytest

from skiff.config import Profile, config_path, dump_toml, save_profile

LOCAL = Profile(url="http://127.0.0.1:8000", token="sk_local", workspace="default")


def test_a_first_profile_is_written_private_and_active(tmp_path: Path) -> None:
    path = tmp_path / "skiff" / "config.toml"
    assert save_profile("default", LOCAL, path) == "default"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert tomllib.loads(path.read_text()) == {
        "active": "default",
        "profiles": {"default": {"url": "http://127.0.0.1:8000", "token": "sk_local", "workspace": "default"}},
    }


def test_other_profiles_settings_and_the_users_active_choice_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('active = "prod"\ncolor = false\n[profiles.prod]\nurl = "https://skiff.example"\ntoken = "sk_p"\n')
    assert save_profile("default", LOCAL, path) == "prod"
    document = tomllib.loads(path.read_text())
    assert document["active"] == "prod"
    assert document["color"] is False
    assert document["profiles"]["prod"] == {"url": "https://skiff.example", "token": "sk_p"}
    assert document["profiles"]["default"]["token"] == "sk_local"


def test_an_active_profile_that_no_longer_exists_is_replaced(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('active = "gone"\n')
    assert save_profile("default", LOCAL, path) == "default"


@pytest.mark.parametrize(
    "document",
    [
        {"a": 'quote " backslash \\ tab \t newline \n bell \x07 del \x7f é 🚀'},
        {"n": 1, "f": 1.5, "b": True, "list": [1, "two", [3]], "inline": [{"x": 1}]},
        {"top": "first", "t": {"k": "v", "sub": {"deep": {"x": 1}}}, "dotted key": {"ünï": "code"}},
        {"empty": {}},
    ],
)
def test_dump_toml_round_trips(document: dict[str, object]) -> None:
    assert tomllib.loads(dump_toml(document)) == document


def test_config_lives_under_xdg_config_home_when_set(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert config_path() == tmp_path / "skiff" / "config.toml"
    monkeypatch.delenv("XDG_CONFIG_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert config_path() == tmp_path / "home" / ".config" / "skiff" / "config.toml"
