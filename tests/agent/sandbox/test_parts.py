"""The sandbox's small parts on their own: output capping, exit reasons, bwrap flags, seccomp."""

from __future__ import annotations

import os
import signal
import stat
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from agent.container import ContainerSpec
from agent.sandbox import seccomp
from agent.sandbox.bwrap import SandboxStartError, bwrap_arguments, check_devices, check_sources, proc_arguments
from agent.sandbox.interface import Bind, ExitKind, ExitStatus, Limits, MiB, ProcView, SandboxSpec
from agent.sandbox.output import MAX_LINE_BYTES, CappedOutput
from agent.sandbox.rootfs import ProcCover, proc_cover
from agent.zygote_pool import zygote_identity


def test_output_keeps_head_and_tail_with_a_marker_between() -> None:
    output = CappedOutput("stdout", limit=20, log_limit=0)
    for chunk in (b"0123456789", b"abcdefghij", b"KLMNOPQRST", b"uvwxyz"):
        output.feed(chunk)
    assert output.truncated_bytes == 16
    assert output.getvalue() == b"0123456789\n[skiff: 16 bytes truncated]\nQRSTuvwxyz"


def test_output_under_the_limit_is_kept_whole() -> None:
    output = CappedOutput("stdout", limit=100, log_limit=0)
    output.feed(b"short\n")
    assert (output.getvalue(), output.truncated_bytes) == (b"short\n", 0)


def test_the_log_sink_gets_whole_lines_until_its_budget_runs_out() -> None:
    lines: list[tuple[str, bytes]] = []
    output = CappedOutput("stderr", limit=1000, log_limit=20, sink=lambda s, line: lines.append((s, line)))
    output.feed(b"first li")
    output.feed(b"ne\nsecond\nthird line is long\nnever\n")
    output.close()
    assert lines == [
        ("stderr", b"first line"),
        ("stderr", b"second"),
        ("stderr", b"[skiff: log limit reached; further output is not streamed]"),
    ]


def test_a_line_without_newlines_reaches_the_sink_in_pieces() -> None:
    lines: list[bytes] = []
    output = CappedOutput("stdout", limit=10, log_limit=10 * MiB, sink=lambda _s, line: lines.append(line))
    output.feed(b"y" * (MAX_LINE_BYTES * 2 + 5))
    output.close()
    assert [len(line) for line in lines] == [MAX_LINE_BYTES, MAX_LINE_BYTES, 5]


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (ExitStatus(ExitKind.EXITED, exit_code=0), "exited cleanly"),
        (ExitStatus(ExitKind.EXIT_CODE, exit_code=3), "exit code 3"),
        (ExitStatus(ExitKind.SIGNALED, signal=signal.SIGSEGV), "killed by SIGSEGV"),
        (ExitStatus(ExitKind.OOM, detail="limit 512 MiB"), "out of memory (limit 512 MiB)"),
        (ExitStatus(ExitKind.TIMED_OUT, detail="limit 30 s"), "timed out (limit 30 s)"),
        (ExitStatus(ExitKind.CANCELLED, detail="input c1 was cancelled"), "cancelled (input c1 was cancelled)"),
        (ExitStatus(ExitKind.KILLED), "killed"),
    ],
)
def test_exit_reasons_read_well(status: ExitStatus, reason: str) -> None:
    assert status.reason == reason


def test_the_launcher_uses_every_flag_the_design_requires() -> None:
    spec = SandboxSpec("c1", ["/usr/bin/python3", "-c", "pass"], Path("/usr/bin/python3"), limits=Limits(tmp_bytes=MiB))
    args = bwrap_arguments(spec, info_fd=10, block_fd=11, seccomp_fd=12, etc_fds={"/etc/passwd": 13})
    for flag in ("--unshare-all", "--unshare-user", "--disable-userns", "--die-with-parent", "--new-session"):
        assert flag in args
    joined = " ".join(args)
    assert "--cap-drop ALL" in joined
    assert f"--size {MiB} --tmpfs /tmp" in joined
    assert "--share-net" not in args
    assert "--remount-ro /" in joined
    assert "--seccomp 12" in joined
    binds = {args[i + 1] for i, arg in enumerate(args) if arg in ("--bind", "--ro-bind", "--dev-bind")}
    assert "--bind" not in args and "--dev-bind" not in args  # nothing of the host is writable
    assert not binds & {"/etc", "/home", "/root", "/", "/var", "/proc", "/sys"}


def test_the_proc_cover_hides_what_the_host_keeps_to_root_and_keeps_sysctls_read_only(tmp_path: Path) -> None:
    proc = tmp_path / "proc"  # a directory laid out like /proc, modes included
    for name, mode in [("slabinfo", 0o400), ("meminfo", 0o444), ("keys", 0o444), ("kcore", 0o400)]:
        (proc / name).parent.mkdir(exist_ok=True)
        (proc / name).touch(mode)
    for name in ("sys", "fs", "acpi", "driver", "1234"):
        (proc / name).mkdir()
    (proc / "4321").touch(0o400)  # a pid's entries are the sandbox's own
    (proc / "self").symlink_to("1234")
    cover = proc_cover.__wrapped__(proc)
    assert cover == ProcCover(
        hidden_files=("/proc/kcore", "/proc/keys", "/proc/slabinfo"),
        hidden_dirs=("/proc/acpi",),
        read_only=("/proc/fs", "/proc/sys"),
    )
    args = proc_arguments(cover, [ProcView("/proc/driver/nvidia/gpus", ("0000:3b:00.0",))])
    assert " ".join(args) == (
        "--ro-bind /dev/null /proc/kcore --ro-bind /dev/null /proc/keys --ro-bind /dev/null /proc/slabinfo "
        "--tmpfs /proc/acpi --remount-ro /proc/acpi --ro-bind /proc/fs /proc/fs --ro-bind /proc/sys /proc/sys "
        "--tmpfs /proc/driver/nvidia/gpus "
        "--ro-bind /proc/driver/nvidia/gpus/0000:3b:00.0 /proc/driver/nvidia/gpus/0000:3b:00.0 "
        "--remount-ro /proc/driver/nvidia/gpus"
    )


