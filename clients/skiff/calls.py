"""Calls: start one, wait for its end, cancel it, read its logs, list them.

Arguments and results travel as JSON when JSON carries them exactly, pickled otherwise (`skiff.payloads`).
"""

from __future__ import annotations

import base64
import io
import itertools
import json
import math
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import httpx

from skiff.connection import Connection, default_connection, error_from_response
from skiff.exceptions import CallCancelled, CallTimeout, Error, FunctionTimeout, RemoteError
from skiff.payloads import PICKLE, json_carries, pickle_arguments, unpickled_result
from skiff_client.api.calls import (
    cancel_call,
    create_call,
    create_map,
    get_call,
    get_call_logs,
    get_call_result,
    list_calls,
    wait_for_calls,
)
from skiff_client.models.call_input import CallInput
from skiff_client.models.call_input_kwargs import CallInputKwargs
from skiff_client.models.call_out import CallOut
from skiff_client.models.call_page import CallPage
from skiff_client.models.call_status import CallStatus
from skiff_client.models.log_page import LogPage
from skiff_client.models.map_input import MapInput
from skiff_client.models.payload_type import PayloadType
from skiff_client.models.wait_for_calls import WaitForCalls
from skiff_client.types import UNSET, File, Unset

R = TypeVar("R")

MAX_SERVER_WAIT_SECONDS = 60  # the API's limit for `Prefer: wait=N` and `?wait=N`
WAIT_WINDOW = 500  # calls per `POST /v1/calls/wait` (the API takes up to 10,000)
TERMINAL = frozenset({CallStatus.SUCCEEDED, CallStatus.FAILED, CallStatus.TIMED_OUT, CallStatus.CANCELLED})


def call_input(args: Sequence[Any], kwargs: Mapping[str, Any]) -> CallInput | bytes:
    """The request body: JSON, or the bytes of the pickled arguments. Raises TypeError naming the
    first argument that can be neither."""
    if not json_carries(args, kwargs):
        return pickle_arguments(args, kwargs)
    return CallInput(args=list(args), kwargs=CallInputKwargs.from_dict(dict(kwargs)))


