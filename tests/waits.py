"""Waiting in a test for something that happens in the background, bounded in time."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable


async def until(done: Callable[[], Awaitable[bool]], timeout: float = 15) -> None:
    """Return once `done()` is true, asking every 50 ms; TimeoutError after `timeout` s."""
    async with asyncio.timeout(timeout):
        while not await done():
            await asyncio.sleep(0.05)
