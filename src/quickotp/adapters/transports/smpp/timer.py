"""
The time the SMPP layer keeps. Due times of requests, the response timer's checks, the
enquire_link interval, the gate's pacing and rests, the rebind back-off and the deadlines
of binds, sends and closes all read `Timer.time()` and wait through `Timer.call_at`.

The running event loop is a Timer, and the one used unless another is given. A test gives
a clock it moves by hand, so what the timers promise is checked to the tick, without
waiting and whatever the machine's load.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any, Protocol


class Handle(Protocol):
    """A callback scheduled with call_at; cancel() keeps it from running."""

    def cancel(self) -> None: ...


class Timer(Protocol):
    """Monotonic seconds and callbacks at a given time: what asyncio's loop offers."""

    def time(self) -> float: ...

    def call_at(self, when: float, callback: Callable[[], object], /) -> Handle: ...


def _alarm(timer: Timer, delay: float) -> tuple[asyncio.Future[None], Handle]:
    """A future that `timer` completes `delay` seconds from now, and its handle."""
    rung: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def ring() -> None:
        if not rung.done():
            rung.set_result(None)

    return rung, timer.call_at(timer.time() + delay, ring)


async def sleep(timer: Timer, delay: float) -> None:
    """asyncio.sleep on `timer`'s time."""
    rung, handle = _alarm(timer, delay)
    try:
        await rung
    finally:
        handle.cancel()


async def wait(
    timer: Timer,
    futures: Iterable[asyncio.Future[Any]],
    *,
    seconds: float,
    first: bool = False,
) -> None:
    """
    asyncio.wait on `timer`'s time: until every one of `futures` is done (with `first`, any
    one), or `seconds` have passed. The futures are neither cancelled nor awaited.
    """
    pending = set(futures)
    if not pending:
        return
    rung, handle = _alarm(timer, seconds)
    try:
        while pending and not rung.done():
            done, pending = await asyncio.wait(
                pending | {rung}, return_when=asyncio.FIRST_COMPLETED
            )
            pending.discard(rung)
            if first and done - {rung}:
                return
    finally:
        handle.cancel()


@contextlib.asynccontextmanager
async def timeout(timer: Timer, delay: float) -> AsyncIterator[None]:
    """asyncio.timeout on `timer`'s time: TimeoutError when the block outlasts `delay`."""
    loop = asyncio.get_running_loop()
    async with asyncio.timeout(None) as scope:
        # Expires asyncio's own scope (`reschedule` to now) when `timer` says the time is up.
        handle = timer.call_at(timer.time() + delay, lambda: scope.reschedule(loop.time()))
        try:
            yield
        finally:
            handle.cancel()
