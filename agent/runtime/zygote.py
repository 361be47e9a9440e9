"""A zygote: a runtime that imports a function once, then forks containers of it on request.

Started inside its own sandbox with ``ZYGOTE_BOOTSTRAP``:

    python -I [-S] -c ZYGOTE_BOOTSTRAP <dir> <package> --bundle DIR --handler module:function \
        [--setup module:function] [--preload mod1,mod2] [--packages DIR] --control-fd FD

It imports the preloads and the function's module, but never runs setup and never touches CUDA
(a CUDA context does not survive fork), says ``ready`` on the control socket and waits.

The control socket is a SOCK_SEQPACKET unix socket: one message per packet.
- agent → zygote: b"fork" with six fds (SCM_RIGHTS): a memfd holding the request (JSON: ``id``,
  ``env``, ``cwd``, ``options`` for ``__main__``), the two protocol pipes, the child's stdout
  and stderr, and ``hello``: the child's end of a socketpair for its handshake.
- zygote → agent: JSON ``ready``, ``failed`` (the module did not import), ``unforkable`` (it
  imported, but forking it is unsafe), ``exited`` (a child ended: code or signal) and
  ``fork_failed``.
The handshake: a child sends b"hello" on ``hello`` (the kernel attaches its pid as the agent sees
it) and blocks until the agent, having moved it into the container's cgroup, answers b"go". Only
then does it become the container: its own session, stdout/stderr, environment and pipes, then
setup and the same serve loop as a freshly started runtime.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import json
import os
import select
import signal
import socket
import sys

from . import failures, handler, serve
from .__main__ import parse_options, prepare_interpreter, serve_and_exit

TYPE_CHECKING = False  # typing costs ~15 ms per cold start: see frames.py
if TYPE_CHECKING:
    from typing import Any, Dict, List, Optional


DEFAULTS = {"--setup": "", "--preload": "", "--packages": ""}
REQUIRED = ("--bundle", "--handler", "--control-fd")
FORK_FDS = 6  # request, in, out, stdout, stderr, hello
MAX_REQUEST_BYTES = 16 << 20
PR_SET_DUMPABLE = 4
EXIT_ABANDONED = 75  # the agent gave up on the child before its handshake finished


def main(argv: List[str]) -> None:
    gc.disable()  # collections in the zygote would dirty pages its children share; children re-enable
    options = parse_options(argv, DEFAULTS, REQUIRED)
    control = socket.socket(fileno=int(options["--control-fd"]))
    control.set_inheritable(False)
    prepare_interpreter(options["--bundle"], options["--packages"])
    try:
        load(options)
    except handler.UserCodeError as exc:
        send(control, {"type": "failed", "error": exc.error})
        flush_and_exit(1)
    hazard = fork_hazard()
    if hazard is not None:
        send(control, {"type": "unforkable", "reason": hazard})
        flush_and_exit(0)
    # Children share its uid and pid namespace: without this, one could open a new sibling's
    # pipes through /proc/<zygote>/fd while the zygote holds them, or write /proc/<zygote>/mem.
    set_dumpable(False)
    gc.collect()  # once, before any child shares its pages: import-time garbage is not frozen in
    send(control, {"type": "ready", "pid": os.getpid()})
    flush_and_exit(serve_forks(control))


def load(options: Dict[str, str]) -> None:
    """Import what every container needs; setup stays for each child to run."""
    for name in [n.strip() for n in options["--preload"].split(",") if n.strip()]:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name.split(".")[0] and exc.name != name:
                raise handler.UserCodeError(failures.describe(exc)) from None
            message = "preload module %r not found; add it to the image's requirements or drop it from preload" % name
            raise handler.UserCodeError(failures.problem("ModuleNotFoundError", message)) from None
        except BaseException as exc:
            raise handler.UserCodeError(failures.describe(exc)) from None
    function = handler.load_function(options["--handler"], "handler")
    if options["--setup"]:
        handler.load_function(options["--setup"], "setup")
    if handler.is_async(function):
        from . import serve_async  # noqa: F401  # importing asyncio costs ~80 ms: pay it once, here


def fork_hazard() -> Optional[str]:
    """Why forking this interpreter would hand its children something broken; None when it is safe."""
    threading = sys.modules.get("threading")
    if threading is not None and threading.active_count() > 1:
        names = ", ".join(sorted(t.name for t in threading.enumerate() if t is not threading.main_thread()))
        return "the function's modules start threads when imported (%s); a fork copies them half-done" % names
    cuda = getattr(sys.modules.get("torch"), "cuda", None)
    is_initialized = getattr(cuda, "is_initialized", None)
    if is_initialized is not None and is_initialized():
        return "CUDA was initialised while importing the function's modules; a forked child cannot use it"
    return None


def set_dumpable(dumpable: bool) -> None:
    """prctl(PR_SET_DUMPABLE): a process that is not dumpable keeps same-uid processes out of its /proc."""
    # an interpreter without ctypes keeps the default: the sandbox's other walls still stand
    with contextlib.suppress(ImportError, OSError, AttributeError):
        import ctypes  # ~6 ms, once, in the zygote; its children inherit the loaded module

        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_DUMPABLE, int(dumpable), 0, 0, 0)


def serve_forks(control: socket.socket) -> int:
    wake_r, wake_w = os.pipe()
    for fd in (wake_r, wake_w):
        os.set_blocking(fd, False)
        os.set_inheritable(fd, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda number, frame: None)  # the wakeup fd does the work
    children: Dict[int, str] = {}  # pid -> container id
    while True:
        readable = select.select([control.fileno(), wake_r], [], [])[0]
        if wake_r in readable:
            while True:
                try:
                    if not os.read(wake_r, 4096):
                        break
                except BlockingIOError:
                    break
            reap(control, children)
        if control.fileno() in readable:
            data, fds, _, _ = socket.recv_fds(control, 64, FORK_FDS + 1, socket.MSG_CMSG_CLOEXEC)
            if not data:
                return 0  # the agent is gone; leaving ends the sandbox and every child with it
            if data == b"fork" and len(fds) == FORK_FDS:
                fork_child(control, fds, (wake_r, wake_w), children)
            else:
                close_all(fds)


def fork_child(control: socket.socket, fds: List[int], wake: Any, children: Dict[int, str]) -> None:
    request_fd, child_fds = fds[0], fds[1:]
    try:
        request = read_request(request_fd)
    except ValueError:
        close_all(child_fds)
        return
    sys.stdout.flush()  # a child must not print what the zygote left in its buffers
    sys.stderr.flush()
    gc.freeze()  # the parent's objects go to the permanent generation: children's collections skip them
    try:
        pid = os.fork()
    except OSError as exc:
        close_all(child_fds)
        send(control, {"type": "fork_failed", "id": request["id"], "error": str(exc)})
        return
    if pid == 0:
        try:
            become_container(control, wake, request, child_fds)
        finally:
            os._exit(70)  # become_container never returns; this only guards against a bug
    children[pid] = request["id"]
    close_all(child_fds)


def read_request(fd: int) -> Dict[str, Any]:
    try:
        size = os.fstat(fd).st_size
        if size > MAX_REQUEST_BYTES:
            raise ValueError("request too large")
        data = b""
        while len(data) < size:
            chunk = os.pread(fd, size - len(data), len(data))
            if not chunk:
                break
            data += chunk
    finally:
        os.close(fd)
    request = json.loads(data.decode("utf-8"))
    if not isinstance(request, dict) or not isinstance(request.get("id"), str):
        raise ValueError("request without an id")
    return request


def become_container(control: socket.socket, wake: Any, request: Dict[str, Any], fds: List[int]) -> None:
    control.close()  # the zygote's channel is not this container's
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    close_all(list(wake))
    in_fd, out_fd, stdout_fd, stderr_fd, hello_fd = fds
    hello = socket.socket(fileno=hello_fd)
    try:
        hello.send(b"hello")
        answer = hello.recv(16)
    except OSError:
        answer = b""
    if answer != b"go":
        os._exit(EXIT_ABANDONED)
    hello.close()
    set_dumpable(True)  # as in a fresh sandbox: user code may inspect its own processes
    os.setsid()  # signals to the zygote's process group must not reach this container, nor its to them
    gc.enable()
    serve.RUNTIME_PID = os.getpid()  # recorded at import, in the zygote: see leave_if_forked_child
    os.dup2(stdout_fd, 1)
    os.dup2(stderr_fd, 2)
    close_all([stdout_fd, stderr_fd])
    os.environ.clear()  # unsetenv/putenv underneath: C code (CUDA's cuInit) sees this environment
    os.environ.update({str(k): str(v) for k, v in dict(request.get("env", {})).items()})
    os.chdir(str(request.get("cwd", "/")))
    reseed_random_state(sys.modules)
    options = parse_options([str(item) for item in request.get("options", [])])
    options["--in-fd"], options["--out-fd"] = str(in_fd), str(out_fd)
    serve_and_exit(options)


# Global random generators that a fork would copy: every container of a zygote would draw the same
# numbers. Python's `random` reseeds itself after fork; these libraries' globals do not.
RESEEDS = (
    ("numpy.random", "seed"),  # the legacy global RandomState; seed() draws fresh OS entropy
    ("torch", "seed"),  # the default CPU generator (CUDA's seed follows lazily, never initialised here)
)


def reseed_random_state(modules: Dict[str, Any]) -> None:
    """Fresh seeds for the global generators of libraries the zygote imported. Generators the
    function's own module made at import (`rng = numpy.random.default_rng()`) stay shared: user
    code that needs distinct streams per container seeds in its setup."""
    for module_name, function_name in RESEEDS:
        module = modules.get(module_name)
        reseed = getattr(module, function_name, None) if module is not None else None
        if callable(reseed):
            with contextlib.suppress(Exception):  # a library's odd state must not stop the container
                reseed()


def reap(control: socket.socket, children: Dict[int, str]) -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        container_id = children.pop(pid, None)
        if container_id is None:
            continue
        report: Dict[str, Any] = {"type": "exited", "id": container_id}
        if os.WIFSIGNALED(status):
            report["signal"] = os.WTERMSIG(status)
        else:
            report["code"] = os.WEXITSTATUS(status)
        send(control, report)


def send(control: socket.socket, message: Dict[str, Any]) -> None:
    with contextlib.suppress(OSError):  # the agent is gone: the next read says so
        control.send(json.dumps(message, separators=(",", ":")).encode("utf-8"))


def close_all(fds: List[int]) -> None:
    for fd in fds:
        with contextlib.suppress(OSError):
            os.close(fd)


def flush_and_exit(code: int) -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
