"""A TCP proxy between an agent and the API that can pass, blackhole or reset traffic — the
network partition of the fault tests, on loopback only."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from enum import StrEnum


class Mode(StrEnum):
    PASS = "pass"
    BLACKHOLE = "blackhole"  # connections stay open, nothing gets through either way
    RESET = "reset"  # every connection is closed at once


class FaultProxy:
    """Runs in a thread of its own; `mode` can be changed at any time."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.mode = Mode.PASS
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._started = threading.Event()
        self._connections: set[asyncio.StreamWriter] = set()
        self._thread = threading.Thread(target=self._run, daemon=True, name="fault-proxy")

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        self._started.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def set(self, mode: Mode) -> None:
        blackholed = self.mode is Mode.BLACKHOLE
        self.mode = mode
        # Reset drops everything; healing drops what the blackhole swallowed (those streams are torn).
        if mode is Mode.RESET or (blackholed and mode is Mode.PASS):
            self._loop.call_soon_threadsafe(self._drop_all)

    def _drop_all(self) -> None:
        for writer in list(self._connections):
            writer.transport.abort()
        self._connections.clear()

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(asyncio.start_server(self._handle, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        self._started.set()
        self._loop.run_forever()
        server.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.mode is Mode.RESET:
            writer.transport.abort()
            return
        if self.mode is Mode.BLACKHOLE:
            self._connections.add(writer)  # healing drops it, like the ones that were open before
            await reader.read()  # swallow until the client gives up, or the cut heals
            writer.transport.abort()
            self._connections.discard(writer)
            return
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.transport.abort()
            return
        self._connections |= {writer, upstream_writer}
        await asyncio.gather(self._pipe(reader, upstream_writer), self._pipe(upstream_reader, writer))
        self._connections -= {writer, upstream_writer}

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            while data := await reader.read(65536):
                if self.mode is Mode.PASS:
                    writer.write(data)
                    await writer.drain()
                # blackholed: what was sent is swallowed, and the connection stays open
        while self.mode is Mode.BLACKHOLE:  # even a closed side must not show through, until healed
            await asyncio.sleep(0.05)
        writer.transport.abort()
