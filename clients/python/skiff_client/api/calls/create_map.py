from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.map_input import MapInput
from ...models.map_out import MapOut
from ...models.problem import Problem
from ...types import UNSET, Response, Unset


def _get_kwargs(
    app_name: str,
    function_name: str,
    *,
    body: MapInput,
    version: int | None | Unset = UNSET,
    idempotency_key: None | str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(idempotency_key, Unset):
        headers["Idempotency-Key"] = idempotency_key

    params: dict[str, Any] = {}

    json_version: int | None | Unset
    if isinstance(version, Unset):
        json_version = UNSET
    else:
        json_version = version
    params["version"] = json_version

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/v1/apps/{app_name}/functions/{function_name}/map".format(
            app_name=quote(str(app_name), safe=""),
            function_name=quote(str(function_name), safe=""),
        ),
        "params": params,
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> MapOut | Problem | None:
    if response.status_code == 202:
        response_202 = MapOut.from_dict(response.json())

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

    if response.status_code == 413:
        response_413 = Problem.from_dict(response.json())

        return response_413

    if response.status_code == 422:
        response_422 = Problem.from_dict(response.json())

        return response_422

    if response.status_code == 429:
        response_429 = Problem.from_dict(response.json())

        return response_429

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[MapOut | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    app_name: str,
    function_name: str,
    *,
    client: AuthenticatedClient | Client,
    body: MapInput,
    version: int | None | Unset = UNSET,
    idempotency_key: None | str | Unset = UNSET,
) -> Response[MapOut | Problem]:
    """Call a function once per input

     Up to 10000 inputs in one request, one call each, committed together before the answer and queued in
    one push. The inputs are JSON (`inputs`) or, for Python values JSON cannot carry, pickled
    (`inputs_b64`), never both in one request. The answer names the batch and its calls in the order of
    the inputs; `POST /v1/calls/wait` collects their results as they end. `Idempotency-Key` makes a
    retry return the same batch.

    Args:
        app_name (str):
        function_name (str):
        version (int | None | Unset): Pin a deployed version.
        idempotency_key (None | str | Unset): Retry-safe key: the same key and body return the
            same object (keys are kept 24 hours).
        body (MapInput):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[MapOut | Problem]
    """

    kwargs = _get_kwargs(
        app_name=app_name,
        function_name=function_name,
        body=body,
        version=version,
        idempotency_key=idempotency_key,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    app_name: str,
    function_name: str,
    *,
    client: AuthenticatedClient | Client,
    body: MapInput,
    version: int | None | Unset = UNSET,
    idempotency_key: None | str | Unset = UNSET,
) -> MapOut | Problem | None:
    """Call a function once per input

     Up to 10000 inputs in one request, one call each, committed together before the answer and queued in
    one push. The inputs are JSON (`inputs`) or, for Python values JSON cannot carry, pickled
    (`inputs_b64`), never both in one request. The answer names the batch and its calls in the order of
    the inputs; `POST /v1/calls/wait` collects their results as they end. `Idempotency-Key` makes a
    retry return the same batch.

    Args:
        app_name (str):
        function_name (str):
        version (int | None | Unset): Pin a deployed version.
        idempotency_key (None | str | Unset): Retry-safe key: the same key and body return the
            same object (keys are kept 24 hours).
        body (MapInput):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        MapOut | Problem
    """

    return sync_detailed(
        app_name=app_name,
        function_name=function_name,
        client=client,
        body=body,
        version=version,
        idempotency_key=idempotency_key,
    ).parsed


async def asyncio_detailed(
    app_name: str,
    function_name: str,
    *,
    client: AuthenticatedClient | Client,
    body: MapInput,
    version: int | None | Unset = UNSET,
    idempotency_key: None | str | Unset = UNSET,
) -> Response[MapOut | Problem]:
    """Call a function once per input

     Up to 10000 inputs in one request, one call each, committed together before the answer and queued in
    one push. The inputs are JSON (`inputs`) or, for Python values JSON cannot carry, pickled
    (`inputs_b64`), never both in one request. The answer names the batch and its calls in the order of
    the inputs; `POST /v1/calls/wait` collects their results as they end. `Idempotency-Key` makes a
    retry return the same batch.

    Args:
        app_name (str):
        function_name (str):
        version (int | None | Unset): Pin a deployed version.
        idempotency_key (None | str | Unset): Retry-safe key: the same key and body return the
            same object (keys are kept 24 hours).
        body (MapInput):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[MapOut | Problem]
    """

    kwargs = _get_kwargs(
        app_name=app_name,
        function_name=function_name,
        body=body,
        version=version,
        idempotency_key=idempotency_key,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    app_name: str,
    function_name: str,
    *,
    client: AuthenticatedClient | Client,
    body: MapInput,
    version: int | None | Unset = UNSET,
    idempotency_key: None | str | Unset = UNSET,
) -> MapOut | Problem | None:
    """Call a function once per input

     Up to 10000 inputs in one request, one call each, committed together before the answer and queued in
    one push. The inputs are JSON (`inputs`) or, for Python values JSON cannot carry, pickled
    (`inputs_b64`), never both in one request. The answer names the batch and its calls in the order of
    the inputs; `POST /v1/calls/wait` collects their results as they end. `Idempotency-Key` makes a
    retry return the same batch.

    Args:
        app_name (str):
        function_name (str):
        version (int | None | Unset): Pin a deployed version.
        idempotency_key (None | str | Unset): Retry-safe key: the same key and body return the
            same object (keys are kept 24 hours).
        body (MapInput):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        MapOut | Problem
    """

    return (
        await asyncio_detailed(
            app_name=app_name,
            function_name=function_name,
            client=client,
            body=body,
            version=version,
            idempotency_key=idempotency_key,
        )
    ).parsed
