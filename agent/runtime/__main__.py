"""Entry point of the runtime inside the sandbox: parse options, load the function, serve."""

from __future__ import annotations

import os
import sys

from . import classes, frames, handler
from .serve import Channel, ready, run_setup, serve_sync, setup_failed

TYPE_CHECKING = False  # typing costs ~15 ms per cold start: see frames.py
if TYPE_CHECKING:
    from typing import Dict, List, Tuple


DEFAULTS = {
    "--setup": "",
    "--packages": "",
    "--max-inputs": "1",
    "--max-input-bytes": str(64 << 20),
    "--max-result-bytes": str(16 << 20),
}
REQUIRED = ("--bundle", "--handler", "--in-fd", "--out-fd")


def parse_options(
    argv: List[str], defaults: Dict[str, str] = DEFAULTS, required: Tuple[str, ...] = REQUIRED
) -> Dict[str, str]:
    # argparse would add a few ms to every cold start; the agent is the only caller.
    if len(argv) % 2:
        raise SystemExit("skiff runtime: options come in '--name value' pairs")
    options = dict(defaults)
    for index in range(0, len(argv), 2):  # zip(strict=) is 3.10+; this runs on 3.9
        name, value = argv[index], argv[index + 1]
        if name not in defaults and name not in required:
            raise SystemExit("skiff runtime: unknown option %s" % name)
        options[name] = value
    missing = [name for name in required if name not in options]
    if missing:
        raise SystemExit("skiff runtime: missing %s" % ", ".join(missing))
    return options


def prepare_interpreter(bundle: str, packages: str = "") -> None:
    for stream in (sys.stdout, sys.stderr):
        stream.reconfigure(line_buffering=True)  # type: ignore[union-attr]  # logs stream promptly
    sys.dont_write_bytecode = True  # the bundle is read-only
    sys.argv = ["skiff"]
    sys.path.insert(0, bundle)
    if packages:  # the platform's packages (cloudpickle) come last: the function's own environment wins
        sys.path.append(packages)


def open_channel(options: Dict[str, str]) -> Channel:
    for fd in (int(options["--in-fd"]), int(options["--out-fd"])):
        os.set_inheritable(fd, False)  # user subprocesses must not hold the agent's pipes open
    return Channel(int(options["--in-fd"]), int(options["--out-fd"]), int(options["--max-input-bytes"]))


def serve(options: Dict[str, str], channel: Channel) -> int:
    max_result = int(options["--max-result-bytes"])
    try:
        function = handler.load_function(options["--handler"], "handler")
        setup = handler.load_function(options["--setup"], "setup") if options["--setup"] else None
    except handler.UserCodeError as exc:
        channel.send(setup_failed(exc.error))
        return 1
    instance = classes.served_instance(function)  # a method of an @app.cls class: None for a function
    if handler.is_async(function):
        from .serve_async import serve_async

        return serve_async(channel, function, setup, max(1, int(options["--max-inputs"])), max_result, instance)
    error = run_setup(setup) if setup is not None else None
    if error is None and instance is not None:
        error = instance.start()
    if error is not None:
        channel.send(setup_failed(error))
        return 1
    if instance is None:
        channel.send(ready(is_async=False, max_inputs=1))
        return serve_sync(channel, function, max_result)
    instance.stop_on_sigterm()
    channel.send(ready(is_async=False, max_inputs=1))
    try:
        return serve_sync(channel, instance.bound_method(), max_result)
    finally:
        instance.stop()


def serve_and_exit(options: Dict[str, str]) -> None:
    """Serve the agent on the pipes the options name, then end the process (also a zygote's child)."""
    channel = open_channel(options)
    try:
        code = serve(options, channel)
    except frames.ProtocolError as exc:
        sys.stderr.write("skiff runtime: %s\n" % exc)
        code = 2
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # leftover user threads must not keep the container alive after shutdown


def main(argv: List[str]) -> None:
    options = parse_options(argv)
    prepare_interpreter(options["--bundle"], options["--packages"])
    serve_and_exit(options)


if __name__ == "__main__":
    main(sys.argv[1:])
