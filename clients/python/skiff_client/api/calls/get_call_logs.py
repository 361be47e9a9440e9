from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.log_page import LogPage
from ...models.problem import Problem
from ...types import UNSET, Response, Unset


def _get_kwargs(
    call_id: str,
    *,
    after: int | Unset = 0,
    limit: int | Unset = 1000,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    params["after"] = after

    params["limit"] = limit

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/v1/calls/{call_id}/logs".format(
            call_id=quote(str(call_id), safe=""),
        ),
        "params": params,
    }

    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> LogPage | Problem | None:
    if response.status_code == 200:
        response_200 = LogPage.from_dict(response.json())

        return response_200

    if response.status_code == 400:
        response_400 = Problem.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = Problem.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = Problem.from_dict(response.json())

        return response_403

    if response.status_code == 404:
        response_404 = Problem.from_dict(response.json())

        return response_404

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[LogPage | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    call_id: str,
    *,
    client: AuthenticatedClient | Client,
    after: int | Unset = 0,
    limit: int | Unset = 1000,
) -> Response[LogPage | Problem]:
    """A call's log lines

     JSON pages by default (`after` = the last `seq` seen). With `Accept: text/plain`, the lines as text.
    With `Accept: text/event-stream`, an SSE stream that follows the call until it ends (event `end`),
    each line an event whose id is its `seq`; reconnect with `Last-Event-ID` to resume.

    Args:
        call_id (str):
        after (int | Unset): Only lines with a greater `seq`. Default: 0.
        limit (int | Unset):  Default: 1000.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[LogPage | Problem]
    """

    kwargs = _get_kwargs(
        call_id=call_id,
        after=after,
        limit=limit,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    call_id: str,
    *,
    client: AuthenticatedClient | Client,
    after: int | Unset = 0,
    limit: int | Unset = 1000,
) -> LogPage | Problem | None:
    """A call's log lines

     JSON pages by default (`after` = the last `seq` seen). With `Accept: text/plain`, the lines as text.
    With `Accept: text/event-stream`, an SSE stream that follows the call until it ends (event `end`),
    each line an event whose id is its `seq`; reconnect with `Last-Event-ID` to resume.

    Args:
        call_id (str):
        after (int | Unset): Only lines with a greater `seq`. Default: 0.
        limit (int | Unset):  Default: 1000.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        LogPage | Problem
    """

    return sync_detailed(
        call_id=call_id,
        client=client,
        after=after,
        limit=limit,
    ).parsed


async def asyncio_detailed(
    call_id: str,
    *,
    client: AuthenticatedClient | Client,
    after: int | Unset = 0,
    limit: int | Unset = 1000,
) -> Response[LogPage | Problem]:
    """A call's log lines

     JSON pages by default (`after` = the last `seq` seen). With `Accept: text/plain`, the lines as text.
    With `Accept: text/event-stream`, an SSE stream that follows the call until it ends (event `end`),
    each line an event whose id is its `seq`; reconnect with `Last-Event-ID` to resume.

    Args:
        call_id (str):
        after (int | Unset): Only lines with a greater `seq`. Default: 0.
        limit (int | Unset):  Default: 1000.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[LogPage | Problem]
    """

    kwargs = _get_kwargs(
        call_id=call_id,
        after=after,
        limit=limit,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    call_id: str,
    *,
    client: AuthenticatedClient | Client,
    after: int | Unset = 0,
    limit: int | Unset = 1000,
) -> LogPage | Problem | None:
    """A call's log lines

     JSON pages by default (`after` = the last `seq` seen). With `Accept: text/plain`, the lines as text.
    With `Accept: text/event-stream`, an SSE stream that follows the call until it ends (event `end`),
    each line an event whose id is its `seq`; reconnect with `Last-Event-ID` to resume.

    Args:
        call_id (str):
        after (int | Unset): Only lines with a greater `seq`. Default: 0.
        limit (int | Unset):  Default: 1000.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        LogPage | Problem
    """

    return (
        await asyncio_detailed(
            call_id=call_id,
            client=client,
            after=after,
            limit=limit,
        )
    ).parsed