class FunctionCall(Generic[R]):
    """A call that was started; `get()` waits for its result."""

    def __init__(self, call_id: str, *, connection: Connection | None = None, state: CallOut | None = None) -> None:
        self.id = call_id
        self._connection = connection
        self._state = state

    def __repr__(self) -> str:
        return f"FunctionCall({self.id!r})"

    @property
    def object_id(self) -> str:
        """The call's id (Modal's name for it)."""
        return self.id

    @classmethod
    def from_id(cls, call_id: str) -> FunctionCall[Any]:
        """A handle on a call started elsewhere, e.g. by another process or with `skiff call`."""
        return FunctionCall(call_id)

    @property
    def connection(self) -> Connection:
        return self._connection or default_connection()

    def info(self) -> CallOut:
        """The call as it stands now: status, attempts, timings, and its result or error once ended."""
        self._state = self.connection.send(lambda c: get_call.sync_detailed(self.id, client=c), idempotent=True)
        return self._state

    def get(self, timeout: float | None = None) -> R:
        """Wait for the call's end and return its result; raises the call's error.

        `timeout` (seconds) bounds the wait: `CallTimeout` when it runs out, the call goes on.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        state = self._state
        while state is None or state.status not in TERMINAL:
            remaining = MAX_SERVER_WAIT_SECONDS if deadline is None else deadline - time.monotonic()
            if remaining <= 0 and state is not None:
                raise CallTimeout(f"call {self.id} did not end within {timeout} s; it is {self._why(state)}")
            wait = max(0, min(MAX_SERVER_WAIT_SECONDS, math.floor(remaining)))
            state = self._wait_for_end(wait)
            if wait == 0 and state.status not in TERMINAL and deadline is not None:
                time.sleep(min(0.1, max(deadline - time.monotonic(), 0)))
        self._state = state
        return outcome(state)  # type: ignore[no-any-return]

    @staticmethod
    def _why(state: CallOut) -> str:
        """The call's status; for a queued call, why its function's calls wait, if the API says so."""
        if state.status == CallStatus.QUEUED and isinstance(state.waiting, str):
            return f"queued: {state.waiting}"
        return str(state.status)

    def _wait_for_end(self, wait: int) -> CallOut:
        return self.connection.send(
            lambda c: get_call_result.sync_detailed(self.id, client=c, wait=wait), idempotent=True
        )

    def cancel(self) -> None:
        """Cancel the call: a queued call never runs, a running one is stopped; an ended one is unchanged."""
        self._state = self.connection.send(lambda c: cancel_call.sync_detailed(self.id, client=c), idempotent=True)


def start_call(
    connection: Connection,
    app: str,
    function: str,
    args: Sequence[Any],
    kwargs: Mapping[str, Any],
    *,
    wait: int = 0,
    version: int | None = None,
) -> CallOut:
    """POST a call with an `Idempotency-Key`, so that retries after a lost answer start it only once.

    `version` pins a deployed version; without it the app's current version runs."""
    encoded = call_input(args, kwargs)
    key = uuid.uuid4().hex
    prefer: str | Unset = f"wait={wait}" if wait else UNSET
    pinned: int | Unset = UNSET if version is None else version

    def body() -> CallInput | File:  # a fresh stream for every attempt: a retry sends the bytes again
        return encoded if isinstance(encoded, CallInput) else File(payload=io.BytesIO(encoded), mime_type=PICKLE)

    return connection.send(
        lambda c: create_call.sync_detailed(
            app, function, client=c, body=body(), version=pinned, prefer=prefer, idempotency_key=key
        ),
        idempotent=True,
    )


MAP_BATCH = 1000  # inputs per map request (the API takes up to 10,000)
MAP_BATCH_BYTES = 8 << 20  # pickled inputs per map request, before base64 (the API takes 16 MiB of body)


def start_map(
    connection: Connection,
    app: str,
    function: str,
    inputs: Sequence[tuple[Sequence[Any], Mapping[str, Any]]],
    *,
    version: int | None = None,
) -> list[str]:
    """The calls' ids, in input order: one request per `MAP_BATCH` inputs, each with an `Idempotency-Key`.

    The inputs go as JSON when JSON carries every one of them exactly; otherwise all of them go pickled."""
    pinned: int | Unset = UNSET if version is None else version
    ids: list[str] = []
    if all(json_carries(args, kwargs) for args, kwargs in inputs):
        bodies = [CallInput(args=list(a), kwargs=CallInputKwargs.from_dict(dict(k))) for a, k in inputs]
        for start in range(0, len(bodies), MAP_BATCH):
            ids += _send_map(connection, app, function, MapInput(inputs=bodies[start : start + MAP_BATCH]), pinned)
        return ids
    pickled = [pickle_arguments(args, kwargs) for args, kwargs in inputs]  # refuses a bad argument before sending any
    for batch in pickled_batches(pickled):
        ids += _send_map(connection, app, function, MapInput(inputs_b64=batch), pinned)
    return ids


def pickled_batches(pickled: list[bytes]) -> Iterator[list[str]]:
    """The inputs in base64, at most MAP_BATCH and about MAP_BATCH_BYTES per batch (one input over it goes alone)."""
    batch: list[str] = []
    size = 0
    for payload in pickled:
        if batch and (len(batch) == MAP_BATCH or size + len(payload) > MAP_BATCH_BYTES):
            yield batch
            batch, size = [], 0
        batch.append(base64.b64encode(payload).decode())
        size += len(payload)
    if batch:
        yield batch


