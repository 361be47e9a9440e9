"""Sandbox backends: run a command isolated from the host, within limits, and say why it ended.

``interface`` is what every backend offers; ``bwrap`` is the bubblewrap backend (the default),
with ``cgroups`` for limits, ``output`` for capped stdout/stderr, ``rootfs`` for what the sandbox
sees and ``seccomp`` for the syscalls it may not make.
"""

from agent.sandbox.bwrap import BwrapSandbox, SandboxStartError
from agent.sandbox.interface import Bind, ExitKind, ExitStatus, Limits, LogSink, Sandbox, SandboxSpec

__all__ = [
    "Bind",
    "BwrapSandbox",
    "ExitKind",
    "ExitStatus",
    "Limits",
    "LogSink",
    "Sandbox",
    "SandboxSpec",
    "SandboxStartError",
]
