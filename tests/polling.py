"""Waiting in tests for what happens asynchronously (the outbox, pub/sub notices)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any


async def eventually(
    check: Callable[[], Awaitable[Any]] | Callable[[], Any], *, wait: float = 8.0, what: str = ""
) -> Any:
    """Poll until ``check`` returns something truthy (the outbox works asynchronously)."""
    deadline = time.monotonic() + wait
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or check}")
        await asyncio.sleep(0.05)
