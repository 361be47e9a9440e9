"""Container slots take their inputs over a WebSocket (one message each way per call), refusals
close it with 4000 + the HTTP status, and an agent whose handshake is refused asks over long polls."""

from __future__ import annotations

import json
import re

import httpx
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from agent.api import AgentApi, Refused
from agent.inputs import InputChannel, channel_url
from api.settings import Settings
from skiff_client import AuthenticatedClient
from tests.e2e.conftest import Platform
from tests.e2e.test_core_loop import MANIFEST, SOURCE, call, deploy

NEXT_ROUTE = "/v1/agent/containers/{container_id}/next"


def long_polls(http: httpx.Client) -> float:
    """How many times agents asked for inputs over the long-poll route, as /metrics counts."""
    pattern = re.compile(r'^skiff_http_requests_total\{[^}]*route="' + re.escape(NEXT_ROUTE) + r'"[^}]*\} (\S+)$')
    return sum(float(m.group(1)) for line in http.get("/metrics").text.splitlines() if (m := pattern.match(line)))


def node_token(platform: Platform) -> str:
    with platform.http() as http:
        token: str = http.post("/v1/tokens", json={"name": "probe", "kind": "node"}).json()["token"]
    return token


def test_slots_take_inputs_over_the_websocket(platform: Platform) -> None:
    with platform.http() as http:
        deploy(http, "channel", {"app.py": SOURCE}, MANIFEST)
        before = long_polls(http)
        answers = [call(http, "channel", "hello", f"n{i}") for i in range(5)]
        assert [a.status_code for a in answers] == [200] * 5, [a.text for a in answers]
        assert {a.json()["result"]["greeting"] for a in answers} == {f"hello n{i}" for i in range(5)}
        assert long_polls(http) == before, "a slot asked over the long-poll route"
        # The probe sees long polls when there are some.
        asked = httpx.post(
            f"{platform.url}/v1/agent/containers/ctr_doesnotexist/next",
            json={"wait_seconds": 0},
            headers={"Authorization": f"Bearer {node_token(platform)}"},
        )
        assert asked.status_code == 404, asked.text
        assert long_polls(http) == before + 1


def test_refusals_close_the_channel_with_the_status(platform: Platform, settings: Settings) -> None:
    headers = {"Authorization": f"Bearer {node_token(platform)}"}
    url = channel_url(platform.url, "ctr_doesnotexist")
    with connect(url, additional_headers=headers) as socket:
        socket.send(json.dumps({"wait_seconds": 0}).encode())
        with pytest.raises(ConnectionClosed) as closed:
            socket.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4404
    assert "not found" in closed.value.rcvd.reason

    with connect(url, additional_headers=headers) as socket:
        socket.send(json.dumps({"wait_seconds": 99}).encode())  # above the 30 s limit
        with pytest.raises(ConnectionClosed) as closed:
            socket.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4422
    assert "wait_seconds" in closed.value.rcvd.reason

    with connect(url, additional_headers=headers, max_size=None) as socket:
        socket.send(b"x" * (settings.agent_max_body_bytes + 2))
        with pytest.raises(ConnectionClosed) as closed:
            socket.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009  # over the limit: refused unread

    with pytest.raises(InvalidStatus) as rejected:  # a user token may not open it
        connect(url, additional_headers={"Authorization": f"Bearer {platform.tenant.token}"})
    assert rejected.value.response.status_code == 403


async def test_a_refused_handshake_falls_back_to_long_polls(platform: Platform) -> None:
    """With a user token the handshake is refused; the long-poll route then says why (403)."""
    client = AuthenticatedClient(base_url=platform.url, token=platform.tenant.token)
    async with AgentApi(client) as api:
        channel = InputChannel(api, "ctr_doesnotexist")
        with pytest.raises(Refused) as refused:
            await channel.next([], 0, None)
        assert channel.long_poll and refused.value.status == 403
        await channel.close()
