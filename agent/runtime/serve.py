"""Serve inputs for a synchronous function: one at a time, on the main thread.

The main thread matters: user code may install signal handlers or call ``asyncio.run``. A
running sync input cannot be interrupted from here; the agent kills the container instead.
"""

from __future__ import annotations

import os
import types

from . import failures, frames, payloads
from .handler import UserCodeError

TYPE_CHECKING = False  # typing costs ~15 ms per cold start: see frames.py
if TYPE_CHECKING:
    from typing import Any, Callable, Optional


RUNTIME_PID = os.getpid()


class Channel:
    """The two pipes to the agent."""

    def __init__(self, in_fd: int, out_fd: int, max_input_bytes: int) -> None:
        self.in_fd = in_fd
        self.out_fd = out_fd
        self.max_input_bytes = max_input_bytes

    def read(self) -> Optional[frames.Frame]:
        return frames.read_frame(self.in_fd, self.max_input_bytes)

    def send(self, frame: frames.Frame) -> None:
        frames.write_frame(self.out_fd, frame[0], frame[1])


def ready(is_async: bool, max_inputs: int) -> frames.Frame:
    return {"type": frames.READY, "pid": os.getpid(), "async": is_async, "max_inputs": max_inputs}, b""


def setup_failed(error: failures.ErrorInfo) -> frames.Frame:
    return {"type": frames.SETUP_FAILED, "error": error}, b""


def succeeded(input_id: str, result: payloads.Encoded) -> frames.Frame:
    content_type, encoded = result
    header = {"type": frames.OUTPUT, "id": input_id, "status": "ok"}
    if content_type != frames.CONTENT_JSON:  # JSON, the common case, goes unsaid
        header["content_type"] = content_type
    return header, encoded


def failed(input_id: str, error: failures.ErrorInfo) -> frames.Frame:
    return {"type": frames.OUTPUT, "id": input_id, "status": "error", "error": error}, b""


def cancelled(input_id: str) -> frames.Frame:
    return {"type": frames.OUTPUT, "id": input_id, "status": "cancelled"}, b""


def leave_if_forked_child() -> None:
    # A user function that forks and lets the child return must not let it speak on the pipes.
    if os.getpid() != RUNTIME_PID:
        os._exit(0)


def run_input(function: Callable[..., Any], header: frames.Header, payload: bytes, max_result: int) -> frames.Frame:
    input_id = str(header.get("id", ""))
    content_type = str(header.get("content_type", frames.CONTENT_JSON))
    try:
        args, kwargs = payloads.decode_arguments(content_type, payload)
        try:
            value = function(*args, **kwargs)
        except BaseException as exc:  # SystemExit and KeyboardInterrupt from user code are errors too
            leave_if_forked_child()
            return failed(input_id, failures.describe(exc))
        leave_if_forked_child()
        return succeeded(input_id, payloads.encode_result(value, max_result, content_type == frames.CONTENT_PICKLE))
    except UserCodeError as exc:
        return failed(input_id, exc.error)


def serve_sync(channel: Channel, function: Callable[..., Any], max_result: int) -> int:
    while True:
        frame = channel.read()
        if frame is None:
            return 0  # the agent closed the pipe: nothing more will come
        header, payload = frame
        kind = header["type"]
        if kind == frames.SHUTDOWN:
            return 0
        if kind == frames.INPUT:
            channel.send(run_input(function, header, payload, max_result))
        # CANCEL for a finished or unknown input needs no answer


def run_setup(setup: Callable[..., Any]) -> Optional[failures.ErrorInfo]:
    """Run a setup function (sync, or async on a throwaway loop); the error when it raised."""
    try:
        pending = setup()
        if isinstance(pending, types.CoroutineType):
            import asyncio  # only async setups of sync functions pay for importing asyncio

            asyncio.run(pending)
    except BaseException as exc:
        return failures.describe(exc)
    return None
