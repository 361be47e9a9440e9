"""Where GPU containers load the NVIDIA driver from. CI machines have no driver: zlib, found the same
way, stands in for libcuda.so.1 (the sandbox side is in tests/agent/sandbox/test_zygote.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.gpu_driver import LIBCUDA, DriverLibraries, driver_libraries, library_path, loader_search_path
from agent.sandbox.interface import Bind


def test_a_library_is_found_where_this_processs_loader_finds_it() -> None:
    found = library_path("libz.so.1")
    assert found is not None and found.name == "libz.so.1" and found.exists()
    assert found.parent in loader_search_path()  # Debian keeps it in a system directory
    assert library_path("libnot-a-library.so.1") is None


def test_the_loaders_own_search_path_is_read_from_it() -> None:
    searched = loader_search_path()
    assert Path("/usr/lib") in searched and all(path.is_absolute() for path in searched)


@pytest.mark.parametrize(
    ("directory", "searched", "visible"),
    [
        ("/usr/lib/x86_64-linux-gnu", True, True),  # Debian's and Ubuntu's driver packages
        ("/usr/local/nvidia/lib64", False, True),  # many GPU images: under /usr, which sandboxes bind
        ("/opt/nvidia/lib", False, False),  # bound for GPU containers
    ],
)
def test_a_driver_outside_the_loaders_search_path_is_named_and_one_outside_the_system_is_bound(
    directory: str, searched: bool, visible: bool
) -> None:
    libraries = driver_libraries(Path(directory))
    assert libraries == DriverLibraries(Path(directory), searched, visible)
    assert libraries.env({}) == ({} if searched else {"LD_LIBRARY_PATH": directory})
    assert libraries.binds() == (() if visible else (Bind(Path(directory), directory),))


def test_the_drivers_directory_comes_before_one_the_function_declares() -> None:
    libraries = DriverLibraries(Path("/opt/nvidia/lib"), searched=False, visible=False)
    assert libraries.env({"LD_LIBRARY_PATH": "/app/lib"}) == {"LD_LIBRARY_PATH": "/opt/nvidia/lib:/app/lib"}


def test_the_driver_is_looked_for_where_this_processs_loader_finds_libcuda() -> None:
    found = library_path(LIBCUDA)
    libraries = driver_libraries()
    if found is None:  # a machine without an NVIDIA driver (CI): nothing to add
        assert libraries is None
    else:
        assert libraries is not None and libraries.directory == found.parent
