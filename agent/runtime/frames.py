"""Length-prefixed frames between the agent and the runtime: a JSON header and raw payload bytes.

A frame is ``>II`` (header length, payload length), the header (a UTF-8 JSON object with a
``type``) and the payload (input arguments or a result, passed through untouched).
"""

from __future__ import annotations

import os

from . import plainjson

try:
    from _struct import Struct  # what `struct` re-exports, without the import of its module
except ImportError:
    from struct import Struct

# typing costs ~15 ms to import at every cold start; annotations here are for mypy only.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Dict, Optional, Tuple

    Header = Dict[str, Any]
    Frame = Tuple[Header, bytes]


PREFIX = Struct(">II")
MAX_HEADER_BYTES = 1 << 20

CONTENT_JSON = "application/json"
CONTENT_PICKLE = "application/vnd.skiff.pickle"

# runtime -> agent
READY = "ready"
SETUP_FAILED = "setup_failed"
OUTPUT = "output"
# agent -> runtime
INPUT = "input"
CANCEL = "cancel"
SHUTDOWN = "shutdown"


class ProtocolError(Exception):
    """The other side sent something that is not a valid frame."""


def encode_frame(header: Header, payload: bytes = b"") -> bytes:
    head = plainjson.dumps(header).encode("utf-8")
    return PREFIX.pack(len(head), len(payload)) + head + payload


def check_lengths(prefix: bytes, max_payload: int) -> Tuple[int, int]:
    header_len, payload_len = PREFIX.unpack(prefix)
    if header_len > MAX_HEADER_BYTES:
        raise ProtocolError("frame header is %d bytes; the limit is %d" % (header_len, MAX_HEADER_BYTES))
    if payload_len > max_payload:
        raise ProtocolError("frame payload is %d bytes; the limit is %d" % (payload_len, max_payload))
    return header_len, payload_len


def decode_header(raw: bytes) -> Header:
    try:
        header = plainjson.loads(raw.decode("utf-8"))
    except ValueError as exc:
        raise ProtocolError("frame header is not JSON: %s" % exc) from None
    if not isinstance(header, dict) or not isinstance(header.get("type"), str):
        raise ProtocolError("frame header must be a JSON object with a 'type'")
    return header


def _read_exact(fd: int, size: int) -> bytes:
    chunks = []
    while size:
        chunk = os.read(fd, min(size, 1 << 20))
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def read_frame(fd: int, max_payload: int) -> Optional[Frame]:
    """Blocking read of one frame; None when the other side closed the pipe between frames."""
    try:
        prefix = _read_exact(fd, PREFIX.size)
    except EOFError:
        return None
    header_len, payload_len = check_lengths(prefix, max_payload)
    try:
        header = decode_header(_read_exact(fd, header_len))
        return header, _read_exact(fd, payload_len)
    except EOFError:
        raise ProtocolError("pipe closed in the middle of a frame") from None


def write_frame(fd: int, header: Header, payload: bytes = b"") -> None:
    view = memoryview(encode_frame(header, payload))
    while view:
        view = view[os.write(fd, view) :]
