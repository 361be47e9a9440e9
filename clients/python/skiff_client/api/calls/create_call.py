from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.call_input import CallInput
from ...models.call_out import CallOut
from ...models.problem import Problem
from ...types import UNSET, File, Response, Unset


def _get_kwargs(
    app_name: str,
    function_name: str,
    *,
    body: CallInput | File | Unset = UNSET,
    version: int | None | Unset = UNSET,
    prefer: None | str | Unset = UNSET,
    idempotency_key: None | str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(prefer, Unset):
        headers["Prefer"] = prefer

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
        "url": "/v1/apps/{app_name}/functions/{function_name}/calls".format(
            app_name=quote(str(app_name), safe=""),
            function_name=quote(str(function_name), safe=""),
        ),
        "params": params,
    }

    if isinstance(body, CallInput):
        _kwargs["json"] = body.to_dict()

        headers["Content-Type"] = "application/json"
    if isinstance(body, File):
        _kwargs["content"] = body.payload
        headers["Content-Type"] = "application/vnd.skiff.pickle"

    _kwargs["headers"] = headers
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

    if response.status_code == 409:
        response_409 = Problem.from_dict(response.json())

        return response_409

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


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[CallOut | Problem]:
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
    body: CallInput | File | Unset = UNSET,
    version: int | None | Unset = UNSET,
    prefer: None | str | Unset = UNSET,
    idempotency_key: None | str | Unset = UNSET,
) -> Response[CallOut | Problem]:
    """Call a function

     Accepted calls are committed before the answer. Without `Prefer: wait=N` the answer is 202 with
    `Location`; with it, 200 and the result when the call ends within N seconds. `version` pins a
    deployed version; without it the app's current version runs. A result that JSON cannot carry comes
    back pickled, in `result_b64` with its `result_type`.

    Args:
        app_name (str):
        function_name (str):
        version (int | None | Unset): Pin a deployed version.
        prefer (None | str | Unset): `wait=N` (N ≤ 60): answer 200 with the result if the call
            ends within N s.
        idempotency_key (None | str | Unset): Retry-safe key: the same key and body return the
            same object (keys are kept 24 hours).
        body (CallInput):
        body (File):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[CallOut | Problem]
    """

    kwargs = _get_kwargs(
        app_name=app_name,
        function_name=function_name,
        body=body,
        version=version,
        prefer=prefer,
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
    body: CallInput | File | Unset = UNSET,
    version: int | None | Unset = UNSET,
    prefer: None | str | Unset = UNSET,
    idempotency_key: None | str | Unset = UNSET,
) -> CallOut | Problem | None:
    """Call a function

     Accepted calls are committed before the answer. Without `Prefer: wait=N` the answer is 202 with
    `Location`; with it, 200 and the result when the call ends within N seconds. `version` pins a
    deployed version; without it the app's current version runs. A result that JSON cannot carry comes
    back pickled, in `result_b64` with its `result_type`.

    Args:
        app_name (str):
        function_name (str):
        version (int | None | Unset): Pin a deployed version.
        prefer (None | str | Unset): `wait=N` (N ≤ 60): answer 200 with the result if the call
            ends within N s.
        idempotency_key (None | str | Unset): Retry-safe key: the same key and body return the
            same object (keys are kept 24 hours).
        body (CallInput):
        body (File):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        CallOut | Problem
    """

    return sync_detailed(
        app_name=app_name,
        function_name=function_name,
        client=client,
        body=body,
        version=version,
        prefer=prefer,
        idempotency_key=idempotency_key,
    ).parsed


async def asyncio_detailed(
    app_name: str,
    function_name: str,
    *,
    client: AuthenticatedClient | Client,
    body: CallInput | File | Unset = UNSET,
    version: int | None | Unset = UNSET,
    prefer: None | str | Unset = UNSET,
    idempotency_key: None | str | Unset = UNSET,
) -> Response[CallOut | Problem]:
    """Call a function

     Accepted calls are committed before the answer. Without `Prefer: wait=N` the answer is 202 with
    `Location`; with it, 200 and the result when the call ends within N seconds. `version` pins a
    deployed version; without it the app's current version runs. A result that JSON cannot carry comes
    back pickled, in `result_b64` with its `result_type`.

    Args:
        app_name (str):
        function_name (str):
        version (int | None | Unset): Pin a deployed version.
        prefer (None | str | Unset): `wait=N` (N ≤ 60): answer 200 with the result if the call
            ends within N s.
        idempotency_key (None | str | Unset): Retry-safe key: the same key and body return the
            same object (keys are kept 24 hours).
        body (CallInput):
        body (File):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[CallOut | Problem]
    """

    kwargs = _get_kwargs(
        app_name=app_name,
        function_name=function_name,
        body=body,
        version=version,
        prefer=prefer,
        idempotency_key=idempotency_key,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    app_name: str,
    function_name: str,
    *,
    client: AuthenticatedClient | Client,
    body: CallInput | File | Unset = UNSET,
    version: int | None | Unset = UNSET,
    prefer: None | str | Unset = UNSET,
    idempotency_key: None | str | Unset = UNSET,
) -> CallOut | Problem | None:
    """Call a function

     Accepted calls are committed before the answer. Without `Prefer: wait=N` the answer is 202 with
    `Location`; with it, 200 and the result when the call ends within N seconds. `version` pins a
    deployed version; without it the app's current version runs. A result that JSON cannot carry comes
    back pickled, in `result_b64` with its `result_type`.

    Args:
        app_name (str):
        function_name (str):
        version (int | None | Unset): Pin a deployed version.
        prefer (None | str | Unset): `wait=N` (N ≤ 60): answer 200 with the result if the call
            ends within N s.
        idempotency_key (None | str | Unset): Retry-safe key: the same key and body return the
            same object (keys are kept 24 hours).
        body (CallInput):
        body (File):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        CallOut | Problem
    """

    return (
        await asyncio_detailed(
            app_name=app_name,
            function_name=function_name,
            client=client,
            body=body,
            version=version,
            prefer=prefer,
            idempotency_key=idempotency_key,
        )
    ).parsed
