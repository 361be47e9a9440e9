"""A small seccomp filter for the sandbox: refuse syscalls that reach other processes or the kernel.

Measured here: with --cap-drop ALL and a pid namespace, user code could still ptrace the
sandbox's pid 1 (bwrap's reaper, same uid) and freeze it. The filter makes ptrace and its
relatives fail with EPERM; everything else is allowed. bwrap loads it with --seccomp FD as a
classic BPF program (what libseccomp's seccomp_export_bpf would produce).
"""

from __future__ import annotations

import errno
import platform
import struct

# Linux syscall numbers per architecture (audit arch, "name=number ...").
ARCHITECTURES: dict[str, tuple[int, str]] = {
    "x86_64": (
        0xC000003E,
        "ptrace=101 process_vm_readv=310 process_vm_writev=311 perf_event_open=298 bpf=321 userfaultfd=323 "
        "keyctl=250 add_key=248 request_key=249 kexec_load=246 kexec_file_load=320 init_module=175 "
        "finit_module=313 delete_module=176 open_by_handle_at=304 acct=163 swapon=167 swapoff=168",
    ),
    "aarch64": (
        0xC00000B7,
        "ptrace=117 process_vm_readv=270 process_vm_writev=271 perf_event_open=241 bpf=280 userfaultfd=282 "
        "keyctl=219 add_key=217 request_key=218 kexec_load=104 kexec_file_load=294 init_module=105 "
        "finit_module=273 delete_module=106 open_by_handle_at=265 acct=89 swapon=224 swapoff=225",
    ),
}
X32_SYSCALL_BIT = 0x40000000  # x86_64's x32 ABI numbers would bypass the table above

BPF_LD_W_ABS = 0x20
BPF_JEQ_K = 0x15
BPF_JGE_K = 0x35
BPF_RET_K = 0x06
SECCOMP_RET_ALLOW = 0x7FFF0000
SECCOMP_RET_ERRNO = 0x00050000
OFFSET_NR, OFFSET_ARCH = 0, 4  # in struct seccomp_data
_INSTRUCTION = struct.Struct("=HBBI")


def denylist_program(machine: str | None = None) -> bytes:
    """The filter for this machine's architecture, as bytes for bwrap's --seccomp."""
    machine = machine or platform.machine()
    if machine not in ARCHITECTURES:
        raise ValueError(f"no seccomp syscall table for {machine}; known: {', '.join(ARCHITECTURES)}")
    audit_arch, table = ARCHITECTURES[machine]
    denied = sorted({int(entry.partition("=")[2]) for entry in table.split()})
    checks = [(BPF_JEQ_K, number) for number in denied]
    if machine == "x86_64":
        checks.insert(0, (BPF_JGE_K, X32_SYSCALL_BIT))
    # layout: load arch, jump to deny unless native, load nr, checks..., allow, deny
    deny_at = 3 + len(checks) + 1
    program = [(BPF_LD_W_ABS, 0, 0, OFFSET_ARCH), (BPF_JEQ_K, 0, deny_at - 2, audit_arch)]
    program.append((BPF_LD_W_ABS, 0, 0, OFFSET_NR))
    for index, (code, value) in enumerate(checks):
        program.append((code, deny_at - (3 + index) - 1, 0, value))
    program.append((BPF_RET_K, 0, 0, SECCOMP_RET_ALLOW))
    program.append((BPF_RET_K, 0, 0, SECCOMP_RET_ERRNO | errno.EPERM))
    return b"".join(_INSTRUCTION.pack(*instruction) for instruction in program)
