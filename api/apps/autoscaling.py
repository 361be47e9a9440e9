"""Autoscaling settings changed at runtime, and how they meet the manifest.

`PATCH /v1/apps/{app}/functions/{fn}` stores overrides per function name, not per version, so
they survive a redeploy: a new version keeps an override unless its manifest changes that very
setting (then the deploy wins, as the user just wrote it down). A rollback keeps them too.

Only the current version runs on its settings. Older versions that still have calls or containers
scale with `min_containers` and `buffer_containers` at zero, so they drain to nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from api.deployments.options import FUNCTION_NUMBERS
from api.errors import Unprocessable

KEYS = ("min_containers", "max_containers", "buffer_containers", "scaledown_window")
DRAINING = {"min_containers": 0, "buffer_containers": 0}


def effective(spec: Mapping[str, Any], overrides: Mapping[str, int], *, current: bool = True) -> dict[str, int]:
    """The settings a function version scales by."""
    settings = {key: int(overrides.get(key, spec.get(key, FUNCTION_NUMBERS[key].default))) for key in KEYS}
    return settings if current else settings | DRAINING


def patched(spec: Mapping[str, Any], overrides: Mapping[str, int], changes: Mapping[str, int | None]) -> dict[str, int]:
    """The overrides after a PATCH (None clears one); raises when a value or the result is out of range."""
    result = dict(overrides)
    for key, value in changes.items():
        if value is None:
            result.pop(key, None)
            continue
        bound = FUNCTION_NUMBERS[key]
        if not bound.contains(value):
            raise Unprocessable(f"{key} = {value} is out of range: {bound.describe()}")
        result[key] = value
    settings = effective(spec, result)
    if settings["min_containers"] > settings["max_containers"]:
        raise Unprocessable(
            f"min_containers ({settings['min_containers']}) would be more than max_containers "
            f"({settings['max_containers']}); min_containers must be <= max_containers"
        )
    return result


def kept_after_deploy(
    overrides: Mapping[str, int], before: Mapping[str, Any] | None, after: Mapping[str, Any]
) -> dict[str, int]:
    """The overrides a new version keeps: those whose setting its manifest leaves as it was."""
    if before is None:
        return dict(overrides)
    default = {key: FUNCTION_NUMBERS[key].default for key in KEYS}
    kept = {
        key: value for key, value in overrides.items() if before.get(key, default[key]) == after.get(key, default[key])
    }
    for key in ("min_containers", "max_containers"):  # the deploy wins where the two would clash
        settings = effective(after, kept)
        if settings["min_containers"] > settings["max_containers"]:
            kept.pop(key, None)
    return kept
