"""
The admission gate of one SMPP bind: the window of outstanding submit_sm, the `tps` cap, and
the back-off after ESME_RTHROTTLED / ESME_RMSGQFUL (§5.1.3). Pure asyncio, no I/O.
"""

from __future__ import annotations

import asyncio
import heapq

from quickotp.adapters.transports.smpp.timer import Handle, Timer

_FIRST_PAUSE = 0.1  # seconds a bind rests after the SMSC says it is throttling us,
_MAX_PAUSE = 2.0  # doubling while it keeps saying so, up to this
_DOUBLING = 0.5  # seconds in which a rate cut by throttling doubles back
_MAX_RATE = 10_000.0  # an adaptive rate above this many submit_sm a second is no limit


class Gate:
    """
    Admission to one bind: at most `window` submit_sm outstanding, at most `tps` a second
    (0 = no cap), and a slower pace after the SMSC says ESME_RTHROTTLED / ESME_RMSGQFUL.
    Waiters are admitted by ticket, lowest first, so a retried message goes before later ones.
    Its time is `timer`'s (None: the running loop's).
    """

    def __init__(self, window: int, tps: float, timer: Timer | None = None) -> None:
        self._timer = timer or asyncio.get_running_loop()
        self._free = window
        self._interval = 1.0 / tps if tps else 0.0
        self._cut_rate = 0.0  # submit_sm/s right after the last throttling cut; 0 = no cut
        self._next_at = 0.0  # timer time of the next admission the rate allows
        self._paused_until = 0.0  # timer time until which a throttled bind rests
        self._pause = _FIRST_PAUSE
        self._waiters: list[tuple[int, int, asyncio.Future[None]]] = []
        self._order = 0
        self._wake_handle: Handle | None = None
        self._second = 0  # admissions in the current second, to learn a rate from
        self._second_start = 0.0
        self._last_rate = 0

    @property
    def load(self) -> int:
        """How busy the bind is: outstanding plus waiting submits, minus free window slots."""
        return len(self._waiters) - self._free

    async def acquire(self, ticket: int) -> None:
        """Wait for a window slot and for the rate to allow one more submit_sm."""
        now = self._timer.time()
        if not self._waiters and self._free > 0 and now >= self._resume_at:
            self._admit(now)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._order += 1
        heapq.heappush(self._waiters, (ticket, self._order, future))
        self._pump()
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                self.release()  # admitted just as the waiter gave up
            raise

    def release(self) -> None:
        """A submit_sm got its answer (or never will): its window slot is free."""
        self._free += 1
        self._pump()

    def throttled(self) -> None:
        """
        The SMSC asked us to slow down: rest, then go at half the rate we were going. The
        answers to the rest of the window that was already out say the same, so one cut per
        rest (TCP's multiplicative decrease, once per round trip). A rest that follows soon
        after the last one is twice as long, up to two seconds, so a retried message outlasts
        an SMSC that counts per second.
        """
        now = self._timer.time()
        if now < self._paused_until:
            return
        recent = now - self._paused_until < self._pause
        self._pause = min(self._pause * 2, _MAX_PAUSE) if recent else _FIRST_PAUSE
        measured = max(self._last_rate, self._second, 2)
        adaptive = self._adaptive_rate(now)
        self._cut_rate = max(1.0, (min(measured, adaptive) if adaptive else measured) / 2)
        self._paused_until = now + self._pause

    def _adaptive_rate(self, now: float) -> float:
        """The rate throttling allows now (0 = any): the cut rate, doubling every 0.5 s."""
        if not self._cut_rate:
            return 0.0
        rate = self._cut_rate * 2 ** (max(0.0, now - self._paused_until) / _DOUBLING)
        if rate >= _MAX_RATE:
            self._cut_rate = 0.0
            return 0.0
        return rate

    @property
    def _resume_at(self) -> float:
        return max(self._next_at, self._paused_until)

    def _admit(self, now: float) -> None:
        self._free -= 1
        if now - self._second_start >= 1.0:
            self._last_rate, self._second, self._second_start = self._second, 0, now
        self._second += 1
        rate = self._adaptive_rate(now)
        self._next_at = max(self._next_at, now) + max(self._interval, 1.0 / rate if rate else 0.0)

    def _pump(self) -> None:
        while self._waiters and self._free > 0:
            now = self._timer.time()
            if now < self._resume_at:
                if self._wake_handle is None:
                    self._wake_handle = self._timer.call_at(self._resume_at, self._wake)
                return
            _, _, future = heapq.heappop(self._waiters)
            if future.done():  # its waiter was cancelled
                continue
            self._admit(now)
            future.set_result(None)

    def _wake(self) -> None:
        self._wake_handle = None
        self._pump()
