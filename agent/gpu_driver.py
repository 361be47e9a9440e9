"""The NVIDIA driver's user-space libraries as a GPU container's loader must find them.

CUDA programs (torch among them) load ``libcuda.so.1`` by name. On the node the loader finds it
through /etc/ld.so.cache or LD_LIBRARY_PATH; a sandbox has neither (rootfs.py: no /etc, a fixed
environment), so its loader searches only its built-in system directories. Where the driver lives
elsewhere (many GPU images keep it in /usr/local/nvidia/lib64), a GPU container gets that directory
in LD_LIBRARY_PATH, and a read-only bind when the sandbox's /usr and /lib would not show it.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import re
import subprocess
import sysconfig
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from agent.sandbox import rootfs
from agent.sandbox.interface import Bind

LIBCUDA = "libcuda.so.1"
RTLD_DI_LINKMAP = 2
_SEARCHED = re.compile(r"^\s+(/\S*) \(system search path\)$", re.MULTILINE)


class _LinkMap(ctypes.Structure):
    """The leading fields of glibc's `struct link_map`: what dlinfo(RTLD_DI_LINKMAP) points at."""

    _fields_ = [("l_addr", ctypes.c_void_p), ("l_name", ctypes.c_char_p)]


def library_path(name: str) -> Path | None:
    """Where this process's loader finds the library `name` (the path it opened, links kept);
    None when it cannot load it."""
    try:
        library = ctypes.CDLL(name, mode=os.RTLD_LAZY | os.RTLD_LOCAL)
        dlinfo = ctypes.CDLL(None).dlinfo  # in libc since glibc 2.34, in libdl (linked by Python) before
    except (OSError, AttributeError):
        return None
    link = ctypes.POINTER(_LinkMap)()
    if dlinfo(ctypes.c_void_p(library._handle), RTLD_DI_LINKMAP, ctypes.byref(link)) != 0 or not link:
        return None
    found = link.contents.l_name
    return Path(os.fsdecode(found)) if found else None


@functools.cache
def loader_search_path() -> tuple[Path, ...]:
    """The loader's built-in system directories: all a loader without /etc/ld.so.cache searches.
    Read from `ld.so --help` (glibc 2.33 and later); before that, glibc's usual ones."""
    loaders = sorted({*Path("/lib64").glob("ld-linux*.so.*"), *Path("/lib").glob("ld-linux*.so.*")})
    for loader in loaders:
        with contextlib.suppress(OSError, subprocess.TimeoutExpired):  # not runnable: the next, or the usual
            shown = subprocess.run([loader, "--help"], capture_output=True, text=True, timeout=10, check=False)
            if found := _SEARCHED.findall(shown.stdout):
                return tuple(Path(d) for d in found)
    multiarch = sysconfig.get_config_var("MULTIARCH")
    usual = [f"/lib/{multiarch}", f"/usr/lib/{multiarch}"] if multiarch else []
    return tuple(Path(d) for d in [*usual, "/lib64", "/usr/lib64", "/lib", "/usr/lib"])


@dataclass(frozen=True, slots=True)
class DriverLibraries:
    """Where this node's NVIDIA driver libraries are, and what a GPU container needs to load them."""

    directory: Path
    searched: bool  # a sandbox's loader searches it unasked
    visible: bool  # the sandbox's system binds show it

    def env(self, declared: Mapping[str, str]) -> dict[str, str]:
        """LD_LIBRARY_PATH for a GPU container, ahead of any the function declares."""
        if self.searched:
            return {}
        own = declared.get("LD_LIBRARY_PATH")
        return {"LD_LIBRARY_PATH": f"{self.directory}:{own}" if own else str(self.directory)}

    def binds(self) -> tuple[Bind, ...]:
        return () if self.visible else (Bind(self.directory, str(self.directory)),)


def driver_libraries(directory: Path | None = None) -> DriverLibraries | None:
    """The driver's libraries: in `directory` when given, else where this process's loader finds
    libcuda.so.1; None when it finds none."""
    if directory is None:
        found = library_path(LIBCUDA)
        if found is None:
            return None
        directory = found.parent
    real = directory.resolve()
    searched = any(real == system.resolve() for system in loader_search_path())
    _, system_binds = rootfs.system_layout()
    visible = any(real == b.source.resolve() or b.source.resolve() in real.parents for b in system_binds)
    return DriverLibraries(directory, searched, visible)
