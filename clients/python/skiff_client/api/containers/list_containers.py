from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.container_page import ContainerPage
from ...models.container_state import ContainerState
from ...models.problem import Problem
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    cursor: None | str | Unset = UNSET,
    limit: int | Unset = 50,
    state: ContainerState | None | Unset = UNSET,
    app: None | str | Unset = UNSET,
    function: None | str | Unset = UNSET,
    node: None | str | Unset = UNSET,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    json_cursor: None | str | Unset
    if isinstance(cursor, Unset):
        json_cursor = UNSET
    else:
        json_cursor = cursor
    params["cursor"] = json_cursor

    params["limit"] = limit

    json_state: None | str | Unset
    if isinstance(state, Unset):
        json_state = UNSET
    elif isinstance(state, ContainerState):
        json_state = state.value
    else:
        json_state = state
    params["state"] = json_state

    json_app: None | str | Unset
    if isinstance(app, Unset):
        json_app = UNSET
    else:
        json_app = app
    params["app"] = json_app

    json_function: None | str | Unset
    if isinstance(function, Unset):
        json_function = UNSET
    else:
        json_function = function
    params["function"] = json_function

    json_node: None | str | Unset
    if isinstance(node, Unset):
        json_node = UNSET
    else:
        json_node = node
    params["node"] = json_node

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/v1/containers",
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ContainerPage | Problem | None:
    if response.status_code == 200:
        response_200 = ContainerPage.from_dict(response.json())

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

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[ContainerPage | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    cursor: None | str | Unset = UNSET,
    limit: int | Unset = 50,
    state: ContainerState | None | Unset = UNSET,
    app: None | str | Unset = UNSET,
    function: None | str | Unset = UNSET,
    node: None | str | Unset = UNSET,
) -> Response[ContainerPage | Problem]:
    """List containers, newest first

     Those not exited, unless `state` asks for another: pending, starting, ready (asleep ones too),
    stopping or exited.

    Args:
        cursor (None | str | Unset): `next_cursor` of the previous page; omit for the first page.
        limit (int | Unset): Page size, 1 to 200 (default 50). Default: 50.
        state (ContainerState | None | Unset):
        app (None | str | Unset):
        function (None | str | Unset):
        node (None | str | Unset): A node's id or name.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ContainerPage | Problem]
    """

    kwargs = _get_kwargs(
        cursor=cursor,
        limit=limit,
        state=state,
        app=app,
        function=function,
        node=node,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    cursor: None | str | Unset = UNSET,
    limit: int | Unset = 50,
    state: ContainerState | None | Unset = UNSET,
    app: None | str | Unset = UNSET,
    function: None | str | Unset = UNSET,
    node: None | str | Unset = UNSET,
) -> ContainerPage | Problem | None:
    """List containers, newest first

     Those not exited, unless `state` asks for another: pending, starting, ready (asleep ones too),
    stopping or exited.

    Args:
        cursor (None | str | Unset): `next_cursor` of the previous page; omit for the first page.
        limit (int | Unset): Page size, 1 to 200 (default 50). Default: 50.
        state (ContainerState | None | Unset):
        app (None | str | Unset):
        function (None | str | Unset):
        node (None | str | Unset): A node's id or name.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ContainerPage | Problem
    """

    return sync_detailed(
        client=client,
        cursor=cursor,
        limit=limit,
        state=state,
        app=app,
        function=function,
        node=node,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    cursor: None | str | Unset = UNSET,
    limit: int | Unset = 50,
    state: ContainerState | None | Unset = UNSET,
    app: None | str | Unset = UNSET,
    function: None | str | Unset = UNSET,
    node: None | str | Unset = UNSET,
) -> Response[ContainerPage | Problem]:
    """List containers, newest first

     Those not exited, unless `state` asks for another: pending, starting, ready (asleep ones too),
    stopping or exited.

    Args:
        cursor (None | str | Unset): `next_cursor` of the previous page; omit for the first page.
        limit (int | Unset): Page size, 1 to 200 (default 50). Default: 50.
        state (ContainerState | None | Unset):
        app (None | str | Unset):
        function (None | str | Unset):
        node (None | str | Unset): A node's id or name.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ContainerPage | Problem]
    """

    kwargs = _get_kwargs(
        cursor=cursor,
        limit=limit,
        state=state,
        app=app,
        function=function,
        node=node,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    cursor: None | str | Unset = UNSET,
    limit: int | Unset = 50,
    state: ContainerState | None | Unset = UNSET,
    app: None | str | Unset = UNSET,
    function: None | str | Unset = UNSET,
    node: None | str | Unset = UNSET,
) -> ContainerPage | Problem | None:
    """List containers, newest first

     Those not exited, unless `state` asks for another: pending, starting, ready (asleep ones too),
    stopping or exited.

    Args:
        cursor (None | str | Unset): `next_cursor` of the previous page; omit for the first page.
        limit (int | Unset): Page size, 1 to 200 (default 50). Default: 50.
        state (ContainerState | None | Unset):
        app (None | str | Unset):
        function (None | str | Unset):
        node (None | str | Unset): A node's id or name.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ContainerPage | Problem
    """

    return (
        await asyncio_detailed(
            client=client,
            cursor=cursor,
            limit=limit,
            state=state,
            app=app,
            function=function,
            node=node,
        )
    ).parsed
