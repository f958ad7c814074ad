"""Background tasks: how every service in a process stops the task it started."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any


async def read_every(
    read: Callable[[], Awaitable[object]], seconds: float, what: str, log: logging.Logger
) -> None:
    """
    Call `read` every `seconds`, for ever. A reading that fails keeps the last figures (the
    next may work) and is logged once, as "reading `what` failed", until one works again.
    """
    failing = False
    while True:
        try:
            await read()
            failing = False
        except Exception as exc:
            if not failing:
                log.warning("reading %s failed: %s", what, exc)
            failing = True
        await asyncio.sleep(seconds)


async def stop(task: asyncio.Task[Any] | None) -> None:
    """Cancel `task` and wait until it has ended; None (never started) is nothing to stop."""
    if task is None:
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
