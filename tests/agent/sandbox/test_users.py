"""Host users for sandboxes: the range, one uid per function, what the sandbox's user can reach, and
how the agent's setting is chosen (real bwrap, real directories and permissions)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from agent.sandbox import access, users
from agent.sandbox.bwrap import BWRAP
from agent.sandbox.users import SandboxUsers, SandboxUsersError, UidRange

UID = users.DEFAULT_FIRST_UID + 7


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1000", "expected START:COUNT"),
        ("a:b", "expected START:COUNT"),
        ("0:10", "START must be at least 1"),
        ("5:0", "COUNT at least 1"),
        (f"{users.MAX_UID}:2", f"at or below {users.MAX_UID}"),
    ],
)
def test_a_bad_range_is_refused_naming_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(SandboxUsersError, match=message):
        UidRange.parse(text)


def test_a_range_parses() -> None:
    assert UidRange.parse(users.DEFAULT_RANGE) == UidRange(users.DEFAULT_FIRST_UID, users.DEFAULT_UID_COUNT)
    assert UidRange.parse(f"{users.MAX_UID}:1") == UidRange(users.MAX_UID, 1)


def test_each_function_keeps_its_own_uid_until_the_range_is_used_up() -> None:
    chosen = SandboxUsers(UidRange(5000, 3), offset=4)  # starts at the offset, within the range
    assert [chosen.uid_for(key) for key in ("a", "b", "a", "c", "b")] == [5001, 5002, 5001, 5000, 5002]
    assert chosen.uid_for("d") == 5001  # the range is used up: uids are shared in turn
    assert SandboxUsers(None).uid_for("a") is None


def test_a_path_behind_a_private_directory_is_unreachable(open_tmp: Path) -> None:
    private = open_tmp / "private"
    (private / "inside").mkdir(parents=True)
    private.chmod(0o700)
    assert access.unreachable(private / "inside", UID) == f"{private} is mode 0700, owned by uid 0"
    assert access.unreachable(open_tmp, UID) is None
    os.chown(private, UID, UID)  # its owner may enter it
    assert access.unreachable(private / "inside", UID) is None
    os.chown(private, 0, UID)
    private.chmod(0o750)  # and its group
    assert access.unreachable(private / "inside", UID) is None


def test_a_file_others_cannot_read_is_unreachable_and_so_is_a_missing_one(open_tmp: Path) -> None:
    secret = open_tmp / "secret.py"
    secret.write_text("x = 1\n")
    secret.chmod(0o600)
    assert access.unreachable(secret, UID) == f"{secret} is mode 0600, owned by uid 0"
    secret.chmod(0o644)
    assert access.unreachable(secret, UID) is None
    assert access.unreachable(open_tmp / "missing", UID) == f"{open_tmp / 'missing'}: No such file or directory"


def test_a_symlink_is_judged_on_both_paths(open_tmp: Path) -> None:
    private = open_tmp / "private"
    (private / "target").mkdir(parents=True)
    private.chmod(0o700)
    link = open_tmp / "link"
    link.symlink_to(private / "target")
    assert access.unreachable(link, UID) == f"{private} is mode 0700, owned by uid 0"


@pytest.fixture
def as_root() -> None:
    if os.geteuid() != 0 or shutil.which(BWRAP) is None:
        pytest.skip("choosing other users for sandboxes needs root and bubblewrap")


@pytest.mark.usefixtures("as_root")
def test_bwrap_runs_as_a_user_of_the_range() -> None:
    assert users.probe(UID) is None


@pytest.mark.usefixtures("as_root")
def test_auto_takes_the_range_when_its_users_reach_everything(open_tmp: Path) -> None:
    chosen, fallback = users.choose(users.AUTO, [open_tmp], offset=3)
    assert fallback is None and chosen.uids == UidRange(users.DEFAULT_FIRST_UID, users.DEFAULT_UID_COUNT)
    assert chosen.uid_for("f") == users.DEFAULT_FIRST_UID + 3


@pytest.mark.usefixtures("as_root")
def test_auto_falls_back_to_the_agents_user_saying_why_and_an_explicit_range_refuses(open_tmp: Path) -> None:
    private = open_tmp / "private"
    (private / "state").mkdir(parents=True)
    private.chmod(0o700)
    chosen, fallback = users.choose(users.AUTO, [open_tmp, private / "state"])
    assert chosen.uids is None and chosen.uid_for("f") is None
    assert fallback == (
        f"an unprivileged sandbox user cannot reach what sandboxes need: {private} is mode 0700, owned by uid 0"
    )
    with pytest.raises(SandboxUsersError, match=rf"sandbox uids 7000:5: .*{private} is mode 0700"):
        users.choose("7000:5", [private / "state"])
    chosen, fallback = users.choose(users.AGENT, [private / "state"])
    assert chosen.uids is None and fallback is None
