from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.outcome_batch import OutcomeBatch
from ...models.outcome_results import OutcomeResults
from ...models.problem import Problem
from ...types import Response


def _get_kwargs(
    *,
    body: OutcomeBatch,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/v1/agent/outcomes",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> OutcomeResults | Problem | None:
    if response.status_code == 200:
        response_200 = OutcomeResults.from_dict(response.json())

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

    if response.status_code == 409:
        response_409 = Problem.from_dict(response.json())

        return response_409

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
) -> Response[OutcomeResults | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: OutcomeBatch,
) -> Response[OutcomeResults | Problem]:
    """Report outcomes outside a container slot (crashes, timeouts, cancellations)

     Answers which outcomes were recorded; 409 when none was: a late report, whose attempts no longer
    hold their leases or whose calls already ended (the detail names each call and why).

    Args:
        body (OutcomeBatch):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[OutcomeResults | Problem]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    body: OutcomeBatch,
) -> OutcomeResults | Problem | None:
    """Report outcomes outside a container slot (crashes, timeouts, cancellations)

     Answers which outcomes were recorded; 409 when none was: a late report, whose attempts no longer
    hold their leases or whose calls already ended (the detail names each call and why).

    Args:
        body (OutcomeBatch):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        OutcomeResults | Problem
    """

    return sync_detailed(
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: OutcomeBatch,
) -> Response[OutcomeResults | Problem]:
    """Report outcomes outside a container slot (crashes, timeouts, cancellations)

     Answers which outcomes were recorded; 409 when none was: a late report, whose attempts no longer
    hold their leases or whose calls already ended (the detail names each call and why).

    Args:
        body (OutcomeBatch):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[OutcomeResults | Problem]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    body: OutcomeBatch,
) -> OutcomeResults | Problem | None:
    """Report outcomes outside a container slot (crashes, timeouts, cancellations)

     Answers which outcomes were recorded; 409 when none was: a late report, whose attempts no longer
    hold their leases or whose calls already ended (the detail names each call and why).

    Args:
        body (OutcomeBatch):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        OutcomeResults | Problem
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
        )
    ).parsed
