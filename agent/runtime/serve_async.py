"""Serve inputs for an ``async def`` function: up to max_inputs at once on one event loop.

Imported only for async functions: importing asyncio costs ~80 ms on a small machine.
"""

from __future__ import annotations

import asyncio
import functools
import os
import signal

from . import classes, failures, frames, payloads
from .handler import UserCodeError
from .serve import Channel, cancelled, failed, leave_if_forked_child, ready, setup_failed, succeeded

TYPE_CHECKING = False  # typing costs ~15 ms per cold start: see frames.py
if TYPE_CHECKING:
    from typing import Any, Callable, Dict, List, Optional


async def _read_frame(reader: asyncio.StreamReader, max_payload: int) -> Optional[frames.Frame]:
    try:
        prefix = await reader.readexactly(frames.PREFIX.size)
    except asyncio.IncompleteReadError as exc:
        if exc.partial:
            raise frames.ProtocolError("pipe closed in the middle of a frame") from None
        return None
    header_len, payload_len = frames.check_lengths(prefix, max_payload)
    header = frames.decode_header(await reader.readexactly(header_len))
    return header, await reader.readexactly(payload_len)


async def run_input_async(
    function: Callable[..., Any], header: frames.Header, payload: bytes, max_result: int
) -> frames.Frame:
    input_id = str(header.get("id", ""))
    content_type = str(header.get("content_type", frames.CONTENT_JSON))
    try:
        args, kwargs = payloads.decode_arguments(content_type, payload)
        try:
            value = await function(*args, **kwargs)
        except asyncio.CancelledError:
            return cancelled(input_id)
        except BaseException as exc:
            leave_if_forked_child()
            return failed(input_id, failures.describe(exc))
        leave_if_forked_child()
        return succeeded(input_id, payloads.encode_result(value, max_result, content_type == frames.CONTENT_PICKLE))
    except UserCodeError as exc:
        return failed(input_id, exc.error)


async def _serve(
    channel: Channel,
    function: Callable[..., Any],
    setup: Optional[Callable[..., Any]],
    max_inputs: int,
    max_result: int,
    instance: Optional[classes.ClassInstance],
) -> int:
    if setup is not None:
        try:
            pending = setup()
            if hasattr(pending, "__await__"):
                await pending
        except BaseException as exc:
            channel.send(setup_failed(failures.describe(exc)))
            return 1
    if instance is not None:
        error = await instance.start_async()
        if error is not None:
            channel.send(setup_failed(error))
            return 1
        function = instance.bound_method()
    if instance is not None and instance.exit_hooks:
        _stop_on_sigterm(instance)
    channel.send(ready(is_async=True, max_inputs=max_inputs))
    try:
        return await _serve_inputs(channel, function, max_inputs, max_result)
    finally:
        if instance is not None:
            await instance.stop_async()


def _stop_on_sigterm(instance: classes.ClassInstance) -> None:
    """SIGTERM runs the exit hooks on the loop, then ends the process as SIGTERM would have."""
    stopping: List["asyncio.Future[None]"] = []  # the loop keeps only a weak reference to its tasks

    async def terminate() -> None:
        await instance.stop_async()
        classes.terminate_now(signal.SIGTERM)

    asyncio.get_running_loop().add_signal_handler(
        signal.SIGTERM, lambda: stopping.append(asyncio.ensure_future(terminate()))
    )


async def _serve_inputs(channel: Channel, function: Callable[..., Any], max_inputs: int, max_result: int) -> int:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=1 << 20)
    pipe = os.fdopen(channel.in_fd, "rb", buffering=0)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), pipe)
    slots = asyncio.Semaphore(max_inputs)
    running: Dict[str, "asyncio.Task[None]"] = {}

    async def serve_one(header: frames.Header, payload: bytes) -> None:
        try:
            async with slots:
                frame = await run_input_async(function, header, payload, max_result)
        except asyncio.CancelledError:  # cancelled while waiting for a slot
            frame = cancelled(str(header.get("id", "")))
        channel.send(frame)

    def forget(input_id: str, task: "asyncio.Task[None]") -> None:
        running.pop(input_id, None)
        if task.cancelled():  # cancelled before it ever ran: serve_one could not answer
            channel.send(cancelled(input_id))

    while True:
        frame = await _read_frame(reader, channel.max_input_bytes)
        if frame is None or frame[0]["type"] == frames.SHUTDOWN:
            break
        header, payload = frame
        input_id = str(header.get("id", ""))
        if header["type"] == frames.INPUT:
            task = asyncio.ensure_future(serve_one(header, payload))
            task.add_done_callback(functools.partial(forget, input_id))
            running[input_id] = task
        elif header["type"] == frames.CANCEL and input_id in running:
            running[input_id].cancel()
    if frame is None:  # the agent is gone: nobody will read the results
        for task in running.values():
            task.cancel()
    await asyncio.gather(*running.values(), return_exceptions=True)
    return 0


def serve_async(
    channel: Channel,
    function: Callable[..., Any],
    setup: Optional[Callable[..., Any]],
    max_inputs: int,
    max_result: int,
    instance: Optional[classes.ClassInstance] = None,
) -> int:
    return asyncio.run(_serve(channel, function, setup, max_inputs, max_result, instance))
