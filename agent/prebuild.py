"""Building a function's environment ahead of its first call, when a poll asks (`NodeWork.builds`).

The environment is built as a container's start builds it, through the node's environment cache,
so one image key is built once here: a request for a key being built (by a container's start or
another request) waits for that build and reports its outcome. The bundle is fetched too, but no
container starts. The node reports the start, then the end with pip's log.
"""

from __future__ import annotations

import asyncio
import logging
import time

import httpx

from agent.api import Refused, Unreachable
from agent.bundles import BundleError
from agent.environments import EnvironmentUnavailable
from agent.supervisor import NodeKit
from skiff_client.models import BuildCommand, BuildProgressState

log = logging.getLogger("skiff.agent")
MAX_LOG_CHARS = 1 << 20  # what the API takes per report
REPORT_ATTEMPTS = 5  # a lost end report leaves the build open until the scheduler fails it
REPORT_RETRY_SECONDS = 1.0


async def build_ahead(command: BuildCommand, kit: NodeKit) -> None:
    key = command.image_key
    started = time.monotonic()
    if kit.environments.build_log(key) is None:
        await _report(kit, command, BuildProgressState.BUILDING)
    try:
        environment = await kit.environments.get(key, command.image.to_dict())
    except EnvironmentUnavailable as exc:
        seconds = exc.seconds or time.monotonic() - started
        await _report(kit, command, BuildProgressState.FAILED, seconds, exc.build_log or str(exc))
        return
    build_log = environment.log or kit.environments.build_log(key) or ""
    await _report(kit, command, BuildProgressState.SUCCEEDED, time.monotonic() - started, build_log)
    try:
        await kit.bundles.get(command.bundle_digest)
    except (BundleError, httpx.HTTPError) as exc:  # the first container fetches it then
        log.warning("bundle not fetched ahead", extra={"bundle": command.bundle_digest, "error": str(exc)[:500]})


async def _report(
    kit: NodeKit, command: BuildCommand, state: BuildProgressState, seconds: float = 0.0, build_log: str = ""
) -> None:
    for attempt in range(1, REPORT_ATTEMPTS + 1):
        try:
            accepted = await kit.api.report_build_progress(
                command.build_id, kit.node_id, state, seconds=seconds, build_log=build_log[-MAX_LOG_CHARS:]
            )
        except Unreachable as exc:
            if attempt == REPORT_ATTEMPTS:
                log.warning("build report lost", extra={"build": command.build_id, "error": str(exc)})
                return
            await asyncio.sleep(REPORT_RETRY_SECONDS)
        except Refused as exc:
            log.warning("build report refused", extra={"build": command.build_id, "error": str(exc)})
            return
        else:
            if not accepted:
                log.info("build moved on already", extra={"build": command.build_id, "state": state.value})
            return
