"""Drain a sandbox's stdout or stderr without letting a flood grow the agent.

The buffer keeps the head and the tail of the stream (a crash's traceback is at the end) with a
truncation marker between them; the log sink gets whole lines until its own budget runs out.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque

from agent.sandbox.interface import LogSink

log = logging.getLogger(__name__)

CHUNK_BYTES = 64 * 1024
MAX_LINE_BYTES = 16 * 1024  # longer lines reach the log sink in pieces


class CappedOutput:
    def __init__(self, stream: str, limit: int, log_limit: int, sink: LogSink | None = None) -> None:
        self.stream = stream
        self.total_bytes = 0
        self._head = bytearray()
        self._tail: deque[bytes] = deque()
        self._tail_bytes = 0
        self._head_limit = limit // 2
        self._tail_limit = limit - self._head_limit
        self._sink = sink
        self._log_budget = log_limit
        self._partial_line = bytearray()

    @property
    def truncated_bytes(self) -> int:
        return self.total_bytes - len(self._head) - min(self._tail_bytes, self._tail_limit)

    def feed(self, chunk: bytes) -> None:
        self.total_bytes += len(chunk)
        room = self._head_limit - len(self._head)
        self._head += chunk[:room]
        rest = chunk[room:] if room > 0 else chunk
        if rest:
            self._tail.append(rest)
            self._tail_bytes += len(rest)
            while self._tail_bytes - len(self._tail[0]) >= self._tail_limit:
                self._tail_bytes -= len(self._tail.popleft())
        if self._sink is not None and self._log_budget > 0:
            self._feed_lines(chunk)

    def _feed_lines(self, chunk: bytes) -> None:
        assert self._sink is not None
        self._partial_line += chunk
        *lines, rest = self._partial_line.split(b"\n")
        while len(rest) > MAX_LINE_BYTES:
            lines.append(rest[:MAX_LINE_BYTES])
            rest = rest[MAX_LINE_BYTES:]
        self._partial_line = bytearray(rest)
        for line in lines:
            for start in range(0, max(len(line), 1), MAX_LINE_BYTES):
                self._emit(bytes(line[start : start + MAX_LINE_BYTES]))

    def _emit(self, line: bytes) -> None:
        assert self._sink is not None
        if self._log_budget <= 0:
            return
        self._log_budget -= len(line) + 1
        if self._log_budget <= 0:
            line = b"[skiff: log limit reached; further output is not streamed]"
            self._partial_line.clear()
        try:
            self._sink(self.stream, line)
        except Exception:  # a broken sink must not stop draining, or the sandbox blocks on a full pipe
            log.exception("log sink failed; no more lines from this %s", self.stream)
            self._log_budget = 0

    def close(self) -> None:
        if self._sink is not None and self._partial_line and self._log_budget > 0:
            self._emit(bytes(self._partial_line))
        self._partial_line.clear()

    def getvalue(self) -> bytes:
        tail = b"".join(self._tail)[-self._tail_limit :] if self._tail else b""
        if not self.truncated_bytes:
            return bytes(self._head) + tail
        return bytes(self._head) + f"\n[skiff: {self.truncated_bytes} bytes truncated]\n".encode() + tail

    async def drain(self, reader: asyncio.StreamReader) -> None:
        try:
            while chunk := await reader.read(CHUNK_BYTES):
                self.feed(chunk)
        finally:
            self.close()