def _send_map(connection: Connection, app: str, function: str, body: MapInput, version: int | Unset) -> list[str]:
    key = uuid.uuid4().hex
    batch = connection.send(
        lambda c: create_map.sync_detailed(app, function, client=c, body=body, version=version, idempotency_key=key),
        idempotent=True,
    )
    return list(batch.calls)


def ended_calls(connection: Connection, call_ids: Sequence[str], wait: float) -> Iterator[CallOut]:
    """Each of the calls once it has ended, roughly in the order they end. Asks about the first
    `WAIT_WINDOW` calls not ended yet at a time: queues run in order, so those end first, and each
    question costs the API in proportion to its ids."""
    pending = dict.fromkeys(call_ids)  # in order; removing an ended call costs O(1)
    while pending:
        ended = _send_wait(connection, WaitForCalls(ids=list(itertools.islice(pending, WAIT_WINDOW)), wait=wait))
        for call in ended:
            pending.pop(call.id, None)
        yield from ended


def _send_wait(connection: Connection, body: WaitForCalls) -> list[CallOut]:
    return list(connection.send(lambda c: wait_for_calls.sync_detailed(client=c, body=body), idempotent=True).items)


def outcome(call: CallOut) -> Any:
    """The result of an ended call, or its error raised."""
    error = call.error if call.error is not None and not isinstance(call.error, Unset) else None
    if call.status == CallStatus.SUCCEEDED:
        if call.result_type == PayloadType(PICKLE) and isinstance(call.result_b64, str):
            return unpickled_result(call.result_b64)
        return None if isinstance(call.result, Unset) else call.result
    if call.status == CallStatus.CANCELLED:
        raise CallCancelled(f"call {call.id} was cancelled")
    if call.status == CallStatus.TIMED_OUT:
        message = error.message if error else "the attempt ran past the function's timeout"
        raise FunctionTimeout(error.type_ if error else "Timeout", message, _traceback(error), call_id=call.id)
    if call.status == CallStatus.FAILED:
        if error is None:
            raise RemoteError("Error", f"call {call.id} failed without an error report", call_id=call.id)
        raise RemoteError(error.type_, error.message, _traceback(error), call_id=call.id)
    raise Error(f"call {call.id} has not ended; it is {call.status}")


def _traceback(error: Any) -> str | None:
    if error is None or isinstance(error.traceback, Unset):
        return None
    return error.traceback  # type: ignore[no-any-return]


def list_recent_calls(
    *, app: str | None = None, function: str | None = None, limit: int = 50, connection: Connection | None = None
) -> list[CallOut]:
    """The newest calls first, at most `limit`, following the server's pages."""
    conn = connection or default_connection()

    def fetch(cursor: str | None, size: int) -> CallPage:
        return conn.send(
            lambda c: list_calls.sync_detailed(
                client=c, cursor=cursor or UNSET, limit=size, app=app or UNSET, function=function or UNSET
            ),
            idempotent=True,
        )

    found: list[CallOut] = []
    cursor: str | None = None
    while len(found) < limit:
        page = fetch(cursor, min(limit - len(found), 100))
        found += page.items
        cursor = page.next_cursor
        if not cursor or not page.items:
            break
    return found


@dataclass(frozen=True)
class LogLine:
    """One line a call printed; `seq` orders lines and resumes a stream."""

    seq: int
    stream: str
    line: str
    attempt: int


def read_logs(call_id: str, *, after: int = 0, connection: Connection | None = None) -> Iterator[LogLine]:
    """Every line logged so far (after the line numbered `after`), page by page."""
    conn = connection or default_connection()

    def fetch(after: int) -> LogPage:
        return conn.send(lambda c: get_call_logs.sync_detailed(call_id, client=c, after=after), idempotent=True)

    next_after: int | None = after
    while next_after is not None:
        page = fetch(next_after)
        for item in page.items:
            yield LogLine(item.seq, item.stream, item.line, item.attempt)
        next_after = page.next_after if isinstance(page.next_after, int) else None