def test_the_seccomp_program_is_well_formed_for_known_architectures() -> None:
    for machine in seccomp.ARCHITECTURES:
        program = seccomp.denylist_program(machine)
        assert len(program) % 8 == 0 and len(program) // 8 < 255  # jumps are 8-bit
    with pytest.raises(ValueError, match="no seccomp syscall table for sparc"):
        seccomp.denylist_program("sparc")


def test_devices_are_bound_read_write_under_the_sandboxs_dev_before_it_turns_read_only() -> None:
    gpus = (Path("/dev/nvidia3"), Path("/dev/nvidiactl"), Path("/dev/nvidia-uvm"))
    spec = SandboxSpec("c1", ["/usr/bin/python3"], Path("/usr/bin/python3"), devices=gpus)
    args = bwrap_arguments(spec, info_fd=10, block_fd=11, seccomp_fd=12, etc_fds={})
    bound = [(args[i + 1], args[i + 2]) for i, arg in enumerate(args) if arg == "--dev-bind"]
    assert bound == [(str(d), str(d)) for d in gpus]  # only the listed devices, never /dev as a whole
    first_bind = args.index("--dev-bind")
    read_only_dev = next(i for i, arg in enumerate(args) if arg == "--remount-ro" and args[i + 1] == "/dev")
    assert args.index("--dev") < first_bind < read_only_dev


def test_a_missing_or_non_device_path_is_refused_by_name(tmp_path: Path) -> None:
    check_devices([Path("/dev/null")])
    with pytest.raises(SandboxStartError, match="device /dev/nvidia7 is not available on this node"):
        check_devices([Path("/dev/null"), Path("/dev/nvidia7")])
    (tmp_path / "plain").write_text("")
    with pytest.raises(SandboxStartError, match=f"device {tmp_path / 'plain'} is not a character device"):
        check_devices([tmp_path / "plain"])


def test_a_device_the_sandboxs_user_cannot_open_is_refused_naming_its_mode(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("making a device node needs root")
    device = tmp_path / "nvidia0"
    os.mknod(device, 0o660 | stat.S_IFCHR, os.makedev(1, 3))  # /dev/null's numbers, as NVIDIA's nodes at 0660
    device.chmod(0o660)
    check_devices([device])  # the agent's own user (root) may open it
    with pytest.raises(SandboxStartError) as refused:
        check_devices([device], uid=1_900_000_001)
    assert str(refused.value).startswith(
        f"the sandbox's user (uid 1900000001) cannot open device {device}: {device} is mode 0660, owned by uid 0; "
    )
    device.chmod(0o666)
    check_devices([device], uid=1_900_000_001)


def test_a_bind_the_sandboxs_user_cannot_reach_is_refused_naming_the_directory(tmp_path: Path) -> None:
    """pytest's tmp_path is private to its owner: users of the sandbox range cannot enter it."""
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    private = next(p for p in reversed([tmp_path, *tmp_path.parents]) if p.stat().st_mode & 0o001 == 0)
    spec = SandboxSpec("c1", ["/usr/bin/python3"], Path("/usr/bin/python3"), binds=[Bind(bundle, "/app")])
    check_sources(spec)
    with pytest.raises(SandboxStartError) as refused:
        check_sources(replace(spec, run_as_uid=1_900_000_001))
    assert str(refused.value) == (
        f"cannot bind {bundle} at /app: the sandbox's user (uid 1900000001) cannot reach it: "
        f"{private} is mode 0700, owned by uid {private.stat().st_uid}"
    )


def _spec(**options: Any) -> ContainerSpec:
    return ContainerSpec("c1", Path("/srv/bundle"), "fn:main", python=Path("/usr/bin/python3"), **options)


@pytest.mark.parametrize(
    ("other", "shares"),
    [
        (_spec(env={"MODEL": "small", "CUDA_VISIBLE_DEVICES": "GPU-b"}), True),  # set per container
        (_spec(env={"MODEL": "large", "CUDA_VISIBLE_DEVICES": "GPU-a"}), False),  # declared env, secrets
        (_spec(env={"MODEL": "small"}, devices=(Path("/dev/nvidia1"),)), False),  # its sandbox binds them
        (_spec(env={"MODEL": "small"}, proc_views=(ProcView("/proc/driver/nvidia/gpus", ("0000:3b:00.0",)),)), False),
        (_spec(env={"MODEL": "small"}, preload=("torch",)), False),
        (_spec(env={"MODEL": "small"}, extra_ro_binds=(Bind(Path("/opt/nvidia"), "/opt/nvidia"),)), False),
        (_spec(env={"MODEL": "small"}, limits=Limits(memory_bytes=4 << 30)), True),  # each child's own cgroup
        (_spec(env={"MODEL": "small"}, max_inputs=8), True),
    ],
)
def test_which_containers_share_a_zygote(other: ContainerSpec, shares: bool) -> None:
    base = _spec(env={"MODEL": "small", "CUDA_VISIBLE_DEVICES": "GPU-a"})
    assert (zygote_identity("fn-v1", base) == zygote_identity("fn-v1", other)) is shares
    assert zygote_identity("fn-v1", base) != zygote_identity("fn-v2", base)  # never across versions
