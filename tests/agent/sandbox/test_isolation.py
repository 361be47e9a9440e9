"""What user code can see and reach from inside the sandbox (TESTPLAN S1, S2, S3, S9)."""

from __future__ import annotations

import errno
import os
import socket
import stat
import uuid
from pathlib import Path

import pytest

from agent.container import ContainerStartError
from agent.sandbox.rootfs import FIXED_ENV
from tests.agent.sandbox.conftest import StartContainer, call, result_of

PROBE_FILES = """
import os

def main(paths, canary):
    seen = {}
    for path in paths:
        try:
            with open(path, "rb") as handle:
                seen[path] = "read " + str(len(handle.read()))
        except OSError as exc:
            seen[path] = type(exc).__name__
    leaks = [k for k, v in os.environ.items() if canary in v]
    for pid in [p for p in os.listdir("/proc") if p.isdigit()]:
        for name in ("environ", "cmdline"):
            try:
                with open("/proc/%s/%s" % (pid, name), "rb") as handle:
                    if canary.encode() in handle.read():
                        leaks.append("/proc/%s/%s" % (pid, name))
            except OSError:
                pass
    for top in ("/app", "/etc", "/tmp", "/opt", "/root", "/home", "/var", "/work"):
        for folder, _, files in os.walk(top):
            for name in files:
                try:
                    with open(os.path.join(folder, name), "rb") as handle:
                        if canary.encode() in handle.read():
                            leaks.append(os.path.join(folder, name))
                except OSError:
                    pass
    with open("/proc/1/cmdline", "rb") as handle:
        init_cmdline = handle.read().decode()
    return {"seen": seen, "leaks": leaks, "root": sorted(os.listdir("/")), "init_cmdline": init_cmdline,
            "etc": sorted(os.listdir("/etc"))}
"""


