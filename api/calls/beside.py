"""Recounts that run beside the submits that asked for them: none is awaited, and each key has at most
one running, however many submits find its count old meanwhile."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any


class RecountsBeside:
    def __init__(self) -> None:
        self._running: dict[str, asyncio.Task[None]] = {}

    def start(self, key: str, recount: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Runs `recount()` in a task of its own unless one for `key` still runs."""
        if key not in self._running:
            task = asyncio.create_task(recount())
            self._running[key] = task
            task.add_done_callback(lambda _: self._running.pop(key, None))
