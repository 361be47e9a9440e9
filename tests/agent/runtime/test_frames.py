"""The frame codec shared by the runtime and the agent."""

from __future__ import annotations

import os

import pytest

from agent.runtime import frames


def test_a_frame_round_trips_through_a_pipe() -> None:
    read_fd, write_fd = os.pipe()
    try:
        frames.write_frame(write_fd, {"type": "output", "id": "a1", "status": "ok"}, b'{"x":1}')
        frames.write_frame(write_fd, {"type": "shutdown"})
        os.close(write_fd)
        assert frames.read_frame(read_fd, 1024) == ({"type": "output", "id": "a1", "status": "ok"}, b'{"x":1}')
        assert frames.read_frame(read_fd, 1024) == ({"type": "shutdown"}, b"")
        assert frames.read_frame(read_fd, 1024) is None  # EOF between frames
    finally:
        os.close(read_fd)


def test_a_payload_over_the_limit_is_refused_before_it_is_read() -> None:
    prefix = frames.PREFIX.pack(10, 2_000)
    with pytest.raises(frames.ProtocolError, match="payload is 2000 bytes; the limit is 1000"):
        frames.check_lengths(prefix, 1000)


def test_a_huge_header_is_refused() -> None:
    with pytest.raises(frames.ProtocolError, match="header"):
        frames.check_lengths(frames.PREFIX.pack(frames.MAX_HEADER_BYTES + 1, 0), 1000)


@pytest.mark.parametrize("raw", [b"not json", b"[1, 2]", b'{"id": "no type"}'])
def test_a_header_must_be_an_object_with_a_type(raw: bytes) -> None:
    with pytest.raises(frames.ProtocolError):
        frames.decode_header(raw)


def test_eof_inside_a_frame_is_a_protocol_error() -> None:
    read_fd, write_fd = os.pipe()
    try:
        os.write(write_fd, frames.encode_frame({"type": "input"}, b"12345")[:-2])
        os.close(write_fd)
        with pytest.raises(frames.ProtocolError, match="middle of a frame"):
            frames.read_frame(read_fd, 1024)
    finally:
        os.close(read_fd)