def follow_app_logs(
    app: str, *, calls: int = 20, follow: bool = True, poll_seconds: float = 1.0, connection: Connection | None = None
) -> Iterator[tuple[str, LogLine | str]]:
    """(call id, line) for the lines of the app's last `calls` calls, oldest call first; then, with `follow`,
    those of its running and new calls as they come, until interrupted. A call's final status (a str)
    comes after its last line.

    Polls the app's calls (newest first: new ones are those with a larger id, as ids sort by creation)
    and each unfinished call's log pages after the last line read.
    """
    conn = connection or default_connection()
    recent = list_recent_calls(app=app, limit=calls, connection=conn)
    newest = recent[0].id if recent else ""
    unfinished: dict[str, int] = {}  # call id -> last line read
    states = list(reversed(recent))
    while True:
        for call in states:  # each state was read before the logs: an ended call has all its lines by then
            after = unfinished.pop(call.id, 0)
            for line in read_logs(call.id, after=after, connection=conn):
                after = line.seq
                yield call.id, line
            if call.status in TERMINAL:
                yield call.id, str(call.status)
            else:
                unfinished[call.id] = after
        if not follow:
            return
        time.sleep(poll_seconds)
        new = _calls_after(conn, app, newest)
        newest = new[0].id if new else newest
        listed = {call.id for call in new}
        again = [_call_state(conn, call_id) for call_id in unfinished if call_id not in listed]
        states = again + list(reversed(new))


def _calls_after(conn: Connection, app: str, newest: str) -> list[CallOut]:
    """The app's calls with an id larger than `newest`, newest first."""

    def fetch(cursor: str | None) -> CallPage:
        return conn.send(
            lambda c: list_calls.sync_detailed(client=c, cursor=cursor or UNSET, limit=100, app=app), idempotent=True
        )

    found: list[CallOut] = []
    cursor: str | None = None
    while True:
        page = fetch(cursor)
        for call in page.items:
            if call.id <= newest:
                return found
            found.append(call)
        cursor = page.next_cursor
        if not cursor or not page.items:
            return found


def _call_state(conn: Connection, call_id: str) -> CallOut:
    return conn.send(lambda c: get_call.sync_detailed(call_id, client=c), idempotent=True)


def follow_logs(call_id: str, *, connection: Connection | None = None) -> Iterator[LogLine | str]:
    """The call's lines as they come (server-sent events) until it ends; yields the final status last.

    A dropped stream is resumed from the last line seen (`Last-Event-ID`).
    """
    conn = connection or default_connection()
    last_seen = 0
    for _ in range(100):
        headers = {"Accept": "text/event-stream", "Last-Event-ID": str(last_seen)}
        try:
            with conn.stream("GET", f"/v1/calls/{call_id}/logs", headers) as response:
                if response.status_code >= 300:
                    response.read()
                    raise error_from_response(response.status_code, response.content, response.headers)
                for event, event_id, data in _sse_events(response.iter_lines()):
                    if event == "end":
                        yield str(json.loads(data).get("status", ""))
                        return
                    if event == "log":
                        item = json.loads(data)
                        last_seen = int(event_id) if event_id.isdigit() else last_seen
                        yield LogLine(last_seen, item.get("stream", ""), item.get("line", ""), item.get("attempt", 0))
        except httpx.TransportError:
            time.sleep(1)
    raise Error(f"lost the log stream of call {call_id} too often; read the rest with `skiff logs {call_id}`")


def _sse_events(lines: Iterator[str]) -> Iterator[tuple[str, str, str]]:
    """(event, id, data) for each event of a text/event-stream body."""
    event, event_id, data = "message", "", list[str]()
    for raw in lines:
        line = raw.rstrip("\r")
        if not line:
            if data:
                yield event, event_id, "\n".join(data)
            event, event_id, data = "message", "", []
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            event = value
        elif name == "id":
            event_id = value
        elif name == "data":
            data.append(value)
