"""The agent's end of the runtime protocol (``agent.runtime.frames``) over asyncio pipes.

Everything that comes out of a sandbox is untrusted: frames are size-checked and decoded into
typed messages, and anything else is a ``ProtocolError`` that gets the container killed.
"""

from __future__ import annotations

import asyncio
import os
from typing import Literal

import msgspec

from agent.runtime import frames
from agent.runtime.frames import ProtocolError

__all__ = [
    "Output",
    "ProtocolError",
    "Ready",
    "RemoteError",
    "RuntimeChannel",
    "RuntimeMessage",
    "SetupFailed",
]


class RemoteError(msgspec.Struct, frozen=True):
    type: str
    message: str
    traceback: str = ""


class Ready(msgspec.Struct, frozen=True, tag="ready", tag_field="type"):
    pid: int
    is_async: bool = msgspec.field(name="async")
    max_inputs: int = 1


class SetupFailed(msgspec.Struct, frozen=True, tag="setup_failed", tag_field="type"):
    error: RemoteError


class Output(msgspec.Struct, frozen=True, tag="output", tag_field="type"):
    id: str
    status: Literal["ok", "error", "cancelled"]
    error: RemoteError | None = None
    # How the result is written; anything else is a protocol error. The agent never decodes a pickle.
    content_type: Literal["application/json", "application/vnd.skiff.pickle"] = "application/json"
    payload: bytes = b""  # the result, filled in from the frame's payload


RuntimeMessage = Ready | SetupFailed | Output
_decoder: msgspec.json.Decoder[RuntimeMessage] = msgspec.json.Decoder(RuntimeMessage)


class RuntimeChannel:
    def __init__(
        self,
        reader: asyncio.StreamReader,
        read_transport: asyncio.BaseTransport,
        writer: asyncio.StreamWriter,
        max_payload: int,
    ) -> None:
        self._reader = reader
        self._read_transport = read_transport
        self._writer = writer
        self._max_payload = max_payload

    @classmethod
    async def open(cls, read_fd: int, write_fd: int, max_payload: int) -> RuntimeChannel:
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=1 << 20)
        read_transport, _ = await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(read_fd, "rb", 0)
        )
        transport, protocol = await loop.connect_write_pipe(
            asyncio.streams.FlowControlMixin, os.fdopen(write_fd, "wb", 0)
        )
        writer = asyncio.StreamWriter(transport, protocol, None, loop)
        return cls(reader, read_transport, writer, max_payload)

    async def receive(self) -> RuntimeMessage | None:
        """The next message; None once the runtime closed its end between frames."""
        try:
            prefix = await self._reader.readexactly(frames.PREFIX.size)
        except asyncio.IncompleteReadError as exc:
            if exc.partial:
                raise ProtocolError("pipe closed in the middle of a frame") from None
            return None
        header_len, payload_len = frames.check_lengths(prefix, self._max_payload)
        try:
            header = await self._reader.readexactly(header_len)
            payload = await self._reader.readexactly(payload_len)
        except asyncio.IncompleteReadError:
            raise ProtocolError("pipe closed in the middle of a frame") from None
        try:
            message = _decoder.decode(header)
        except msgspec.DecodeError as exc:  # malformed JSON or a message of the wrong shape
            raise ProtocolError(f"invalid message from the runtime: {exc}") from None
        if isinstance(message, Output) and payload:
            message = msgspec.structs.replace(message, payload=payload)
        return message

    async def send_input(self, input_id: str, payload: bytes, content_type: str) -> None:
        await self._send({"type": frames.INPUT, "id": input_id, "content_type": content_type}, payload)

    async def send_cancel(self, input_id: str) -> None:
        await self._send({"type": frames.CANCEL, "id": input_id})

    async def send_shutdown(self) -> None:
        await self._send({"type": frames.SHUTDOWN})

    async def _send(self, header: frames.Header, payload: bytes = b"") -> None:
        self._writer.write(frames.encode_frame(header, payload))
        await self._writer.drain()

    def close(self) -> None:
        self._writer.close()
        self._read_transport.close()
