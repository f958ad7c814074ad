"""
Clocks a test moves by hand, for code that is handed its clock: `WallClock` for the UTC time
the composition root's `utc_now` gives, `ManualTimer` for the SMPP layer's Timer (the event
loop's time and call_at). Nothing waits on the machine's clock, so a loaded machine changes
how long a test takes but never what it sees.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

# Turns of the event loop given to what one timer callback sets off: a future completed,
# the task waiting on it, and the few steps it takes before it waits again (no I/O waits
# in between). The timer tests' chains take fewer than ten.
SETTLE_TURNS = 50


class WallClock:
    """The time now in UTC, from the real time at creation on, moved only by `advance`."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


class _Handle:
    def __init__(self, callback: Callable[[], object]) -> None:
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class ManualTimer:
    """
    A Timer (quickotp.adapters.transports.smpp.timer) whose time moves only in `advance`,
    which runs each callback when its time comes, in order, and lets the loop settle after
    each, as a real loop would between two timers. `scheduled` keeps every delay asked for.
    """

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.scheduled: list[float] = []
        self._due: list[tuple[float, int, float, _Handle]] = []
        self._order = itertools.count()

    def time(self) -> float:
        return self.now

    def call_at(self, when: float, callback: Callable[[], object], /) -> _Handle:
        handle = _Handle(callback)
        self.scheduled.append(when - self.now)
        heapq.heappush(self._due, (when, next(self._order), when - self.now, handle))
        return handle

    def pending(self) -> list[tuple[float, float]]:
        """The callbacks still to run: when each is due, and the delay it was asked for."""
        return sorted((when, delay) for when, _, delay, handle in self._due if not handle.cancelled)

    async def advance(self, seconds: float) -> None:
        """Move `seconds` on, running each callback that falls due on the way at its time."""
        until = self.now + seconds
        await settle()
        while self._due and self._due[0][0] <= until:
            when, _, _, handle = heapq.heappop(self._due)
            if handle.cancelled:
                continue
            self.now = max(self.now, when)
            handle.callback()
            await settle()
        self.now = until
        await settle()


async def settle() -> None:
    """Let the loop run what is ready now, and what that makes ready (SETTLE_TURNS turns)."""
    for _ in range(SETTLE_TURNS):
        await asyncio.sleep(0)