async def test_s1_host_files_agent_secrets_and_environment_are_out_of_reach(
    start_container: StartContainer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    canary = f"canary-{uuid.uuid4().hex}"
    monkeypatch.setenv("SKIFF_NODE_TOKEN", canary)  # what a real agent keeps in its environment
    token_file = tmp_path / "agent-state" / "node-token"
    token_file.parent.mkdir()
    token_file.write_text(canary)
    assert Path("/etc/shadow").exists(), "the host must have the file the test tries to read"
    container = await start_container(PROBE_FILES)
    paths = ["/etc/shadow", str(token_file), "/root/.bashrc", "/proc/1/environ", "/etc/hostname"]
    found = result_of(await container.run(call(paths, canary)))
    assert found["leaks"] == []
    assert found["seen"]["/etc/shadow"] == "FileNotFoundError"
    assert found["seen"][str(token_file)] == "FileNotFoundError"
    assert found["seen"]["/root/.bashrc"] == "FileNotFoundError"
    assert found["seen"]["/proc/1/environ"] == "read 0"  # bwrap itself was started with no environment
    assert found["etc"] == ["group", "hosts", "passwd"]  # synthetic files only, nothing of the host's /etc
    assert set(found["root"]) <= {"app", "bin", "dev", "etc", "lib", "lib32", "lib64", "libx32", "opt", "proc"} | {
        "sbin",
        "tmp",
        "usr",
    }
    assert str(tmp_path) not in found["init_cmdline"]  # bwrap's options travel in a memfd, not argv


async def test_s1_another_containers_scratch_space_and_processes_are_invisible(
    start_container: StartContainer,
) -> None:
    source = """
    import os

    def write(name):
        with open("/tmp/" + name, "w") as handle:
            handle.write("secret")
        return os.getpid()

    def look(name):
        return {"exists": os.path.exists("/tmp/" + name), "tmp": os.listdir("/tmp"),
                "pids": sorted(int(p) for p in os.listdir("/proc") if p.isdigit())}
    """
    name = f"scratch-{uuid.uuid4().hex}"
    first = await start_container(source, "fn:write")
    second = await start_container(source, "fn:look")
    result_of(await first.run(call(name)))
    seen = result_of(await second.run(call(name)))
    assert seen["exists"] is False and name not in seen["tmp"]
    assert seen["pids"] == [1, 2]  # its own reaper and runtime; nothing of the other container or host


async def test_s2_the_environment_holds_only_fixed_and_declared_variables(
    start_container: StartContainer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGENT_ONLY_SETTING", "not for user code")
    container = await start_container(
        "import os\ndef main():\n    return dict(os.environ)\n", env={"API_KEY": "s3cret", "MODEL": "small"}
    )
    environment = result_of(await container.run(call()))
    assert set(environment) == set(FIXED_ENV) | {"API_KEY", "MODEL", "PWD"}  # PWD: bwrap sets it for --chdir
    assert environment["API_KEY"] == "s3cret"
    assert environment["HOME"] == "/tmp"


PROBE_NETWORK = """
import socket

def attempt(action):
    try:
        action()
        return "ok"
    except OSError as exc:
        return exc.errno if exc.errno is not None else type(exc).__name__

def main(port):
    return {
        "loopback_tcp": attempt(lambda: socket.create_connection(("127.0.0.1", port), timeout=5)),
        "private": attempt(lambda: socket.create_connection(("10.0.0.1", 80), timeout=5)),
        "metadata": attempt(lambda: socket.create_connection(("169.254.169.254", 80), timeout=5)),
        "dns": attempt(lambda: socket.getaddrinfo("example.com", 443)),
        "interfaces": [name for _, name in socket.if_nameindex()],
    }
"""


async def test_s3_no_network_no_loopback_services_no_dns(start_container: StartContainer) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.setblocking(False)
        container = await start_container(PROBE_NETWORK)
        reached = result_of(await container.run(call(listener.getsockname()[1])))
        with pytest.raises(BlockingIOError):
            listener.accept()  # nothing ever connected to the host's listener
    assert reached["loopback_tcp"] == errno.ECONNREFUSED  # the sandbox's own, empty, loopback
    assert reached["private"] == errno.ENETUNREACH
    assert reached["metadata"] == errno.ENETUNREACH
    assert reached["dns"] in (socket.EAI_AGAIN, socket.EAI_NONAME)  # getaddrinfo fails: no resolver, no route
    assert reached["interfaces"] == ["lo"]


PROBE_PRIVILEGES = """
import ctypes, fcntl, os, termios

PTRACE_ATTACH = 16
CLONE_NEWUSER = 0x10000000

def main():
    libc = ctypes.CDLL(None, use_errno=True)
    def call(function, *args):
        return function(*args), ctypes.get_errno()
    found = {"ptrace_pid1": call(libc.ptrace, PTRACE_ATTACH, 1, 0, 0)}
    child = os.fork()
    if child == 0:
        __import__("time").sleep(30)
        os._exit(0)
    found["ptrace_child"] = call(libc.ptrace, PTRACE_ATTACH, child, 0, 0)
    os.kill(child, 9)
    os.waitpid(child, 0)
    found["unshare_user"] = call(libc.unshare, CLONE_NEWUSER)
    found["mount"] = call(libc.mount, b"none", b"/tmp", b"tmpfs", 0, None)
    found["uid"] = os.getuid()
    try:
        os.setuid(0)  # back to root inside: the user namespace maps the sandbox's own user only
        found["setuid"] = "allowed"
    except OSError as exc:
        found["setuid"] = exc.errno
    status = dict(line.split(":\\t") for line in open("/proc/self/status").read().splitlines() if ":\\t" in line)
    found["caps"] = {name: status[name] for name in ("CapEff", "CapPrm", "CapBnd", "CapAmb")}
    found["no_new_privs"] = status["NoNewPrivs"]
    try:
        os.open("/dev/tty", os.O_RDWR)
        found["tty"] = "opened"
    except OSError as exc:
        found["tty"] = exc.errno
    try:
        fcntl.ioctl(0, termios.TIOCSTI, b"x")
        found["tiocsti"] = "allowed"
    except OSError as exc:
        found["tiocsti"] = exc.errno
    return found
"""


async def test_s9_ptrace_setuid_user_namespaces_mounts_and_tiocsti_are_refused(
    start_container: StartContainer,
) -> None:
    container = await start_container(PROBE_PRIVILEGES)
    found = result_of(await container.run(call()))
    assert found["ptrace_pid1"] == [-1, errno.EPERM]  # seccomp: pid 1 is bwrap's reaper, same uid
    assert found["ptrace_child"] == [-1, errno.EPERM]
    assert found["unshare_user"][0] == -1  # --disable-userns
    assert found["mount"] == [-1, errno.EPERM]
    assert found["uid"] == 1000 and found["setuid"] in (errno.EPERM, errno.EINVAL)
    assert set(found["caps"].values()) == {"0000000000000000"}
    assert found["no_new_privs"] == "1"
    assert found["tty"] == errno.ENXIO  # --new-session: no controlling terminal to inject into
    assert found["tiocsti"] in (errno.ENOTTY, errno.EPERM, errno.EIO)


PROBE_DEVICES = """
import os, stat

def main(paths):
    found = {}
    for path in paths:
        try:
            mode = os.stat(path).st_mode
        except OSError as exc:
            found[path] = type(exc).__name__
            continue
        with open(path, "wb") as handle:
            handle.write(b"written")
        found[path] = "char device, written" if stat.S_ISCHR(mode) else "not a device"
    return found
"""


async def test_s12_only_the_listed_devices_are_bound_and_they_are_writable(
    start_container: StartContainer, tmp_path: Path
) -> None:
    # a GPU node binds /dev/nvidiaN; here a node with /dev/null's numbers stands in for one
    fake_gpu = tmp_path / "nvidia-fake0"
    os.mknod(fake_gpu, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    assert Path("/dev/kmsg").exists(), "the host must have the device the test expects to stay hidden"
    container = await start_container(PROBE_DEVICES, devices=(fake_gpu, Path("/dev/null")))
    found = result_of(await container.run(call([str(fake_gpu), "/dev/null", "/dev/kmsg"])))
    assert found == {
        str(fake_gpu): "char device, written",
        "/dev/null": "char device, written",
        "/dev/kmsg": "FileNotFoundError",
    }


async def test_s12_a_device_missing_on_the_node_fails_the_start_by_name(start_container: StartContainer) -> None:
    with pytest.raises(ContainerStartError, match="device /dev/nvidia9 is not available on this node"):
        await start_container("def main():\n    pass\n", devices=(Path("/dev/nvidia9"),))
