from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.build_list import BuildList
from ...models.problem import Problem
from ...types import Response


def _get_kwargs(
    app_name: str,
    version: int,
) -> dict[str, Any]:

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/v1/apps/{app_name}/deployments/{version}/builds".format(
            app_name=quote(str(app_name), safe=""),
            version=quote(str(version), safe=""),
        ),
    }

    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> BuildList | Problem | None:
    if response.status_code == 200:
        response_200 = BuildList.from_dict(response.json())

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


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[BuildList | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    app_name: str,
    version: int,
    *,
    client: AuthenticatedClient | Client,
) -> Response[BuildList | Problem]:
    """Environment builds of one version, per node, with their logs

     A deploy asks one node to build each new environment ahead of the first call: each build is
    `pending` (null `node` while no ready node could run the function), `building`, `succeeded` or
    `failed`. Builds done by a container's start are listed too (`requested` false). Watch until
    `planned` is true and no build is pending or building.

    Args:
        app_name (str):
        version (int):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[BuildList | Problem]
    """

    kwargs = _get_kwargs(
        app_name=app_name,
        version=version,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    app_name: str,
    version: int,
    *,
    client: AuthenticatedClient | Client,
) -> BuildList | Problem | None:
    """Environment builds of one version, per node, with their logs

     A deploy asks one node to build each new environment ahead of the first call: each build is
    `pending` (null `node` while no ready node could run the function), `building`, `succeeded` or
    `failed`. Builds done by a container's start are listed too (`requested` false). Watch until
    `planned` is true and no build is pending or building.

    Args:
        app_name (str):
        version (int):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        BuildList | Problem
    """

    return sync_detailed(
        app_name=app_name,
        version=version,
        client=client,
    ).parsed


async def asyncio_detailed(
    app_name: str,
    version: int,
    *,
    client: AuthenticatedClient | Client,
) -> Response[BuildList | Problem]:
    """Environment builds of one version, per node, with their logs

     A deploy asks one node to build each new environment ahead of the first call: each build is
    `pending` (null `node` while no ready node could run the function), `building`, `succeeded` or
    `failed`. Builds done by a container's start are listed too (`requested` false). Watch until
    `planned` is true and no build is pending or building.

    Args:
        app_name (str):
        version (int):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[BuildList | Problem]
    """

    kwargs = _get_kwargs(
        app_name=app_name,
        version=version,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    app_name: str,
    version: int,
    *,
    client: AuthenticatedClient | Client,
) -> BuildList | Problem | None:
    """Environment builds of one version, per node, with their logs

     A deploy asks one node to build each new environment ahead of the first call: each build is
    `pending` (null `node` while no ready node could run the function), `building`, `succeeded` or
    `failed`. Builds done by a container's start are listed too (`requested` false). Watch until
    `planned` is true and no build is pending or building.

    Args:
        app_name (str):
        version (int):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        BuildList | Problem
    """

    return (
        await asyncio_detailed(
            app_name=app_name,
            version=version,
            client=client,
        )
    ).parsed
