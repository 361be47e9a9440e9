"""What user code can see and reach from inside the sandbox (TESTPLAN S1, S2, S3, S9, S10, S12, and S14's
stand-ins: a GPU node's device files and its driver's /proc list of GPUs)."""

from __future__ import annotations

import errno
import os
import socket
import stat
import uuid
from pathlib import Path

import pytest

from agent import runtime_files
from agent.container import Container, ContainerSpec, ContainerStartError
from agent.sandbox import rootfs
from agent.sandbox.bwrap import BwrapSandbox
from agent.sandbox.interface import ProcView
from agent.sandbox.rootfs import FIXED_ENV
from agent.sandbox.users import DEFAULT_FIRST_UID
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


async def test_s14_stand_in_only_the_listed_devices_are_bound_and_they_are_writable(
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


async def test_s14_stand_in_a_device_missing_on_the_node_fails_the_start_by_name(
    start_container: StartContainer,
) -> None:
    with pytest.raises(ContainerStartError, match="device /dev/nvidia9 is not available on this node"):
        await start_container("def main():\n    pass\n", devices=(Path("/dev/nvidia9"),))


async def test_s14_stand_in_a_proc_directory_lists_only_the_entries_the_container_is_given(
    start_container: StartContainer,
) -> None:
    # A GPU node shows a container only its own GPUs' entries of /proc/driver/nvidia/gpus; here
    # /proc/irq, a directory of per-device entries every Linux has, stands in for it.
    irqs = sorted(entry.name for entry in Path("/proc/irq").iterdir() if entry.name.isdigit())
    assert len(irqs) >= 2, "the host must have more than one entry to hide"
    source = (
        "import os\n"
        "def main(kept):\n"
        "    return {'listed': sorted(os.listdir('/proc/irq')), 'kept': os.listdir('/proc/irq/' + kept)}\n"
    )
    container = await start_container(source, proc_views=(ProcView("/proc/irq", (irqs[0],)),))
    found = result_of(await container.run(call(irqs[0])))
    assert found["listed"] == [irqs[0]]
    assert sorted(found["kept"]) == sorted(
        entry.name for entry in Path(f"/proc/irq/{irqs[0]}").iterdir()
    )  # the kept entry is whole


PROBE_PROC = """
import errno, os

def write_back(path):
    try:
        with open(path) as handle:
            current = handle.read()
        with open(path, "w") as handle:
            handle.write(current)  # its own value: harmless should the write go through
        return "written"
    except OSError as exc:
        return errno.errorcode[exc.errno]

def read(path):
    try:
        with open(path, "rb") as handle:
            return "read %d bytes" % len(handle.read())
    except OSError as exc:
        return errno.errorcode[exc.errno]

def text(path):
    with open(path) as handle:
        return handle.read()

def main(sysctls, private):
    return {
        "sys": os.path.exists("/sys"),
        "sysctl_writes": {path: write_back(path) for path in sysctls},
        "hostname": text("/proc/sys/kernel/hostname").strip(),
        "private": {path: read(path) for path in private},
        "tcp": text("/proc/net/tcp") + text("/proc/net/tcp6"),
        "unix": text("/proc/net/unix"),
        "mountinfo": text("/proc/self/mountinfo"),
    }
"""
VIRTUAL_FILESYSTEMS = {"tmpfs", "proc", "devtmpfs", "devpts", "mqueue"}


async def test_s10_proc_and_sys_show_nothing_of_the_host_beyond_the_documented_figures(
    start_container: StartContainer, tmp_path: Path
) -> None:
    # The sandbox tests run their sandboxes as the agent's own user, here root: the case where the
    # kernel itself would let a sandbox write host-wide sysctls and read root-only /proc files.
    assert os.geteuid() == 0
    sysctls = ["/proc/sys/vm/overcommit_ratio", "/proc/sys/kernel/core_pattern", "/proc/sys/kernel/domainname"]
    private = [p for p in ("/proc/slabinfo", "/proc/timer_list", "/proc/vmallocinfo", "/proc/keys") if Path(p).exists()]
    assert len(private) >= 3, "the host must have the root-only files the test expects to stay hidden"
    with socket.socket() as listener, socket.socket(socket.AF_UNIX) as unix_listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        unix_path = tmp_path / f"host-{uuid.uuid4().hex[:8]}.sock"
        unix_listener.bind(str(unix_path))
        unix_listener.listen()
        listening = f"0100007F:{listener.getsockname()[1]:04X}"
        assert listening in Path("/proc/net/tcp").read_text() and str(unix_path) in Path("/proc/net/unix").read_text()
        container = await start_container(PROBE_PROC)
        found = result_of(await container.run(call(sysctls, private)))
    assert found["sys"] is False
    assert found["sysctl_writes"] == dict.fromkeys(sysctls, "EROFS")
    assert found["hostname"] == rootfs.HOSTNAME  # what /proc/sys shows is still the sandbox's own
    assert found["private"] == dict.fromkeys(private, "EACCES")
    assert listening not in found["tcp"] and str(unix_path) not in found["unix"]  # its own network namespace
    # mountinfo names host paths: those of the container's own read-only binds, and nothing else
    sandbox = container.sandbox
    assert isinstance(sandbox, BwrapSandbox)
    _, system_binds = rootfs.system_layout()
    bound = [*system_binds, *rootfs.python_binds(sandbox.spec.python_executable), *sandbox.spec.binds]
    sources = {str(bind.source.resolve()) for bind in bound}
    for line in found["mountinfo"].splitlines():
        fields = line.split()
        root, fstype = fields[3], fields[fields.index("-") + 1]
        if fstype not in VIRTUAL_FILESYSTEMS:
            assert any(source.endswith(root) for source in sources), line  # its path within its filesystem


async def test_s12_two_functions_containers_cannot_see_or_signal_each_other(open_tmp: Path) -> None:
    # Two functions (two workspaces, say) run as two host uids of the range, each in its own sandbox.
    staged = runtime_files.stage(open_tmp / "runtime", runtime_files.installed())
    bundle = open_tmp / "bundle"
    bundle.mkdir()
    (bundle / "fn.py").write_text(PROBE_NEIGHBOUR)
    bundle.chmod(0o755)
    containers = []
    for offset in (1, 2):
        spec = ContainerSpec(
            f"test-s12-{offset}-{uuid.uuid4().hex[:8]}",
            bundle,
            "fn:main",
            python=Path("/usr/bin/python3"),
            run_as_uid=DEFAULT_FIRST_UID + 100 + offset,
            runtime_files=staged,
        )
        containers.append(Container(spec))
    try:
        for container in containers:
            await container.start(60.0)
        target, prober = containers
        name = f"s12-{uuid.uuid4().hex[:8]}"
        held = result_of(await target.run(call("hold", name, 0, 0)))
        host_pids = target.sandbox.pids()
        assert {owner(pid) for pid in host_pids} == {DEFAULT_FIRST_UID + 101}
        assert {owner(pid) for pid in prober.sandbox.pids()} == {DEFAULT_FIRST_UID + 102}
        seen = result_of(await prober.run(call("probe", name, max(host_pids), held["shm_key"])))
    finally:
        for container in containers:
            await container.kill("the test is over")
    assert held == {"shm_key": held["shm_key"], "shm_id": held["shm_id"], "listening": True}
    assert seen == {
        "pids": [1, 2],  # its own reaper and runtime
        "signal_host_pid": "ESRCH",  # the other container's process has no number here
        "abstract_socket": "ECONNREFUSED",  # abstract names belong to a network namespace
        "sysv_shm": "ENOENT",  # and SysV objects to an IPC namespace
        "dev_shm": [],
        "tmp": [],
    }


PROBE_NEIGHBOUR = """
import ctypes, errno, os, socket

HELD = []
IPC_CREAT = 0o1000
libc = ctypes.CDLL(None, use_errno=True)

def attempt(action):
    try:
        action()
        return "ok"
    except OSError as exc:
        return errno.errorcode[exc.errno]

def main(role, name, host_pid, shm_key):
    if role == "hold":
        listener = socket.socket(socket.AF_UNIX)
        listener.bind("\\0" + name)
        listener.listen()
        with open("/dev/shm/" + name, "w") as handle:
            handle.write("mine")
        with open("/tmp/" + name, "w") as handle:
            handle.write("mine")
        key = 0x5C1F
        shm_id = libc.shmget(key, 4096, IPC_CREAT | 0o666)
        HELD.extend([listener, shm_id])
        return {"shm_key": key, "shm_id": shm_id, "listening": True}
    found = {"pids": sorted(int(p) for p in os.listdir("/proc") if p.isdigit())}
    found["signal_host_pid"] = attempt(lambda: os.kill(host_pid, 0))
    def connect():
        with socket.socket(socket.AF_UNIX) as client:
            client.connect("\\0" + name)
    found["abstract_socket"] = attempt(connect)
    shm = libc.shmget(shm_key, 0, 0)
    found["sysv_shm"] = "found" if shm >= 0 else errno.errorcode[ctypes.get_errno()]
    found["dev_shm"] = os.listdir("/dev/shm")
    found["tmp"] = [entry for entry in os.listdir("/tmp") if entry.startswith("s12-")]
    return found
"""


def owner(pid: int) -> int:
    """The real uid of a host process."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Uid:"):
            return int(line.split()[1])
    raise AssertionError(f"no Uid line for {pid}")
