from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.problem import Problem
from ...models.schedule_create import ScheduleCreate
from ...models.schedule_out import ScheduleOut
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    body: ScheduleCreate,
    idempotency_key: None | str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(idempotency_key, Unset):
        headers["Idempotency-Key"] = idempotency_key

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/v1/schedules",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Problem | ScheduleOut | None:
    if response.status_code == 201:
        response_201 = ScheduleOut.from_dict(response.json())

        return response_201

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
) -> Response[Problem | ScheduleOut]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: ScheduleCreate,
    idempotency_key: None | str | Unset = UNSET,
) -> Response[Problem | ScheduleOut]:
    """Create a schedule

     Calls the app's current version of `function` at every slot of `cron` (read in `timezone`) or every
    `period_seconds`. A slot missed while the scheduler was down fires once if it is at most a minute
    late, never as a burst. The same `Idempotency-Key` and body return the same schedule.

    Args:
        idempotency_key (None | str | Unset): Retry-safe key: the same key and body return the
            same object (keys are kept 24 hours).
        body (ScheduleCreate):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | ScheduleOut]
    """

    kwargs = _get_kwargs(
        body=body,
        idempotency_key=idempotency_key,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    body: ScheduleCreate,
    idempotency_key: None | str | Unset = UNSET,
) -> Problem | ScheduleOut | None:
    """Create a schedule

     Calls the app's current version of `function` at every slot of `cron` (read in `timezone`) or every
    `period_seconds`. A slot missed while the scheduler was down fires once if it is at most a minute
    late, never as a burst. The same `Idempotency-Key` and body return the same schedule.

    Args:
        idempotency_key (None | str | Unset): Retry-safe key: the same key and body return the
            same object (keys are kept 24 hours).
        body (ScheduleCreate):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | ScheduleOut
    """

    return sync_detailed(
        client=client,
        body=body,
        idempotency_key=idempotency_key,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: ScheduleCreate,
    idempotency_key: None | str | Unset = UNSET,
) -> Response[Problem | ScheduleOut]:
    """Create a schedule

     Calls the app's current version of `function` at every slot of `cron` (read in `timezone`) or every
    `period_seconds`. A slot missed while the scheduler was down fires once if it is at most a minute
    late, never as a burst. The same `Idempotency-Key` and body return the same schedule.

    Args:
        idempotency_key (None | str | Unset): Retry-safe key: the same key and body return the
            same object (keys are kept 24 hours).
        body (ScheduleCreate):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | ScheduleOut]
    """

    kwargs = _get_kwargs(
        body=body,
        idempotency_key=idempotency_key,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    body: ScheduleCreate,
    idempotency_key: None | str | Unset = UNSET,
) -> Problem | ScheduleOut | None:
    """Create a schedule

     Calls the app's current version of `function` at every slot of `cron` (read in `timezone`) or every
    `period_seconds`. A slot missed while the scheduler was down fires once if it is at most a minute
    late, never as a burst. The same `Idempotency-Key` and body return the same schedule.

    Args:
        idempotency_key (None | str | Unset): Retry-safe key: the same key and body return the
            same object (keys are kept 24 hours).
        body (ScheduleCreate):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | ScheduleOut
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
            idempotency_key=idempotency_key,
        )
    ).parsed
