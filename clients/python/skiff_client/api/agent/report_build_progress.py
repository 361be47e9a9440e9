from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.build_progress import BuildProgress
from ...models.build_progress_result import BuildProgressResult
from ...models.problem import Problem
from ...types import Response


def _get_kwargs(
    build_id: str,
    *,
    body: BuildProgress,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/v1/agent/builds/{build_id}".format(
            build_id=quote(str(build_id), safe=""),
        ),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> BuildProgressResult | Problem | None:
    if response.status_code == 200:
        response_200 = BuildProgressResult.from_dict(response.json())

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

    if response.status_code == 413:
        response_413 = Problem.from_dict(response.json())

        return response_413

    if response.status_code == 422:
        response_422 = Problem.from_dict(response.json())

        return response_422

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[BuildProgressResult | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    build_id: str,
    *,
    client: AuthenticatedClient | Client,
    body: BuildProgress,
) -> Response[BuildProgressResult | Problem]:
    """Report that a requested environment build started or ended

     A build the node was asked for (`NodeWork.builds`) moves to `building`, then to `succeeded` or
    `failed` with its log. `accepted` is false when the build moved on already.

    Args:
        build_id (str):
        body (BuildProgress):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[BuildProgressResult | Problem]
    """

    kwargs = _get_kwargs(
        build_id=build_id,
        body=body,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    build_id: str,
    *,
    client: AuthenticatedClient | Client,
    body: BuildProgress,
) -> BuildProgressResult | Problem | None:
    """Report that a requested environment build started or ended

     A build the node was asked for (`NodeWork.builds`) moves to `building`, then to `succeeded` or
    `failed` with its log. `accepted` is false when the build moved on already.

    Args:
        build_id (str):
        body (BuildProgress):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        BuildProgressResult | Problem
    """

    return sync_detailed(
        build_id=build_id,
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    build_id: str,
    *,
    client: AuthenticatedClient | Client,
    body: BuildProgress,
) -> Response[BuildProgressResult | Problem]:
    """Report that a requested environment build started or ended

     A build the node was asked for (`NodeWork.builds`) moves to `building`, then to `succeeded` or
    `failed` with its log. `accepted` is false when the build moved on already.

    Args:
        build_id (str):
        body (BuildProgress):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[BuildProgressResult | Problem]
    """

    kwargs = _get_kwargs(
        build_id=build_id,
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    build_id: str,
    *,
    client: AuthenticatedClient | Client,
    body: BuildProgress,
) -> BuildProgressResult | Problem | None:
    """Report that a requested environment build started or ended

     A build the node was asked for (`NodeWork.builds`) moves to `building`, then to `succeeded` or
    `failed` with its log. `accepted` is false when the build moved on already.

    Args:
        build_id (str):
        body (BuildProgress):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        BuildProgressResult | Problem
    """

    return (
        await asyncio_detailed(
            build_id=build_id,
            client=client,
            body=body,
        )
    ).parsed
