from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.container_out import ContainerOut
from ...models.problem import Problem
from ...types import Response


def _get_kwargs(
    container_id: str,
) -> dict[str, Any]:

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/v1/containers/{container_id}/stop".format(
            container_id=quote(str(container_id), safe=""),
        ),
    }

    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> ContainerOut | Problem | None:
    if response.status_code == 200:
        response_200 = ContainerOut.from_dict(response.json())

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


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[ContainerOut | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    container_id: str,
    *,
    client: AuthenticatedClient | Client,
) -> Response[ContainerOut | Problem]:
    """Stop a container

     It finishes the calls it is running, takes no more, and exits; one no node has taken yet ends at
    once. Its function's queued calls go to its other containers, or to a new one. Stopping a container
    that is stopping or has exited changes nothing.

    Args:
        container_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ContainerOut | Problem]
    """

    kwargs = _get_kwargs(
        container_id=container_id,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    container_id: str,
    *,
    client: AuthenticatedClient | Client,
) -> ContainerOut | Problem | None:
    """Stop a container

     It finishes the calls it is running, takes no more, and exits; one no node has taken yet ends at
    once. Its function's queued calls go to its other containers, or to a new one. Stopping a container
    that is stopping or has exited changes nothing.

    Args:
        container_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ContainerOut | Problem
    """

    return sync_detailed(
        container_id=container_id,
        client=client,
    ).parsed


async def asyncio_detailed(
    container_id: str,
    *,
    client: AuthenticatedClient | Client,
) -> Response[ContainerOut | Problem]:
    """Stop a container

     It finishes the calls it is running, takes no more, and exits; one no node has taken yet ends at
    once. Its function's queued calls go to its other containers, or to a new one. Stopping a container
    that is stopping or has exited changes nothing.

    Args:
        container_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ContainerOut | Problem]
    """

    kwargs = _get_kwargs(
        container_id=container_id,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    container_id: str,
    *,
    client: AuthenticatedClient | Client,
) -> ContainerOut | Problem | None:
    """Stop a container

     It finishes the calls it is running, takes no more, and exits; one no node has taken yet ends at
    once. Its function's queued calls go to its other containers, or to a new one. Stopping a container
    that is stopping or has exited changes nothing.

    Args:
        container_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ContainerOut | Problem
    """

    return (
        await asyncio_detailed(
            container_id=container_id,
            client=client,
        )
    ).parsed
