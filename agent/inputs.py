"""A container slot's way of asking the API for its next input.

Over a WebSocket when the API offers one (`/v1/agent/containers/{id}/inputs`): the token is checked
once per connection and each input costs one message each way. When the handshake is refused (an
API without the route, a proxy that does not pass WebSockets, a bad token) the slot uses the
long-poll route for good, which also says precisely why a request is refused. The messages are the
same either way: NextInput out, NextInputAnswer back.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging

import websockets
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from agent.api import AgentApi, Refused, Unreachable
from skiff_client.models import CallOutcome, NextInput, NextInputAnswer

log = logging.getLogger("skiff.agent")
CONNECT_TIMEOUT_SECONDS = 10.0
# Beyond the wait it asked for: how long an answer may take before the connection counts as lost.
ANSWER_GRACE_SECONDS = 30.0
TOO_BIG = 1009  # RFC 6455: the message exceeds the server's limit


def channel_url(http_base_url: str, container_id: str) -> str:
    base = http_base_url.rstrip("/")
    scheme, sep, rest = base.partition("://")
    ws_scheme = {"http": "ws", "https": "wss"}.get(scheme.lower(), scheme)
    return f"{ws_scheme}{sep}{rest}/v1/agent/containers/{container_id}/inputs"


def _refusal(exc: ConnectionClosed) -> Exception:
    """Refused for a 4000 + HTTP status close (or a too-big message), Unreachable for the rest."""
    close = exc.rcvd
    if close is not None and (4400 <= close.code < 4500 or close.code == TOO_BIG):
        status = 413 if close.code == TOO_BIG else close.code - 4000
        return Refused(status, close.reason or "refused")
    return Unreachable(f"input channel closed: {exc}")


class InputChannel:
    def __init__(self, api: AgentApi, container_id: str) -> None:
        self.api = api
        self.container_id = container_id
        self.socket: ClientConnection | None = None
        self.long_poll = False

    async def next(
        self, outcomes: list[CallOutcome], wait_seconds: float, cold_start_ms: float | None, take: int = 1
    ) -> NextInputAnswer:
        """Reports the outcomes and waits up to `wait_seconds` for an input (and up to `take - 1` more
        that are queued already). Raises Refused or Unreachable."""
        ask = NextInput(
            outcome=outcomes[0] if outcomes else None,
            outcomes=outcomes[1:],
            wait_seconds=wait_seconds,
            cold_start_ms=cold_start_ms,
            take=take,
        )
        socket = None if self.long_poll else await self._connected()
        if socket is None:
            return await self.api.next_input(self.container_id, ask)
        try:
            await socket.send(json.dumps(ask.to_dict()).encode())
            reply = await asyncio.wait_for(socket.recv(decode=False), wait_seconds + ANSWER_GRACE_SECONDS)
        except ConnectionClosed as exc:
            self.socket = None
            raise _refusal(exc) from exc
        except (OSError, TimeoutError) as exc:
            await self.close()
            raise Unreachable(f"input channel failed: {exc!r}") from exc
        return NextInputAnswer.from_dict(json.loads(reply))

    async def open(self) -> None:
        """Connects ahead of the first ask (beside a container's start); a failure waits for that ask."""
        with contextlib.suppress(Unreachable):
            await self._connected()

    async def _connected(self) -> ClientConnection | None:
        if self.socket is not None:
            return self.socket
        url = channel_url(self.api.base_url, self.container_id)
        try:
            self.socket = await websockets.connect(
                url,
                additional_headers={"Authorization": f"Bearer {self.api.token}"},
                open_timeout=CONNECT_TIMEOUT_SECONDS,
                compression=None,  # small JSON messages: deflate costs more than it saves
                close_timeout=2,
                max_size=None,  # the API bounds what it sends
            )
        except InvalidHandshake as exc:
            log.info(
                "no input channel; asking over long polls",
                extra={"container": self.container_id, "error": str(exc)},
            )
            self.long_poll = True
            return None
        except (OSError, TimeoutError) as exc:
            raise Unreachable(f"cannot open the input channel: {exc!r}") from exc
        return self.socket

    async def close(self) -> None:
        socket, self.socket = self.socket, None
        if socket is not None:
            await socket.close()
