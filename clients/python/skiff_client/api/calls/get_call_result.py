from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.call_out import CallOut
from ...models.problem import Problem
from ...types import UNSET, Response, Unset


def _get_kwargs(
    call_id: str,
    *,
    wait: int | Unset = 0,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    params["wait"] = wait

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/v1/calls/{call_id}/result".format(
            call_id=quote(str(call_id), safe=""),
        ),
        "params": params,
    }

    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> CallOut | Problem | None:
    if response.status_code == 200:
        response_200 = CallOut.from_dict(response.json())

        return response_200

    if response.status_code == 202:
        response_202 = CallOut.from_dict(response.json())

        return response_202

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


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[CallOut | Problem]:
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
    wait: int | Unset = 0,
) -> Response[CallOut | Problem]:
    """Wait for a call's end

     200 with the call once it has ended; 202 with the call as it stands after `wait` seconds.

    Args:
        call_id (str):
        wait (int | Unset): Seconds to wait for the end (≤ 60). Default: 0.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[CallOut | Problem]
    """

    kwargs = _get_kwargs(
        call_id=call_id,
        wait=wait,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    call_id: str,
    *,
    client: AuthenticatedClient | Client,
    wait: int | Unset = 0,
) -> CallOut | Problem | None:
    """Wait for a call's end

     200 with the call once it has ended; 202 with the call as it stands after `wait` seconds.

    Args:
        call_id (str):
        wait (int | Unset): Seconds to wait for the end (≤ 60). Default: 0.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        CallOut | Problem
    """

    return sync_detailed(
        call_id=call_id,
        client=client,
        wait=wait,
    ).parsed


async def asyncio_detailed(
    call_id: str,
    *,
    client: AuthenticatedClient | Client,
    wait: int | Unset = 0,
) -> Response[CallOut | Problem]:
    """Wait for a call's end

     200 with the call once it has ended; 202 with the call as it stands after `wait` seconds.

    Args:
        call_id (str):
        wait (int | Unset): Seconds to wait for the end (≤ 60). Default: 0.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[CallOut | Problem]
    """

    kwargs = _get_kwargs(
        call_id=call_id,
        wait=wait,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    call_id: str,
    *,
    client: AuthenticatedClient | Client,
    wait: int | Unset = 0,
) -> CallOut | Problem | None:
    """Wait for a call's end

     200 with the call once it has ended; 202 with the call as it stands after `wait` seconds.

    Args:
        call_id (str):
        wait (int | Unset): Seconds to wait for the end (≤ 60). Default: 0.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        CallOut | Problem
    """

    return (
        await asyncio_detailed(
            call_id=call_id,
            client=client,
            wait=wait,
        )
    ).parsed
